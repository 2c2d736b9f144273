"""Pagination cursors over real HTTP against `strongroom up`: they name the key that signed them, work in
either Region (one application secret), and an unknown key is a 400, never a 500."""

from __future__ import annotations

import re
import uuid

from strongroom.local.client import SignedClient
from tests.e2e.conftest import Platform, txn_body

PROBLEM_BASE = "urn:strongroom:problem:"


def _listing(customer: str, cursor: str | None = None) -> str:
    return f"/customers/{customer}/transactions?limit=2" + (f"&cursor={cursor}" if cursor else "")


def _customer_with_three_transactions(api: SignedClient) -> str:
    customer = f"cust-{uuid.uuid4().hex[:12]}"
    for _ in range(3):
        reply = api.request(
            "POST",
            "/transactions",
            txn_body(customerId=customer),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert reply.status == 201, reply.body
    return customer


def test_a_cursor_names_its_key_and_pages_in_either_region(api: SignedClient, platform: Platform) -> None:
    customer = _customer_with_three_transactions(api)
    cursor = api.request("GET", _listing(customer)).json()["nextCursor"]

    key_id, payload, tag = cursor.split(".")
    assert re.fullmatch("[0-9a-f]{12}", key_id)  # a generated key: local mode uses the rotated format
    assert payload
    assert tag
    assert api.request("GET", _listing(customer, cursor)).status == 200
    other_region = sorted(r for r in platform.state["regions"] if r != "eu-west-1")[0]
    assert platform.client(other_region).request("GET", _listing(customer, cursor)).status == 200


def test_a_cursor_with_an_unknown_key_is_an_invalid_cursor(api: SignedClient) -> None:
    customer = _customer_with_three_transactions(api)
    cursor = api.request("GET", _listing(customer)).json()["nextCursor"]
    forged = "0123456789ab." + cursor.split(".", 1)[1]

    reply = api.request("GET", _listing(customer, forged))

    assert reply.status == 400, reply.body
    body = reply.json()
    assert body["type"] == PROBLEM_BASE + "invalid-cursor"
    assert "expired" in body["detail"]
    assert "Traceback" not in reply.body.decode()
