"""POST /transactions: exactly-once creation per (caller, Idempotency-Key), through the real handler."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime.domain import transaction_id_for
from tests.functional.conftest import (
    CALLER,
    JSON,
    OTHER_CALLER,
    ApiClient,
    assert_problem,
    transaction_items,
    txn_body,
)

ID_RE = re.compile(r"^txn_[a-z2-7]{26}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_create_returns_201_with_location_and_the_transaction(client: ApiClient) -> None:
    reply = client.create(txn_body(amount="12.3"), key="create-1")

    assert reply.status == 201
    assert reply.headers["Content-Type"] == JSON
    body = reply.body
    assert ID_RE.match(body["id"])
    assert body["id"] == transaction_id_for(CALLER, "create-1")
    assert reply.headers["Location"] == f"/transactions/{body['id']}"
    assert {k: body[k] for k in ("customerId", "amount", "currency", "type", "reference", "status")} == {
        "customerId": "cust-0042",
        "amount": "12.30",  # canonical: the currency's two decimals
        "currency": "EUR",
        "type": "debit",
        "reference": "rent",
        "status": "accepted",
    }
    assert TIMESTAMP_RE.match(body["createdAt"])
    assert body["createdAt"] == body["updatedAt"]
    assert "Idempotent-Replayed" not in reply.headers


def test_created_transaction_is_stored_once_with_exact_amount(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    reply = client.create(txn_body(amount="0.29"), key="stored-1")
    [item] = transaction_items(provisioned)
    assert item["pk"] == {"S": reply.body["id"]}
    assert item["amount"] == {"S": "0.29"}
    assert item["customerId"] == {"S": "cust-0042"}


def test_replay_returns_the_original_and_writes_nothing_new(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    # GIVEN a created transaction
    first = client.create(txn_body(), key="replay-1")
    # WHEN the client retries with the same key and body (later: the clock has moved on)
    second = client.create(txn_body(), key="replay-1")
    # THEN it gets the original back, marked as a replay, and the table still holds one item
    assert second.status == 201
    assert second.body == first.body
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert len(transaction_items(provisioned)) == 1


def test_replay_with_the_amount_spelled_differently_is_still_a_replay(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    first = client.create(txn_body(amount="12.3"), key="spelling-1")
    second = client.create(txn_body(amount="12.30"), key="spelling-1")
    assert second.status == 201
    assert second.body["id"] == first.body["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(transaction_items(provisioned)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "99.99"},
        {"currency": "USD"},
        {"customerId": "cust-9"},
        {"type": "credit"},
        {"reference": "x"},
    ],
)
def test_same_key_with_a_different_body_is_refused_and_the_original_kept(
    client: ApiClient, provisioned: ProvisionedRegion, change: dict[str, str]
) -> None:
    # GIVEN a created transaction
    client.create(txn_body(), key="reuse-1")
    [original] = transaction_items(provisioned)
    # WHEN the same key is sent with a different request
    reply = client.create(txn_body(**change), key="reuse-1")
    # THEN it is refused and the stored transaction is untouched
    body = assert_problem(reply, "idempotency-key-reused", 422)
    assert "new key" in body["detail"]
    assert transaction_items(provisioned) == [original]


def test_same_key_from_another_caller_creates_another_transaction(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    alice = client.create(txn_body(), key="shared-key", caller=CALLER)
    bob = client.create(txn_body(amount="1.00"), key="shared-key", caller=OTHER_CALLER)
    assert alice.status == bob.status == 201
    assert alice.body["id"] != bob.body["id"]
    assert "Idempotent-Replayed" not in bob.headers
    assert bob.body["amount"] == "1.00"
    assert len(transaction_items(provisioned)) == 2


def test_different_keys_create_different_transactions(
    client: ApiClient, provisioned: ProvisionedRegion
) -> None:
    ids = {client.create(txn_body(), key=f"key-{n}").body["id"] for n in range(3)}
    assert len(ids) == 3
    assert len(transaction_items(provisioned)) == 3


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("500", "JPY", "500"),
        ("1.234", "BHD", "1.234"),
        ("1.2", "BHD", "1.200"),
        ("999999999.99", "EUR", "999999999.99"),
    ],
)
def test_amounts_are_stored_and_returned_in_the_currencys_minor_units(
    client: ApiClient, amount: str, currency: str, expected: str
) -> None:
    created = client.create(txn_body(amount=amount, currency=currency), key=f"{amount}-{currency}")
    assert created.status == 201
    assert created.body["amount"] == expected
    assert client.call("GET", created.headers["Location"]).body["amount"] == expected


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_content_type_variants_are_accepted(client: ApiClient, content_type: str) -> None:
    reply = client.call(
        "POST", "/transactions", txn_body(), headers={"Idempotency-Key": "ct"}, content_type=content_type
    )
    assert reply.status == 201


def test_idempotency_key_header_name_is_case_insensitive(client: ApiClient) -> None:
    reply = client.call("POST", "/transactions", txn_body(), headers={"idempotency-key": "lower"})
    assert reply.status == 201
    assert reply.body["id"] == transaction_id_for(CALLER, "lower")


def test_body_at_the_size_limit_is_accepted(client: ApiClient) -> None:
    text = '{"amount":"1.00","currency":"EUR","customerId":"c1","type":"credit","reference":"r"}'
    raw = (text + " " * (8192 - len(text))).encode()
    assert len(raw) == 8192
    reply = client.call("POST", "/transactions", raw=raw, headers={"Idempotency-Key": "at-limit"})
    assert reply.status == 201


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.from_regex(r"[1-9][0-9]{0,5}\.[0-9]{2}", fullmatch=True),
    customer=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True),
    kind=st.sampled_from(["debit", "credit"]),
    reference=st.text(
        st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co", "Zl", "Zp"]), min_size=1, max_size=140
    ).filter(str.strip),
)
def test_what_is_created_is_what_is_read_back(
    client: ApiClient, amount: str, customer: str, kind: str, reference: str
) -> None:
    body: dict[str, Any] = txn_body(amount=amount, customerId=customer, type=kind, reference=reference)
    created = client.create(body, key=str(uuid.uuid4()))
    assert created.status == 201, created.body
    fetched = client.call("GET", created.headers["Location"])
    assert fetched.body == created.body
    assert {k: fetched.body[k] for k in body} == body
