"""Helpers for the outbox publisher's functional tests: transactions written as the API writes them,
a Kinesis client that fails as Kinesis does, and a consumer that reads every shard and deduplicates."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from strongroom.runtime.adapters.dynamodb import TransactionStore
from strongroom.runtime.domain import (
    Transaction,
    new_transaction,
    parse_transaction_request,
    transaction_id_for,
)

CALLER = "arn:aws:iam::000000000000:user/outbox-test"


def create_transactions(store: TransactionStore, count: int, *, customers: int = 3) -> list[Transaction]:
    """``count`` new transactions through the store's conditional PutItem (the API's write)."""
    created = []
    for n in range(count):
        request = parse_transaction_request(
            amount=f"{n + 1}.25",
            currency="EUR",
            customer_id=f"cust-{n % customers}",
            type="debit" if n % 2 else "credit",
            reference=f"private note {uuid.uuid4()}",
        )
        txn_id = transaction_id_for(CALLER, str(uuid.uuid4()))
        result = store.create(new_transaction(request, transaction_id=txn_id, now=datetime.now(UTC)))
        assert not result.replayed
        created.append(result.transaction)
    return created


def create_kinesis_stream(kinesis: Any, name: str | None = None) -> str:
    """An on-demand stream, as the platform's is (its CMK is not modelled here)."""
    name = name or f"outbox-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    return name


def consume(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Every event in every shard of ``stream``, as a consumer reads it (duplicates included)."""
    events: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            events += [
                {**json.loads(r["Data"]), "_partitionKey": r["PartitionKey"]} for r in response["Records"]
            ]
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return events


def deduplicate(*streams: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a consumer keeps after deduplicating by event id (the first copy of each)."""
    kept: dict[str, dict[str, Any]] = {}
    for events in streams:
        for event in events:
            kept.setdefault(event["eventId"], event)
    return kept


def by_transaction(kept: Mapping[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for event in kept.values():
        result.setdefault(event["transactionId"], []).append(event)
    return result


def assert_exactly_once(kept: Mapping[str, dict[str, Any]], transactions: Iterable[Transaction]) -> None:
    """One event per transaction (each was created once and never changed), matching the table."""
    expected = {t.id: t for t in transactions}
    grouped = by_transaction(kept)
    missing = set(expected) - set(grouped)
    assert not missing, f"{len(missing)} of {len(expected)} transactions never reached Kinesis"
    assert set(grouped) == set(expected), "an event for something that is not one of these transactions"
    for txn_id, events in grouped.items():
        assert len(events) == 1, f"{txn_id}: {len(events)} distinct events"
        (event,) = events
        txn = expected[txn_id]
        assert event["customerId"] == event["_partitionKey"] == txn.customer_id
        assert event["amount"] == txn.money.amount_text
        assert event["change"] == "created"
        assert "reference" not in event


@dataclass
class FlakyKinesis:
    """A real Kinesis client (moto) that fails as Kinesis does, reproducibly: per-record
    ProvisionedThroughputExceededException / InternalFailure (FailedRecordCount), whole calls refused
    before anything is written, and whole calls that wrote everything but whose response was lost."""

    real: Any
    seed: int = 7
    record_failure: float = 0.3
    call_refused: float = 0.15
    response_lost: float = 0.1
    calls: int = 0
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def _inject(self, code: str) -> None:
        self.injected[code] = self.injected.get(code, 0) + 1

    def put_records(self, **request: Any) -> Mapping[str, Any]:
        self.calls += 1
        roll = self._random.random()
        if roll < self.call_refused:
            self._inject("refused")
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}},
                "PutRecords",
            )
        records = request.pop("Records")
        failing = [self._random.random() < self.record_failure for _ in records]
        sent = [r for r, fail in zip(records, failing, strict=True) if not fail]
        answered = iter(self.real.put_records(Records=sent, **request)["Records"] if sent else [])
        if roll > 1 - self.response_lost:
            self._inject("lost")
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected"}}, "PutRecords")
        results = []
        for fail in failing:
            if fail:
                code = self._random.choice(["ProvisionedThroughputExceededException", "InternalFailure"])
                self._inject(code)
                results.append({"ErrorCode": code, "ErrorMessage": "injected"})
            else:
                results.append(next(answered))
        return {"FailedRecordCount": sum(failing), "Records": results}


def publish_until_done(
    records: list[dict[str, Any]], *, kinesis: Any, stream: str, region: str, invocations: int = 50
) -> int:
    """Invoke the publisher as Lambda's event source mapping does: on a batch item failure, retry
    from the reported record. Returns how many invocations it took."""
    from strongroom.runtime.publisher import publish  # noqa: PLC0415

    remaining = records
    for invocation in range(1, invocations + 1):
        result = publish(remaining, kinesis=kinesis, stream=stream, region=region, sleep=lambda _: None)
        if result.failed_sequence_number is None:
            return invocation
        sequences = [r["dynamodb"]["SequenceNumber"] for r in remaining]
        remaining = remaining[sequences.index(result.failed_sequence_number) :]
    raise AssertionError(f"the batch was still failing after {invocations} invocations")
