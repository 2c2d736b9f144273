"""The outbox publisher's PutRecords handling with a fake Kinesis: only the failed subset is retried,
each customer's events stay in order, and what cannot be put is reported as a batch item failure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from strongroom.runtime.adapters.dynamodb import to_item
from strongroom.runtime.domain import Money, Transaction, TransactionStatus, TransactionType
from strongroom.runtime.publisher import (
    MAX_BYTES_PER_CALL,
    MAX_RECORDS_PER_CALL,
    OutboxEvent,
    PublisherSettings,
    chunks,
    event_from_image,
    publish,
    put_events,
    waves,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STREAM = "outbox"

# A fault decides, per call and per record (by its position in the call), what Kinesis answers.
Fault = Callable[[int, list[dict[str, Any]]], "str | list[str | None] | None"]


class FakeKinesis:
    """Kinesis PutRecords in memory. ``fault(call, records)`` returns None (all succeed), an error
    code for the whole call (raised as ClientError before anything is written), or one error code
    or None per record."""

    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault
        self.calls: list[list[dict[str, Any]]] = []
        self.stored: list[tuple[str, bytes]] = []  # (partition key, data), in arrival order

    def put_records(self, **request: Any) -> Mapping[str, Any]:
        assert request.get("StreamName") == STREAM
        records = request["Records"]
        assert len(records) <= MAX_RECORDS_PER_CALL
        self.calls.append(records)
        decision = self.fault(len(self.calls), records) if self.fault else None
        if isinstance(decision, str):
            raise ClientError({"Error": {"Code": decision, "Message": "injected"}}, "PutRecords")
        codes = decision or [None] * len(records)
        results = []
        for rec, code in zip(records, codes, strict=True):
            if code:
                results.append({"ErrorCode": code, "ErrorMessage": "injected"})
            else:
                self.stored.append((rec["PartitionKey"], rec["Data"]))
                results.append({"SequenceNumber": str(len(self.stored)), "ShardId": "shardId-0"})
        return {"FailedRecordCount": sum(1 for c in codes if c), "Records": results}


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_txn(n: int, customer: str = "cust-1", minute: int = 0) -> Transaction:
    moment = T0 + timedelta(minutes=minute)
    return Transaction(
        id=txn_id(n),
        customer_id=customer,
        money=Money(Decimal("1.00"), "EUR"),
        type=TransactionType.CREDIT,
        reference="r",
        status=TransactionStatus.ACCEPTED,
        created_at=moment,
        updated_at=moment,
        request_fingerprint="0" * 64,
    )


def txn_id(n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return "txn_" + "".join(alphabet[(n // 26**i) % 26] for i in range(26))


def stream_record(n: int, customer: str = "cust-1", *, sequence: int | None = None) -> dict[str, Any]:
    item = to_item(make_txn(n, customer))
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": item["pk"]},
            "NewImage": item,
            "SequenceNumber": str(sequence or 1000 + n),
        },
    }


def ids(kinesis: FakeKinesis) -> list[str]:
    import json  # noqa: PLC0415

    return [json.loads(data)["eventId"] for _, data in kinesis.stored]


def run(records: list[dict[str, Any]], kinesis: FakeKinesis, sleeps: Sleeps | None = None, **kw: Any) -> Any:
    return publish(
        records,
        kinesis=kinesis,
        stream=STREAM,
        region="eu-west-1",
        sleep=sleeps or Sleeps(),
        rng=lambda: 1.0,
        **kw,
    )


def test_a_clean_batch_is_published_in_one_call_with_no_failures() -> None:
    kinesis = FakeKinesis()
    result = run([stream_record(i, f"cust-{i}") for i in range(10)], kinesis)

    assert result.response() == {"batchItemFailures": []}
    assert result.published == 10
    assert len(kinesis.calls) == 1
    assert [pk for pk, _ in kinesis.stored] == [f"cust-{i}" for i in range(10)]


def test_only_the_failed_subset_is_retried_with_growing_jittered_backoff() -> None:
    # GIVEN the first call fails records 2 and 5 (throughput, internal), the second call record 2 again
    def fault(call: int, records: list[dict[str, Any]]) -> list[str | None] | None:
        if call == 1:
            return [None, None, "ProvisionedThroughputExceededException", None, None, "InternalFailure"]
        if call == 2:
            return ["ProvisionedThroughputExceededException", None]
        return None

    kinesis, sleeps = FakeKinesis(fault), Sleeps()
    records = [stream_record(i, f"cust-{i}") for i in range(6)]
    result = run(records, kinesis, sleeps)

    # THEN the retries carry only what failed, and everything ends in Kinesis exactly once
    assert [len(c) for c in kinesis.calls] == [6, 2, 1]
    assert result.response() == {"batchItemFailures": []}
    assert sorted(ids(kinesis)) == sorted(e.event_id for e in result.events)
    assert len(set(ids(kinesis))) == 6
    assert result.outcome.retried_records == 3
    assert sleeps.delays == [0.05, 0.1]  # rng=1.0: the top of each full-jitter window


def test_a_whole_call_error_is_retried() -> None:
    kinesis = FakeKinesis(lambda call, _: "ProvisionedThroughputExceededException" if call < 3 else None)
    result = run([stream_record(1), stream_record(2, "cust-2")], kinesis)

    assert result.response() == {"batchItemFailures": []}
    assert len(kinesis.stored) == 2
    assert result.outcome.errors["ProvisionedThroughputExceededException"] == 2


def test_a_connection_error_is_retried() -> None:
    attempts: list[int] = []

    class Flaky(FakeKinesis):
        def put_records(self, **request: Any) -> Mapping[str, Any]:
            attempts.append(1)
            if len(attempts) == 1:
                raise EndpointConnectionError(endpoint_url="https://kinesis")
            return super().put_records(**request)

    kinesis = Flaky()
    assert run([stream_record(1)], kinesis).response() == {"batchItemFailures": []}
    assert len(attempts) == 2


def test_when_retries_run_out_the_first_unpublished_record_is_reported() -> None:
    # GIVEN record 3 of 5 (sequence 1003) always fails
    failing = txn_id(3)

    def fault(call: int, records: list[dict[str, Any]]) -> list[str | None]:
        return ["InternalFailure" if failing.encode() in r["Data"] else None for r in records]

    kinesis, sleeps = FakeKinesis(fault), Sleeps()
    result = run([stream_record(i, f"cust-{i}") for i in range(1, 6)], kinesis, sleeps, max_attempts=4)

    # THEN its sequence number is the batch item failure (Lambda resumes there), after bounded retries
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "1003"}]}
    assert len(kinesis.calls) == 4
    assert len(sleeps.delays) == 3
    assert failing not in {e.body["transactionId"] for e in result.events}


def test_a_non_retryable_call_error_fails_at_once_from_the_first_record() -> None:
    kinesis, sleeps = FakeKinesis(lambda *_: "ResourceNotFoundException"), Sleeps()
    result = run([stream_record(1), stream_record(2, "cust-2")], kinesis, sleeps)

    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "1001"}]}
    assert len(kinesis.calls) == 1
    assert sleeps.delays == []


def test_a_customer_later_event_never_overtakes_an_earlier_failed_one() -> None:
    # GIVEN cust-1 has three events in the batch, and its first always fails
    first = txn_id(1)

    def fault(call: int, records: list[dict[str, Any]]) -> list[str | None]:
        return ["InternalFailure" if first.encode() in r["Data"] else None for r in records]

    kinesis = FakeKinesis(fault)
    records = [stream_record(1), stream_record(2, "cust-2"), stream_record(3), stream_record(4)]
    result = run(records, kinesis, max_attempts=2)

    # THEN none of cust-1's later events reached Kinesis, and Lambda resumes from the first record
    assert all(pk != "cust-1" for pk, _ in kinesis.stored)
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "1001"}]}


def test_one_customers_events_are_sent_one_per_call_in_stream_order() -> None:
    kinesis = FakeKinesis()
    run([stream_record(1), stream_record(2, "cust-2"), stream_record(3), stream_record(4)], kinesis)

    assert [[r["PartitionKey"] for r in call] for call in kinesis.calls] == [
        ["cust-1", "cust-2"],
        ["cust-1"],
        ["cust-1"],
    ]
    customers = {1: "cust-1", 2: "cust-2", 3: "cust-1", 4: "cust-1"}
    assert ids(kinesis) == [
        event_from_image(stream_record(n, c)["dynamodb"]["NewImage"], region="x").event_id
        for n, c in customers.items()
    ]


def test_skipped_records_before_a_failure_are_not_reported_and_malformed_ones_are() -> None:
    canary = {
        "eventName": "MODIFY",
        "dynamodb": {"Keys": {"pk": {"S": "health#eu-west-1"}}, "SequenceNumber": "1"},
    }
    malformed = stream_record(7, sequence=9)
    del malformed["dynamodb"]["NewImage"]["currency"]
    kinesis = FakeKinesis()

    result = run([canary, stream_record(1, sequence=5), malformed, stream_record(8, sequence=10)], kinesis)

    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "9"}]}
    assert result.published == 1
    assert result.skipped == {"not-a-transaction": 1, "malformed": 1}


def test_the_same_version_twice_in_a_batch_is_put_once() -> None:
    kinesis = FakeKinesis()
    result = run([stream_record(1, sequence=1), stream_record(1, sequence=2)], kinesis)

    assert len(kinesis.stored) == 1
    assert result.response() == {"batchItemFailures": []}


def _event(n: int, size: int = 10) -> OutboxEvent:
    return OutboxEvent(event_id=f"evt_{n}", partition_key=f"c{n}", body={"pad": "x" * size})


def test_calls_hold_at_most_500_records_and_5_mib() -> None:
    assert [len(c) for c in chunks([_event(n) for n in range(1201)])] == [500, 500, 201]
    big = [_event(n, size=1024 * 1024) for n in range(12)]
    sizes = [sum(len(e.data) + len(e.partition_key) for e in c) for c in chunks(big)]
    assert all(s <= MAX_BYTES_PER_CALL for s in sizes)
    assert sum(len(c) for c in chunks(big)) == 12
    assert len(sizes) == 3


def test_waves_hold_each_partition_key_at_most_once() -> None:
    events = [OutboxEvent(f"e{i}", pk, {}) for i, pk in enumerate(["a", "b", "a", "a", "c", "b"])]
    assert [[e.event_id for e in w] for w in waves(events)] == [["e0", "e1", "e4"], ["e2", "e5"], ["e3"]]


def test_put_events_reports_what_did_not_arrive() -> None:
    kinesis = FakeKinesis(lambda *_: "InternalFailure")
    outcome = put_events(
        kinesis, STREAM, [_event(1), _event(2)], max_attempts=3, sleep=Sleeps(), rng=lambda: 0.5
    )

    assert outcome.undelivered == ["evt_1", "evt_2"]
    assert outcome.delivered == set()
    assert outcome.calls == 3


def test_an_unexpected_exception_is_not_mistaken_for_a_kinesis_failure() -> None:
    def fault(call: int, records: list[dict[str, Any]]) -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run([stream_record(1)], FakeKinesis(fault))


def test_settings_name_the_missing_variable() -> None:
    with pytest.raises(RuntimeError, match="STRONGROOM_OUTBOX_STREAM"):
        PublisherSettings.from_environ({"AWS_REGION": "eu-west-1"})
    with pytest.raises(RuntimeError, match="STRONGROOM_PUBLISHER_MAX_ATTEMPTS"):
        PublisherSettings.from_environ(
            {
                "AWS_REGION": "eu-west-1",
                "STRONGROOM_OUTBOX_STREAM": "s",
                "STRONGROOM_PUBLISHER_MAX_ATTEMPTS": "0",
            }
        )
    settings = PublisherSettings.from_environ({"AWS_REGION": "eu-west-1", "STRONGROOM_OUTBOX_STREAM": "s"})
    assert settings.max_attempts == 6
