from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from strongroom import constants as env
from strongroom.config import load_config
from strongroom.local.events import LocalLambdaContext, response_headers, rest_proxy_event
from strongroom.local.provision import ProvisionedRegion, new_cursor_secret, provision_region
from strongroom.runtime import api

REGION = "eu-west-1"
CALLER = "arn:aws:iam::000000000000:user/alice"


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
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        all_headers = {"content-type": "application/json", **(headers or {})}
        event = rest_proxy_event(
            method=method, raw_path=path, headers=all_headers, body=data, region=REGION, caller_arn=caller
        )
        response = api.handler(event, LocalLambdaContext("strongroom-api", REGION))
        text = response.get("body") or ""
        reply_headers = dict(response_headers(response))
        content_type = reply_headers.get("Content-Type", "")
        return Reply(response["statusCode"], reply_headers, json.loads(text) if "json" in content_type else text)

    def create(self, body: dict[str, Any], key: str = "key-1", **kwargs: Any) -> Reply:
        return self.call("POST", "/transactions", body, headers={"Idempotency-Key": key}, **kwargs)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv(env.ENV_AWS_ENDPOINT_URL, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def provisioned(aws: None) -> ProvisionedRegion:
    return provision_region(
        load_config(environ={}),
        REGION,
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        kms_client=boto3.client("kms", region_name=REGION),
    )


@pytest.fixture
def client(provisioned: ProvisionedRegion, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    monkeypatch.setenv(env.ENV_AWS_REGION, REGION)
    monkeypatch.setenv(env.ENV_TRANSACTIONS_TABLE, provisioned.transactions_table)
    monkeypatch.setenv(env.ENV_DATA_KEY_ID, provisioned.data_key_id)
    monkeypatch.setenv(env.ENV_HEALTH_CANARY_CIPHERTEXT, provisioned.health_canary_ciphertext)
    monkeypatch.setenv(env.ENV_CURSOR_SECRET, new_cursor_secret())
    deps = api.dependencies_from_environment()
    deps.clock = StepClock()
    api.configure(deps)
    yield ApiClient(provisioned)
    api.configure(None)


def txn_body(**overrides: Any) -> dict[str, Any]:
    body = {"amount": "12.34", "currency": "EUR", "customerId": "cust-0042", "type": "debit", "reference": "rent"}
    body.update(overrides)
    return body
