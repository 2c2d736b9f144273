"""The ingest function end to end on moto: S3 (versioned) → SQS → handler → tables, rejects and audit."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import moto.s3.models
import pytest

from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime import ingest
from strongroom.runtime.domain import transaction_id_for
from strongroom.runtime.ingest_rows import ingest_namespace
from tests.functional.conftest import aws_client
from tests.functional.ingest_harness import (
    FIELDS,
    FakeContext,
    Pipeline,
    csv_bytes,
    jsonl_bytes,
    make_pipeline,
    row,
)


@pytest.fixture
def pipeline(provisioned: ProvisionedRegion) -> Iterator[Pipeline]:
    yield make_pipeline(provisioned)
    ingest.configure(None)


def test_a_key_with_spaces_arrives_url_encoded_and_is_read_as_uploaded(pipeline: Pipeline) -> None:
    version = pipeline.upload("in/Nov 23 + more.csv", csv_bytes([row(1)]))
    pipeline.drain()
    assert pipeline.audit("in/Nov 23 + more.csv", version).counts.created == 1


def test_valid_and_invalid_rows_become_transactions_rejects_and_an_audit_record(pipeline: Pipeline) -> None:
    # GIVEN a CSV of 250 rows of which rows 7 and 120 are invalid
    rows = [row(n) for n in range(1, 251)]
    rows[6]["amount"] = "12.345"
    rows[119]["currency"] = "XXX1"
    version = pipeline.upload("daily/2026-11-23.csv", csv_bytes(rows))

    # WHEN the queue is drained
    pipeline.drain()

    # THEN every valid row is a transaction, once, and the invalid ones are in the rejects object
    items = pipeline.transactions()
    assert len(items) == 248
    assert len({i["pk"]["S"] for i in items}) == 248
    assert {i["reference"]["S"] for i in items} == {r["reference"] for r in rows} - {
        "invoice 7",
        "invoice 120",
    }
    rejects = pipeline.rejects("daily/2026-11-23.csv")
    assert [(r["row"], r["field"]) for r in rejects] == [(7, "amount"), (120, "currency")]
    assert all(r["reason"] for r in rejects)
    audit = pipeline.audit("daily/2026-11-23.csv", version)
    assert audit.status == "completed"
    assert (audit.counts.read, audit.counts.created, audit.counts.replayed, audit.counts.rejected) == (
        250,
        248,
        0,
        2,
    )
    assert audit.rejects_key == "rejects/daily/2026-11-23.csv.jsonl"
    assert audit.expires_at > 0
    # and the rejects object is not itself ingested when its own upload is announced
    pipeline.notify(audit.rejects_key, str(audit.rejects_version))
    pipeline.drain()
    assert len(pipeline.transactions()) == 248
    assert pipeline.dead_letters == []


def test_json_lines_with_unreadable_rows_rejects_them_and_reads_on(pipeline: Pipeline) -> None:
    data = (
        jsonl_bytes([row(1)])
        + b"{not json\n"
        + b"\n"  # blank: not a row
        + b"[1, 2]\n"
        + b'{"amount": "1.00", "currency": "EUR", "customerId": "c-1", "type": "debit", '
        + b'"reference": "caf\xe9"}\n'
        + jsonl_bytes([row(2)])
    )
    version = pipeline.upload("in/mixed.jsonl", data)
    pipeline.drain()

    assert len(pipeline.transactions()) == 2
    rejects = pipeline.rejects("in/mixed.jsonl")
    assert [r["row"] for r in rejects] == [2, 3, 4]
    assert "JSON" in rejects[0]["reason"]
    assert "JSON object" in rejects[1]["reason"]
    assert "UTF-8" in rejects[2]["reason"]
    audit = pipeline.audit("in/mixed.jsonl", version)
    assert (audit.counts.read, audit.counts.created, audit.counts.rejected) == (5, 2, 3)


def test_the_same_content_uploaded_twice_creates_nothing_the_second_time(pipeline: Pipeline) -> None:
    data = csv_bytes([row(n) for n in range(1, 131)])
    first = pipeline.upload("again.csv", data)
    pipeline.drain()
    second = pipeline.upload("again.csv", data)  # a new object version, the same bytes
    pipeline.drain()

    assert len(pipeline.transactions()) == 130
    one, two = pipeline.audit("again.csv", first), pipeline.audit("again.csv", second)
    assert (one.counts.created, one.counts.replayed) == (130, 0)
    assert (two.counts.created, two.counts.replayed, two.status) == (0, 130, "completed")
    assert one.content_sha256 == two.content_sha256


def test_changed_content_under_the_same_key_creates_only_the_new_rows_keys(pipeline: Pipeline) -> None:
    # Derived keys include the content hash: a different file is different transactions.
    pipeline.upload("k.csv", csv_bytes([row(1), row(2)]))
    pipeline.drain()
    pipeline.upload("k.csv", csv_bytes([row(1), row(3)]))
    pipeline.drain()
    assert len(pipeline.transactions()) == 4


def test_an_idempotency_key_reused_with_different_content_is_rejected(pipeline: Pipeline) -> None:
    columns = (*FIELDS, "idempotencyKey")
    pipeline.upload(
        "a.csv", csv_bytes([row(1, idempotencyKey="order-1"), row(2, idempotencyKey="order-2")], columns)
    )
    pipeline.drain()
    # Another file: order-1 again with the same request (a replay), order-2 with a different amount.
    same_1 = row(1, idempotencyKey="order-1")
    changed_2 = row(2, idempotencyKey="order-2", amount="999.00")
    version = pipeline.upload("b.csv", csv_bytes([same_1, changed_2, row(3)], columns))
    pipeline.drain()

    items = pipeline.transactions()
    assert len(items) == 3
    ids = {i["pk"]["S"] for i in items}
    assert transaction_id_for(ingest_namespace("strongroom-ingest-eu-west-1"), "order-1") in ids
    audit = pipeline.audit("b.csv", version)
    assert (audit.counts.created, audit.counts.replayed, audit.counts.rejected) == (1, 1, 1)
    [reject] = pipeline.rejects("b.csv")
    assert reject["row"] == 2
    assert reject["field"] == "idempotencyKey"
    assert "different" in reject["reason"]


def test_a_key_repeated_within_one_batch_is_decided_against_its_first_row(pipeline: Pipeline) -> None:
    columns = (*FIELDS, "idempotencyKey")
    rows = [row(1, idempotencyKey="k"), row(1, idempotencyKey="k"), row(2, idempotencyKey="k")]
    version = pipeline.upload("dup.csv", csv_bytes(rows, columns))
    pipeline.drain()
    audit = pipeline.audit("dup.csv", version)
    assert (audit.counts.created, audit.counts.replayed, audit.counts.rejected) == (1, 1, 1)
    assert len(pipeline.transactions()) == 1


def test_a_file_too_long_for_one_invocation_is_checkpointed_and_continued(
    provisioned: ProvisionedRegion, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an invocation that is always short of time (each one handles one batch of 100 rows, then
    # checkpoints), and parts small enough that the rejects chunks are multipart uploads
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 64)
    pipeline = make_pipeline(provisioned, time_margin_seconds=10**9, part_bytes=64)
    try:
        rows = [row(n) for n in range(1, 451)]
        for n in (5, 150, 151, 449):
            rows[n - 1]["type"] = "refund"
        version = pipeline.upload("big.csv", csv_bytes(rows))

        pipeline.drain(FakeContext(lambda: 1000))

        audit = pipeline.audit("big.csv", version)
        assert audit.invocations == 5  # 100 rows each
        assert audit.generation == 5
        assert audit.status == "completed"
        assert (audit.counts.read, audit.counts.created, audit.counts.rejected) == (450, 446, 4)
        assert len(pipeline.transactions()) == 446
        assert [r["row"] for r in pipeline.rejects("big.csv")] == [5, 150, 151, 449]
        # the chunks were combined and removed
        listed = aws_client("s3").list_objects_v2(Bucket="strongroom-ingest-eu-west-1", Prefix="rejects/")
        assert [o["Key"] for o in listed["Contents"]] == ["rejects/big.csv.jsonl"]
    finally:
        ingest.configure(None)


def test_a_redelivered_message_after_completion_changes_nothing(pipeline: Pipeline) -> None:
    version = pipeline.upload("once.jsonl", jsonl_bytes([row(1), row(2)]))
    pipeline.drain()
    continuation = ingest.continuation_body(
        ingest.ObjectVersion(
            "strongroom-ingest-eu-west-1", "once.jsonl", version, ingest.datetime.now(ingest.UTC)
        )
    )
    pipeline.send(continuation)
    pipeline.drain()
    audit = pipeline.audit("once.jsonl", version)
    assert (audit.invocations, audit.counts.created) == (1, 2)
    assert len(pipeline.transactions()) == 2


def test_a_poison_message_fails_alone_and_ends_in_the_dlq(pipeline: Pipeline) -> None:
    # GIVEN a batch holding a message nobody can handle next to a real upload
    pipeline.send("this is not an S3 event")
    pipeline.send(json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}))
    version = pipeline.upload("fine.csv", csv_bytes([row(1)]))

    pipeline.drain()

    # THEN the upload was ingested and the two poison messages went to the DLQ after max receives
    assert pipeline.audit("fine.csv", version).status == "completed"
    assert Counter(pipeline.dead_letters) == Counter(
        ["this is not an S3 event", json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]})]
    )
    assert max(pipeline.receives.values()) == pipeline.max_receives


def test_an_unsupported_file_is_recorded_as_failed_not_retried(pipeline: Pipeline) -> None:
    version = pipeline.upload("notes.txt", b"hello\n")
    pipeline.drain()
    audit = pipeline.audit("notes.txt", version)
    assert audit.status == "failed"
    assert "unsupported" in audit.errors[0]
    assert pipeline.dead_letters == []


def test_the_handler_module_imports_no_sdk_at_import_time() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = "import sys, strongroom.runtime.ingest; print('boto3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_write_that_fails_behind_the_reader_holds_the_checkpoint_and_the_retry_completes(
    provisioned: ProvisionedRegion,
) -> None:
    # GIVEN invocations that checkpoint after every 100 rows, and the function's DynamoDB client
    # refusing, once, the BatchWriteItem that carries row 230 (a refusal no retry mends), sent
    # behind the reader
    dynamodb = aws_client("dynamodb")
    refused: list[int] = []

    def refuse_once(params: dict[str, object], **_: object) -> None:
        body = json.dumps(params)
        if not refused and "row 230 " in body.replace('"', " "):
            refused.append(1)
            raise ingest.ClientError({"Error": {"Code": "AccessDeniedException"}}, "BatchWriteItem")

    dynamodb.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", refuse_once)
    pipeline = make_pipeline(
        provisioned, clients={"dynamodb": dynamodb}, writes_in_flight=4, time_margin_seconds=10**9
    )
    try:
        rows = [row(n, reference=f"row {n} ") for n in range(1, 501)]
        version = pipeline.upload("behind.csv", csv_bytes(rows))

        # WHEN the first delivery fails on that write, and the queue delivers the message again
        pipeline.drain(FakeContext(lambda: 1000))

        # THEN the failed invocation saved no checkpoint (had it moved past row 300, rows 226-250
        # would never be written), the error is on record, and every row was written exactly once
        audit = pipeline.audit("behind.csv", version)
        assert refused == [1]
        assert audit.status == "completed"
        assert (audit.invocations, audit.generation) == (6, 6)  # five batches, then the end
        assert any("ClientError AccessDeniedException" in e for e in audit.errors)
        assert (audit.counts.read, audit.counts.created, audit.counts.rejected) == (500, 500, 0)
        references = Counter(t["reference"]["S"] for t in pipeline.transactions())
        assert len(references) == 500
        assert set(references.values()) == {1}
    finally:
        ingest.configure(None)
