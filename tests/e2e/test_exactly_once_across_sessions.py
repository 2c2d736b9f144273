"""Over HTTP, as a caller on AWS compute signs: a retry from another credential session of the same
role is a replay of one transaction, never a second payment (docs/adr/0002)."""

from __future__ import annotations

import uuid

from strongroom.local.client import session_client
from tests.e2e.conftest import Platform, txn_body


def transactions_with_id(platform: Platform, transaction_id: str) -> int:
    table = platform.state["regions"]["eu-west-1"]["transactionsTable"]
    item = platform.dynamodb().get_item(
        TableName=table, Key={"pk": {"S": transaction_id}}, ConsistentRead=True
    )
    return 1 if "Item" in item else 0


def test_a_retry_from_another_session_of_the_role_is_a_replay(platform: Platform) -> None:
    # GIVEN a payment sent by one task of the caller role, with its own STS session
    key, body = f"pay-{uuid.uuid4()}", txn_body(customerId=f"cust-{uuid.uuid4().hex[:8]}")
    first = session_client(platform.state, "eu-west-1", "task-a").request(
        "POST", "/transactions", body, headers={"Idempotency-Key": key}
    )
    assert first.status == 201, first.body
    # WHEN another task, with another session of the same role, retries it
    retry = session_client(platform.state, "eu-west-1", "task-b").request(
        "POST", "/transactions", body, headers={"Idempotency-Key": key}
    )
    # THEN it is a replay of the one transaction
    assert retry.status == 201, retry.body
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json()["id"] == first.json()["id"]
    listing = platform.client().request("GET", f"/customers/{body['customerId']}/transactions")
    assert [t["id"] for t in listing.json()["items"]] == [first.json()["id"]]


def test_the_static_user_and_the_role_are_two_principals(platform: Platform) -> None:
    key, body = f"pay-{uuid.uuid4()}", txn_body()
    as_role = session_client(platform.state, "eu-west-1").request(
        "POST", "/transactions", body, headers={"Idempotency-Key": key}
    )
    as_user = platform.client().request("POST", "/transactions", body, headers={"Idempotency-Key": key})
    assert (as_role.status, as_user.status) == (201, 201)
    assert "Idempotent-Replayed" not in as_user.headers
    assert as_role.json()["id"] != as_user.json()["id"]
    assert transactions_with_id(platform, as_role.json()["id"]) == 1
