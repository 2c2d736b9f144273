from __future__ import annotations

import functools
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto.kms.models
import pytest
from botocore.exceptions import ClientError
from hypothesis import settings
from moto import mock_aws

from strongroom import constants as env
from strongroom.config import load_config
from strongroom.local.events import LocalLambdaContext, response_headers, rest_proxy_event
from strongroom.local.provision import ProvisionedRegion, new_cursor_secret, provision_region
from strongroom.runtime import api
from strongroom.runtime.observability import logger

REGION = "eu-west-1"
CALLER = "arn:aws:iam::000000000000:user/alice"
OTHER_CALLER = "arn:aws:iam::000000000000:user/bob"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:strongroom:problem:"

# No example database: tests write nothing to the working tree.
settings.register_profile("strongroom", database=None)
settings.load_profile("strongroom")


class StepClock:
    """A clock that advances one millisecond per reading, so creation order is total and known."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


@dataclass
class ApiClient:
    """Invokes the real handler with REST proxy events, as API Gateway would."""

    provisioned: ProvisionedRegion

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        caller: str = CALLER,
        content_type: str | None = JSON,
        identity: dict[str, Any] | None = None,
    ) -> Reply:
        """``content_type=None`` sends no Content-Type header at all; ``identity`` replaces the whole
        ``requestContext.identity`` API Gateway would send (``caller`` then plays no part)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        all_headers = {"content-type": content_type} if content_type is not None else {}
        all_headers.update(headers or {})
        event = rest_proxy_event(
            method=method, raw_path=path, headers=all_headers, body=data, region=REGION, caller_arn=caller
        )
        if identity is not None:
            event["requestContext"]["identity"] = identity
        response = api.handler(event, LocalLambdaContext("strongroom-api", REGION))  # type: ignore[arg-type]
        text = response.get("body") or ""
        reply_headers = dict(response_headers(response))
        content = reply_headers.get("Content-Type", "")
        return Reply(response["statusCode"], reply_headers, json.loads(text) if "json" in content else text)

    def create(self, body: dict[str, Any], key: str = "key-1", **kwargs: Any) -> Reply:
        return self.call("POST", "/transactions", body, headers={"Idempotency-Key": key}, **kwargs)


@pytest.fixture(autouse=True)
def _quiet_empty_metrics() -> None:
    """As in production (strongroom.runtime.observability): a read publishes no metric, expectedly."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")


# moto gives every KMS key an RSA-2048 private key (for asymmetric signing, which Strongroom never
# uses); generating it is most of a test's setup time. One per key spec serves every test.
_one_private_key_per_spec = functools.cache(moto.kms.models.generate_private_key)  # type: ignore[attr-defined]


@functools.cache
def aws_client(service: str) -> Any:
    """One boto3 client per service for the whole run, for the tests' own calls (moto state is per test)."""
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


_NewSession = boto3.session.Session


@functools.cache
def _shared_session() -> boto3.session.Session:
    """The API builds its clients from a new boto3 Session, which re-parses every service model (~0.1 s).
    Tests hand it this one session instead: same wiring, models parsed once per run."""
    return _NewSession()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv(env.ENV_AWS_ENDPOINT_URL, raising=False)
    monkeypatch.setattr(moto.kms.models, "generate_private_key", _one_private_key_per_spec)
    with mock_aws():
        yield


@pytest.fixture
def provisioned(aws: None) -> ProvisionedRegion:
    return provision_region(
        load_config(environ={}),
        REGION,
        dynamodb=aws_client("dynamodb"),
        kms_client=aws_client("kms"),
    )


@pytest.fixture
def client(provisioned: ProvisionedRegion, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    for name in os.environ:
        if name.startswith("STRONGROOM_"):  # a developer's shell must not change what the tests see
            monkeypatch.delenv(name)
    monkeypatch.setenv(env.ENV_AWS_REGION, REGION)
    monkeypatch.setenv(env.ENV_TRANSACTIONS_TABLE, provisioned.transactions_table)
    monkeypatch.setenv(env.ENV_DATA_KEY_ID, provisioned.data_key_id)
    monkeypatch.setenv(env.ENV_HEALTH_CANARY_CIPHERTEXT, provisioned.health_canary_ciphertext)
    monkeypatch.setenv(env.ENV_CURSOR_SECRET, new_cursor_secret())
    # Every deep-health call runs its checks here; the sharing interval has tests of its own.
    monkeypatch.setenv(env.ENV_DEEP_HEALTH_INTERVAL, "0")
    monkeypatch.setattr(boto3.session, "Session", _shared_session)
    deps = api.dependencies_from_environment()
    deps.clock = StepClock()
    api.configure(deps)
    yield ApiClient(provisioned)
    api.configure(None)


def txn_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "amount": "12.34",
        "currency": "EUR",
        "customerId": "cust-0042",
        "type": "debit",
        "reference": "rent",
    }
    body.update(overrides)
    return body


# --- inspecting what the API did -----------------------------------------------------------------


def table_items(provisioned: ProvisionedRegion) -> list[dict[str, Any]]:
    """Every item in the transactions table (canary items included), straight from DynamoDB."""
    items: list[dict[str, Any]] = aws_client("dynamodb").scan(
        TableName=provisioned.transactions_table, ConsistentRead=True
    )["Items"]
    return items


def transaction_items(provisioned: ProvisionedRegion) -> list[dict[str, Any]]:
    """The table's transaction items (the deep health check's canary has no customerId)."""
    return [item for item in table_items(provisioned) if "customerId" in item]


def assert_problem(reply: Reply, slug: str, status: int) -> dict[str, Any]:
    """``reply`` is RFC 9457 problem+json of the given stable type; returns its body."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == PROBLEM_JSON
    assert isinstance(reply.body, dict)
    assert reply.body["type"] == PROBLEM_BASE + slug
    assert reply.body["status"] == status
    assert reply.body["title"]
    assert reply.body["detail"]
    return reply.body


def error_fields(reply: Reply) -> set[str]:
    return {e["field"] for e in reply.body.get("errors", [])}


# --- fakes ---------------------------------------------------------------------------------------


def client_error(code: str, operation: str = "PutItem", message: str = "", **response: Any) -> ClientError:
    """A botocore ClientError as the SDK raises it for an AWS error ``code``."""
    error: Any = {"Error": {"Code": code, "Message": message or f"{code} happened"}, **response}
    return ClientError(error, operation)


@dataclass
class ScriptedDynamoDB:
    """A DynamoDB client stand-in: put_item raises the scripted errors in order, then stores the item.

    get_item reads what was stored. Only what TransactionStore calls is implemented.
    """

    failures: list[Exception] = field(default_factory=list)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    put_requests: list[dict[str, Any]] = field(default_factory=list)

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.put_requests.append(request)
        if self.failures:
            raise self.failures.pop(0)
        self.items[request["Item"]["pk"]["S"]] = request["Item"]
        return {}

    def get_item(self, **request: Any) -> dict[str, Any]:
        item = self.items.get(request["Key"]["pk"]["S"])
        return {"Item": item} if item else {}


class KeyStateEnforcingKms:
    """moto's KMS decrypts under a disabled key; real KMS refuses with DisabledException. This wraps a
    (moto) KMS client and adds that one check, so the deep health check sees what it would in AWS."""

    def __init__(self, kms: Any) -> None:
        self._kms = kms

    def decrypt(self, **request: Any) -> dict[str, Any]:
        state = self._kms.describe_key(KeyId=request["KeyId"])["KeyMetadata"]["KeyState"]
        if state == "Disabled":
            raise client_error("DisabledException", "Decrypt", f"{request['KeyId']} is disabled.")
        if state != "Enabled":
            raise client_error("KMSInvalidStateException", "Decrypt", f"{request['KeyId']} is {state}.")
        return dict(self._kms.decrypt(**request))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kms, name)


# --- logs and metrics ----------------------------------------------------------------------------


@dataclass
class Output:
    """What the function wrote to stdout: Powertools JSON log records and EMF metric documents."""

    lines: list[str]

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "_aws" not in r]

    @property
    def metric_names(self) -> list[str]:
        names = []
        for record in self.records:
            for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
                names += [metric["Name"] for metric in directive["Metrics"]]
        return names


class _CurrentStdout:
    """Writes to whatever sys.stdout is at the moment of writing (capsys swaps it per test phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def stdout(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], Output]:
    """Read everything logged or published since the last call.

    The Powertools logger's handler kept the stdout of import time; point it at the captured one.
    """
    monkeypatch.setattr(logger.registered_handler, "stream", _CurrentStdout())

    def read() -> Output:
        return Output([line for line in capsys.readouterr().out.splitlines() if line.strip()])

    return read


PYTHON_EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b")


def conforms(wire_type: Any, body: Any) -> Any:
    """``body`` validated strictly against one of the API's wire types (models.py); returns it."""
    from pydantic import TypeAdapter  # noqa: PLC0415

    return TypeAdapter(wire_type).validate_python(body, strict=True)
