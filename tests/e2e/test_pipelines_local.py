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
