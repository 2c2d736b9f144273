"""The outbox publisher's events: what a stream record becomes, its id, and what is never published."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from strongroom.runtime.adapters.dynamodb import to_item
from strongroom.runtime.domain import Money, Transaction, TransactionStatus, TransactionType
from strongroom.runtime.publisher import (
    MalformedRecord,
    OutboxEvent,
    Skipped,
    build_event,
    event_from_image,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TXN_ID = "txn_" + "a" * 26


def txn(**overrides: Any) -> Transaction:
    base = Transaction(
        id=TXN_ID,
        customer_id="cust-0042",
        money=Money(Decimal("12.30"), "EUR"),
        type=TransactionType.DEBIT,
        reference="rent for flat 3, Jane Doe",
        status=TransactionStatus.ACCEPTED,
        created_at=T0,
        updated_at=T0,
        request_fingerprint="f" * 64,
    )
    return replace(base, **overrides)


def record(
    new: Transaction | None,
    old: Transaction | None = None,
    *,
    name: str | None = None,
    sequence: str = "100",
    event_id: str = "e1",
) -> dict[str, Any]:
    """A DynamoDB stream record in the shape Lambda delivers it."""
    key = (new or old or txn()).id
    data: dict[str, Any] = {
        "Keys": {"pk": {"S": key}},
        "SequenceNumber": sequence,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        data["NewImage"] = to_item(new)
    if old is not None:
        data["OldImage"] = to_item(old)
    kind = name or ("REMOVE" if new is None else "MODIFY" if old is not None else "INSERT")
    return {"eventID": event_id, "eventName": kind, "awsRegion": "eu-west-1", "dynamodb": data}


def event(rec: dict[str, Any], region: str = "eu-west-1") -> OutboxEvent:
    built = build_event(rec, region=region)
    assert isinstance(built, OutboxEvent), built
    return built


def test_an_insert_becomes_an_event_with_only_analytic_fields() -> None:
    # GIVEN a new transaction in the stream WHEN it is built THEN the body holds analytics' fields
    built = event(record(txn()))

    assert built.partition_key == "cust-0042"
    assert dict(built.body) == {
        "schemaVersion": 1,
        "eventId": built.event_id,
        "change": "created",
        "transactionId": TXN_ID,
        "customerId": "cust-0042",
        "type": "debit",
        "amount": "12.30",
        "currency": "EUR",
        "status": "accepted",
        "createdAt": "2026-11-23T12:00:00.000Z",
        "updatedAt": "2026-11-23T12:00:00.000Z",
        "publishedBy": "eu-west-1",
    }
    # the free-text reference (customer data) and the request fingerprint never leave the table
    assert b"Jane" not in built.data
    assert b"f" * 64 not in built.data
    assert built.event_id.startswith("evt_")
    assert len(built.event_id) == 4 + 26


def test_the_same_version_has_one_id_whichever_region_or_stream_record_carries_it() -> None:
    # INSERT in one replica's stream, MODIFY (over an older version) in the other's: one version
    settled = txn(status=TransactionStatus.SETTLED, updated_at=T0 + timedelta(seconds=5))
    in_a = event(record(settled, name="INSERT", sequence="1", event_id="a"), region="eu-west-1")
    in_b = event(record(settled, txn(), sequence="999", event_id="b"), region="eu-central-1")

    assert in_a.event_id == in_b.event_id
    assert in_a.body["change"] == in_b.body["change"] == "updated"
    assert {k: v for k, v in in_a.body.items() if k != "publishedBy"} == {
        k: v for k, v in in_b.body.items() if k != "publishedBy"
    }


def test_a_new_version_has_a_new_id() -> None:
    first = event(record(txn()))
    settled = event(
        record(txn(status=TransactionStatus.SETTLED, updated_at=T0 + timedelta(seconds=1)), txn())
    )
    other = event(record(txn(id="txn_" + "b" * 26)))

    assert len({first.event_id, settled.event_id, other.event_id}) == 3


def test_canary_items_are_never_published() -> None:
    canary = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"pk": {"S": "health#eu-west-1"}},
            "NewImage": {"pk": {"S": "health#eu-west-1"}, "probes": {"N": "3"}},
        },
    }
    assert build_event(canary, region="eu-west-1") == Skipped("not-a-transaction")


def test_removes_are_skipped_explicitly() -> None:
    assert build_event(record(None, txn()), region="eu-west-1") == Skipped("removed")


def test_a_change_invisible_to_analytics_is_not_published_again() -> None:
    # only the reference changed: the analytic fields, hence the event, are those already published
    assert build_event(record(txn(reference="other"), txn()), region="eu-west-1") == Skipped(
        "no-analytic-change"
    )


@pytest.mark.parametrize("missing", ["customerId", "amount", "updatedAt"])
def test_a_transaction_record_without_what_an_event_needs_is_malformed(missing: str) -> None:
    rec = record(txn())
    del rec["dynamodb"]["NewImage"][missing]

    with pytest.raises(MalformedRecord):
        build_event(rec, region="eu-west-1")


def test_a_transaction_record_without_a_new_image_is_malformed() -> None:
    rec = record(txn())
    del rec["dynamodb"]["NewImage"]

    with pytest.raises(MalformedRecord):
        build_event(rec, region="eu-west-1")


def test_a_table_item_and_its_stream_image_give_the_same_event() -> None:
    # republish reads items from the table; the stream path reads NewImage: one id for both
    assert event_from_image(to_item(txn()), region="eu-central-1").event_id == event(record(txn())).event_id
