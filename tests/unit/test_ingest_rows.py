"""Batch ingestion's pure part: lines and offsets, CSV and JSON Lines records, validation, keys, batches."""

from __future__ import annotations

import json

import pytest

from strongroom.runtime.domain import transaction_id_for
from strongroom.runtime.ingest import PoisonMessage, parse_message
from strongroom.runtime.ingest_rows import (
    CsvRecords,
    Existing,
    FileFormat,
    Outcome,
    PlannedRow,
    RejectedRow,
    ValidRow,
    classify_existing,
    format_for_key,
    iter_lines,
    json_lines_records,
    plan_batch,
    row_reference,
    row_transaction_id,
    validate_row,
)

HEADER = b"amount,currency,customerId,type,reference,idempotencyKey\n"


def test_lines_keep_exact_offsets_across_chunk_boundaries() -> None:
    data = b"ab\r\ncd\nlast"
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]
    lines = list(iter_lines(chunks, offset=100))
    assert [(line.data, line.end) for line in lines] == [(b"ab\r\n", 104), (b"cd\n", 107), (b"last", 111)]


def test_an_over_long_line_is_dropped_but_counted() -> None:
    lines = list(iter_lines([b"x" * 50, b"x" * 50 + b"\nok\n"], max_bytes=40))
    assert [(line.too_long, line.data, line.end) for line in lines] == [
        (True, b"", 101),
        (False, b"ok\n", 104),
    ]


def test_csv_records_number_data_rows_and_reject_what_cannot_be_read() -> None:
    data = (
        HEADER
        + b'1.00,EUR,c-1,debit,"a, quoted\nreference",\n\n1.00,EUR\n'
        + b"2.00,EUR,c-2,credit,caf\xe9,\n"
    )
    parser = CsvRecords()
    records = list(parser.records(iter_lines([data])))
    assert parser.header is not None
    assert parser.header[-1] == "idempotencyKey"
    assert [r.number for r in records] == [1, 2, 3]
    assert records[0].fields is not None
    assert records[0].fields["reference"] == "a, quoted\nreference"
    assert records[1].problems[0].message == "has 2 columns; the header has 6"
    assert records[2].problems[0].message == "is not valid UTF-8"
    assert records[-1].end == len(data)


def test_csv_resumes_mid_file_with_the_checkpointed_header() -> None:
    data = HEADER + b"1.00,EUR,c-1,debit,r1,\n2.00,EUR,c-2,debit,r2,\n"
    first = next(CsvRecords().records(iter_lines([data])))
    rest = data[first.end :]
    resumed = list(CsvRecords(HEADER.decode().strip().split(",")).records(iter_lines([rest], first.end), 2))
    assert [(r.number, r.fields and r.fields["reference"]) for r in resumed] == [(2, "r2")]


def test_json_lines_reject_non_objects_and_skip_blank_lines() -> None:
    records = list(json_lines_records(iter_lines([b'{"a": 1}\n\n[1]\n{bad\n'])))
    assert [(r.number, r.fields is None) for r in records] == [(1, False), (2, True), (3, True)]


def test_validation_is_the_api_domain_and_reports_every_problem() -> None:
    [record] = list(
        json_lines_records(iter_lines([b'{"amount": "1.001", "currency": "EUR", "type": "x"}\n']))
    )
    rejected = validate_row(record)
    assert isinstance(rejected, RejectedRow)
    assert {p.field for p in rejected.problems} == {"amount", "customerId", "type", "reference"}


def test_an_empty_key_cell_means_a_derived_key_and_a_bad_key_is_rejected() -> None:
    fields = {"amount": "1.00", "currency": "EUR", "customerId": "c", "type": "debit", "reference": "r"}
    [ok, bad] = list(
        CsvRecords([*list(fields), "idempotencyKey"]).records(
            iter_lines([b"1.00,EUR,c,debit,r,\n1.00,EUR,c,debit,r,a b\n"])
        )
    )
    valid = validate_row(ok)
    assert isinstance(valid, ValidRow)
    assert valid.idempotency_key is None
    invalid = validate_row(bad)
    assert isinstance(invalid, RejectedRow)
    assert invalid.problems[0].field == "idempotencyKey"


def test_derived_keys_depend_on_content_and_row_and_never_meet_api_or_own_keys() -> None:
    ref = row_reference("b", "k.csv", "00" * 32, 7)
    assert ref == row_reference("b", "k.csv", "00" * 32, 7)
    assert ref != row_reference("b", "k.csv", "11" * 32, 7)
    assert ref != row_reference("b", "k.csv", "00" * 32, 8)
    [record] = list(
        json_lines_records(
            iter_lines(
                [b'{"amount":"1.00","currency":"EUR","customerId":"c","type":"debit","reference":"r"}\n']
            )
        )
    )
    row = validate_row(record)
    assert isinstance(row, ValidRow)
    derived = row_transaction_id("b", row, ref)
    assert derived == transaction_id_for("s3://b", f"row {ref}")
    assert derived != transaction_id_for("arn:aws:iam::000000000000:user/alice", f"row {ref}")


def test_an_existing_row_is_created_only_if_this_row_of_the_first_upload_wrote_it() -> None:
    mine = Existing("fp", "ref")
    assert classify_existing("fp", "ref", mine, first_upload=True) is Outcome.CREATED
    assert classify_existing("fp", "ref", mine, first_upload=False) is Outcome.REPLAYED
    assert classify_existing("fp", "ref", Existing("fp", "other"), first_upload=True) is Outcome.REPLAYED
    assert classify_existing("fp", "ref", Existing("fp2", "ref"), first_upload=True) is Outcome.KEY_REUSED


def _planned(number: int, txn: str, key: str | None, fingerprint: str = "fp") -> PlannedRow:
    [record] = list(
        json_lines_records(
            iter_lines(
                [b'{"amount":"1.00","currency":"EUR","customerId":"c","type":"debit","reference":"r"}\n']
            )
        )
    )
    row = validate_row(record)
    assert isinstance(row, ValidRow)
    return PlannedRow(ValidRow(number, row.request, key), txn, f"ref{number}", fingerprint)


def test_a_batch_writes_derived_keys_in_bulk_own_keys_conditionally_and_defers_repeats() -> None:
    rows = [_planned(1, "t1", None), _planned(2, "t2", "k"), _planned(3, "t2", "k"), _planned(4, "t4", None)]
    plan = plan_batch(rows, {"t4": Existing("fp", "ref4")}, first_upload=True)
    assert [p.transaction_id for p in plan.batch_puts] == ["t1"]
    assert [p.transaction_id for p in plan.conditional_puts] == ["t2"]
    assert [p.row.number for p in plan.deferred] == [3]
    assert [(p.row.number, o) for p, o in plan.decided] == [(4, Outcome.CREATED)]


def test_formats_come_from_the_key() -> None:
    assert format_for_key("a/B.CSV") is FileFormat.CSV
    assert format_for_key("x.ndjson") is FileFormat.JSON_LINES
    assert format_for_key("x.json") is None


def test_messages_are_s3_notifications_continuations_or_poison() -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "2026-11-23T12:00:00.000Z",
                    "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%2Bc.csv", "versionId": "v1"}},
                }
            ]
        }
    )
    [obj] = parse_message(body)
    assert (obj.bucket, obj.key, obj.version) == ("b", "a b+c.csv", "v1")
    assert parse_message('{"Event":"s3:TestEvent"}') == []
    with pytest.raises(PoisonMessage):
        parse_message("not json")
    with pytest.raises(PoisonMessage):
        parse_message('{"Records":[{"eventName":"ObjectCreated:Put"}]}')
