"""`strongroom up`: the platform on this machine — emulator, provisioned Regions, gateways, functions."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import string
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import boto3

from strongroom import __version__
from strongroom import constants as env
from strongroom.config import PlatformConfig
from strongroom.errors import UserError
from strongroom.local import emulator, global_tables
from strongroom.local.client import STATE_FILE, state_dir
from strongroom.local.control import ControlServer, FaultController
from strongroom.local.functions import FunctionPool
from strongroom.local.gateway import CALLER_ARN, Gateway, Principals
from strongroom.local.health_checker import HealthChecker
from strongroom.local.pollers import SqsPoller, StreamPoller, send_to_queue
from strongroom.local.provision import (
    ProvisionedPipelines,
    ProvisionedRegion,
    new_cursor_secret,
    provision_pipelines,
    provision_region,
)
from strongroom.local.serving import RegionEndpoint
from strongroom.local.sigv4 import Credentials
from strongroom.runtime import problems
from strongroom.runtime.adapters.files import INGEST_PREFIX
from strongroom.runtime.adapters.schema import is_transaction_record

DEFAULT_PORT = 8080
# What the functions authenticate to the emulator with: their "execution role", not the API caller's.
_FUNCTION_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-function", "AWS_SECRET_ACCESS_KEY": "local-function"}
_PROVISIONER = "local-provisioner"
CALLER_ROLE_NAME = "strongroom-local-caller"


class UpError(UserError):
    """An expected failure to start, with what to do about it."""


def local_credentials(environ: dict[str, str] | os._Environ[str] = os.environ) -> Credentials:
    """The credentials callers sign with: from the environment, else freshly generated."""
    access = environ.get(env.ENV_LOCAL_ACCESS_KEY_ID)
    secret = environ.get(env.ENV_LOCAL_SECRET_ACCESS_KEY)
    if bool(access) != bool(secret):
        raise UpError(
            f"set both {env.ENV_LOCAL_ACCESS_KEY_ID} and {env.ENV_LOCAL_SECRET_ACCESS_KEY}, or neither "
            "(then credentials are generated)"
        )
    if access and secret:
        return Credentials(access, secret)
    alphabet = string.ascii_uppercase + string.digits
    return Credentials(
        "AKIALOCAL" + "".join(secrets.choice(alphabet) for _ in range(11)), secrets.token_urlsafe(30)[:40]
    )


def function_environment(
    config: PlatformConfig, region: ProvisionedRegion, endpoint: str, cursor_secret: str
) -> dict[str, str]:
    return {
        **env.FUNCTION_ENVIRONMENT,
        env.ENV_AWS_REGION: region.region,
        "AWS_DEFAULT_REGION": region.region,
        env.ENV_AWS_ENDPOINT_URL: endpoint,
        **_FUNCTION_CREDENTIALS,
        env.ENV_TRANSACTIONS_TABLE: region.transactions_table,
        env.ENV_INGEST_BUCKET: config.names.ingest_bucket(region.region),
        env.ENV_AUDIT_TABLE: region.audit_table,
        env.ENV_DATA_KEY_ID: region.data_key_id,
        env.ENV_HEALTH_CANARY_CIPHERTEXT: region.health_canary_ciphertext,
        env.ENV_CURSOR_SECRET: cursor_secret,
        env.ENV_VERSION: __version__,  # as a deployment stamps it: /health reports it
        **config.function_environment(),
        env.ENV_TRACING: "true",
        env.ENV_SERVICE_NAME: "strongroom-api",
    }


def curl_example(url: str, region: str, credentials: Credentials) -> str:
    body = '{"amount":"12.34","currency":"EUR","customerId":"cust-0042","type":"debit","reference":"rent"}'
    return " \\\n  ".join(
        [
            f"curl -sS --aws-sigv4 'aws:amz:{region}:execute-api'",
            f"--user {shlex.quote(credentials.access_key_id + ':' + credentials.secret_access_key)}",
            "-H 'Content-Type: application/json'",
            '-H "Idempotency-Key: demo-$(date +%s%N)"',
            f"-d {shlex.quote(body)}",
            f"{url}/transactions",
        ]
    )


def _check_ports(ports: list[int]) -> None:
    for port in ports:
        if not emulator.port_is_free(port):
            raise UpError(
                f"port {port} on {emulator.LOOPBACK} is already in use; stop what is using it or pass --port "
                f"with a free port (Regions use {len(ports)} consecutive ports)"
            )


def create_caller_role(endpoint: str, region: str) -> str:
    """The role callers may assume for temporary credentials (as SDKs on AWS compute usually sign);
    its trust policy names the local user the static credentials stand for. Returns its ARN."""
    iam = boto3.session.Session(
        aws_access_key_id=_PROVISIONER, aws_secret_access_key=_PROVISIONER, region_name=region
    ).client("iam", endpoint_url=endpoint)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": CALLER_ARN}, "Action": "sts:AssumeRole"}],
    }
    invoke = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": f"arn:aws:execute-api:*:{emulator.ACCOUNT_ID}:*",
            }
        ],
    }
    role = iam.create_role(
        RoleName=CALLER_ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="Strongroom local mode: callers of the local API with temporary credentials",
    )["Role"]
    iam.put_role_policy(RoleName=CALLER_ROLE_NAME, PolicyName="invoke-api", PolicyDocument=json.dumps(invoke))
    return str(role["Arn"])


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only from its creation on (umask cannot widen 0o600),
    and never into a file someone else may already hold open: O_EXCL after removing any leftover."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(text)


class StateFile:
    """local.json: written whole and atomically (it holds the local secret key), rewritten when a
    Region's health, fault or serving state changes, removed when the platform stops."""

    def __init__(self, directory: Path, document: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / STATE_FILE
        self.document = document
        self._lock = threading.Lock()

    def write(self) -> None:
        with self._lock:
            temporary = self.path.with_suffix(".tmp")
            _write_private(temporary, json.dumps(self.document, indent=2))
            temporary.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _deep_health_url(url: str) -> str:
    return url + "/health/deep"


@dataclass(frozen=True)
class LocalPlatform:
    """A running local platform: its local.json document, its Regions' endpoints, the health checker
    and the fault controller (drills drive these in-process; `strongroom fault` through control)."""

    state: dict[str, Any]
    endpoints: dict[str, RegionEndpoint]
    checker: HealthChecker
    controller: FaultController


@contextmanager
def running_platform(
    config: PlatformConfig,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """Start everything; yield the state document (as written to local.json); stop everything on exit."""
    with local_platform(config, **options) as platform:
        yield platform.state


@contextmanager
def local_platform(
    config: PlatformConfig,
    *,
    regions: list[str],
    port: int,
    credentials: Credentials,
    directory: Path,
    concurrency: int = 4,
    time_scale: float = 1.0,
    function_log: Path | None = None,
    say: Callable[[str], None] = print,
) -> Iterator[LocalPlatform]:
    """Start everything; yield the running platform; stop everything on exit.

    ``time_scale`` runs the health checker, the DNS TTL and the functions' shared deep-health result
    that many times faster (drills); the client path and replication lag keep real time.
    ``function_log`` receives the functions' logs instead of the terminal."""
    ports = [port + i for i in range(len(regions))]
    _check_ports(ports)
    # The gateway's own problems use the same type base as the functions'.
    problems.set_problem_type_base(config.problem_type_base)
    with ExitStack() as stack:
        say("starting the embedded AWS emulator (moto) …")
        emu = stack.enter_context(emulator.start())
        cursor_secret = new_cursor_secret()
        state: dict[str, Any] = {
            "pid": os.getpid(),
            "emulator": emu.endpoint,
            "credentials": {
                "accessKeyId": credentials.access_key_id,
                "secretAccessKey": credentials.secret_access_key,
            },
            "callerRole": create_caller_role(emu.endpoint, regions[0]),
            "consistency": config.consistency,
            "replicationLagSeconds": config.replication_lag_seconds,
            "timeScale": time_scale,
            "regions": {},
        }
        principals = Principals(credentials, emu.endpoint)
        endpoints: dict[str, RegionEndpoint] = {}
        served: dict[str, tuple[ProvisionedRegion, dict[str, str]]] = {}
        for name, region_port in zip(regions, ports, strict=True):
            endpoints[name], provisioned, environment = _serve_region(
                stack,
                config=config,
                name=name,
                port=region_port,
                emulator_endpoint=emu.endpoint,
                cursor_secret=cursor_secret,
                principals=principals,
                concurrency=concurrency,
                time_scale=time_scale,
                function_log=function_log,
            )
            served[name] = (provisioned, environment)
            state["regions"][name] = {
                "url": endpoints[name].url,
                "transactionsTable": provisioned.transactions_table,
                "auditTable": provisioned.audit_table,
                "keys": provisioned.key_ids,
            }
            say(f"  {name}: API on {endpoints[name].url} (tables and keys provisioned)")
        if len(regions) > 1:
            global_tables.configure(
                emu.endpoint,
                consistency=config.consistency,
                regions=regions,
                # The audit table is always eventual (docs/adr/0011); the money table follows config.
                tables={
                    config.names.transactions_table: config.consistency,
                    config.names.audit_table: "eventual",
                },
                lag_seconds=config.replication_lag_seconds,
            )
            say(f"  global tables: {config.consistency} consistency across {', '.join(regions)}")
        for name, (provisioned, environment) in served.items():
            pipelines = _run_pipelines(
                stack,
                config=config,
                name=name,
                emulator_endpoint=emu.endpoint,
                provisioned=provisioned,
                environment=environment,
            )
            state["regions"][name].update(pipelines.to_state())
            say(
                f"  {name}: ingestion from s3://{pipelines.ingest_bucket}/{INGEST_PREFIX}, "
                f"events to {pipelines.event_stream}"
            )
        state_file = StateFile(directory, state)
        checker = HealthChecker(
            {name: _deep_health_url(e.url) for name, e in endpoints.items()}, config.health_check, time_scale
        )
        controller = FaultController(endpoints, emu.endpoint, checker)

        def refresh(*_: object) -> None:
            for name in endpoints:
                state["regions"][name].update(controller.region_status(name))
            state_file.write()

        checker.on_change = refresh
        controller.on_change = refresh
        control = ControlServer(controller)
        stack.callback(control.server_close)
        stack.callback(control.shutdown)
        control.serve_in_background()
        state["control"] = {"url": control.url, "token": control.token, "statusUrl": control.url + "/status"}
        checker.start()
        stack.callback(checker.stop)
        refresh()
        stack.callback(state_file.remove)
        yield LocalPlatform(state, endpoints, checker, controller)


def _serve_region(
    stack: ExitStack,
    *,
    config: PlatformConfig,
    name: str,
    port: int,
    emulator_endpoint: str,
    cursor_secret: str,
    principals: Principals,
    concurrency: int,
    time_scale: float,
    function_log: Path | None,
) -> tuple[RegionEndpoint, ProvisionedRegion, dict[str, str]]:
    session = boto3.session.Session(
        aws_access_key_id=_PROVISIONER, aws_secret_access_key=_PROVISIONER, region_name=name
    )
    provisioned = provision_region(
        config,
        name,
        dynamodb=session.client("dynamodb", endpoint_url=emulator_endpoint),
        kms_client=session.client("kms", endpoint_url=emulator_endpoint),
    )
    environment = function_environment(config, provisioned, emulator_endpoint, cursor_secret)
    sharing = config.health_check.deep_check_sharing_seconds / time_scale
    environment[env.ENV_DEEP_HEALTH_INTERVAL] = f"{sharing:g}"
    if function_log is not None:
        environment[env.ENV_LOCAL_FUNCTION_LOG] = str(function_log)
    pool = FunctionPool(
        "strongroom-api", environment, concurrency, timeout=config.api_function.timeout_seconds
    )
    stack.callback(pool.close)
    pool.warm()

    def make_gateway() -> Gateway:
        try:
            return Gateway((emulator.LOOPBACK, port), region=name, function=pool, principals=principals)
        except OSError as exc:
            raise UpError(f"cannot listen on {emulator.LOOPBACK}:{port}: {exc.strerror}") from None

    endpoint = RegionEndpoint(name, make_gateway)
    endpoint.start()
    stack.callback(endpoint.close)
    return endpoint, provisioned, environment


# Local pipeline functions: fewer environments than the API's; the queue's visibility timeout is
# short so a failed message is retried within seconds here (AWS: six times the function timeout).
PIPELINE_CONCURRENCY = 2
LOCAL_VISIBILITY_TIMEOUT = 10


def _run_pipelines(
    stack: ExitStack,
    *,
    config: PlatformConfig,
    name: str,
    emulator_endpoint: str,
    provisioned: ProvisionedRegion,
    environment: dict[str, str],
) -> ProvisionedPipelines:
    """The Region's ingestion (S3 → SQS → ingest function) and outbox publisher (the transactions
    table's stream → publisher → Kinesis), fed by pollers with Lambda's event source semantics."""
    session = boto3.session.Session(
        aws_access_key_id=_PROVISIONER, aws_secret_access_key=_PROVISIONER, region_name=name
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=emulator_endpoint)  # type: ignore[call-overload]

    sqs = client("sqs")
    pipelines = provision_pipelines(
        config,
        name,
        s3=client("s3"),
        sqs=sqs,
        kinesis=client("kinesis"),
        key_ids=provisioned.key_ids,
        max_receive_count=config.pipeline.ingest_max_receives,
    )
    ingest = FunctionPool(
        "strongroom-ingest",
        {
            **environment,
            env.ENV_AUDIT_TABLE: provisioned.audit_table,
            env.ENV_INGEST_QUEUE_URL: pipelines.ingest_queue_url,
            env.ENV_SERVICE_NAME: "strongroom-ingest",
        },
        PIPELINE_CONCURRENCY,
        handler="strongroom.runtime.ingest:handler",
        timeout=config.api_function.timeout_seconds * 6,
    )
    stack.callback(ingest.close)
    publisher = FunctionPool(
        "strongroom-publisher",
        {
            **environment,
            env.ENV_OUTBOX_STREAM: pipelines.event_stream,
            env.ENV_SERVICE_NAME: "strongroom-publisher",
        },
        PIPELINE_CONCURRENCY,
        handler="strongroom.runtime.publisher:handler",
        timeout=config.api_function.timeout_seconds * 6,
    )
    stack.callback(publisher.close)
    stream_arn = client("dynamodb").describe_table(TableName=provisioned.transactions_table)["Table"][
        "LatestStreamArn"
    ]
    pollers: list[SqsPoller | StreamPoller] = [
        SqsPoller(
            sqs,
            pipelines.ingest_queue_url,
            pipelines.ingest_queue_arn,
            name,
            ingest.invoke,
            visibility_timeout=LOCAL_VISIBILITY_TIMEOUT,
        ),
        StreamPoller(
            client("dynamodbstreams"),
            stream_arn,
            name,
            publisher.invoke,
            accept=is_transaction_record,
            on_failure=send_to_queue(sqs, pipelines.publisher_dlq_url),
        ),
    ]
    for poller in pollers:
        poller.start()
        stack.callback(poller.stop)
    return pipelines


def _banner(state: dict[str, Any], credentials: Credentials, state_path: Path) -> str:
    first_region, first = next(iter(state["regions"].items()))
    lines = [
        "",
        "Strongroom is running locally (no AWS account needed).",
        f"  emulator (moto):   {state['emulator']}",
        *(f"  API {name:<14} {region['url']}" for name, region in state["regions"].items()),
        f"  access key id:     {credentials.access_key_id}",
        f"  secret access key: {credentials.secret_access_key}",
        f"  caller role:       {state['callerRole']} (AssumeRole it at the emulator for temporary keys)",
        f"  state file:        {state_path}",
        "",
        "Create a transaction (SigV4-signed, as IAM authorization requires):",
        "",
        curl_example(first["url"], first_region, credentials),
        "",
        f"Health needs no signature: curl {first['url']}/health/deep",
        f"Take a Region down and back: strongroom fault region-outage --region {first_region}; "
        "strongroom fault clear",
        f"Regions, faults, health checks, replication: curl {state['control']['statusUrl']}",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def up(
    config: PlatformConfig,
    *,
    regions: list[str] | None = None,
    port: int = DEFAULT_PORT,
    directory: str | None = None,
    concurrency: int = 4,
    time_scale: float = 1.0,
) -> int:
    """Run until SIGINT or SIGTERM; return the exit code."""
    names = regions or [r.name for r in config.regions]
    for name in names:
        config.region(name)  # raises a ConfigError naming the configured Regions
    credentials = local_credentials()
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        path = state_dir(directory)
        with running_platform(
            config,
            regions=names,
            port=port,
            credentials=credentials,
            directory=path,
            concurrency=concurrency,
            time_scale=time_scale,
        ) as state:
            print(_banner(state, credentials, path / STATE_FILE), flush=True)
            while not stop.wait(0.5):
                pass
            print("\nstopping …", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped.", flush=True)
    return 0
