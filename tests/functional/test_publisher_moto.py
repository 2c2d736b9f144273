"""The outbox publisher against moto in process: the table's real stream records → Kinesis, through the
Lambda handler and through publish() with injected Kinesis failures; consumers get each transaction
exactly once after deduplication, canary writes never."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from strongroom import constants as env
from strongroom.local.events import LocalLambdaContext
from strongroom.local.provision import ProvisionedRegion
from strongroom.local.stream_records import StreamTail
from strongroom.runtime import publisher
from strongroom.runtime.adapters.dynamodb import TransactionStore
from tests.functional.conftest import REGION, Output, aws_client
from tests.functional.outbox import (
    FlakyKinesis,
    assert_exactly_once,
    consume,
    create_kinesis_stream,
    create_transactions,
    deduplicate,
    publish_until_done,
)


@pytest.fixture
def store(provisioned: ProvisionedRegion) -> TransactionStore:
    return TransactionStore(aws_client("dynamodb"), provisioned.transactions_table)


@functools.cache
def _streams_client() -> Any:
    # botocore now sends calls that name a stream ARN to an account-based endpoint
    # (ACCOUNT.streams-ddb.REGION.amazonaws.com) that moto's in-process mock does not match; the
    # Region's classic endpoint is the same API.
    return boto3.client(
        "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )


def tail(provisioned: ProvisionedRegion) -> StreamTail:
    return StreamTail(aws_client("dynamodb"), _streams_client(), provisioned.transactions_table)


def test_the_handler_publishes_the_tables_changes_and_reports_no_failures(
    provisioned: ProvisionedRegion,
    store: TransactionStore,
    monkeypatch: pytest.MonkeyPatch,
    stdout: Callable[[], Output],
) -> None:
    # GIVEN transactions and a deep-health canary write in the table, and the publisher's environment
    created = create_transactions(store, 12)
    store.increment_canary(f"HEALTH#{REGION}")
    stream = create_kinesis_stream(aws_client("kinesis"))
    monkeypatch.setenv(env.ENV_AWS_REGION, REGION)
    monkeypatch.setenv(env.ENV_OUTBOX_STREAM, stream)
    publisher._handler.cache_clear()
    publisher._kinesis.cache_clear()
    records = tail(provisioned).read()

    # WHEN Lambda invokes the handler with the stream's records
    try:
        response = publisher.handler({"Records": records}, LocalLambdaContext("publisher", REGION))
    finally:
        publisher._handler.cache_clear()
        publisher._kinesis.cache_clear()

    # THEN every transaction is in Kinesis once, the canary is not, and the log holds no customer data
    assert response == {"batchItemFailures": []}
    events = consume(aws_client("kinesis"), stream)
    assert len(events) == len(created)
    assert_exactly_once(deduplicate(events), created)
    assert {e["publishedBy"] for e in events} == {REGION}
    (line,) = [log for log in stdout().logs if log.get("message") == "outbox batch"]
    assert line["published"] == 12
    assert set(line["skipped"]) == {"not-a-transaction"}  # the canary (provisioning writes one too)
    text = json.dumps(stdout().logs)
    assert not any(t.customer_id in text or t.id in text for t in created)


def test_injected_kinesis_failures_lose_nothing_and_dedup_gives_exactly_once(
    provisioned: ProvisionedRegion, store: TransactionStore
) -> None:
    # GIVEN 60 transactions, and Kinesis failing records and whole calls, some after writing them
    created = create_transactions(store, 60, customers=7)
    stream = create_kinesis_stream(aws_client("kinesis"))
    flaky = FlakyKinesis(aws_client("kinesis"), seed=11)

    # WHEN the publisher is invoked, and re-invoked from each reported failure as Lambda does
    invocations = publish_until_done(tail(provisioned).read(), kinesis=flaky, stream=stream, region=REGION)

    # THEN each kind of failure happened, Kinesis holds duplicates, and deduplication leaves one each
    assert {"ProvisionedThroughputExceededException", "InternalFailure", "refused", "lost"} <= set(
        flaky.injected
    )
    events = consume(aws_client("kinesis"), stream)
    assert len(events) > len(created)
    assert_exactly_once(deduplicate(events), created)
    assert invocations >= 1


def test_each_customers_events_reach_its_shard_in_commit_order(
    provisioned: ProvisionedRegion, store: TransactionStore
) -> None:
    created = create_transactions(store, 30, customers=2)
    stream = create_kinesis_stream(aws_client("kinesis"))
    flaky = FlakyKinesis(aws_client("kinesis"), seed=3, response_lost=0.0)

    publish_until_done(tail(provisioned).read(), kinesis=flaky, stream=stream, region=REGION)

    # one customer's events share a partition key, hence a shard: their first copies are in the order
    # they were committed (the stream's order, which for one table partition here is commit order)
    events = consume(aws_client("kinesis"), stream)
    for customer in ("cust-0", "cust-1"):
        first_seen: list[str] = []
        for event in (e for e in events if e["customerId"] == customer):
            if event["transactionId"] not in first_seen:
                first_seen.append(event["transactionId"])
        assert first_seen == [t.id for t in created if t.customer_id == customer]


def test_a_batch_kinesis_keeps_refusing_is_reported_from_its_first_record(
    provisioned: ProvisionedRegion, store: TransactionStore
) -> None:
    create_transactions(store, 3)
    stream = create_kinesis_stream(aws_client("kinesis"))
    records = tail(provisioned).read()
    refusing = FlakyKinesis(aws_client("kinesis"), call_refused=1.0)

    result = publisher.publish(records, kinesis=refusing, stream=stream, region=REGION, sleep=lambda _: None)

    assert result.response() == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert refusing.calls == publisher.DEFAULT_MAX_ATTEMPTS
    assert consume(aws_client("kinesis"), stream) == []


def _records_of(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r["eventName"] == name]


def test_a_deleted_transaction_is_not_published(
    provisioned: ProvisionedRegion, store: TransactionStore
) -> None:
    (created,) = create_transactions(store, 1)
    aws_client("dynamodb").delete_item(
        TableName=provisioned.transactions_table, Key={"pk": {"S": created.id}}
    )
    stream = create_kinesis_stream(aws_client("kinesis"))
    records = tail(provisioned).read()
    assert len(_records_of(records, "REMOVE")) == 1

    result = publisher.publish(records, kinesis=aws_client("kinesis"), stream=stream, region=REGION)

    assert result.skipped == {"removed": 1}
    assert [e["transactionId"] for e in consume(aws_client("kinesis"), stream)] == [created.id]
