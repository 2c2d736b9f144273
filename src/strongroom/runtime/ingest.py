"""The batch ingestion function: files of transactions dropped in a Region's ingest bucket (CSV or JSON
Lines) become transactions exactly once, with rejects, an audit record per file, and checkpoints.

S3 → SQS → this handler (an event source mapping with batch item failures). A message body is an S3
event notification, or a continuation this function sent itself when a file outlasted an invocation.
A message that cannot be handled fails alone (Powertools' ``BatchProcessor``): the queue retries it and,
after its configured receives, moves it to the DLQ, while the rest of the batch proceeds.

What a cold start pays for is kept small: boto3 is imported on first use, Powertools' batch utility
when the first event arrives. docs/adr/0031-batch-ingestion-exactly-once.md is the design.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from strongroom import constants as env
from strongroom.runtime import snapstart
from strongroom.runtime.adapters.dynamodb import Item, to_item
from strongroom.runtime.adapters.ingest_store import (
    MIN_PART_BYTES,
    AuditStore,
    FileState,
    FileStatus,
    ObjectWriter,
    Retrier,
    TransactionBatchWriter,
    expiry,
)
from strongroom.runtime.domain import FieldProblem, new_transaction
from strongroom.runtime.domain.transaction import timestamp_text
from strongroom.runtime.ingest_rows import (
    BATCH_ROWS,
    KEY_COLUMN,
    CsvRecords,
    Existing,
    FileFormat,
    Outcome,
    PlannedRow,
    Record,
    RejectedRow,
    ValidRow,
    classify_existing,
    format_for_key,
    iter_lines,
    json_lines_records,
    plan_batch,
    reject_lines,
    row_reference,
    row_transaction_id,
    validate_row,
)
from strongroom.runtime.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from mypy_boto3_dynamodb import DynamoDBClient

CONTINUATION = "strongroom.ingest.continue"  # the ``type`` of a continuation message
REJECTS_PREFIX = "rejects/"
READ_CHUNK_BYTES = 256 * 1024
DEFAULT_TIME_MARGIN_SECONDS = 60.0
DEFAULT_WRITES_IN_FLIGHT = 4
DEFAULT_AUDIT_RETENTION_DAYS = 2557  # as strongroom.config's default


class PoisonMessage(ValueError):
    """A message this function can never handle; it fails alone and ends in the DLQ."""


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One uploaded object version: what the event said, and the time it was created."""

    bucket: str
    key: str
    version_id: str | None  # None in an unversioned bucket
    event_time: datetime
    sequencer: str = ""

    @property
    def version(self) -> str:
        """The audit record's name for this version: an unversioned bucket's objects are told apart by
        their event sequencer, so overwriting one is a new upload, not a completed one."""
        return self.version_id if self.version_id else f"null:{self.sequencer}"


def _event_time(text: object) -> datetime:
    if not isinstance(text, str):
        raise PoisonMessage("event time missing")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_message(body: str) -> list[ObjectVersion]:
    """The object versions a message is about: an S3 event notification (keys are URL-encoded there)
    or one of our continuations. S3's test event is about nothing. Anything else is poison."""
    try:
        document = json.loads(body)
    except ValueError:
        raise PoisonMessage("the message is not JSON") from None
    if not isinstance(document, dict):
        raise PoisonMessage("the message is not a JSON object")
    try:
        if document.get("type") == CONTINUATION:
            return [
                ObjectVersion(
                    document["bucket"],
                    document["key"],
                    document.get("versionId"),
                    _event_time(document["eventTime"]),
                    document.get("sequencer", ""),
                )
            ]
        if document.get("Event") == "s3:TestEvent":
            return []
        versions = []
        for record in document["Records"]:
            if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            versions.append(
                ObjectVersion(
                    s3["bucket"]["name"],
                    unquote_plus(s3["object"]["key"]),
                    s3["object"].get("versionId"),
                    _event_time(record["eventTime"]),
                    s3["object"].get("sequencer", ""),
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise PoisonMessage(f"not an S3 event notification or a continuation: {exc!r}") from None
    return versions


def continuation_body(obj: ObjectVersion) -> str:
    """The message that hands the rest of a file to the next invocation. It carries no progress: that is
    in the audit record, so a stale or duplicated continuation resumes from the latest checkpoint."""
    return json.dumps(
        {
            "type": CONTINUATION,
            "bucket": obj.bucket,
            "key": obj.key,
            "versionId": obj.version_id,
            "eventTime": timestamp_text(obj.event_time),
            "sequencer": obj.sequencer,
        }
    )


# --- settings and dependencies -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestSettings:
    region: str
    transactions_table: str
    audit_table: str
    queue_url: str | None = None  # where continuations go; by default the queue the message came from
    time_margin_seconds: float = DEFAULT_TIME_MARGIN_SECONDS
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    part_bytes: int = MIN_PART_BYTES
    writes_in_flight: int = DEFAULT_WRITES_IN_FLIGHT  # BatchWriteItem calls outstanding at once

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> IngestSettings:
        e = os.environ if environ is None else environ
        required = (env.ENV_AWS_REGION, env.ENV_TRANSACTIONS_TABLE, env.ENV_AUDIT_TABLE)
        missing = [name for name in required if not e.get(name)]
        if missing:
            raise RuntimeError(f"missing environment variable(s): {', '.join(missing)}")
        return cls(
            region=e[env.ENV_AWS_REGION],
            transactions_table=e[env.ENV_TRANSACTIONS_TABLE],
            audit_table=e[env.ENV_AUDIT_TABLE],
            queue_url=e.get(env.ENV_INGEST_QUEUE_URL) or None,
            time_margin_seconds=float(e.get(env.ENV_INGEST_TIME_MARGIN) or DEFAULT_TIME_MARGIN_SECONDS),
            audit_retention_days=int(e.get(env.ENV_AUDIT_RETENTION_DAYS) or DEFAULT_AUDIT_RETENTION_DAYS),
            writes_in_flight=int(e.get(env.ENV_INGEST_WRITES_IN_FLIGHT) or DEFAULT_WRITES_IN_FLIGHT),
        )


@dataclass
class IngestDependencies:
    settings: IngestSettings
    s3: Any
    dynamodb: DynamoDBClient
    sqs: Any
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    retrier: Retrier = field(default_factory=Retrier)


_dependencies: IngestDependencies | None = None


def configure(dependencies: IngestDependencies | None) -> None:
    """Use these dependencies (or, with None, rebuild them from the environment on next use)."""
    global _dependencies  # noqa: PLW0603 - one set of dependencies per execution environment
    _dependencies = dependencies


@snapstart.forget_on_restore
def _forget_environment() -> None:
    """SnapStart: the next message rebuilds the clients from this environment's own credentials."""
    configure(None)


def dependencies_from_environment() -> IngestDependencies:
    import boto3  # noqa: PLC0415 - first use, not import, pays for the SDK
    from botocore.config import Config  # noqa: PLC0415

    settings = IngestSettings.from_environ()
    config = Config(
        region_name=settings.region,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=max(10, settings.writes_in_flight + 2),  # the writes, a read, the audit
    )
    session = boto3.session.Session()
    return IngestDependencies(
        settings=settings,
        s3=session.client("s3", config=config),
        dynamodb=session.client("dynamodb", config=config),
        sqs=session.client("sqs", config=config),
    )


# --- one file ----------------------------------------------------------------------------------


class FileIngestor:
    """Ingests object versions, one invocation's worth at a time."""

    def __init__(self, deps: IngestDependencies) -> None:
        self._deps = deps
        self._settings = deps.settings
        self._s3 = deps.s3
        self._retry = deps.retrier
        self._writer = TransactionBatchWriter(
            deps.dynamodb,
            self._settings.transactions_table,
            deps.retrier,
            in_flight=self._settings.writes_in_flight,
        )
        self._audit = AuditStore(deps.dynamodb, self._settings.audit_table, deps.retrier)
        self._queue_urls: dict[str, str] = {}

    def ingest(
        self, obj: ObjectVersion, remaining_ms: Callable[[], int], *, source_queue_arn: str = ""
    ) -> str:
        """Process ``obj`` until done or out of time; returns what happened (for logs and tests):
        ``completed``, ``continued``, ``failed``, ``skipped`` or ``superseded``."""
        if obj.key.startswith(REJECTS_PREFIX):
            return "skipped"  # our own output, in the same bucket
        state = self._audit.load(obj.bucket, obj.key, obj.version) or self._start(obj)
        if state.status != FileStatus.IN_PROGRESS:
            return "skipped" if state.status == FileStatus.COMPLETED else state.status
        try:
            return self._continue(obj, state, remaining_ms, source_queue_arn)
        except Exception as exc:
            failure = {"objectKey": obj.key, "error": type(exc).__name__}
            logger.warning("ingest failed; the queue retries it", extra=failure)
            self._record_error(state, exc)
            raise

    def _now(self) -> str:
        return timestamp_text(self._deps.clock())

    def _start(self, obj: ObjectVersion) -> FileState:
        now = self._deps.clock()
        state = FileState(
            bucket=obj.bucket,
            key=obj.key,
            version=obj.version,
            status=FileStatus.IN_PROGRESS,
            started_at=timestamp_text(now),
            updated_at=timestamp_text(now),
            expires_at=expiry(now, self._settings.audit_retention_days),
        )
        fmt = format_for_key(obj.key)
        if fmt is None:
            failed = replace(state, status=FileStatus.FAILED, completed_at=state.started_at)
            failed = failed.with_error("unsupported file: name it .csv, .jsonl or .ndjson")
        else:
            try:
                digest = self._content_sha256(obj)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in {"NoSuchKey", "NoSuchVersion", "404"}:
                    raise
                failed = replace(state, status=FileStatus.FAILED, completed_at=state.started_at)
                failed = failed.with_error("the object version no longer exists")
            else:
                claim = self._audit.claim_content(
                    obj.bucket, obj.key, digest, obj.version, timestamp_text(obj.event_time), state.expires_at
                )
                state = replace(
                    state,
                    format=fmt.value,
                    content_sha256=digest,
                    created_at=claim.first_seen,
                    first_upload=claim.first_version == obj.version,
                )
                return state if self._audit.create(state) else self._reload(obj)
        return failed if self._audit.create(failed) else self._reload(obj)

    def _reload(self, obj: ObjectVersion) -> FileState:
        state = self._audit.load(obj.bucket, obj.key, obj.version)
        if state is None:  # written a moment ago by another delivery; deleted only by TTL, years later
            raise RuntimeError(f"the audit record of {obj.key} vanished")
        return state

    def _get(self, obj: ObjectVersion, offset: int = 0) -> Any:
        request: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            request["VersionId"] = obj.version_id
        if offset:
            request["Range"] = f"bytes={offset}-"
        return self._retry(self._s3.get_object, **request)["Body"]

    def _content_sha256(self, obj: ObjectVersion) -> str:
        """A first pass over the object: S3 keeps no SHA-256 of content unless the uploader sent one,
        and the derived keys must be the same for every upload of the same bytes (docs/adr/0031)."""
        body = self._get(obj)
        digest = hashlib.sha256()
        try:
            for chunk in iter(partial(body.read, READ_CHUNK_BYTES), b""):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest()

    # --- the rows -----------------------------------------------------------------------------

    def _continue(
        self, obj: ObjectVersion, state: FileState, remaining_ms: Callable[[], int], source_queue_arn: str
    ) -> str:
        read_generation = state.generation
        state = replace(state, invocations=state.invocations + 1, counts=replace(state.counts))
        # A chunk name no other delivery can choose: two racing on one checkpoint must not overwrite
        # each other's rejects (only the one whose checkpoint lands is kept).
        token = uuid.uuid4().hex[:12]
        chunk_key = f"{REJECTS_PREFIX}{obj.key}.jsonl.chunks/{obj.version}/{read_generation + 1:06d}-{token}"
        rejects = ObjectWriter(
            self._s3, obj.bucket, chunk_key, self._retry, part_bytes=self._settings.part_bytes
        )
        margin_ms = self._settings.time_margin_seconds * 1000
        try:
            finished = self._rows(obj, state, rejects, lambda: remaining_ms() < margin_ms)
            rejects.close()
            if rejects.bytes_written:
                state.rejects_chunks = [*state.rejects_chunks, chunk_key]
        except Exception:
            rejects.abort()
            raise
        state.generation = read_generation + 1
        state.updated_at = self._now()
        if not finished:
            if not self._audit.save(state, read_generation=read_generation):
                self._delete(obj.bucket, [chunk_key] if rejects.bytes_written else [])
                return "superseded"
            self._send_continuation(obj, source_queue_arn)
            logger.info("ingest checkpoint", extra={"objectKey": obj.key, "nextRow": state.next_row})
            return "continued"
        if state.rejects_chunks:
            state.rejects_key = f"{REJECTS_PREFIX}{obj.key}.jsonl"
            state.rejects_version = self._combine(obj.bucket, state.rejects_chunks, state.rejects_key)
        state.status, state.completed_at = FileStatus.COMPLETED, state.updated_at
        if not self._audit.save(state, read_generation=read_generation):
            return "superseded"
        self._delete(obj.bucket, state.rejects_chunks)
        c = state.counts
        logger.info(
            "ingest completed",
            extra={"objectKey": obj.key, "rowsRead": c.read, "rowsCreated": c.created,
                   "rowsReplayed": c.replayed, "rowsRejected": c.rejected},
        )  # fmt: skip
        return "completed"

    def _records(self, obj: ObjectVersion, state: FileState) -> Iterator[Record]:
        try:
            body = self._get(obj, state.next_offset)
        except ClientError as exc:
            # A checkpoint taken right after the last row resumes at the end: S3 refuses that range.
            if state.next_offset and exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return
            raise
        try:
            lines = iter_lines(iter(partial(body.read, READ_CHUNK_BYTES), b""), state.next_offset)
            if state.format == FileFormat.CSV:
                parser = CsvRecords(state.header)
                for record in parser.records(lines, state.next_row):
                    state.header = parser.header
                    yield record
                state.header = parser.header
            else:
                yield from json_lines_records(lines, state.next_row)
        finally:
            body.close()

    def _rows(
        self, obj: ObjectVersion, state: FileState, rejects: ObjectWriter, out_of_time: Callable[[], bool]
    ) -> bool:
        """Every row from the checkpoint on; True when the file ended, False when time ran short.
        Progress (``next_row``/``next_offset``) moves past a batch once its writes are sent; this only
        returns, and so the checkpoint is only saved, once every write it sent has landed."""
        assert state.content_sha256 is not None
        assert state.created_at is not None
        created_at = datetime.fromisoformat(state.created_at.replace("Z", "+00:00"))
        batch: list[PlannedRow] = []
        since_flush = 0
        last: Record | None = None
        records = self._records(obj, state)
        try:
            with self._writer.write_behind():
                for record in records:
                    last = record
                    state.counts.read += 1
                    row = validate_row(record)
                    if isinstance(row, RejectedRow):
                        self._reject(row, state, rejects)
                    else:
                        batch.append(self._plan(obj, state.content_sha256, row))
                    since_flush += 1
                    if since_flush >= BATCH_ROWS:
                        self._write(batch, state, rejects, created_at)
                        batch, since_flush = [], 0
                        state.next_row, state.next_offset = record.number + 1, record.end
                        if out_of_time():
                            return False
                self._write(batch, state, rejects, created_at)
                if since_flush and last is not None:
                    state.next_row, state.next_offset = last.number + 1, last.end
                return True
        finally:
            records.close()  # type: ignore[attr-defined]

    @staticmethod
    def _plan(obj: ObjectVersion, content_sha256: str, row: ValidRow) -> PlannedRow:
        reference = row_reference(obj.bucket, obj.key, content_sha256, row.number)
        return PlannedRow(
            row, row_transaction_id(obj.bucket, row, reference), reference, row.request.fingerprint()
        )

    @staticmethod
    def _reject(row: RejectedRow, state: FileState, rejects: ObjectWriter) -> None:
        state.counts.rejected += 1
        for line in reject_lines(row):
            rejects.write(line)

    def _write(
        self, batch: list[PlannedRow], state: FileState, rejects: ObjectWriter, created_at: datetime
    ) -> None:
        """One batch: which ids exist (one BatchGetItem), then new derived-key rows in BatchWriteItem,
        new own-key rows by conditional PutItem; every row ends created, replayed or rejected."""
        if not batch:
            return
        # The first upload of this content, rows without their own keys: an id derived from this very
        # content and row can only exist because an earlier attempt of this processing wrote it, with
        # the same bytes, which counts as created either way (classify_existing): no read is needed,
        # and the unconditional put is idempotent. Anything else is read first.
        derived_only = all(p.row.idempotency_key is None for p in batch)
        if state.first_upload and derived_only:
            known: dict[str, Existing] = {}
        else:
            known = self._writer.existing(p.transaction_id for p in batch)
        pending = batch
        while pending:
            plan = plan_batch(pending, known, first_upload=state.first_upload)
            outcomes = list(plan.decided)
            if plan.batch_puts:
                self._writer.put_all([self._item(p, created_at) for p in plan.batch_puts])
                outcomes += [(p, Outcome.CREATED) for p in plan.batch_puts]
            for p in plan.conditional_puts:
                old = self._writer.put_new(self._item(p, created_at))
                if old is None:
                    outcomes.append((p, Outcome.CREATED))
                else:
                    known[p.transaction_id] = old
                    outcomes.append(
                        (
                            p,
                            classify_existing(
                                p.fingerprint, p.reference, old, first_upload=state.first_upload
                            ),
                        )
                    )
            for p, outcome in outcomes:
                known.setdefault(p.transaction_id, Existing(p.fingerprint, p.reference))
                if outcome is Outcome.CREATED:
                    state.counts.created += 1
                elif outcome is Outcome.REPLAYED:
                    state.counts.replayed += 1
                else:
                    reason = f"already used for a different transaction ({p.transaction_id})"
                    self._reject(
                        RejectedRow(p.row.number, (FieldProblem(KEY_COLUMN, reason),)), state, rejects
                    )
            pending = plan.deferred

    @staticmethod
    def _item(planned: PlannedRow, created_at: datetime) -> Item:
        """The same bytes on every attempt and every upload of the same content: createdAt is the first
        upload's event time, never the clock of a retry, so an unconditional put is idempotent."""
        txn = new_transaction(planned.row.request, transaction_id=planned.transaction_id, now=created_at)
        return {**to_item(txn), "ingestRow": {"S": planned.reference}}

    # --- rejects, continuations, errors ----------------------------------------------------------

    def _combine(self, bucket: str, chunks: list[str], key: str) -> str | None:
        """The rejects object from its chunks (one per invocation), streamed through bounded memory."""
        if len(chunks) == 1:
            response = self._retry(
                self._s3.copy_object, Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": chunks[0]}
            )
            return response.get("VersionId")  # type: ignore[no-any-return]
        writer = ObjectWriter(self._s3, bucket, key, self._retry, part_bytes=self._settings.part_bytes)
        try:
            for chunk in chunks:
                body = self._retry(self._s3.get_object, Bucket=bucket, Key=chunk)["Body"]
                try:
                    for data in iter(partial(body.read, READ_CHUNK_BYTES), b""):
                        writer.write(data)
                finally:
                    body.close()
            return writer.close()
        except Exception:
            writer.abort()
            raise

    def _delete(self, bucket: str, keys: list[str]) -> None:
        """Best effort: a chunk left behind is only clutter under rejects/ (the lifecycle rule expires it)."""
        if not keys:
            return
        try:
            self._s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        except Exception as exc:
            logger.warning("could not delete rejects chunks", extra={"error": type(exc).__name__})

    def _send_continuation(self, obj: ObjectVersion, source_queue_arn: str) -> None:
        self._retry(
            self._deps.sqs.send_message,
            QueueUrl=self._queue_url(source_queue_arn),
            MessageBody=continuation_body(obj),
        )

    def _queue_url(self, source_queue_arn: str) -> str:
        if self._settings.queue_url:
            return self._settings.queue_url
        if source_queue_arn not in self._queue_urls:
            parts = source_queue_arn.split(":")
            if len(parts) != 6:
                raise RuntimeError(f"no queue to continue on: set {env.ENV_INGEST_QUEUE_URL}")
            response = self._retry(
                self._deps.sqs.get_queue_url, QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
            )
            self._queue_urls[source_queue_arn] = response["QueueUrl"]
        return self._queue_urls[source_queue_arn]

    def _record_error(self, state: FileState, exc: Exception) -> None:
        """Best effort, and only the error's kind: the queue retries the message from the checkpoint."""
        try:
            latest = self._audit.load(state.bucket, state.key, state.version)
            if latest is None or latest.status != FileStatus.IN_PROGRESS:
                return
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
            noted = latest.with_error(f"{self._now()} {type(exc).__name__} {code}".strip())
            noted.updated_at = self._now()
            self._audit.save(noted, read_generation=latest.generation)  # progress stays; generation too
        except Exception as again:
            logger.warning("could not record an ingest error", extra={"error": type(again).__name__})


# --- the handler ---------------------------------------------------------------------------------


def dependencies() -> IngestDependencies:
    global _dependencies  # noqa: PLW0603
    if _dependencies is None:
        _dependencies = dependencies_from_environment()
    return _dependencies


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch → partial batch response: each message succeeds or fails alone."""
    from aws_lambda_powertools.utilities.batch import (  # noqa: PLC0415 - paid on the first event
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    ingestor = FileIngestor(dependencies())

    def handle(record: SQSRecord) -> None:
        for obj in parse_message(record.body):
            result = ingestor.ingest(
                obj, context.get_remaining_time_in_millis, source_queue_arn=record.event_source_arn
            )
            logger.info("ingest", extra={"objectKey": obj.key, "version": obj.version, "result": result})

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    )
