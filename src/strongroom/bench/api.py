"""API benchmarks: cold start against a boto3-only baseline, warm handler latency, and local HTTP.

Run ``strongroom bench api [--runs N] [--json PATH]`` (``make bench``); it needs the ``local`` extra.

The machine is noisy, so nothing here is compared with a fixed number of milliseconds measured on
another day: the cold start is a ratio of medians of two programs run alternately in one loop, with
a bootstrap interval (the verdict is UNCLEAR while the interval spans the goal), and the warm
latency goal is loose enough to hold on any machine the handler should ship from. Load from other
work compresses the cold-start ratio towards 1, so the table ends with the load average.

1. Cold start, as Lambda pays it: fresh interpreters, alternately the candidate (import the API,
   answer one POST /transactions against the emulator) and the baseline (boto3, one client, one
   PutItem of the same item with the same condition). Wall time is spawn to response, measured by
   this process; in-process time is first line to response, measured by the child. The pair runs
   twice, each ratio taken within its own interpreter:

   a. under this interpreter (3.11), importing from the checkout or installed package, whose
      ``__pycache__`` the first, untimed run fills;
   b. under CPython 3.13, Lambda's runtime, when one is found (``strongroom.infra.packaging``:
      $STRONGROOM_LAMBDA_PYTHON, PATH, pyenv, uv), importing only from a bundle-like directory built
      as ``LambdaBundle`` builds the real one: the lock's exact versions, the runtime's source files,
      bytecode compiled by 3.13 with ``--invalidation-mode unchecked-hash``, and
      PYTHONDONTWRITEBYTECODE set as Lambda's read-only code directory imposes. The one difference:
      the real bundle holds arm64 wheels (pydantic-core is native) that cannot load on this x86_64
      machine, so this one holds the same versions' wheels for the host platform, installed by 3.13's
      pip and cached by content hash under ``--cache-dir``. Baseline and candidate both import from
      it, so the ratio compares like with like.
2. Warm handler: in-process, DynamoDB answered from memory; log lines and metrics are still
   formatted and written, to /dev/null.
3. Local end-to-end: SigV4-signed POSTs over HTTP (``strongroom.local.client.SignedClient``) to a
   running ``strongroom up``, when there is one.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

import strongroom
from strongroom import constants as env
from strongroom.bench.table import Row, render, verdict
from strongroom.config import load_config
from strongroom.infra import packaging
from strongroom.local import emulator
from strongroom.local.client import STATE_FILE, SignedClient, clients, state_dir
from strongroom.local.events import LocalLambdaContext, rest_proxy_event
from strongroom.local.process import free_port_run, start_platform_process
from strongroom.local.provision import new_cursor_secret, provision_region
from strongroom.runtime import api
from strongroom.runtime.adapters.dynamodb import TransactionStore, to_item
from strongroom.runtime.adapters.schema import CUSTOMER_INDEX
from strongroom.runtime.cursor import CursorCodec
from strongroom.runtime.domain import new_transaction, parse_transaction_request, transaction_id_for
from strongroom.runtime.health import DeepHealthCheck
from strongroom.runtime.settings import RuntimeSettings

REGION = "eu-west-1"
CALLER_ARN = "arn:aws:iam::000000000000:user/bench"
JSON = "application/json"
BODY = {"amount": "12.34", "currency": "EUR", "customerId": "cust-0042", "type": "debit", "reference": "rent"}
HERE = Path(__file__).resolve().parent
CANDIDATE_SCRIPT = HERE / "cold_start_candidate.py"
BASELINE_SCRIPT = HERE / "cold_start_baseline.py"
TASK_ROOT = Path(strongroom.__file__).resolve().parents[1]  # where the handler's code lives, as /var/task
DEFAULT_CACHE = Path.home() / ".cache" / "strongroom" / "bench"
# The bench's own recipe for the bundle-like site: same pins, this machine's platform, no hashes (the
# lock's hashes are the arm64 wheels'). Part of the site's content hash, as RECIPE is of the bundle's.
HOST_SITE_RECIPE = "pip install --no-deps --only-binary=:all: --no-compile (host platform, lock's versions)"
RESULT_MARKER = "@@bench-result "  # the children's result line; their other output is the handler's logs
COLD_START_RATIO_GOAL = 1.5
WARM_P50_GOAL_US = 1000.0
WARM_UP_REQUESTS = 500
WARM_TABLE = "bench-transactions"
HTTP_CONCURRENCY = 8
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"

AttributeMap = dict[str, dict[str, Any]]


class BenchmarkError(RuntimeError):
    """The benchmark could not measure what it set out to; the message says what failed."""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


# --- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: always a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _intervalverdict(low: float, high: float, goal: float) -> str:
    """PASS or FAIL only when the whole interval says so; a noisy run says so instead of guessing."""
    if high <= goal:
        return "PASS"
    if low > goal:
        return "FAIL"
    return "UNCLEAR: CI spans the goal; rerun with more --runs"


# --- 1. cold start --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdStartTarget:
    """What both children talk to: the emulator and one provisioned Region."""

    endpoint: str
    table: str
    data_key_id: str
    canary_ciphertext: str
    cursor_secret: str


@dataclass(frozen=True)
class Runtime:
    """A Python the children run under, and where their code is imported from."""

    name: str  # shown in the table and the JSON's key
    python: Path
    task_root: Path  # LAMBDA_TASK_ROOT: where the handler's code lives, as /var/task
    environment: dict[str, str] = field(default_factory=dict)  # added to the function's environment


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    in_process_s: float
    phases: dict[str, float]


def host_runtime() -> Runtime:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Runtime(f"CPython {version}, sources", Path(sys.executable), TASK_ROOT)


def locked_pins(lock_file: Path) -> list[str]:
    """``name==version`` of every line of the lock, without the (arm64) wheel hashes."""
    lines = (line.split("--hash", 1)[0].strip() for line in lock_file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def install_for_host(python: Path, lock_file: Path, target: Path) -> None:
    """The lock's exact versions, as wheels for this machine, installed by ``python``'s own pip."""
    command = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--no-compile",
        "--target",
        str(target),
        *locked_pins(lock_file),
    ]
    try:
        subprocess.run(command, check=True, timeout=600)
    except subprocess.CalledProcessError as exc:
        raise BenchmarkError(
            f"{python} -m pip could not install {lock_file}'s versions (exit {exc.returncode}); "
            "it needs PyPI or pip's cache"
        ) from None


def lambda_like_site(python: Path, lock_file: Path, cache_dir: Path) -> Path:
    """A directory laid out as the Lambda bundle is, with 3.13 bytecode; built once per content hash.

    Built by ``LambdaBundle`` itself (same source files, same compile step), with the host installer.
    Sites for other hashes (older sources or locks) are removed.
    """
    bundle = packaging.LambdaBundle(
        source_root=TASK_ROOT,
        lock_file=lock_file,
        build_root=cache_dir,
        install=functools.partial(install_for_host, python),
        compiler=python,
        recipe=HOST_SITE_RECIPE,
    )
    site = bundle.build()
    for stale in cache_dir.iterdir():
        if stale.is_dir() and stale != site and len(stale.name) == 64:
            shutil.rmtree(stale, ignore_errors=True)
    return site


def lambda_runtime(lock_file: Path | None, cache_dir: Path) -> Runtime | str:
    """CPython 3.13 importing from a bundle-like site with bytecode, or why it is skipped."""
    python = packaging.find_lambda_python()
    if python is None:
        return (
            f"skipped: no CPython {packaging.LAMBDA_PYTHON_VERSION} found; set {packaging.ENV_LAMBDA_PYTHON}"
        )
    if lock_file is None or not lock_file.is_file():
        missing = lock_file or "not in a checkout"
        return f"skipped: no lock file ({missing}); pass --lock requirements/lambda.lock"
    print(f"cold start: building a Lambda-like 3.13 site under {cache_dir} (once per hash)", file=sys.stderr)
    site = lambda_like_site(python, lock_file, cache_dir)
    # PYTHONDONTWRITEBYTECODE: Lambda's code directory is read-only, so nothing missing is cached there
    environment = {"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    return Runtime(f"CPython {packaging.LAMBDA_PYTHON_VERSION} + bundle bytecode", python, site, environment)


def provision(endpoint: str) -> ColdStartTarget:
    session = boto3.session.Session(
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the emulator accepts any credentials
        region_name=REGION,
    )
    region = provision_region(
        load_config(environ={}),
        REGION,
        dynamodb=session.client("dynamodb", endpoint_url=endpoint),
        kms_client=session.client("kms", endpoint_url=endpoint),
    )
    return ColdStartTarget(
        endpoint=endpoint,
        table=region.transactions_table,
        data_key_id=region.data_key_id,
        canary_ciphertext=region.health_canary_ciphertext,
        cursor_secret=new_cursor_secret(),
    )


def child_environment(target: ColdStartTarget, runtime: Runtime, *, tracing: bool = False) -> dict[str, str]:
    """What Lambda sets for the function, and nothing that warms a child up: no PYTHON* variables but
    the runtime's own, no ~/.aws files. Tracing is switched as the deployed function switches it
    (POWERTOOLS_TRACE_DISABLED); LAMBDA_TASK_ROOT and a sampled trace header make the X-Ray SDK behave
    as it does in Lambda."""
    return {
        **env.FUNCTION_ENVIRONMENT,
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": "strongroom-api",
        "LAMBDA_TASK_ROOT": str(runtime.task_root),
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        env.ENV_TRACING: "false" if tracing else "true",
        env.ENV_AWS_REGION: REGION,
        "AWS_DEFAULT_REGION": REGION,
        env.ENV_AWS_ENDPOINT_URL: target.endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        env.ENV_TRANSACTIONS_TABLE: target.table,
        env.ENV_DATA_KEY_ID: target.data_key_id,
        env.ENV_HEALTH_CANARY_CIPHERTEXT: target.canary_ciphertext,
        env.ENV_CURSOR_SECRET: target.cursor_secret,
        **runtime.environment,
    }


def run_child(
    script: Path, stdin: str, environment: dict[str, str], python: Path
) -> tuple[ChildRun, int, str]:
    """Run one child; its wall time here spans process creation to exit (the child skips teardown).
    -P: the script's own directory (this package's) is not put on sys.path; -s: no user site."""
    start = time.perf_counter()
    completed = subprocess.run(
        [str(python), "-P", "-s", str(script)],
        input=stdin.encode(),
        capture_output=True,
        env=environment,
        check=False,
        timeout=120,
    )
    wall = time.perf_counter() - start
    stdout = completed.stdout.decode(errors="replace")
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        stderr = completed.stderr.decode(errors="replace")[-3000:]
        raise BenchmarkError(
            f"{script.name} under {python} exited with code {completed.returncode}:\n{stderr}"
        )
    result = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    return ChildRun(wall, result["in_process_s"], result["phases"]), result["status"], stdout


def run_candidate(environment: dict[str, str], python: Path) -> ChildRun:
    event = rest_proxy_event(
        method="POST",
        raw_path="/transactions",
        headers={"content-type": JSON, "Idempotency-Key": f"cold-{uuid.uuid4()}"},
        body=json.dumps(BODY).encode(),
        region=REGION,
        caller_arn=CALLER_ARN,
    )
    run, status, stdout = run_child(CANDIDATE_SCRIPT, json.dumps(event), environment, python)
    if status != 201:
        raise BenchmarkError(f"candidate answered {status}, not 201; its output:\n{stdout[-3000:]}")
    if '"message":"transaction created"' not in stdout:
        raise BenchmarkError("candidate did not log 'transaction created': logging is part of what is timed")
    return run


def run_baseline(environment: dict[str, str], python: Path) -> ChildRun:
    request = parse_transaction_request(
        amount=BODY["amount"],
        currency=BODY["currency"],
        customer_id=BODY["customerId"],
        type=BODY["type"],
        reference=BODY["reference"],
    )
    txn = new_transaction(
        request,
        transaction_id=transaction_id_for("bench-baseline", str(uuid.uuid4())),
        now=datetime.now(UTC),
    )
    stdin = json.dumps({"table": environment[env.ENV_TRANSACTIONS_TABLE], "item": to_item(txn)})
    run, status, _ = run_child(BASELINE_SCRIPT, stdin, environment, python)
    if status != 200:
        raise BenchmarkError(f"baseline PutItem answered HTTP {status}, not 200")
    return run


def measure_cold_start(
    target: ColdStartTarget, runs: int, runtime: Runtime, *, tracing: bool
) -> tuple[list[ChildRun], list[ChildRun]]:
    environment = child_environment(target, runtime, tracing=tracing)
    python = runtime.python
    # Untimed: writes any missing .pyc (3.11) or reads the site once (3.13), so every timed run of
    # either child finds the same caches.
    run_candidate(environment, python)
    run_baseline(environment, python)
    candidate: list[ChildRun] = []
    baseline: list[ChildRun] = []
    for i in range(runs):  # alternating, so a noisy moment lands on both programs alike
        candidate.append(run_candidate(environment, python))
        baseline.append(run_baseline(environment, python))
        if sys.stderr.isatty():
            end = "\n" if i + 1 == runs else "\r"
            print(f"  cold start, {runtime.name}: {i + 1}/{runs}", file=sys.stderr, end=end)
    return candidate, baseline


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p90": percentile(values, 90)}


def ratio_interval(a: Sequence[float], b: Sequence[float], resamples: int = 2000) -> tuple[float, float]:
    """90% bootstrap interval of median(a) / median(b). Runs are resampled as the alternated pairs they
    were measured in, so a noisy moment that slowed both programs stays one sample of each."""
    rng = random.Random(0)  # the same interval for the same samples
    indices = range(len(a))
    ratios = []
    for _ in range(resamples):
        picks = rng.choices(indices, k=len(a))
        ratios.append(statistics.median(a[i] for i in picks) / statistics.median(b[i] for i in picks))
    return percentile(ratios, 5), percentile(ratios, 95)


def cold_start_report(
    candidate: list[ChildRun],
    baseline: list[ChildRun],
    report: Report,
    *,
    tracing: bool,
    runtime: Runtime,
    key: str,
) -> None:
    results: dict[str, Any] = {"runs": len(candidate), "tracing": tracing, "runtime": runtime.name}
    label_a = f"candidate (API, POST /transactions, tracing {'on' if tracing else 'off'})"
    for measure, label in (("wall_s", "wall, spawn → response"), ("in_process_s", "in-process")):
        a_samples = [getattr(run, measure) for run in candidate]
        b_samples = [getattr(run, measure) for run in baseline]
        a, b = _summary(a_samples), _summary(b_samples)
        ratio = a["median"] / b["median"]
        low, high = ratio_interval(a_samples, b_samples)
        results[measure] = {
            "candidate": a,
            "baseline": b,
            "ratio_of_medians": ratio,
            "ratio_90ci": [low, high],
        }
        prefix = f"cold start [{runtime.name}] {label}"
        report.rows += [
            Row(f"{prefix}: {label_a}", f"median {_ms(a['median'])} · p90 {_ms(a['p90'])}"),
            Row(
                f"{prefix}: baseline (boto3 client + PutItem)",
                f"median {_ms(b['median'])} · p90 {_ms(b['p90'])}",
            ),
            Row(
                f"{prefix}: ratio of medians A/B",
                f"{ratio:.2f}x (90% CI {low:.2f}-{high:.2f})",
                f"<= {COLD_START_RATIO_GOAL}x",
                _intervalverdict(low, high, COLD_START_RATIO_GOAL),
            ),
        ]
    for name, runs in (("candidate", candidate), ("baseline", baseline)):
        phases = {phase: statistics.median(run.phases[phase] for run in runs) for phase in runs[0].phases}
        results[f"{name}_phases_median_s"] = phases
        text = " · ".join(f"{phase} {_ms(seconds)}" for phase, seconds in phases.items())
        report.rows.append(Row(f"cold start [{runtime.name}] phases, {name} (medians)", text))
    results["samples"] = {
        "candidate": [asdict(run) for run in candidate],
        "baseline": [asdict(run) for run in baseline],
    }
    report.results[key] = results


# --- 2. warm handler ------------------------------------------------------------------------------


def _copy(item: AttributeMap) -> AttributeMap:
    # The items here hold scalar attribute values only, so copying each value map is a deep copy.
    return {name: dict(value) for name, value in item.items()}


class FakeDynamoDB:
    """The low-level DynamoDB calls TransactionStore makes, answered from memory as DynamoDB would.

    A request outside what is implemented raises NotImplementedError rather than being answered wrongly.
    """

    _NOT_EXISTS = re.compile(r"attribute_not_exists\((\w+)\)")

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.items: dict[str, AttributeMap] = {}

    def _check(self, table_name: str, operation: str) -> None:
        if table_name != self.table_name:
            response: dict[str, Any] = {
                "Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(response, operation)  # type: ignore[arg-type]

    def put_item(
        self,
        *,
        TableName: str,
        Item: AttributeMap,
        ConditionExpression: str | None = None,
        ReturnValuesOnConditionCheckFailure: str = "NONE",
    ) -> dict[str, Any]:
        self._check(TableName, "PutItem")
        key = Item["pk"]["S"]
        existing = self.items.get(key)
        if ConditionExpression is not None:
            match = self._NOT_EXISTS.fullmatch(ConditionExpression.strip())
            if match is None:
                raise NotImplementedError(f"condition {ConditionExpression!r}")
            if existing is not None and match.group(1) in existing:
                response: dict[str, Any] = {
                    "Error": {"Code": CONDITIONAL_CHECK_FAILED, "Message": "The conditional request failed"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
                if ReturnValuesOnConditionCheckFailure == "ALL_OLD":
                    response["Item"] = _copy(existing)
                raise ClientError(response, "PutItem")  # type: ignore[arg-type]
        self.items[key] = _copy(Item)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_item(self, *, TableName: str, Key: AttributeMap, ConsistentRead: bool = False) -> dict[str, Any]:
        self._check(TableName, "GetItem")
        if set(Key) != {"pk"}:
            raise NotImplementedError(f"key {sorted(Key)}")
        item = self.items.get(Key["pk"]["S"])
        return {"Item": _copy(item)} if item is not None else {}

    def query(
        self,
        *,
        TableName: str,
        IndexName: str,
        KeyConditionExpression: str,
        ExpressionAttributeValues: AttributeMap,
        ScanIndexForward: bool = True,
        Limit: int | None = None,
        ExclusiveStartKey: AttributeMap | None = None,
    ) -> dict[str, Any]:
        self._check(TableName, "Query")
        if IndexName != CUSTOMER_INDEX or KeyConditionExpression.strip() != "customerId = :c":
            raise NotImplementedError(f"query {IndexName} {KeyConditionExpression!r}")

        def position(item: AttributeMap) -> tuple[str, str]:
            return item["createdAtId"]["S"], item["pk"]["S"]

        customer = ExpressionAttributeValues[":c"]
        matches = sorted(
            (item for item in self.items.values() if item.get("customerId") == customer),
            key=position,
            reverse=not ScanIndexForward,
        )
        if ExclusiveStartKey is not None:
            start = position(ExclusiveStartKey)
            matches = [
                i for i in matches if (position(i) < start if not ScanIndexForward else position(i) > start)
            ]
        page = matches[:Limit] if Limit else matches
        response: dict[str, Any] = {"Items": [_copy(item) for item in page], "Count": len(page)}
        if Limit and len(matches) > Limit:
            last = page[-1]
            response["LastEvaluatedKey"] = {
                name: dict(last[name]) for name in ("pk", "customerId", "createdAtId")
            }
        return response


def _no_kms() -> Any:
    raise BenchmarkError("the warm benchmark does not exercise KMS")


def warm_dependencies() -> api.Dependencies:
    store = TransactionStore(FakeDynamoDB(WARM_TABLE), WARM_TABLE)  # type: ignore[arg-type]
    secret = new_cursor_secret().encode()
    settings = RuntimeSettings(
        region=REGION,
        transactions_table=WARM_TABLE,
        data_key_id=None,
        cursor_secret=secret,
        health_canary_ciphertext=None,
    )
    health = DeepHealthCheck(
        region=REGION, store=store, kms_client=_no_kms, key_id=None, canary_ciphertext=None
    )
    return api.Dependencies(settings=settings, store=store, health=health, cursors=CursorCodec(secret))


@contextlib.contextmanager
def stdout_redirected(path: str) -> Iterator[None]:
    """Point file descriptor 1 at ``path``. Powertools' log handler holds sys.stdout itself, so
    swapping sys.stdout would skip nothing and redirect nothing; every line is still formatted and
    written, only to somewhere else."""
    sys.stdout.flush()
    saved = os.dup(1)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(target, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(target)
        os.close(saved)


def _post_event(key: str) -> dict[str, Any]:
    return rest_proxy_event(
        method="POST",
        raw_path="/transactions",
        headers={"content-type": JSON, "Idempotency-Key": key},
        body=json.dumps(BODY).encode(),
        region=REGION,
        caller_arn=CALLER_ARN,
    )


def _get_event(raw_path: str) -> dict[str, Any]:
    return rest_proxy_event(
        method="GET", raw_path=raw_path, headers={}, body=b"", region=REGION, caller_arn=CALLER_ARN
    )


def time_requests(
    build: Callable[[int], dict[str, Any]], count: int, expected_status: int, stdout: str = os.devnull
) -> list[float]:
    """Microseconds per handler call. Each event is built just before its call, outside the timed
    span: building them all first would grow the heap by thousands of dicts, and the full garbage
    collection that growth triggers would land in the timings, which a Lambda's heap never does."""
    handler: Callable[..., dict[str, Any]] = api.handler
    context = LocalLambdaContext("strongroom-api", REGION)
    clock = time.perf_counter_ns
    timings: list[float] = []
    wrong: list[int] = []
    with stdout_redirected(stdout):
        for i in range(count):
            event = build(i)
            start = clock()
            response = handler(event, context)
            timings.append((clock() - start) / 1000)
            if response["statusCode"] != expected_status:
                wrong.append(response["statusCode"])
    if wrong:
        raise BenchmarkError(f"{len(wrong)} of {count} requests answered {wrong[0]}, not {expected_status}")
    return timings


def check_logging_runs() -> None:
    """One request with stdout kept: the timed requests must pay for a formatted log line and metric."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "stdout")
        time_requests(lambda _: _post_event(f"log-check-{uuid.uuid4()}"), 1, 201, stdout=path)
        written = Path(path).read_text()
    if '"message":"transaction created"' not in written or '"TransactionCreated"' not in written:
        raise BenchmarkError("the handler wrote no log line or metric; the warm timings would leave them out")


def check_listing(created: int) -> None:
    """The listing reads back what was created, newest first, through the fake's query."""
    handler: Callable[..., dict[str, Any]] = api.handler
    response = handler(
        _get_event(f"/customers/{BODY['customerId']}/transactions?limit=5"),
        LocalLambdaContext("strongroom-api", REGION),
    )
    page = json.loads(response["body"])
    times = [item["createdAt"] for item in page.get("items", [])]
    if response["statusCode"] != 200 or len(times) != min(5, created) or times != sorted(times, reverse=True):
        raise BenchmarkError(f"listing answered {response['statusCode']}: {response['body'][:300]}")


def _latency_row(metric: str, timings: Sequence[float], goal: bool) -> Row:
    p50, p90, p99 = (percentile(timings, q) for q in (50, 90, 99))
    value = f"p50 {p50:.0f} µs · p90 {p90:.0f} µs · p99 {p99:.0f} µs"
    if not goal:
        return Row(metric, value)
    return Row(metric, value, f"p50 < {WARM_P50_GOAL_US / 1000:.0f} ms", verdict(p50 < WARM_P50_GOAL_US))


def measure_warm(requests: int, report: Report) -> None:
    api.configure(warm_dependencies())
    try:
        run = uuid.uuid4().hex[:8]
        keys = [f"warm-{run}-{i}" for i in range(WARM_UP_REQUESTS + requests)]
        ids = [transaction_id_for(CALLER_ARN, key) for key in keys]
        time_requests(lambda i: _post_event(keys[i]), WARM_UP_REQUESTS, 201)
        check_logging_runs()
        post = time_requests(lambda i: _post_event(keys[WARM_UP_REQUESTS + i]), requests, 201)
        time_requests(lambda i: _get_event(f"/transactions/{ids[i]}"), WARM_UP_REQUESTS, 200)
        get = time_requests(lambda i: _get_event(f"/transactions/{ids[-1 - i]}"), requests, 200)
        check_listing(len(ids))
    finally:
        api.configure(None)
    report.rows.append(_latency_row(f"warm handler POST /transactions (n={requests})", post, goal=True))
    report.rows.append(_latency_row(f"warm handler GET /transactions/{{id}} (n={requests})", get, goal=False))
    report.results["warm"] = {
        "requests": requests,
        "post_us": {f"p{q}": percentile(post, q) for q in (50, 90, 99)},
        "get_us": {f"p{q}": percentile(get, q) for q in (50, 90, 99)},
    }


# --- 3. local end-to-end over HTTP ----------------------------------------------------------------


def find_local_platform(directory: Path) -> SignedClient | str:
    """A signed client for the platform `strongroom up` recorded in local.json, or why there is none."""
    path = directory / STATE_FILE
    if not path.is_file():
        return f"skipped: no {path}; start `strongroom up` first"
    try:
        regional = clients(directory)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"skipped: {path} is unreadable ({exc!r}); restart `strongroom up`"
    client = regional.get(REGION) or next(iter(regional.values()), None)
    if client is None:
        return f"skipped: {path} names no Region; restart `strongroom up`"
    client = replace(client, timeout=10.0)
    try:
        client.unsigned().request("GET", "/health")
    except (OSError, http.client.HTTPException):
        return f"skipped: nothing answers at {client.base_url}; start `strongroom up` first"
    return client


def post_concurrently(client: SignedClient, count: int) -> tuple[list[float], list[int], float]:
    """Seconds per signed POST (signing included, as every caller pays it), statuses (0: no answer) and
    the total, with HTTP_CONCURRENCY requests in flight."""
    run = uuid.uuid4().hex[:8]

    def send(i: int) -> tuple[float, int]:
        start = time.perf_counter()
        try:
            reply = client.request(
                "POST", "/transactions", BODY, headers={"Idempotency-Key": f"http-{run}-{i}"}
            )
        except (OSError, http.client.HTTPException):
            return time.perf_counter() - start, 0
        return time.perf_counter() - start, reply.status

    start = time.perf_counter()
    with ThreadPoolExecutor(HTTP_CONCURRENCY) as pool:
        results = list(pool.map(send, range(count)))
    elapsed = time.perf_counter() - start
    return [seconds for seconds, _ in results], [status for _, status in results], elapsed


def measure_http(requests: int, directory: Path, report: Report) -> None:
    """Against the running `strongroom up` if there is one; otherwise against one started for this."""
    client = find_local_platform(directory)
    if not isinstance(client, str):
        _measure_http(client, requests, report, "running")
        return
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as workdir:
        platform = start_platform_process(
            Path(workdir),
            "--region",
            REGION,
            "--port",
            str(free_port_run(1)),
            "--state-dir",
            f"{workdir}/state",
        )
        try:
            started = find_local_platform(platform.state_dir)
            if isinstance(started, str):
                raise BenchmarkError(f"the platform started for the benchmark does not answer: {started}")
            _measure_http(started, requests, report, "started for the benchmark")
        finally:
            platform.stop()


def _measure_http(client: SignedClient, requests: int, report: Report, which: str) -> None:
    metric = f"local HTTP signed POST /transactions (n={requests}, {HTTP_CONCURRENCY} concurrent, {which})"
    latencies, statuses, elapsed = post_concurrently(client, requests)
    created = statuses.count(201)
    value = (
        f"{len(latencies) / elapsed:.0f} req/s · p50 {percentile(latencies, 50) * 1000:.1f} ms"
        f" · p99 {percentile(latencies, 99) * 1000:.1f} ms · {created}/{requests} created"
    )
    others = sorted({s for s in statuses if s != 201})
    report.rows.append(Row(metric, value, "reported", "" if not others else f"other statuses: {others}"))
    report.results["http"] = {
        "url": client.base_url,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


# --- the table and the entry point ----------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="strongroom bench api", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=_positive, default=15, help="cold starts of each program (default 15)")
    parser.add_argument(
        "--warm-requests", type=_positive, default=5000, help="timed warm requests per route (default 5000)"
    )
    parser.add_argument(
        "--http-requests", type=_positive, default=500, help="signed POSTs to `strongroom up` (default 500)"
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="cold-start the candidate with X-Ray tracing on, as the deployed function runs",
    )
    parser.add_argument("--json", type=Path, help="also write the results, with every sample, to this file")
    parser.add_argument(
        "--lock",
        type=Path,
        default=_checkout_lock(),
        help="the Lambda lock whose versions the 3.13 cold start imports (default: the checkout's "
        "requirements/lambda.lock)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where the 3.13 bundle-like site is kept between runs (default {DEFAULT_CACHE})",
    )
    return parser.parse_args(argv)


def _checkout_lock() -> Path | None:
    lock = packaging.repository_root() / "requirements" / "lambda.lock"
    return lock if lock.is_file() else None


def measure_cold_starts(args: argparse.Namespace, report: Report) -> None:
    """The pair under this interpreter, then under Lambda's 3.13 with bytecode when there is one."""
    runtimes = [host_runtime()]
    lambda_python = lambda_runtime(args.lock, args.cache_dir)
    if isinstance(lambda_python, str):
        print(f"cold start, CPython {packaging.LAMBDA_PYTHON_VERSION}: {lambda_python}", file=sys.stderr)
        report.rows.append(
            Row(f"cold start [CPython {packaging.LAMBDA_PYTHON_VERSION} + bytecode]", lambda_python)
        )
    else:
        runtimes.append(lambda_python)
    print(f"cold start: starting the emulator and provisioning {REGION}", file=sys.stderr)
    with emulator.start() as running:
        target = provision(running.endpoint)
        measured = [
            measure_cold_start(target, args.runs, runtime, tracing=args.tracing) for runtime in runtimes
        ]
    # "cold_start" keeps its meaning in the JSON (this interpreter); Lambda's Python has its own key
    for key, runtime, (candidate, baseline) in zip(
        ("cold_start", "cold_start_lambda_python"), runtimes, measured, strict=False
    ):
        cold_start_report(candidate, baseline, report, tracing=args.tracing, runtime=runtime, key=key)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report()
    load_before = os.getloadavg()[0]  # noise is load: a busy machine compresses the ratio towards 1
    try:
        measure_cold_starts(args, report)
        print("warm handler", file=sys.stderr)
        measure_warm(args.warm_requests, report)
        print("local HTTP", file=sys.stderr)
        measure_http(args.http_requests, state_dir(), report)
    except (BenchmarkError, emulator.EmulatorError, subprocess.TimeoutExpired) as exc:
        print(f"strongroom bench api: could not measure: {exc}", file=sys.stderr)
        return 1
    load = f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    report.rows.append(Row("machine: CPUs · 1-min load average, start -> end", f"{os.cpu_count()} · {load}"))
    print(render(report.rows))
    if args.json:
        report.results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load": load}
        args.json.write_text(json.dumps(report.results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
