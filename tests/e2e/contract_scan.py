"""The API contract scan: schemathesis sends every documented operation of a running `strongroom up`
schema-valid (positive) and schema-violating (negative) requests, signed with SigV4, and checks every
answer against the OpenAPI document the API serves (GET /openapi.json), with all its checks.

A finding is a server error; a schema-valid request answered with anything but its operation's
documented success (or one of the :data:`LEGITIMATE_ANSWERS` about the data, such as 404 for an id
that names nothing); a schema-violating request answered without a 4xx; or a response whose status,
media type, body or headers the document does not describe. What a schema cannot express is accepted
only as an entry of :data:`GAPS`, with its reason, owner and review date; an entry nothing matched is
stale and is reported too (docs/adr/0019-the-openapi-document-is-the-exact-contract.md).

It runs as a program of its own because schemathesis patches Hypothesis globally when imported, which
must not reach a test process. tests/e2e/test_api_contract_scan.py runs it; so can a pipeline:

    python -m tests.e2e.contract_scan --state-dir .strongroom [--region eu-west-1] [--examples 25]
        [--operation createTransaction ...] [--document candidate-openapi.json]

It prints a JSON report on stdout and exits 1 when there are findings or stale gaps.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from strongroom.local.client import SignedClient, read_state, static_credentials
from strongroom.local.sigv4 import Credentials, sign
from strongroom.runtime import problems
from strongroom.runtime.routes import OPERATIONS

if TYPE_CHECKING:
    from schemathesis import Case as AnyCase
    from schemathesis.core.transport import Response
    from schemathesis.schemas import APIOperation, BaseSchema

    Case = AnyCase[Any]
    Operation = APIOperation[Any, Any, Any, Any]

SEED = 20_260_101
EXAMPLES_PER_MODE = 25
IDEMPOTENCY_KEY = "Idempotency-Key"
_SIGNED = frozenset(op.operation_id for op in OPERATIONS if op.authorized)
_PUBLIC = frozenset(op.operation_id for op in OPERATIONS if not op.authorized)
_VISIBLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))

# Answers to a schema-valid request that are about the data, not a refusal of the request:
# operation id -> (status, problem) -> why it is right.
LEGITIMATE_ANSWERS: dict[str, dict[tuple[int, str], str]] = {
    "getTransaction": {(404, "not-found"): "a well-formed id that names no transaction"},
    "createTransaction": {
        (422, "idempotency-key-reused"): "the key already created a transaction from another body"
    },
}


@dataclass(frozen=True)
class Gap:
    """A difference between the API and its document that the scan accepts, and why.

    It matches findings of the named checks on the named operations (None: every operation), and only
    answers of one status and problem type (None: not a problem).
    """

    operations: frozenset[str] | None
    checks: frozenset[str]
    status: int
    problem: str | None
    reason: str
    owner: str
    review_by: str

    def covers(self, finding: Finding) -> bool:
        return (
            (self.operations is None or finding.operation_id in self.operations)
            and finding.check in self.checks
            and (finding.status, finding.problem) == (self.status, self.problem)
        )


GAPS: tuple[Gap, ...] = (
    Gap(
        operations=frozenset({"listCustomerTransactions", "listFiles"}),
        checks=frozenset({"positive_data_acceptance"}),
        status=400,
        problem="invalid-cursor",
        reason=(
            "a cursor is a token only the API can mint (an HMAC over the position and the listing, "
            "runtime/cursor.py): no schema tells a minted cursor from an invented one, so the document "
            "says 'opaque' and an invented cursor is refused"
        ),
        owner="api",
        review_by="2027-06-30",
    ),
    Gap(
        operations=_SIGNED,
        checks=frozenset({"missing_required_header"}),
        status=403,
        problem="forbidden",
        reason=(
            "schemathesis expects 401 for a request without Authorization; API Gateway's IAM "
            "authorization answers 403 (MissingAuthenticationToken) and the platform keeps that status "
            "everywhere: a 401 needs a WWW-Authenticate challenge, which SigV4 does not define"
        ),
        owner="api",
        review_by="2027-06-30",
    ),
    Gap(
        operations=_PUBLIC,
        checks=frozenset({"unsupported_method"}),
        status=403,
        problem="forbidden",
        reason=(
            "API Gateway lets only a public operation's own method through unsigned; any other method "
            "on /health* needs IAM authorization first (403), as the local gateway mirrors"
        ),
        owner="api",
        review_by="2027-06-30",
    ),
)


@dataclass(frozen=True)
class Finding:
    operation_id: str
    operation: str
    mode: str
    phase: str
    check: str
    title: str
    status: int | None
    problem: str | None
    message: str
    request: str


@dataclass
class Report:
    seed: int
    examples_per_mode: int
    requests: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    excused: dict[Gap, int] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)

    @property
    def stale_gaps(self) -> list[Gap]:
        """Gaps on a scanned operation that matched nothing: the difference is gone, so is the excuse."""
        scanned = {key.rpartition(" ")[0] for key in self.requests}
        return [
            gap
            for gap in GAPS
            if not self.excused.get(gap) and (gap.operations is None or gap.operations & scanned)
        ]

    @property
    def failed(self) -> bool:
        return bool(self.findings or self.stale_gaps)

    def counts(self) -> Counter[str]:
        """Findings per kind: check and operation."""
        return Counter(f"{f.check} {f.operation}" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "examplesPerMode": self.examples_per_mode,
            "requests": dict(sorted(self.requests.items())),
            "legitimateAnswers": dict(sorted(self.answered.items())),
            "excused": [{"reason": gap.reason, "findings": n} for gap, n in self.excused.items()],
            "staleGaps": [gap.reason for gap in self.stale_gaps],
            "counts": dict(sorted(self.counts().items())),
            "findings": [asdict(f) for f in self.findings],
        }


class SigV4(requests.auth.AuthBase):
    """Signs a request as it goes on the wire (final URL, headers and body), as the SDKs do.

    The document declares SigV4 as an Authorization header, so schemathesis generates one: it marks
    where credentials go, and the signature replaces it. A case without one (a negative case that
    drops it) goes unsigned. schemathesis attaches this to the cases of signed operations only, never
    to the probes its ``ignored_auth`` check sends without credentials or with made-up ones.
    """

    def __init__(self, credentials: Credentials, region: str) -> None:
        self.credentials = credentials
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if "Authorization" not in request.headers:
            return request
        body = request.body or b""
        assert isinstance(body, str | bytes), "schemathesis sends bodies whole, never streamed"
        signed = sign(
            method=request.method or "GET",
            url=request.url or "",
            headers=[(name, str(value)) for name, value in request.headers.items()],
            body=body.encode() if isinstance(body, str) else body,
            credentials=self.credentials,
            region=self.region,
        )
        request.headers.clear()
        request.headers.update(signed)
        return request


class FreshKeys:
    """Generators repeat short values, and a key already used with another body is refused (422
    idempotency-key-reused, as documented): a schema-valid POST proves its body accepted only with a
    new key. A repeated key is replaced by an unused one of the same length, valid as before."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._counter = 0

    def apply(self, case: Case) -> None:
        key = case.headers.get(IDEMPOTENCY_KEY) if case.headers else None
        if not isinstance(key, str):
            return
        if key in self._used:
            key = self._unused(len(key)) or key
            case.headers[IDEMPOTENCY_KEY] = key
        self._used.add(key)

    def _unused(self, length: int) -> str | None:
        while True:
            self._counter += 1
            digits, n = "", self._counter
            while n:
                n, digit = divmod(n, len(_VISIBLE_ASCII))
                digits = _VISIBLE_ASCII[digit] + digits
            if len(digits) > length:
                return None
            candidate = digits.rjust(length, _VISIBLE_ASCII[0])
            if candidate not in self._used:
                return candidate


def _problem_slug(response: Response) -> str | None:
    try:
        type_uri = json.loads(response.content or b"null").get("type")
    except (ValueError, AttributeError):
        return None
    if not isinstance(type_uri, str):
        return None
    slug = re.split("[/#:]", type_uri)[-1]  # a type URI is a base ending in / # or :, then the slug
    return slug if any(t.slug == slug for t in problems.CATALOGUE) else None


def _operation_id(operation: Operation) -> str:
    return str(operation.definition.raw.get("operationId", operation.label))


def _config(document: dict[str, Any], seed: int) -> Any:
    """A schema-valid request is accepted only by its operation's documented success status (the
    legitimate answers are judged by their problem type, in :func:`scan`); a schema-violating one must
    get a 4xx."""
    import schemathesis  # noqa: PLC0415 - imported only in the scanning process

    operations = [
        {
            "include-operation-id": op["operationId"],
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [code for code in op["responses"] if code.startswith("2")]
                }
            },
        }
        for item in document["paths"].values()
        for op in item.values()
    ]
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "checks": {"negative_data_rejection": {"expected-statuses": ["4xx"]}},
            "operations": operations,
        }
    )


def _load(document: dict[str, Any], credentials: Credentials, region: str, seed: int) -> BaseSchema:
    import schemathesis  # noqa: PLC0415

    copy = json.loads(json.dumps(document))  # schemathesis rewrites the document it loads
    schema = schemathesis.openapi.from_dict(copy, config=_config(document, seed))
    schema.auth.set_from_requests(SigV4(credentials, region)).skip_for(operation_id=sorted(_PUBLIC))
    return schema


def _reuse_regex_strategies() -> None:
    """Hypothesis expands each range of a character class one code point at a time whenever it builds
    a strategy for a pattern, and schemathesis builds one per draw: the reference rule's classes
    (some 140,000 private-use code points) would take most of the scan's time. Strategies are
    immutable, so one per pattern and alphabet serves every draw."""
    from hypothesis.strategies._internal import regex  # noqa: PLC0415

    build = regex.base_regex_strategy
    built: dict[tuple[Any, ...], Any] = {}

    def reuse(pattern: Any, *, parsed: Any = None, alphabet: Any) -> Any:
        key = (pattern.pattern, pattern.flags, repr(alphabet))
        if key not in built:
            built[key] = build(pattern, parsed=parsed, alphabet=alphabet)
        return built[key]

    regex.base_regex_strategy = reuse  # type: ignore[assignment]


def _cases(operation: Operation, examples: int, seed: int) -> Iterator[Case]:
    """Every coverage-phase case (boundaries, and each kind of violation), then ``examples`` drawn
    cases per mode from a fixed seed."""
    from schemathesis import GenerationMode  # noqa: PLC0415
    from schemathesis.generation.drivers import CoverageGenerator  # noqa: PLC0415
    from schemathesis.generation.feedback import NO_FEEDBACK  # noqa: PLC0415
    from schemathesis.generation.overrides import Override  # noqa: PLC0415

    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    yield from CoverageGenerator(
        operation=operation,
        generation_modes=modes,
        generation_config=operation.schema.config.generation_for(operation=operation, phase="coverage"),
        auth_storage=None,
        override=Override(),
        feedback=NO_FEEDBACK,
    )
    for mode in modes:
        yield from _drawn(operation, mode, examples, seed)


def _drawn(operation: Operation, mode: Any, examples: int, seed: int) -> list[Case]:
    """``examples`` cases from Hypothesis. Not a property test: a fixed seed, no database and no
    deadline make the scan reproducible, slow or heavily filtered generation is its cost rather than a
    defect, and nothing is shrunk (a finding is reported as it was sent)."""
    import hypothesis  # noqa: PLC0415
    from hypothesis import HealthCheck, Phase  # noqa: PLC0415

    drawn: list[Case] = []

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def draw(case: Case) -> None:
        drawn.append(case)

    # An operation with nothing to violate (no parameters, no body) has no negative case.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        draw()
    return drawn


def _findings(case: Case, response: Response | None, error: BaseException) -> Iterator[Finding]:
    from schemathesis.core.failures import Failure, FailureGroup  # noqa: PLC0415

    failures = list(error.exceptions) if isinstance(error, FailureGroup) else [error]
    meta = case.meta
    for failure in failures:
        checks = type(failure).checks if isinstance(failure, Failure) else ()
        yield Finding(
            operation_id=_operation_id(case.operation),
            operation=case.operation.label,
            mode=meta.generation.mode.value if meta else "unknown",
            phase=meta.phase.name.value if meta else "unknown",
            check=checks[0] if checks else type(failure).__name__,
            title=getattr(failure, "title", type(failure).__name__),
            status=response.status_code if response is not None else None,
            problem=_problem_slug(response) if response is not None else None,
            message=str(getattr(failure, "message", failure))[:600],
            request=case.as_curl_command()[:600],
        )


def scan(
    document: dict[str, Any],
    *,
    base_url: str,
    region: str,
    credentials: Credentials,
    examples: int = EXAMPLES_PER_MODE,
    seed: int = SEED,
    operations: frozenset[str] | None = None,
) -> Report:
    """Scan the API at ``base_url`` against ``document`` (its own OpenAPI document, or a candidate), on
    every operation or the named ones."""
    from schemathesis.core.failures import FailureGroup  # noqa: PLC0415
    from schemathesis.core.result import Err  # noqa: PLC0415

    _reuse_regex_strategies()
    schema = _load(document, credentials, region, seed)
    report = Report(seed=seed, examples_per_mode=examples)
    keys = FreshKeys()
    session = requests.Session()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the API's own document does not load: nothing can be scanned
        operation = result.ok()
        operation_id = _operation_id(operation)
        if operations is not None and operation_id not in operations:
            continue
        for case in _cases(operation, examples, seed):
            mode = case.meta.generation.mode.value if case.meta else "unknown"
            report.requests[f"{operation_id} {mode}"] += 1
            if mode == "positive":
                keys.apply(case)
            response = None
            try:
                response = case.call(base_url=base_url, session=session)
                case.validate_response(response)
            except (FailureGroup, AssertionError, requests.RequestException) as exc:
                for finding in _findings(case, response, exc):
                    _judge(report, finding)
    return report


def _judge(report: Report, finding: Finding) -> None:
    legitimate = LEGITIMATE_ANSWERS.get(finding.operation_id, {})
    if finding.check == "positive_data_acceptance" and (finding.status, finding.problem) in legitimate:
        report.answered[f"{finding.operation_id} {finding.status} {finding.problem}"] += 1
        return
    gap = next((gap for gap in GAPS if gap.covers(finding)), None)
    if gap is None:
        report.findings.append(finding)
    else:
        report.excused[gap] = report.excused.get(gap, 0) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.contract_scan",
        description="Scan a running `strongroom up` against its own OpenAPI document.",
    )
    parser.add_argument("--state-dir", help="where `strongroom up` wrote local.json (default: .strongroom)")
    parser.add_argument("--region", help="the Region to scan (default: the first in local.json)")
    parser.add_argument(
        "--examples", type=int, default=EXAMPLES_PER_MODE, help="drawn cases per operation and mode"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--operation", action="append", help="scan only this operation id (repeatable; default: all)"
    )
    parser.add_argument(
        "--document", type=Path, help="scan against this OpenAPI document (default: the one the API serves)"
    )
    args = parser.parse_args(argv)
    state = read_state(args.state_dir)
    region = args.region or next(iter(state["regions"]))
    base_url = state["regions"][region]["url"]
    credentials = static_credentials(state)
    if args.document:
        document = json.loads(args.document.read_text())
    else:
        reply = SignedClient(base_url, region, credentials).request("GET", "/openapi.json")
        if reply.status != 200:
            print(f"GET /openapi.json answered {reply.status}: {reply.body[:300]!r}", file=sys.stderr)
            return 2
        document = reply.json()
    report = scan(
        document,
        base_url=base_url,
        region=region,
        credentials=credentials,
        examples=args.examples,
        seed=args.seed,
        operations=frozenset(args.operation) if args.operation else None,
    )
    json.dump(report.to_json(), sys.stdout, indent=1, ensure_ascii=False)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
