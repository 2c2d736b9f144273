"""AWS side of batch ingestion: batched reads and writes of transactions, the per-file audit record
(which is also the checkpoint), and an S3 writer for objects that S3 cannot append to.

Clients are passed in; so is ``sleep``. Every call goes through :class:`Retrier`, which retries
throttling and 5xx answers with backoff on top of the SDK's own retries: a long file makes thousands of
calls, and giving up the whole invocation for one throttled call would redo work for nothing.
docs/adr/0031-batch-ingestion-exactly-once.md explains the design.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from strongroom.runtime.adapters.dynamodb import Item
from strongroom.runtime.adapters.files import VERSION_PREFIX, file_partition
from strongroom.runtime.ingest_rows import Existing

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "ReplicatedWriteConflictException",
        "RequestTimeout",
    }
)
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit per call
MAX_ERRORS = 10  # errors kept in an audit record: enough to act on, bounded in size


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | ReadTimeoutError):
        return True
    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in RETRYABLE_CODES or status >= 500


@dataclass(frozen=True)
class Retrier:
    """Call with exponential backoff (full jitter is the SDK's job; this one is deterministic so tests
    with a fake ``sleep`` stay fast). After ``attempts`` the last error propagates: the SQS message is
    then retried by its queue, from the last checkpoint."""

    sleep: Callable[[float], None] = time.sleep
    attempts: int = 8
    base_seconds: float = 0.05
    cap_seconds: float = 2.0

    def backoff(self, attempt: int) -> None:
        self.sleep(min(self.cap_seconds, self.base_seconds * 2**attempt))

    def __call__(self, call: Callable[..., Any], /, **kwargs: Any) -> Any:
        for attempt in range(self.attempts):
            try:
                return call(**kwargs)
            except Exception as exc:
                if not is_retryable(exc) or attempt == self.attempts - 1:
                    raise
                self.backoff(attempt)
        raise AssertionError("unreachable")  # pragma: no cover


# --- transactions: batched reads and writes ----------------------------------------------------


class TransactionBatchWriter:
    """BatchGetItem to see which ids exist, BatchWriteItem for new derived-key rows, and a conditional
    PutItem for a row that brings its own key (the only kind two different files can race on).

    Inside :meth:`write_behind`, :meth:`put_all` returns once its calls are sent to a pool of
    ``in_flight`` threads, so reading and validating the next rows overlaps the round trips of the
    last ones; leaving the block waits for every call and raises the first failure. The caller moves
    its durable checkpoint only after that (docs/adr/0031-batch-ingestion-exactly-once.md)."""

    def __init__(self, client: DynamoDBClient, table: str, retrier: Retrier, *, in_flight: int = 1) -> None:
        self._client = client
        self._table = table
        self._retry = retrier
        self._in_flight = in_flight
        self._pool: ThreadPoolExecutor | None = None
        self._sent: deque[Future[None]] = deque()

    def existing(self, ids: Iterable[str]) -> dict[str, Existing]:
        """Strongly consistent: a row written by an earlier attempt must be seen, never written again."""
        keys = [{"pk": {"S": i}} for i in dict.fromkeys(ids)]
        found: dict[str, Existing] = {}
        request: dict[str, Any] = {
            self._table: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": "pk, requestFingerprint, ingestRow",
            }
        }
        attempt = 0
        while keys and request:
            response = self._retry(self._client.batch_get_item, RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                found[item["pk"]["S"]] = existing_from_item(item)
            request = response.get("UnprocessedKeys") or {}
            if request:
                self._retry.backoff(attempt)
                attempt += 1
                if attempt >= self._retry.attempts * 4:
                    raise RuntimeError("BatchGetItem kept returning unprocessed keys")
        return found

    def put_all(self, items: Sequence[Item]) -> None:
        """Unconditional puts, 25 per call; unprocessed items are sent again after a backoff. Inside
        :meth:`write_behind` the calls are only sent (at most ``in_flight`` outstanding)."""
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            chunk = items[start : start + BATCH_WRITE_ITEMS]
            if self._pool is None:
                self._put_chunk(chunk)
                continue
            while len(self._sent) >= self._in_flight:
                self._sent.popleft().result()
            self._sent.append(self._pool.submit(self._put_chunk, chunk))

    def _put_chunk(self, items: Sequence[Item]) -> None:
        pending: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
        attempt = 0
        while pending:
            response = self._retry(self._client.batch_write_item, RequestItems={self._table: pending})
            pending = response.get("UnprocessedItems", {}).get(self._table, [])
            if pending:
                self._retry.backoff(attempt)
                attempt += 1
                if attempt >= self._retry.attempts * 4:
                    raise RuntimeError("BatchWriteItem kept returning unprocessed items")

    @contextlib.contextmanager
    def write_behind(self) -> Iterator[None]:
        """Batch puts inside the block overlap what the caller does next; on a normal exit every one
        has landed (or the first failure is raised), and on an error every one has finished."""
        if self._in_flight <= 1:
            yield
            return
        with ThreadPoolExecutor(self._in_flight, thread_name_prefix="ingest-write") as pool:
            self._pool = pool
            try:
                yield
                self._settle(raise_first=True)
            finally:
                self._pool = None
                self._settle(raise_first=False)

    def _settle(self, *, raise_first: bool) -> None:
        first: BaseException | None = None
        while self._sent:
            try:
                self._sent.popleft().result()
            except Exception as exc:
                first = first or exc
        if first is not None and raise_first:
            raise first

    def put_new(self, item: Item) -> Existing | None:
        """Create unless the id exists (the API's rule, docs/adr/0002); returns what exists if it does."""
        try:
            self._retry(
                self._client.put_item,
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != CONDITIONAL_CHECK_FAILED:
                raise
            old: Item | None = exc.response.get("Item")  # type: ignore[assignment]
            if old is None:  # older services do not return it: read it
                old = self._retry(
                    self._client.get_item, TableName=self._table, Key={"pk": item["pk"]}, ConsistentRead=True
                ).get("Item")
            if old is None:  # deleted in between: the queue retries the message
                raise RuntimeError(
                    f"transaction {item['pk']['S']} changed while it was being created"
                ) from None
            return existing_from_item(old)
        return None


def existing_from_item(item: Item) -> Existing:
    reference = item.get("ingestRow", {}).get("S")
    return Existing(fingerprint=item.get("requestFingerprint", {}).get("S", ""), reference=reference)


# --- the audit record, which is also the checkpoint ---------------------------------------------


class FileStatus:
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class Counts:
    read: int = 0
    created: int = 0
    replayed: int = 0
    rejected: int = 0


@dataclass
class FileState:
    """One object version's ingestion: what it is, how far it got, and what it found."""

    bucket: str
    key: str
    version: str  # the object's version id ("null:<sequencer>" in an unversioned bucket)
    status: str
    started_at: str
    updated_at: str
    expires_at: int
    format: str | None = None
    content_sha256: str | None = None
    created_at: str | None = None  # the transactions' createdAt: the first upload of this content's time
    first_upload: bool = True
    next_row: int = 1
    next_offset: int = 0
    header: list[str] | None = None
    counts: Counts = field(default_factory=Counts)
    rejects_chunks: list[str] = field(default_factory=list)
    rejects_key: str | None = None
    rejects_version: str | None = None
    errors: list[str] = field(default_factory=list)
    generation: int = 0  # bumped by every checkpoint; a checkpoint only lands on the generation it read
    invocations: int = 0
    completed_at: str | None = None

    def with_error(self, message: str) -> FileState:
        return replace(self, errors=[*self.errors, message][-MAX_ERRORS:])


def audit_key(bucket: str, key: str, version: str) -> dict[str, Any]:
    return {"pk": {"S": file_partition(bucket, key)}, "sk": {"S": VERSION_PREFIX + version}}


def _s(value: str | None) -> dict[str, Any]:
    return {"S": value} if value is not None else {"NULL": True}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def state_to_item(state: FileState) -> Item:
    c = state.counts
    return {
        **audit_key(state.bucket, state.key, state.version),
        "kind": {"S": "ingest-file"},
        "bucket": {"S": state.bucket},
        "objectKey": {"S": state.key},
        "versionId": {"S": state.version},
        "status": {"S": state.status},
        "startedAt": {"S": state.started_at},
        "updatedAt": {"S": state.updated_at},
        "completedAt": _s(state.completed_at),
        "expiresAt": _n(state.expires_at),
        "format": _s(state.format),
        "contentSha256": _s(state.content_sha256),
        "transactionsCreatedAt": _s(state.created_at),
        "firstUpload": {"BOOL": state.first_upload},
        "nextRow": _n(state.next_row),
        "nextOffset": _n(state.next_offset),
        "header": {"L": [{"S": h} for h in state.header]} if state.header is not None else {"NULL": True},
        "rowsRead": _n(c.read),
        "created": _n(c.created),
        "replayed": _n(c.replayed),
        "rejected": _n(c.rejected),
        "rejectsChunks": {"L": [{"S": k} for k in state.rejects_chunks]},
        "rejectsKey": _s(state.rejects_key),
        "rejectsVersion": _s(state.rejects_version),
        "errors": {"L": [{"S": e} for e in state.errors]},
        "generation": _n(state.generation),
        "invocations": _n(state.invocations),
    }


def state_from_item(item: Item) -> FileState:
    def s(name: str) -> str | None:
        value = item.get(name, {})
        return None if "NULL" in value else value.get("S")

    def n(name: str) -> int:
        return int(item[name]["N"])

    header = item.get("header", {})
    return FileState(
        bucket=str(s("bucket")),
        key=str(s("objectKey")),
        version=str(s("versionId")),
        status=str(s("status")),
        started_at=str(s("startedAt")),
        updated_at=str(s("updatedAt")),
        expires_at=n("expiresAt"),
        format=s("format"),
        content_sha256=s("contentSha256"),
        created_at=s("transactionsCreatedAt"),
        first_upload=bool(item["firstUpload"]["BOOL"]),
        next_row=n("nextRow"),
        next_offset=n("nextOffset"),
        header=[h["S"] for h in header["L"]] if "L" in header else None,
        counts=Counts(n("rowsRead"), n("created"), n("replayed"), n("rejected")),
        rejects_chunks=[k["S"] for k in item["rejectsChunks"]["L"]],
        rejects_key=s("rejectsKey"),
        rejects_version=s("rejectsVersion"),
        errors=[e["S"] for e in item["errors"]["L"]],
        generation=n("generation"),
        invocations=n("invocations"),
        completed_at=s("completedAt"),
    )


@dataclass(frozen=True, slots=True)
class ContentClaim:
    first_version: str
    first_seen: str


class AuditStore:
    """The audit table (MREC, TTL on ``expiresAt``). Conditional writes here are within one Region:
    an ingest bucket belongs to one Region, and so do its file records."""

    def __init__(self, client: DynamoDBClient, table: str, retrier: Retrier) -> None:
        self._client = client
        self._table = table
        self._retry = retrier

    def load(self, bucket: str, key: str, version: str) -> FileState | None:
        response = self._retry(
            self._client.get_item,
            TableName=self._table,
            Key=audit_key(bucket, key, version),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return state_from_item(item) if item else None

    def create(self, state: FileState) -> bool:
        """Write the first record of a file version; False if another delivery wrote it first."""
        return self._conditional_put(state_to_item(state), "attribute_not_exists(pk)", {})

    def save(self, state: FileState, *, read_generation: int) -> bool:
        """Write a checkpoint (or the final record) only over the generation it started from: of two
        deliveries racing on one file, one lands its checkpoint and the other learns it lost."""
        return self._conditional_put(state_to_item(state), "generation = :g", {":g": _n(read_generation)})

    def _conditional_put(self, item: Item, condition: str, values: dict[str, Any]) -> bool:
        request: dict[str, Any] = {"TableName": self._table, "Item": item, "ConditionExpression": condition}
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._retry(self._client.put_item, **request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == CONDITIONAL_CHECK_FAILED:
                return False
            raise
        return True

    def claim_content(  # noqa: PLR0917 - the content's identity, spelled out
        self, bucket: str, key: str, content_sha256: str, version: str, seen: str, expires_at: int
    ) -> ContentClaim:
        """The first upload of this content under this key, and its time: every upload of the same
        content then writes byte-identical transactions (the same createdAt)."""
        item = {
            "pk": {"S": f"FILE#{bucket}/{key}"},
            "sk": {"S": f"CONTENT#{content_sha256}"},
            "kind": {"S": "ingest-content"},
            "firstVersion": {"S": version},
            "firstSeen": {"S": seen},
            "expiresAt": _n(expires_at),
        }
        if self._conditional_put(item, "attribute_not_exists(pk)", {}):
            return ContentClaim(version, seen)
        response = self._retry(
            self._client.get_item,
            TableName=self._table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            ConsistentRead=True,
        )
        existing = response["Item"]
        return ContentClaim(existing["firstVersion"]["S"], existing["firstSeen"]["S"])


def expiry(now: datetime, retention_days: int) -> int:
    return int(now.timestamp()) + retention_days * 86400


# --- S3: an object written in parts, because S3 cannot append ------------------------------------

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last


class ObjectWriter:
    """Writes one object from many small writes with bounded memory: up to ``part_bytes`` are buffered;
    beyond that the object becomes a multipart upload. Nothing is written until there is data."""

    def __init__(
        self, s3: Any, bucket: str, key: str, retrier: Retrier, *, part_bytes: int = MIN_PART_BYTES
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.key = key
        self._retry = retrier
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.bytes_written += len(data)
        if len(self._buffer) >= self._part_bytes:
            self._upload_part()

    def _upload_part(self) -> None:
        if self._upload_id is None:
            started = self._retry(self._s3.create_multipart_upload, Bucket=self._bucket, Key=self.key)
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        response = self._retry(
            self._s3.upload_part,
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer.clear()

    def close(self) -> str | None:
        """Finish the object; returns its version id (None when nothing was written or unversioned)."""
        if self._upload_id is None:
            if not self.bytes_written:
                return None
            response = self._retry(
                self._s3.put_object, Bucket=self._bucket, Key=self.key, Body=bytes(self._buffer)
            )
            self._buffer.clear()
            return _version(response)
        if self._buffer:
            self._upload_part()
        response = self._retry(
            self._s3.complete_multipart_upload,
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        return _version(response)

    def abort(self) -> None:
        """Best effort: the bucket's lifecycle rule for incomplete uploads is the backstop."""
        if self._upload_id is not None:
            with contextlib.suppress(Exception):  # cleanup must not hide the error being handled
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)


def _version(response: dict[str, Any]) -> str | None:
    version = response.get("VersionId")
    return str(version) if version else None
