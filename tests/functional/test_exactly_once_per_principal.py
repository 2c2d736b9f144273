"""Exactly-once is per principal, not per credential session (docs/adr/0002).

A retry from another task, instance or refreshed credential of the same role must not move the money
twice; two different roles that pick the same key are two callers; no identity is refused.
"""

from __future__ import annotations

from typing import Any

from tests.functional.conftest import ApiClient, assert_problem, transaction_items, txn_body

ACCOUNT = "000000000000"


def assumed_role(role: str, session: str, access_key: str) -> dict[str, Any]:
    """``requestContext.identity`` as API Gateway builds it for an assumed-role caller."""
    return {
        "accountId": ACCOUNT,
        "userArn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
        "caller": f"AROAEXAMPLEROLEID0001:{session}",
        "user": f"AROAEXAMPLEROLEID0001:{session}",
        "accessKey": access_key,
        "sourceIp": "10.1.2.3",
    }


def test_two_sessions_of_one_role_create_one_transaction(client: ApiClient, provisioned: Any) -> None:
    # GIVEN a payment sent by one task of the payments role
    first = client.create(txn_body(), key="pay-1", identity=assumed_role("payments", "task-a", "ASIAAAAA"))
    assert first.status == 201
    # WHEN another task (another credential session of the same role) retries it
    retry = client.create(txn_body(), key="pay-1", identity=assumed_role("payments", "task-b", "ASIABBBB"))
    # THEN the retry is a replay of the same transaction, and only one exists
    assert retry.status == 201
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.body == first.body
    assert len(transaction_items(provisioned)) == 1


def test_two_roles_with_the_same_key_are_two_transactions(client: ApiClient, provisioned: Any) -> None:
    a = client.create(txn_body(), key="pay-1", identity=assumed_role("payments", "s1", "ASIAAAAA"))
    b = client.create(txn_body(), key="pay-1", identity=assumed_role("refunds", "s1", "ASIABBBB"))
    assert (a.status, b.status) == (201, 201)
    assert "Idempotent-Replayed" not in b.headers
    assert a.body["id"] != b.body["id"]
    assert len(transaction_items(provisioned)) == 2


def test_a_request_with_no_identity_is_refused(client: ApiClient, provisioned: Any) -> None:
    anonymous = {"accountId": None, "userArn": None, "caller": None, "accessKey": None, "sourceIp": "1.2.3.4"}
    reply = client.create(txn_body(), key="pay-1", identity=anonymous)
    assert_problem(reply, "forbidden", 403)
    assert transaction_items(provisioned) == []


def test_every_authorised_route_refuses_a_request_with_no_identity(client: ApiClient) -> None:
    created = client.create(txn_body(), key="pay-1")
    anonymous: dict[str, Any] = {"sourceIp": "1.2.3.4"}
    for path in (created.headers["Location"], "/customers/cust-0042/transactions", "/openapi.json"):
        assert_problem(client.call("GET", path, identity=anonymous), "forbidden", 403)
    # health stays public: Route 53's checkers cannot sign
    assert client.call("GET", "/health", identity=anonymous).status == 200
