"""Batch ingestion's pure part: lines from a byte stream, CSV and JSON Lines records, row validation by the
API's domain code, row keys and transaction ids, and how a batch of rows is decided. No AWS, no clock.

docs/adr/0031-batch-ingestion-exactly-once.md explains the keys and the decisions made here.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from strongroom.runtime.domain import (
    FieldProblem,
    InvalidInput,
    TransactionRequest,
    parse_transaction_request,
    transaction_id_for,
    validate_idempotency_key,
)

KEY_COLUMN = "idempotencyKey"
# A row longer than this is rejected without being held in memory: memory stays flat whatever the input.
MAX_ROW_BYTES = 64 * 1024
# BatchGetItem reads at most 100 keys per call; one batch of rows is one BatchGetItem.
BATCH_ROWS = 100


class FileFormat(StrEnum):
    CSV = "csv"
    JSON_LINES = "jsonl"


_SUFFIXES = {".csv": FileFormat.CSV, ".jsonl": FileFormat.JSON_LINES, ".ndjson": FileFormat.JSON_LINES}


def format_for_key(key: str) -> FileFormat | None:
    """The format an object's key names (``.csv``, ``.jsonl``, ``.ndjson``, any case), or None."""
    lowered = key.lower()
    return next((fmt for suffix, fmt in _SUFFIXES.items() if lowered.endswith(suffix)), None)


# --- lines and records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One line with its terminator; ``end`` is the byte offset just after it in the object."""

    data: bytes
    end: int
    too_long: bool = False


def iter_lines(chunks: Iterable[bytes], offset: int = 0, max_bytes: int = MAX_ROW_BYTES) -> Iterator[Line]:
    """Split a stream of byte chunks into lines, keeping exact byte offsets (for a ranged GET to resume
    at). A line longer than ``max_bytes`` is not kept: it comes out empty, marked ``too_long``."""
    pending = b""
    skipped = 0  # bytes of an over-long line already thrown away
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            raw = data[start : newline + 1]
            offset += skipped + len(raw)
            long = bool(skipped) or len(raw) > max_bytes
            yield Line(b"" if long else raw, offset, long)
            skipped, start = 0, newline + 1
        pending = data[start:]
        if len(pending) > max_bytes:
            skipped += len(pending)
            pending = b""
    if pending or skipped:
        offset += skipped + len(pending)
        long = bool(skipped) or len(pending) > max_bytes
        yield Line(b"" if long else pending, offset, long)


@dataclass(frozen=True, slots=True)
class Record:
    """A data record: its number (1-based, header and blank lines not counted), the byte offset after
    it, and either its fields or why it could not be read at all."""

    number: int
    end: int
    fields: Mapping[str, object] | None
    problems: tuple[FieldProblem, ...] = ()


def _unreadable(number: int, end: int, reason: str) -> Record:
    return Record(number, end, None, (FieldProblem("row", reason),))


def _decode(data: bytes, *, first: bool) -> str | None:
    try:
        return data.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError:
        return None


def json_lines_records(lines: Iterable[Line], first_number: int = 1) -> Iterator[Record]:
    """One JSON object per line; a line that is not one is a rejected record, never a crash."""
    number = first_number
    for line in lines:
        if line.too_long:
            yield _unreadable(number, line.end, f"is longer than {MAX_ROW_BYTES} bytes")
            number += 1
            continue
        text = _decode(line.data, first=number == 1)
        if text is not None and not text.strip():
            continue  # blank lines are not rows
        if text is None:
            yield _unreadable(number, line.end, "is not valid UTF-8")
        else:
            try:
                value = json.loads(text)
            except ValueError as exc:
                yield _unreadable(number, line.end, f"is not valid JSON: {exc}")
            else:
                if isinstance(value, dict):
                    yield Record(number, line.end, value)
                else:
                    yield _unreadable(number, line.end, "is not a JSON object")
        number += 1


def _line_text(line: Line, *, first: bool, trouble: list[str]) -> str:
    """A line for the CSV reader; what makes it unreadable goes in ``trouble`` (its record is rejected)."""
    if line.too_long:
        trouble.append(f"is longer than {MAX_ROW_BYTES} bytes")
        return "\n"
    text = _decode(line.data, first=first)
    if text is None:
        trouble.append("is not valid UTF-8")
        return line.data.decode("utf-8", "replace")
    return text


class CsvRecords:
    """CSV with a header line. The header is read once and kept (``header``), so a continuation that
    starts mid-file is given it instead of reading it again."""

    def __init__(self, header: list[str] | None = None) -> None:
        self.header = header

    def records(self, lines: Iterable[Line], first_number: int = 1) -> Iterator[Record]:
        trouble: list[str] = []  # what went wrong with the lines of the record being read
        end = 0
        first = True

        def texts() -> Iterator[str]:
            nonlocal end, first
            for line in lines:
                end = line.end
                first, text = False, _line_text(line, first=first and self.header is None, trouble=trouble)
                yield text

        reader = csv.reader(texts(), strict=True)
        number = first_number
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield _unreadable(number, end, f"is not valid CSV: {exc}")
                number, trouble[:] = number + 1, []
                continue
            if trouble:
                yield _unreadable(number, end, trouble[0])
                number, trouble[:] = number + 1, []
                continue
            if not row or row == [""]:
                continue
            if self.header is None:
                self.header = [name.strip() for name in row]
                continue
            if len(row) != len(self.header):
                reason = f"has {len(row)} columns; the header has {len(self.header)}"
                yield _unreadable(number, end, reason)
            else:
                yield Record(number, end, dict(zip(self.header, row, strict=True)))
            number += 1


# --- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidRow:
    number: int
    request: TransactionRequest
    idempotency_key: str | None  # the row's own key; None when the key is derived


@dataclass(frozen=True, slots=True)
class RejectedRow:
    number: int
    problems: tuple[FieldProblem, ...]


def validate_row(record: Record) -> ValidRow | RejectedRow:
    """The API's validation, field for field; every problem of the row is reported at once."""
    fields = record.fields
    if fields is None:
        return RejectedRow(record.number, record.problems)
    problems: list[FieldProblem] = []
    request: TransactionRequest | None = None
    try:
        request = parse_transaction_request(
            amount=fields.get("amount"),
            currency=fields.get("currency"),
            customer_id=fields.get("customerId"),
            type=fields.get("type"),
            reference=fields.get("reference"),
        )
    except InvalidInput as exc:
        problems += exc.problems
    key = fields.get(KEY_COLUMN)
    if key == "":  # an empty CSV cell is no key: the row's key is derived
        key = None
    if key is not None:
        try:
            validate_idempotency_key(key if isinstance(key, str) else "")
        except InvalidInput:
            problems.append(FieldProblem(KEY_COLUMN, "must be 1-255 visible ASCII characters"))
    if problems or request is None:
        return RejectedRow(record.number, tuple(problems))
    assert key is None or isinstance(key, str)
    return ValidRow(record.number, request, key)


def reject_lines(row: RejectedRow) -> Iterator[bytes]:
    """The rejects object's lines for a row: one JSON object per problem (row number, field, reason)."""
    for problem in row.problems:
        document = {"row": row.number, "field": problem.field, "reason": problem.message}
        yield json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# --- keys ---------------------------------------------------------------------------------------


def ingest_namespace(bucket: str) -> str:
    """The principal namespace of a bucket's files. API callers' namespaces are IAM principal ARNs,
    which never start with ``s3://``, so an ingested id never collides with an API caller's."""
    return f"s3://{bucket}"


def row_reference(bucket: str, key: str, content_sha256: str, number: int) -> str:
    """SHA-256 of (bucket, object key, content SHA-256, row number): the same for every upload of the
    same content under the same key, different for any other row anywhere."""
    canonical = json.dumps([bucket, key, content_sha256, number], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def row_transaction_id(bucket: str, row: ValidRow, reference: str) -> str:
    """The row's own key if it has one; otherwise the derived key. A derived key holds a space, which an
    idempotency key (visible ASCII only) cannot, so the two kinds never meet."""
    key = row.idempotency_key if row.idempotency_key is not None else f"row {reference}"
    return transaction_id_for(ingest_namespace(bucket), key)


# --- deciding a batch ---------------------------------------------------------------------------


class Outcome(StrEnum):
    CREATED = "created"
    REPLAYED = "replayed"
    KEY_REUSED = "key-reused"


@dataclass(frozen=True, slots=True)
class Existing:
    """What a batch needs to know about a transaction already in the table."""

    fingerprint: str
    reference: str | None  # the row reference of the ingested row that wrote it (None: written by the API)


def classify_existing(fingerprint: str, reference: str, existing: Existing, *, first_upload: bool) -> Outcome:
    """A row whose id is already in the table. The same request is a replay, unless this very row of
    the first upload of this content wrote it (an earlier attempt of this processing: a retry or a
    re-delivery), which is counted as created so the audit counts do not depend on retries."""
    if existing.fingerprint != fingerprint:
        return Outcome.KEY_REUSED
    if first_upload and existing.reference == reference:
        return Outcome.CREATED
    return Outcome.REPLAYED


@dataclass(frozen=True, slots=True)
class PlannedRow:
    row: ValidRow
    transaction_id: str
    reference: str
    fingerprint: str


@dataclass
class BatchPlan:
    decided: list[tuple[PlannedRow, Outcome]]
    batch_puts: list[PlannedRow]  # derived keys, absent: unconditional BatchWriteItem
    conditional_puts: list[PlannedRow]  # the rows' own keys, absent: one conditional PutItem each
    deferred: list[PlannedRow]  # a later row with an id already in this batch: decided in the next round


def plan_batch(rows: Iterable[PlannedRow], known: Mapping[str, Existing], *, first_upload: bool) -> BatchPlan:
    """Decide each row from what the table holds (``known``: every id of the batch that exists)."""
    plan = BatchPlan([], [], [], [])
    seen: set[str] = set()
    for planned in rows:
        if planned.transaction_id in seen:
            plan.deferred.append(planned)
            continue
        seen.add(planned.transaction_id)
        existing = known.get(planned.transaction_id)
        if existing is not None:
            outcome = classify_existing(
                planned.fingerprint, planned.reference, existing, first_upload=first_upload
            )
            plan.decided.append((planned, outcome))
        elif planned.row.idempotency_key is None:
            plan.batch_puts.append(planned)
        else:
            plan.conditional_puts.append(planned)
    return plan
