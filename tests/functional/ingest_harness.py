"""What the ingest tests share: a versioned ingest bucket whose uploads are announced on an SQS queue
with the event notification S3 sends (moto's own carry no versionId and a fixed sequencer, so the
harness sends them as S3 does for a versioned bucket), and a stand-in for Lambda's event source
mapping that feeds the real handler from that queue, keeps failed messages for another receive, and
moves a message to a DLQ after ``max_receives``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime import ingest
from strongroom.runtime.adapters.ingest_store import Retrier, audit_key, state_from_item
from tests.functional.conftest import REGION, aws_client

BUCKET = "strongroom-ingest-eu-west-1"
QUEUE = "strongroom-ingest"
FIELDS = ("amount", "currency", "customerId", "type", "reference")


@dataclass
class FakeContext:
    """Lambda's context: only the remaining time matters here."""

    remaining_ms: Callable[[], int] = lambda: 600_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()


@dataclass
class Pipeline:
    provisioned: ProvisionedRegion
    queue_url: str
    queue_arn: str
    max_receives: int = 5
    dead_letters: list[str] = field(default_factory=list)
    invocations: int = 0
    receives: dict[str, int] = field(default_factory=dict)
    _sequence: int = 0

    def upload(self, key: str, data: bytes) -> str:
        response = aws_client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)
        self.notify(key, str(response["VersionId"]), len(data))
        return str(response["VersionId"])

    def notify(self, key: str, version: str, size: int = 0) -> None:
        """S3's ObjectCreated notification (keys URL-encoded, as S3 sends them)."""
        self._sequence += 1
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": f"2026-11-23T12:00:{self._sequence % 60:02d}.000Z",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                "object": {"key": quote_plus(key, safe="/"), "size": size, "versionId": version,
                           "sequencer": f"{self._sequence:016X}"},
            },
        }  # fmt: skip
        self.send(json.dumps({"Records": [record]}))

    def send(self, body: str) -> None:
        aws_client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=body)

    def drain(self, context: FakeContext | None = None, *, max_invocations: int = 1000) -> None:
        """Run the handler on everything the queue holds (and what it sends itself) until it is empty."""
        sqs = aws_client("sqs")
        while self.invocations < max_invocations:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            self.invocations += 1
            response = ingest.handler(self._event(messages), context or FakeContext())
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            for message in messages:
                count = self.receives[message["MessageId"]] = self.receives.get(message["MessageId"], 0) + 1
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                elif count >= self.max_receives:
                    self.dead_letters.append(message["Body"])
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                else:  # visible again at once, as if its visibility timeout had passed
                    sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
        raise AssertionError(f"the queue did not drain in {max_invocations} invocations")

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": str(self.receives.get(m["MessageId"], 0) + 1)},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
        return {"Records": records}

    # --- what came out -------------------------------------------------------------------------

    def audit(self, key: str, version: str) -> ingest.FileState:
        item = aws_client("dynamodb").get_item(
            TableName=self.provisioned.audit_table, Key=audit_key(BUCKET, key, version), ConsistentRead=True
        )["Item"]
        return state_from_item(item)

    def rejects(self, key: str) -> list[dict[str, Any]]:
        body = aws_client("s3").get_object(Bucket=BUCKET, Key=f"rejects/{key}.jsonl")["Body"].read()
        return [json.loads(line) for line in body.decode().splitlines()]

    def transactions(self) -> list[dict[str, Any]]:
        """Every transaction item (a scan answers 1 MB per page: all pages)."""
        pages = (
            aws_client("dynamodb")
            .get_paginator("scan")
            .paginate(TableName=self.provisioned.transactions_table, ConsistentRead=True)
        )
        return [item for page in pages for item in page["Items"] if "customerId" in item]


def make_pipeline(
    provisioned: ProvisionedRegion,
    *,
    clients: dict[str, Any] | None = None,
    retrier: Retrier | None = None,
    **settings: Any,
) -> Pipeline:
    """The bucket, the queue and the function's dependencies; ``clients`` replaces the function's own
    (s3, dynamodb) clients, for tests that hook into them."""
    s3, sqs = aws_client("s3"), aws_client("sqs")
    function_clients = {"s3": s3, "dynamodb": aws_client("dynamodb"), **(clients or {})}
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    ingest.configure(
        ingest.IngestDependencies(
            settings=ingest.IngestSettings(
                region=REGION,
                transactions_table=provisioned.transactions_table,
                audit_table=provisioned.audit_table,
                **settings,
            ),
            s3=function_clients["s3"],
            dynamodb=function_clients["dynamodb"],
            sqs=sqs,
            retrier=retrier or Retrier(sleep=lambda _s: None),
        )
    )
    return Pipeline(provisioned, queue_url, queue_arn)


def row(n: int, **overrides: Any) -> dict[str, Any]:
    base = {
        "amount": f"{n % 997 + 1}.{n % 100:02d}",
        "currency": "EUR",
        "customerId": f"cust-{n % 50:04d}",
        "type": "debit" if n % 2 else "credit",
        "reference": f"invoice {n}",
    }
    base.update(overrides)
    return base


def csv_bytes(rows: Iterable[dict[str, Any]], columns: Iterable[str] = FIELDS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def jsonl_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)
