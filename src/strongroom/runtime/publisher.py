"""The outbox publisher: the transactions table's change stream → the Region's Kinesis stream.

The API handler never writes to Kinesis: a committed change reaches analytics because it is in the
table's stream (a transactional outbox). Each Region's publisher reads its own replica's stream and
publishes every transaction change it carries into its own Region's Kinesis stream; the event id is
derived from the change itself, so a change published twice (a retry, both Regions, a republish)
has one id and consumers deduplicate on it. :func:`republish` re-publishes a time window from a
surviving Region's table, for the case where a lost Region's writes are in the survivor's table but
not in its stream. Why, and what is guaranteed: docs/adr/0032-outbox-publisher-across-regions.md.

Import-light: the module imports only the stdlib, the table schema and the SnapStart hooks (stdlib
too); boto3 and Powertools are imported on the first invocation, clients are passed in (or built from
the environment), and time (sleep, randomness, the clock) is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from strongroom import constants as env
from strongroom.runtime import snapstart
from strongroom.runtime.adapters.schema import is_transaction_record
from strongroom.runtime.domain.transaction import TRANSACTION_ID_PREFIX, is_transaction_id, timestamp_text

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_ID_PREFIX = "evt_"
EVENT_SCHEMA_VERSION = 1
# PutRecords: at most 500 records and 5 MiB (data and partition keys) per call. The API reference
# has since raised the byte limit; 5 MiB is accepted by every stream, so it is the one we use.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
DEFAULT_MAX_ATTEMPTS = 6  # per wave; with the delays below at most ~1.6 s of waiting per wave
BASE_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 1.0
# Whole-call errors worth another attempt (throttling, the service or KMS briefly failing, the
# connection). Anything else (the stream missing, access denied) fails the batch at once: retrying
# cannot help, and Lambda's own retries and the DLQ take over.
RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "KMSThrottlingException",
        "RequestTimeout",
    }
)

# The analytic fields of a transaction item, in the order they are digested into the event id.
_ANALYTIC_ATTRIBUTES = ("id", "customerId", "type", "amount", "currency", "status", "createdAt", "updatedAt")


class KinesisClient(Protocol):
    """The one Kinesis call the publisher makes (boto3's client satisfies it; tests pass fakes)."""

    def put_records(self, **request: Any) -> Mapping[str, Any]: ...


class MalformedRecord(ValueError):
    """A stream record of a transaction that lacks what an event needs: reported, never dropped."""


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One transaction change as analytics receives it."""

    event_id: str
    partition_key: str  # the customer id: each customer's events go to one shard, in order
    body: Mapping[str, Any]

    @property
    def data(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str  # not-a-transaction | removed | no-analytic-change


def _text(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name, {}).get("S")
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"the item has no string attribute {name!r}")
    return value


def _analytic_fields(image: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_text(image, name) for name in _ANALYTIC_ATTRIBUTES)


def event_id_for(fields: Sequence[str]) -> str:
    """``evt_`` + base32 of the first 16 bytes of SHA-256 over the analytic fields.

    The fields include the transaction id and its version (``updatedAt``, ``status``), and nothing
    that differs between Regions' streams (no stream eventID or SequenceNumber, no change kind: one
    version can be an INSERT in one replica's stream and a MODIFY in the other's)."""
    digest = hashlib.sha256("\x00".join(fields).encode()).digest()[:16]
    return EVENT_ID_PREFIX + base64.b32encode(digest).decode().rstrip("=").lower()


def event_from_image(image: Mapping[str, Any], *, region: str) -> OutboxEvent:
    """The event for one version of a transaction item (DynamoDB attribute-value JSON, as a stream
    record's NewImage or a Scan returns it). ``region`` is the publishing Region: it is in the body,
    not in the id."""
    fields = _analytic_fields(image)
    txn_id, customer_id, txn_type, amount, currency, status, created_at, updated_at = fields
    if not is_transaction_id(txn_id):
        raise MalformedRecord("the item's id is not a transaction id")
    body = {
        "schemaVersion": EVENT_SCHEMA_VERSION,
        "eventId": event_id_for(fields),
        # Derived from the version itself, so both Regions describe one version alike.
        "change": "created" if updated_at == created_at else "updated",
        "transactionId": txn_id,
        "customerId": customer_id,
        "type": txn_type,
        "amount": amount,  # a decimal string, never a float
        "currency": currency,
        "status": status,
        "createdAt": created_at,
        "updatedAt": updated_at,
        "publishedBy": region,
    }
    return OutboxEvent(event_id=str(body["eventId"]), partition_key=customer_id, body=body)


def build_event(record: Mapping[str, Any], *, region: str) -> OutboxEvent | Skipped:
    """The event a DynamoDB stream record (Lambda's shape) becomes, or why it becomes none.

    Raises :class:`MalformedRecord` for a transaction record without a usable new image: that is
    reported as a failure so it ends in the DLQ, where someone looks at it."""
    if not is_transaction_record(dict(record)):
        return Skipped("not-a-transaction")  # the deep-health canary, or anything else in the table
    if record.get("eventName") == "REMOVE":
        # Transactions are never deleted by the API (money records are corrected by new versions).
        # A delete is an operator's or a restore's act, not a business event: counted and logged.
        return Skipped("removed")
    data = record.get("dynamodb", {})
    new_image = data.get("NewImage")
    if not isinstance(new_image, Mapping):
        raise MalformedRecord("the stream record has no new image (the stream must be NEW_AND_OLD_IMAGES)")
    event = event_from_image(new_image, region=region)
    old_image = data.get("OldImage")
    if isinstance(old_image, Mapping):
        try:
            unchanged = _analytic_fields(old_image) == _analytic_fields(new_image)
        except MalformedRecord:
            unchanged = False
        if unchanged:  # only fields analytics never sees changed; the previous event stands
            return Skipped("no-analytic-change")
    return event


# --- PutRecords with partial retries -------------------------------------------------------------


@dataclass(slots=True)
class PutOutcome:
    """What reached Kinesis: event ids confirmed, and those that did not."""

    delivered: set[str] = field(default_factory=set)
    undelivered: list[str] = field(default_factory=list)
    calls: int = 0
    retried_records: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def waves(events: Sequence[OutboxEvent]) -> list[list[OutboxEvent]]:
    """Split ``events`` so each wave holds at most one event per partition key, in order.

    PutRecords does not guarantee the order of records within one call, and retrying only the failed
    subset would put a failed record after a later one of the same customer. A customer's k-th event
    goes in wave k, and wave k+1 is sent only once wave k is entirely in Kinesis."""
    seen: Counter[str] = Counter()
    result: list[list[OutboxEvent]] = []
    ids: set[str] = set()
    for event in events:
        if event.event_id in ids:  # the same version twice in one batch: one record is enough
            continue
        ids.add(event.event_id)
        index = seen[event.partition_key]
        seen[event.partition_key] += 1
        if index == len(result):
            result.append([])
        result[index].append(event)
    return result


def chunks(events: Sequence[OutboxEvent]) -> list[list[OutboxEvent]]:
    """PutRecords-sized groups: at most 500 records and 5 MiB including partition keys."""
    result: list[list[OutboxEvent]] = []
    current: list[OutboxEvent] = []
    size = 0
    for event in events:
        record_size = len(event.data) + len(event.partition_key.encode())
        if current and (len(current) == MAX_RECORDS_PER_CALL or size + record_size > MAX_BYTES_PER_CALL):
            result.append(current)
            current, size = [], 0
        current.append(event)
        size += record_size
    if current:
        result.append(current)
    return result


def _stream_argument(stream: str) -> dict[str, str]:
    return {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}


def _call_error_code(exc: Exception) -> str | None:
    """The AWS error code of a whole-call failure; "connection" for a transport error; None when the
    exception is not an AWS call failure at all (a bug: let it propagate)."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code") or "Unknown")
    module = type(exc).__module__
    if module.startswith(("botocore", "urllib3")) or isinstance(exc, (ConnectionError, TimeoutError)):
        return "connection"
    return None


def _put_once(
    kinesis: KinesisClient, stream: str, batch: Sequence[OutboxEvent], outcome: PutOutcome
) -> tuple[list[OutboxEvent], bool]:
    """One PutRecords call: the records still to send, and whether another attempt can help."""
    outcome.calls += 1
    try:
        response = kinesis.put_records(
            Records=[{"Data": e.data, "PartitionKey": e.partition_key} for e in batch],
            **_stream_argument(stream),
        )
    except Exception as exc:
        code = _call_error_code(exc)
        if code is None:
            raise
        outcome.errors[code] += 1
        return list(batch), code == "connection" or code in RETRYABLE_CALL_ERRORS
    results = response.get("Records", [])
    if len(results) != len(batch):  # never in the API's contract; treat every record as unconfirmed
        outcome.errors["MalformedResponse"] += 1
        return list(batch), True
    failed = []
    for event, result in zip(batch, results, strict=True):
        if result.get("ErrorCode"):
            outcome.errors[str(result["ErrorCode"])] += 1
            failed.append(event)
        else:
            outcome.delivered.add(event.event_id)
    return failed, True


def put_events(
    kinesis: KinesisClient,
    stream: str,
    events: Sequence[OutboxEvent],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> PutOutcome:
    """Put ``events`` with PutRecords, retrying only the records that failed, with exponential
    backoff and full jitter, at most ``max_attempts`` times per wave (see :func:`waves`).

    Stops at the first wave that cannot be completed: what follows it is left undelivered, so a
    customer's later event never overtakes an earlier one."""
    outcome = PutOutcome()
    pending_waves = waves(events)
    for number, wave in enumerate(pending_waves):
        remaining = wave
        for attempt in range(max_attempts):
            still: list[OutboxEvent] = []
            retryable = True
            for batch in chunks(remaining):
                failed, can_retry = _put_once(kinesis, stream, batch, outcome)
                still += failed
                retryable = retryable and can_retry
            remaining = still
            if not remaining or not retryable or attempt == max_attempts - 1:
                break
            outcome.retried_records += len(remaining)
            sleep(rng() * min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt))
        if remaining:
            outcome.undelivered = [e.event_id for w in pending_waves[number:] for e in w]
            outcome.undelivered = [i for i in outcome.undelivered if i not in outcome.delivered]
            return outcome
    return outcome


# --- one batch of stream records -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishResult:
    published: int  # events confirmed in Kinesis by this invocation
    skipped: Mapping[str, int]
    failed_sequence_number: str | None  # where Lambda must resume, if anywhere
    outcome: PutOutcome
    events: tuple[OutboxEvent, ...] = ()

    def response(self) -> dict[str, list[dict[str, str]]]:
        """Lambda's partial batch response for a stream (ReportBatchItemFailures): the first record
        not published. Lambda checkpoints before it and retries from it, so the records after it are
        sent again: harmless, their event ids are the same."""
        if self.failed_sequence_number is None:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": self.failed_sequence_number}]}


def publish(
    records: Iterable[Mapping[str, Any]],
    *,
    kinesis: KinesisClient,
    stream: str,
    region: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> PublishResult:
    """Publish one batch of DynamoDB stream records (in stream order) to ``stream``."""
    built: list[tuple[str, OutboxEvent | None]] = []
    skipped: Counter[str] = Counter()
    malformed_at: str | None = None
    for record in records:
        sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
        try:
            event = build_event(record, region=region)
        except MalformedRecord:
            malformed_at = sequence  # stop here: this record and everything after it are retried
            skipped["malformed"] += 1
            break
        if isinstance(event, Skipped):
            skipped[event.reason] += 1
            built.append((sequence, None))
        else:
            built.append((sequence, event))
    events = [e for _, e in built if e is not None]
    outcome = put_events(kinesis, stream, events, max_attempts=max_attempts, sleep=sleep, rng=rng)
    first_failed = next(
        (seq for seq, e in built if e is not None and e.event_id not in outcome.delivered), malformed_at
    )
    delivered = tuple(e for e in events if e.event_id in outcome.delivered)
    return PublishResult(
        published=len({e.event_id for e in delivered}),
        skipped=dict(skipped),
        failed_sequence_number=first_failed,
        outcome=outcome,
        events=delivered,
    )


# --- republishing a window from a table ----------------------------------------------------------


class RepublishIncomplete(RuntimeError):
    """Some events could not be put; republishing the same window again is safe (same event ids)."""


@dataclass(frozen=True, slots=True)
class RepublishResult:
    scanned: int  # transaction items changed in the window
    published: int


def republish(
    *,
    dynamodb: DynamoDBClient,
    table: str,
    since: datetime,
    until: datetime,
    kinesis: KinesisClient,
    stream: str,
    region: str,
    page_size: int = 500,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> RepublishResult:
    """Publish the current version of every transaction whose ``updatedAt`` is in [since, until],
    read from ``table`` in this Region with strongly consistent reads, into this Region's ``stream``.

    Run from the surviving Region after a Region is lost (docs/adr/0032): it covers writes the lost
    Region acknowledged but never published, when the survivor's stream does not carry them. The
    event ids are those the stream path gives the same versions, so what was already published is a
    duplicate consumers drop. A Scan with a filter reads the whole table (a bounded time window of
    results, not of cost); it is an incident step, not a hot path."""
    request: dict[str, Any] = {
        "TableName": table,
        "ConsistentRead": True,
        "Limit": page_size,
        "FilterExpression": "begins_with(pk, :prefix) AND updatedAt BETWEEN :since AND :until",
        "ExpressionAttributeValues": {
            ":prefix": {"S": TRANSACTION_ID_PREFIX},
            ":since": {"S": timestamp_text(since)},
            ":until": {"S": timestamp_text(until)},
        },
    }
    scanned = published = 0
    while True:
        page = dynamodb.scan(**request)
        events = [event_from_image(item, region=region) for item in page.get("Items", [])]
        scanned += len(events)
        outcome = put_events(kinesis, stream, events, max_attempts=max_attempts, sleep=sleep, rng=rng)
        published += len(outcome.delivered)
        if outcome.undelivered:
            raise RepublishIncomplete(
                f"{len(outcome.undelivered)} of {len(events)} events in a page could not be put "
                f"({dict(outcome.errors)}); run the same window again"
            )
        resume = page.get("LastEvaluatedKey")
        if not resume:
            return RepublishResult(scanned=scanned, published=published)
        request["ExclusiveStartKey"] = resume


# --- the Lambda handler --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    region: str
    stream: str
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PublisherSettings:
        e = os.environ if environ is None else environ
        missing = [n for n in (env.ENV_AWS_REGION, env.ENV_OUTBOX_STREAM) if not e.get(n)]
        if missing:
            raise RuntimeError(f"missing environment variable(s): {', '.join(missing)}")
        raw = e.get(env.ENV_PUBLISHER_MAX_ATTEMPTS, str(DEFAULT_MAX_ATTEMPTS))
        if not raw.isdigit() or not 1 <= int(raw) <= 20:
            raise RuntimeError(f"{env.ENV_PUBLISHER_MAX_ATTEMPTS} must be a whole number from 1 to 20")
        return cls(region=e[env.ENV_AWS_REGION], stream=e[env.ENV_OUTBOX_STREAM], max_attempts=int(raw))


@cache
def _kinesis(region: str) -> KinesisClient:
    import boto3  # noqa: PLC0415 - the first invocation, not the import, pays for the SDK
    from botocore.config import Config  # noqa: PLC0415

    # One attempt per call: publish() retries (only the failed subset), so its bound is the bound.
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    client = boto3.session.Session().client("kinesis", region_name=region, config=config)
    # boto3's stubs type put_records' keywords exactly; the protocol takes any, as fakes do.
    return cast("KinesisClient", client)


def handle(event: Mapping[str, Any], settings: PublisherSettings, kinesis: KinesisClient) -> dict[str, Any]:
    """One invocation: publish the batch, log what happened (counts and codes only: no customer id,
    amount or transaction id), and answer with the partial batch response."""
    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

    from strongroom.runtime.observability import logger, metrics  # noqa: PLC0415 - see module doc

    result = publish(
        event.get("Records", []),
        kinesis=kinesis,
        stream=settings.stream,
        region=settings.region,
        max_attempts=settings.max_attempts,
    )
    metrics.add_metric(name="OutboxEventsPublished", unit=MetricUnit.Count, value=result.published)
    metrics.add_metric(
        name="OutboxRecordsRetried", unit=MetricUnit.Count, value=result.outcome.retried_records
    )
    if result.failed_sequence_number is not None:
        metrics.add_metric(name="OutboxBatchFailed", unit=MetricUnit.Count, value=1)
    log = logger.warning if result.failed_sequence_number or result.skipped.get("removed") else logger.info
    log(
        "outbox batch",
        extra={
            "records": len(event.get("Records", [])),
            "published": result.published,
            "skipped": dict(result.skipped),
            "calls": result.outcome.calls,
            "retriedRecords": result.outcome.retried_records,
            "errors": dict(result.outcome.errors),
            "resumeFrom": result.failed_sequence_number,  # a stream position, not customer data
        },
    )
    return result.response()


@cache
def _handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from strongroom.runtime.observability import logger, metrics, traced  # noqa: PLC0415

    settings = PublisherSettings.from_environ()
    kinesis = _kinesis(settings.region)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle(event, settings, kinesis)

    return traced(run)


@snapstart.forget_on_restore
def _forget_environment() -> None:
    """SnapStart: the next batch builds the Kinesis client from this environment's own credentials."""
    _handler.cache_clear()
    _kinesis.cache_clear()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the DynamoDB stream event source (ReportBatchItemFailures on)."""
    return _handler()(event, context)
