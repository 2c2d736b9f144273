"""When dependencies fail: the right problem type, a retry hint, and nothing internal in the response."""

from __future__ import annotations

import dataclasses
import json

import pytest

from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime import api
from strongroom.runtime.adapters.dynamodb import TransactionStore
from tests.functional.conftest import (
    PROBLEM_BASE,
    PYTHON_EXCEPTION_NAME,
    ApiClient,
    Reply,
    ScriptedDynamoDB,
    assert_problem,
    aws_client,
    client_error,
    txn_body,
)


def use_store_client(fake: ScriptedDynamoDB, *, conflict_retries: int = 3) -> ScriptedDynamoDB:
    """Swap the API's DynamoDB client for ``fake`` (the store logic itself stays real)."""
    deps = api.dependencies()
    store = TransactionStore(
        fake,  # type: ignore[arg-type]
        deps.settings.transactions_table,
        conflict_retries=conflict_retries,
        sleep=lambda _: None,
    )
    api.configure(dataclasses.replace(deps, store=store))
    return fake


def assert_reveals_nothing(reply: Reply, provisioned: ProvisionedRegion) -> None:
    text = reply.text
    assert provisioned.transactions_table not in text
    for arn in provisioned.key_ids.values():
        assert arn not in text
        assert arn.rsplit("/", 1)[-1] not in text  # nor the bare key id
    assert "arn:aws:" not in text
    assert "Traceback" not in text
    assert not PYTHON_EXCEPTION_NAME.search(text), text


def test_unexpected_error_is_a_500_without_details(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    # GIVEN a store that fails in a way nobody planned for, with internals in the message
    secret = f"boom in {provisioned.transactions_table} with {provisioned.data_key_id}"
    use_store_client(ScriptedDynamoDB([RuntimeError(secret)]))
    # WHEN a transaction is created
    reply = client.create(txn_body(), key="unexpected")
    # THEN the client learns only that it failed, and where to look (the correlation id)
    body = assert_problem(reply, "internal-error", 500)
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert "correlation id" in body["detail"]
    assert reply.headers["X-Correlation-Id"]
    assert "boom" not in reply.text
    assert "Retry-After" not in reply.headers
    assert_reveals_nothing(reply, provisioned)


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    ],
)
def test_retryable_aws_error_is_503_with_retry_after(
    client: ApiClient, provisioned: ProvisionedRegion, code: str
) -> None:
    use_store_client(
        ScriptedDynamoDB([client_error(code, message=f"Rate exceeded for {provisioned.transactions_table}")])
    )
    reply = client.create(txn_body(), key="throttled")
    body = assert_problem(reply, "service-unavailable", 503)
    assert "same key" in body["detail"]
    assert reply.headers["Retry-After"] == "1"
    assert_reveals_nothing(reply, provisioned)


def test_non_retryable_aws_error_is_a_500(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    use_store_client(
        ScriptedDynamoDB([client_error("ValidationException", message="One or more parameter values")])
    )
    reply = client.create(txn_body(), key="invalid")
    assert_problem(reply, "internal-error", 500)
    assert_reveals_nothing(reply, provisioned)


def test_persistent_replicated_write_conflicts_are_503(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    fake = use_store_client(
        ScriptedDynamoDB([client_error("ReplicatedWriteConflictException") for _ in range(3)]),
        conflict_retries=2,
    )
    reply = client.create(txn_body(), key="conflicted")
    assert_problem(reply, "service-unavailable", 503)
    assert len(fake.put_requests) == 3


def test_transient_replicated_write_conflict_is_invisible_to_the_client(client: ApiClient) -> None:
    fake = use_store_client(ScriptedDynamoDB([client_error("ReplicatedWriteConflictException")]))
    reply = client.create(txn_body(), key="conflict-once")
    assert reply.status == 201
    assert len(fake.put_requests) == 2


def test_missing_table_is_not_revealed(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    aws_client("dynamodb").delete_table(TableName=provisioned.transactions_table)
    for reply in (
        client.create(txn_body(), key="no-table"),
        client.call("GET", "/transactions/txn_" + "a" * 26),
        client.call("GET", "/customers/cust-0042/transactions"),
    ):
        assert reply.status >= 500
        assert_reveals_nothing(reply, provisioned)


def test_no_response_reveals_internals(client: ApiClient, provisioned: ProvisionedRegion) -> None:
    # A sweep over successes and every kind of rejection the API produces.
    created = client.create(txn_body(), key="sweep")
    replies = [
        created,
        client.create(txn_body(), key="sweep"),
        client.create(txn_body(amount="2.00"), key="sweep"),
        client.call("GET", created.headers["Location"]),
        client.call("GET", "/transactions/txn_" + "b" * 26),
        client.call("GET", "/customers/cust-0042/transactions?limit=1"),
        client.call("GET", "/customers/cust-0042/transactions?cursor=forged.cursor"),
        client.call("GET", "/customers/cust-0042/transactions?limit=0"),
        client.call("POST", "/transactions", raw=b"{", headers={"Idempotency-Key": "k"}),
        client.call("POST", "/transactions", raw=b"[]", headers={"Idempotency-Key": "k"}),
        client.call("POST", "/transactions", txn_body(amount=1.5), headers={"Idempotency-Key": "k"}),
        client.call("POST", "/transactions", {**txn_body(), "x": 1}, headers={"Idempotency-Key": "k"}),
        client.call("POST", "/transactions", txn_body()),
        client.call("POST", "/transactions", raw=b"x" * 9000, headers={"Idempotency-Key": "k"}),
        client.call(
            "POST", "/transactions", txn_body(), content_type="text/plain", headers={"Idempotency-Key": "k"}
        ),
        client.call("DELETE", "/transactions"),
        client.call("GET", "/nope"),
        client.call("GET", "/health"),
        client.call("GET", "/health/deep"),
    ]
    for reply in replies:
        assert_reveals_nothing(reply, provisioned)
        if reply.status >= 400:
            assert json.loads(reply.text)["type"].startswith(PROBLEM_BASE)
