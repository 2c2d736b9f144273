"""Shallow and deep health, as Route 53 sees them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from strongroom import __version__
from strongroom import constants as env
from strongroom.local.events import LocalLambdaContext, rest_proxy_event
from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime import api
from strongroom.runtime.adapters.dynamodb import TransactionStore
from strongroom.runtime.health import DeepHealthCheck
from strongroom.runtime.models import Health
from strongroom.runtime.routes import deep_health_search_string
from strongroom.runtime.settings import RuntimeSettings
from tests.functional.conftest import (
    REGION,
    ApiClient,
    KeyStateEnforcingKms,
    aws_client,
    conforms,
    table_items,
    txn_body,
)

HEALTH_JSON = "application/health+json"


class Untouchable:
    """Any use of an AWS client fails the test: the shallow check must not call AWS."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"shallow health called AWS ({name})")


@pytest.fixture
def real_kms_key_states(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    """Deep health through a KMS client that refuses disabled keys, as AWS does (moto does not)."""
    deps = api.dependencies()
    health = DeepHealthCheck(
        region=REGION,
        store=deps.store,
        kms_client=lambda: KeyStateEnforcingKms(aws_client("kms")),  # type: ignore[arg-type, return-value]
        key_id=provisioned.data_key_id,
        canary_ciphertext=provisioned.health_canary_ciphertext,
        interval_seconds=0,
    )
    api.configure(dataclasses.replace(deps, health=health))


def checks(body: dict[str, Any]) -> dict[str, str]:
    return {name: check["status"] for name, check in body["checks"].items()}


def test_shallow_health_answers_without_touching_aws(aws: None) -> None:
    # GIVEN a function whose every AWS client explodes when used
    settings = RuntimeSettings(REGION, "strongroom-transactions", None, None, None)
    store = TransactionStore(Untouchable(), settings.transactions_table)  # type: ignore[arg-type]
    health = DeepHealthCheck(
        region=REGION,
        store=store,
        kms_client=Untouchable,  # type: ignore[arg-type]
        key_id="k",
        canary_ciphertext=None,
    )
    api.configure(api.Dependencies(settings=settings, store=store, health=health, cursors=None))
    try:
        # WHEN Route 53's shallow check arrives
        reply = ApiClient(None).call("GET", "/health")  # type: ignore[arg-type]
    finally:
        api.configure(None)
    # THEN it passes
    assert reply.status == 200
    assert reply.headers["Content-Type"] == HEALTH_JSON
    assert reply.body == {"status": "pass", "region": REGION, "version": __version__}
    conforms(Health, reply.body)


@pytest.mark.parametrize("path", ["/health", "/health/deep"])
def test_health_reports_the_deployed_version_and_keeps_the_search_string_whole(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # GIVEN a function deployed from release 1.4.2 (the deployment stamps STRONGROOM_VERSION)
    monkeypatch.setenv(env.ENV_VERSION, "1.4.2")
    deps = api.dependencies()
    api.configure(dataclasses.replace(deps, settings=RuntimeSettings.from_environ()))
    # WHEN a health checker asks
    event = rest_proxy_event(method="GET", raw_path=path, headers={}, body=b"", region=REGION)
    response = api.handler(event, LocalLambdaContext("strongroom-api", REGION))  # type: ignore[arg-type]
    body = json.loads(response["body"])
    # THEN the body says which release answered, documented, and the version does not come between the
    # status and the Region that Route 53's search string holds together
    assert response["statusCode"] == 200
    assert body["version"] == "1.4.2"
    assert list(body)[:3] == ["status", "region", "version"]
    assert response["body"].startswith("{" + deep_health_search_string(REGION) + ",")
    conforms(Health, body)


def test_deep_health_passes_with_both_checks(client: ApiClient) -> None:
    reply = client.call("GET", "/health/deep")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == HEALTH_JSON
    assert reply.body["status"] == "pass"
    assert reply.body["region"] == REGION
    assert checks(reply.body) == {"dynamodb": "pass", "kms": "pass"}
    assert all("reason" not in check for check in reply.body["checks"].values())
    conforms(Health, reply.body)


def test_deep_health_writes_its_canary_outside_the_customer_index(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    client.call("GET", "/health/deep")
    items = aws_client("dynamodb").scan(TableName=provisioned.transactions_table)["Items"]
    assert [item["pk"]["S"] for item in items] == [f"HEALTH#{REGION}"]
    assert "customerId" not in items[0]


@pytest.mark.usefixtures("real_kms_key_states")
def test_disabled_data_key_fails_deep_health_with_a_reason_code(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    # GIVEN the Region's data key is disabled
    assert client.call("GET", "/health/deep").status == 200
    aws_client("kms").disable_key(KeyId=provisioned.data_key_id.rsplit("/", 1)[-1])
    # WHEN Route 53 asks
    reply = client.call("GET", "/health/deep")
    # THEN the Region is unhealthy, KMS says why in a stable reason code, DynamoDB is still fine
    assert reply.status == 503
    assert reply.body["status"] == "fail"
    assert checks(reply.body) == {"dynamodb": "pass", "kms": "fail"}
    assert reply.body["checks"]["kms"]["reason"] == "key-unavailable"
    assert provisioned.data_key_id not in reply.text
    conforms(Health, reply.body)


@pytest.mark.usefixtures("real_kms_key_states")
def test_deep_health_recovers_when_the_key_is_enabled_again(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    key_id = provisioned.data_key_id.rsplit("/", 1)[-1]
    aws_client("kms").disable_key(KeyId=key_id)
    assert client.call("GET", "/health/deep").status == 503
    aws_client("kms").enable_key(KeyId=key_id)
    assert client.call("GET", "/health/deep").status == 200


def test_deleted_table_fails_deep_health(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    aws_client("dynamodb").delete_table(TableName=provisioned.transactions_table)
    reply = client.call("GET", "/health/deep")
    assert reply.status == 503
    assert reply.body["status"] == "fail"
    assert checks(reply.body) == {"dynamodb": "fail", "kms": "pass"}
    assert reply.body["checks"]["dynamodb"]["reason"] == "not-found"
    assert provisioned.transactions_table not in reply.text


def test_canary_for_another_key_fails_kms(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    deps = api.dependencies()
    other_key = provisioned.key_ids["logs"]
    health = DeepHealthCheck(
        region=REGION,
        store=deps.store,
        kms_client=lambda: aws_client("kms"),
        key_id=other_key,
        canary_ciphertext=provisioned.health_canary_ciphertext,
        interval_seconds=0,
    )
    api.configure(dataclasses.replace(deps, health=health))
    reply = client.call("GET", "/health/deep")
    assert reply.status == 503
    assert checks(reply.body) == {"dynamodb": "pass", "kms": "fail"}
    assert reply.body["checks"]["kms"]["reason"] == "access-denied"


def test_canary_never_accumulates_however_many_probes_run(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    for _ in range(5):
        assert client.call("GET", "/health/deep").status == 200
    created = client.create(txn_body(), key="canary-1")
    keys = [item["pk"]["S"] for item in table_items(provisioned)]
    assert sorted(keys) == sorted([f"HEALTH#{REGION}", created.body["id"]])


@pytest.mark.parametrize("interval", ["5", "60"])
def test_callers_within_the_configured_interval_share_one_canary_write(
    client: ApiClient, provisioned: ProvisionedRegion, monkeypatch: pytest.MonkeyPatch, interval: str
) -> None:
    # GIVEN a function deployed with the default sharing interval
    monkeypatch.setenv(env.ENV_DEEP_HEALTH_INTERVAL, interval)
    deps = api.dependencies_from_environment()
    api.configure(deps)
    # WHEN a burst of anonymous callers asks for deep health
    replies = [client.call("GET", "/health/deep") for _ in range(50)]
    # THEN all pass, and the canary was written once
    assert {r.status for r in replies} == {200}
    canary = aws_client("dynamodb").get_item(
        TableName=provisioned.transactions_table, Key={"pk": {"S": f"HEALTH#{REGION}"}}
    )["Item"]
    assert canary["probes"] == {"N": "1"}
    assert len({r.body["checkedAt"] for r in replies}) == 1


def test_the_shared_result_shows_when_it_was_checked(client: ApiClient) -> None:
    reply = client.call("GET", "/health/deep")
    assert reply.body["ageSeconds"] == 0
    assert reply.body["checkedAt"].endswith("Z")
