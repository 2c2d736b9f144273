"""Local event source mappings (local/pollers.py) against moto: SQS with partial batch failures and a
redrive policy, S3 notifications reaching the queue, and DynamoDB streams with retries from the first
failed record, bisection of a failing batch, and an on-failure destination."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from strongroom.local import emulator
from strongroom.local.pollers import SqsPoller, StreamPoller, send_to_queue

REGION = "eu-west-1"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def queue_with_dlq(max_receives: int = 2) -> tuple[Any, str, str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="ingest",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, queue, arn, dlq


def bodies(sqs: Any, url: str) -> list[str]:
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [m["Body"] for m in messages]
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


@pytest.mark.usefixtures("aws")
def test_sqs_partial_failures_come_back_and_poison_moves_to_the_dead_letter_queue() -> None:
    sqs, queue, arn, dlq = queue_with_dlq(max_receives=2)
    for body in ("a", "poison", "b"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    seen: list[str] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        records = event["Records"]
        assert all(r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == arn for r in records)
        seen.extend(r["body"] for r in records)
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in records if r["body"] == "poison"
            ]
        }

    poller = SqsPoller(sqs, queue, arn, REGION, handler, visibility_timeout=0)
    for _ in range(5):
        poller.poll_once()
    assert sorted(set(seen)) == ["a", "b", "poison"]
    assert seen.count("a") == 1  # succeeded once, deleted
    assert seen.count("b") == 1
    assert seen.count("poison") == 2  # received maxReceiveCount times, then redriven
    assert bodies(sqs, dlq) == ["poison"]
    assert poller.stats.failed_records == 2


@pytest.mark.usefixtures("aws")
def test_a_function_error_returns_the_whole_batch() -> None:
    sqs, queue, arn, _ = queue_with_dlq(max_receives=5)
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    calls: list[int] = []

    def handler(event: dict[str, Any]) -> None:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("crash")

    poller = SqsPoller(sqs, queue, arn, REGION, handler, visibility_timeout=0)
    poller.poll_once()
    poller.poll_once()
    assert not poller.poll_once()  # deleted after the second, successful delivery
    assert calls == [1, 1]
    assert poller.stats.function_errors == 1


@pytest.mark.usefixtures("aws")
def test_an_object_created_under_the_prefix_reaches_the_queue_as_an_s3_event() -> None:
    sqs, queue, arn, _ = queue_with_dlq()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="ingest", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_notification_configuration(
        Bucket="ingest",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                }
            ]
        },
    )
    bodies(sqs, queue)  # moto's test event on configuration
    s3.put_object(Bucket="ingest", Key="incoming/a.csv", Body=b"x")
    s3.put_object(Bucket="ingest", Key="rejects/a.csv.jsonl", Body=b"y")  # outside the prefix
    keys: list[str] = []

    def handler(event: dict[str, Any]) -> None:
        for record in event["Records"]:
            # event keys are URL-encoded (moto encodes "/" too; AWS leaves it): decode as the handler does
            keys.extend(unquote_plus(r["s3"]["object"]["key"]) for r in json.loads(record["body"])["Records"])

    poller = SqsPoller(sqs, queue, arn, REGION, handler, visibility_timeout=0)
    while poller.poll_once():
        pass
    assert keys == ["incoming/a.csv"]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's in-process mock does not route DynamoDB Streams calls; its server does."""
    with emulator.start() as running:
        yield running.endpoint


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )


def stream_table(endpoint: str, name: str) -> tuple[Any, Any, str]:
    dynamodb = client(endpoint, "dynamodb")
    table = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return dynamodb, client(endpoint, "dynamodbstreams"), table["LatestStreamArn"]


def keys_of(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]


def test_a_reported_failure_is_retried_from_that_record_in_order(endpoint: str) -> None:
    dynamodb, streams, arn = stream_table(endpoint, "retried")
    for key in ("k1", "k2", "k3", "HEALTH#eu-west-1", "k4"):
        dynamodb.put_item(TableName="retried", Item={"pk": {"S": key}})
    delivered: list[list[str]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        keys = keys_of(event)
        delivered.append(keys)
        if len(delivered) == 1:  # k3 fails once
            (k3,) = [r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "k3"]
            return {"batchItemFailures": [{"itemIdentifier": k3["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    poller = StreamPoller(
        streams,
        arn,
        REGION,
        handler,
        accept=lambda r: not r["dynamodb"]["Keys"]["pk"]["S"].startswith("HEALTH#"),
    )
    assert poller.poll_once()
    assert delivered == [["k1", "k2", "k3", "k4"], ["k3", "k4"]]
    assert not poller.poll_once()
    assert poller.stats.records == 4


def test_a_poison_record_is_isolated_by_bisection_and_described_to_the_dead_letter_queue(
    endpoint: str,
) -> None:
    dynamodb, streams, arn = stream_table(endpoint, "poisoned")
    sqs = client(endpoint, "sqs")
    dlq = sqs.create_queue(QueueName="publisher-dlq")["QueueUrl"]
    for key in ("k1", "k2", "poison", "k4"):
        dynamodb.put_item(TableName="poisoned", Item={"pk": {"S": key}})
    succeeded: list[str] = []

    def handler(event: dict[str, Any]) -> None:
        keys = keys_of(event)
        if "poison" in keys:
            raise ValueError("cannot publish")
        succeeded.extend(keys)

    poller = StreamPoller(streams, arn, REGION, handler, max_retries=3, on_failure=send_to_queue(sqs, dlq))
    poller.poll_once()
    assert succeeded == ["k1", "k2", "k4"]  # every good record delivered, in order, once
    (failure,) = [json.loads(b) for b in bodies(sqs, dlq)]
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert poller.stats.sent_to_dlq == 1
