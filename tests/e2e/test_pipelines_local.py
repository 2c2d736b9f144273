"""The pipelines in a running `strongroom up`: a file put into a Region's ingest bucket becomes
transactions (and rejects, and an audit record) through the local queue poller; a transaction created
through the API reaches the Region's event stream, which `strongroom tail` prints."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from tests.e2e.conftest import Platform, txn_body

REGION = "eu-west-1"
STRONGROOM = (sys.executable, "-m", "strongroom")


def aws(platform: Platform, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=platform.state["emulator"],
        aws_access_key_id="e2e",
        aws_secret_access_key="e2e",
    )


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    return check()


def test_the_state_file_names_each_regions_pipelines(platform: Platform) -> None:
    for region in platform.state["regions"].values():
        assert {"ingestBucket", "ingestQueue", "ingestDlq", "eventStream", "publisherDlq"} <= region.keys()


def test_a_file_in_the_ingest_bucket_becomes_transactions_rejects_and_an_audit_record(
    platform: Platform,
) -> None:
    region = platform.state["regions"][REGION]
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    rows = [
        {"amount": "12.34", "currency": "EUR", "customerId": customer, "type": "debit", "reference": "a"},
        {"amount": "1.00", "currency": "XXX", "customerId": customer, "type": "debit", "reference": "b"},
        {"amount": "5.00", "currency": "EUR", "customerId": customer, "type": "credit", "reference": "c"},
    ]
    key = f"incoming/{customer}.jsonl"
    s3 = aws(platform, "s3")
    s3.put_object(
        Bucket=region["ingestBucket"], Key=key, Body="\n".join(json.dumps(r) for r in rows).encode()
    )

    def listed() -> list[dict[str, Any]]:
        reply = platform.client(REGION).request("GET", f"/customers/{customer}/transactions")
        items: list[dict[str, Any]] = reply.json()["items"] if reply.status == 200 else []
        return items if len(items) == 2 else []

    items = wait_for(listed)
    assert sorted(i["reference"] for i in items) == ["a", "c"]
    rejects = s3.get_object(Bucket=region["ingestBucket"], Key=f"rejects/{key}.jsonl")["Body"].read().decode()
    (reject,) = [json.loads(line) for line in rejects.splitlines()]
    assert reject["row"] == 2
    assert "currency" in json.dumps(reject)
    audit = aws(platform, "dynamodb").scan(TableName=region["auditTable"])["Items"]
    (record,) = [
        a
        for a in audit
        if a.get("objectKey", {}).get("S") == key and a.get("kind", {}).get("S") == "ingest-file"
    ]
    assert record["status"]["S"] == "completed"
    assert (record["created"]["N"], record["rejected"]["N"], record["rowsRead"]["N"]) == ("2", "1", "3")
    # AND GET /files (signed) shows the file with its status
    listed = platform.client(REGION).request("GET", "/files?limit=100")
    assert listed.status == 200, listed.body
    (entry,) = [f for f in listed.json()["items"] if f["key"] == key]
    assert entry["status"] == "completed"
    assert entry["counts"] == {"read": 3, "created": 2, "replayed": 0, "rejected": 1}
    assert entry["rejects"] == f"rejects/{key}.jsonl"
    assert platform.client(REGION).unsigned().request("GET", "/files").status == 403


def test_a_created_transaction_reaches_the_event_stream_and_tail_prints_it(platform: Platform) -> None:
    reply = platform.client(REGION).request(
        "POST",
        "/transactions",
        txn_body(reference="to-kinesis"),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert reply.status == 201
    transaction = reply.json()["id"]

    def printed() -> list[dict[str, Any]]:
        done = subprocess.run(
            [*STRONGROOM, "tail", "--region", REGION, "--no-follow", "--state-dir", str(platform.state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        return [line for line in lines if line["event"]["transactionId"] == transaction]

    (record,) = wait_for(printed)
    event = record["event"]
    assert record["partitionKey"] == event["customerId"] == txn_body()["customerId"]
    assert event["eventId"].startswith("evt_")
    assert "reference" not in event  # analytics gets no free text


def test_republish_publishes_a_window_of_the_survivors_transactions_again(platform: Platform) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    reply = platform.client(REGION).request(
        "POST", "/transactions", txn_body(reference="again"), headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert reply.status == 201
    done = subprocess.run(
        [
            *STRONGROOM,
            "republish",
            "--region",
            REGION,
            "--since",
            since,
            "--local",
            "--state-dir",
            str(platform.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["published"] >= 1
    assert result["scanned"] == result["published"]
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom",
            "republish",
            "--region",
            REGION,
            "--since",
            "yesterday",
            "--local",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "ISO 8601" in bad.stderr


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STRONGROOM, *args], capture_output=True, text=True, timeout=60, check=check)


def test_redrive_shows_and_replays_dead_letters_idempotently(platform: Platform) -> None:
    region = platform.state["regions"][REGION]
    sqs, s3 = aws(platform, "sqs"), aws(platform, "s3")
    state = ("--region", REGION, "--local", "--state-dir", str(platform.state_dir))
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    key = f"incoming/{customer}.csv"
    s3.put_object(
        Bucket=region["ingestBucket"],
        Key=key,
        Body=f"amount,currency,customerId,type,reference\n3.00,EUR,{customer},debit,redriven\n".encode(),
    )
    # GIVEN the file's notification is in the dead-letter queue (as after a poison episode, since fixed)
    notification = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-11-30T09:00:00.000Z",
                "s3": {"bucket": {"name": region["ingestBucket"]}, "object": {"key": key, "size": 70}},
            }
        ]
    }
    sqs.send_message(QueueUrl=region["ingestDlq"], MessageBody=json.dumps(notification))
    shown = json.loads(run_cli("redrive", "--queue", "ingest", "--dry-run", *state).stdout)
    (message,) = [m for m in shown["queues"]["ingest"]["messages"] if key in m["what"]]
    assert shown["queues"]["ingest"]["replayed"] == 0
    # WHEN it is redriven twice (the second time finds nothing), THEN the file is ingested once
    replayed = json.loads(run_cli("redrive", "--queue", "ingest", *state).stdout)
    assert replayed["queues"]["ingest"]["replayed"] >= 1
    assert (
        json.loads(run_cli("redrive", "--queue", "ingest", *state).stdout)["queues"]["ingest"]["messages"]
        == []
    )

    def listed() -> list[dict[str, Any]]:
        reply = platform.client(REGION).request("GET", f"/customers/{customer}/transactions")
        return reply.json()["items"] if reply.status == 200 else []

    assert [i["reference"] for i in wait_for(listed)] == ["redriven"]
    time.sleep(2)  # the upload's own notification (if any) and the redrive: still one transaction
    assert len(listed()) == 1
    assert message["id"]


def test_redrive_publishes_a_failed_stream_range_again(platform: Platform) -> None:
    region = platform.state["regions"][REGION]
    reply = platform.client(REGION).request(
        "POST",
        "/transactions",
        txn_body(reference="dead-lettered"),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    transaction = reply.json()["id"]
    dynamodb, streams, sqs = aws(platform, "dynamodb"), aws(platform, "dynamodbstreams"), aws(platform, "sqs")
    arn = dynamodb.describe_table(TableName=region["transactionsTable"])["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    (record,) = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == transaction]
    sequence = record["dynamodb"]["SequenceNumber"]
    # GIVEN the publisher gave up on that record (the description Lambda sends its failure destination)
    info = {
        "shardId": shard["ShardId"],
        "streamArn": arn,
        "startSequenceNumber": sequence,
        "endSequenceNumber": sequence,
        "batchSize": 1,
    }
    sqs.send_message(QueueUrl=region["publisherDlq"], MessageBody=json.dumps({"DDBStreamBatchInfo": info}))
    report = json.loads(
        run_cli(
            "redrive",
            "--queue",
            "publisher",
            "--region",
            REGION,
            "--local",
            "--state-dir",
            str(platform.state_dir),
        ).stdout
    )
    assert report["queues"]["publisher"]["replayed"] == 1

    def published() -> list[dict[str, Any]]:
        printed = run_cli(
            "tail", "--region", REGION, "--no-follow", "--state-dir", str(platform.state_dir)
        ).stdout
        events = [json.loads(line)["event"] for line in printed.splitlines()]
        mine = [e for e in events if e["transactionId"] == transaction]
        return mine if len(mine) >= 2 else []

    events = wait_for(published)
    assert len(events) >= 2  # published by the poller, and again by the redrive
    assert len({e["eventId"] for e in events}) == 1  # one event id: consumers keep one
