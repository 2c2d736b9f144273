"""Lambda's event source mappings, in local mode: pollers that feed functions as AWS does.

- :class:`SqsPoller` (SQS → function): receives up to ``batch_size`` messages, invokes the function
  with an SQS event, deletes what succeeded and leaves what failed (the function's
  ``batchItemFailures``, or the whole batch when the function itself fails) to reappear after the
  visibility timeout; the queue's own redrive policy moves a message to its dead-letter queue after
  ``maxReceiveCount`` receives — the queue, not the poller, counts, as in AWS.
- :class:`StreamPoller` (DynamoDB stream → function): reads each shard in order, skips records the
  mapping's filter rejects, invokes the function with a stream event, and on a partial failure
  retries from the first failed record (``batchItemFailures`` carry sequence numbers). A batch that
  keeps failing is bisected (``bisect_on_error``) to isolate the bad record; after ``max_retries``
  the failed record's description goes to the on-failure destination queue and the shard moves on.

The function is any callable taking an event and returning the handler's result (a FunctionPool's
``invoke`` in `strongroom up`); exceptions count as function errors.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

Invoke = Callable[[dict[str, Any]], Any]


def _failed_ids(result: Any) -> set[str] | None:
    """The ids a handler reported as failed; None when its answer is not a partial-batch response."""
    if not isinstance(result, Mapping):
        return None
    failures = result.get("batchItemFailures")
    if not isinstance(failures, list):
        return None
    return {str(f.get("itemIdentifier")) for f in failures if isinstance(f, Mapping)}


@dataclass
class PollerStats:
    invocations: int = 0
    function_errors: int = 0
    records: int = 0
    failed_records: int = 0
    sent_to_dlq: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "invocations": self.invocations,
            "functionErrors": self.function_errors,
            "records": self.records,
            "failedRecords": self.failed_records,
            "sentToDlq": self.sent_to_dlq,
        }


@dataclass
class _Loop:
    """A background loop calling ``step`` until stopped; ``step`` returns whether it found work."""

    name: str
    step: Callable[[], bool]
    idle: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.step()
                self.last_error = None
            except Exception as exc:  # an emulator hiccup must not kill the mapping: retry later
                self.last_error = f"{type(exc).__name__}: {exc}"
                busy = False
            if not busy:
                self._stop.wait(self.idle)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


class SqsPoller:
    """An SQS event source mapping with ``ReportBatchItemFailures``."""

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        queue_arn: str,
        region: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        visibility_timeout: int = 30,
        idle: float = 0.2,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._invoke = invoke
        self._batch_size = batch_size
        self._visibility = visibility_timeout
        self.stats = PollerStats()
        self._loop = _Loop(f"sqs-poller-{queue_arn.rsplit(':', 1)[-1]}", self.poll_once, idle)

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": dict(message.get("MessageAttributes", {})),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }

    def poll_once(self) -> bool:
        """Receive one batch and hand it to the function; whether there was anything to receive."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            VisibilityTimeout=self._visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        self.stats.invocations += 1
        self.stats.records += len(messages)
        try:
            failed = _failed_ids(self._invoke({"Records": [self._record(m) for m in messages]}))
        except Exception:  # the function failed: every message comes back after the visibility timeout
            self.stats.function_errors += 1
            self.stats.failed_records += len(messages)
            return True
        done = [m for m in messages if failed is None or m["MessageId"] not in failed]
        self.stats.failed_records += len(messages) - len(done)
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)  # type: ignore[arg-type]
        return True

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()


class StreamPoller:
    """A DynamoDB Streams event source mapping with ``ReportBatchItemFailures``, bisect on error,
    bounded retries and an on-failure destination queue."""

    def __init__(
        self,
        streams: DynamoDBStreamsClient,
        stream_arn: str,
        region: str,
        invoke: Invoke,
        *,
        accept: Callable[[dict[str, Any]], bool] = lambda _record: True,
        batch_size: int = 100,
        max_retries: int = 3,
        bisect_on_error: bool = True,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
        starting_position: str = "TRIM_HORIZON",
        idle: float = 0.2,
    ) -> None:
        self._streams = streams
        self._stream_arn = stream_arn
        self._region = region
        self._invoke = invoke
        self._accept = accept
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._bisect = bisect_on_error
        self._on_failure = on_failure
        self._starting_position = starting_position
        self._iterators: dict[str, str] = {}
        self._pending: list[dict[str, Any]] = []  # read from the shard, not yet processed
        self._shard_of: dict[str, str] = {}  # sequence number → shard, for on-failure descriptions
        self.stats = PollerStats()
        self._loop = _Loop("stream-poller", self.poll_once, idle)

    def _read(self) -> None:
        if not self._iterators:
            shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
            for description in shards:
                self._iterators[description["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn,
                    ShardId=description["ShardId"],
                    ShardIteratorType=self._starting_position,  # type: ignore[arg-type]
                )["ShardIterator"]
        for shard_id, iterator in list(self._iterators.items()):
            answer = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            self._iterators[shard_id] = answer.get("NextShardIterator") or iterator
            for record in answer.get("Records", []):
                event: dict[str, Any] = dict(record)
                event.setdefault("eventSourceARN", self._stream_arn)
                event["awsRegion"] = self._region
                if self._accept(event):
                    self._pending.append(event)
                    self._shard_of[str(record["dynamodb"]["SequenceNumber"])] = shard_id

    def poll_once(self) -> bool:
        """Read new records and deliver the next batch; whether there was anything to deliver."""
        if not self._pending:
            self._read()
        if not self._pending:
            return False
        batch = self._pending[: self._batch_size]
        del self._pending[: self._deliver(batch, attempt=0)]
        return True

    def _deliver(self, batch: list[dict[str, Any]], attempt: int) -> int:
        """Deliver ``batch`` in order as Lambda does, until every record succeeded or was given up;
        returns how many records that was (always the whole batch)."""
        self.stats.invocations += 1
        try:
            failed = _failed_ids(self._invoke({"Records": batch}))
        except Exception:  # a function error: bisect to isolate the bad record, or retry the batch
            self.stats.function_errors += 1
            if attempt >= self._max_retries:
                self._give_up(batch)
            elif self._bisect and len(batch) > 1:
                half = len(batch) // 2
                self._deliver(batch[:half], attempt + 1)
                self._deliver(batch[half:], attempt + 1)
            else:
                self._deliver(batch, attempt + 1)
            return len(batch)
        numbers = [str(r["dynamodb"]["SequenceNumber"]) for r in batch]
        reported = [numbers.index(n) for n in (failed or ()) if n in numbers]
        if not failed:
            self.stats.records += len(batch)
            return len(batch)
        # Lambda checkpoints before the first failed record and retries from it (an unknown id: all).
        first = min(reported) if reported else 0
        self.stats.records += first
        rest = batch[first:]
        if attempt >= self._max_retries:
            self._give_up(rest[:1])
            if len(rest) > 1:
                self._deliver(rest[1:], 0)
        else:
            self._deliver(rest, attempt + 1)
        return len(batch)

    def _give_up(self, records: list[dict[str, Any]]) -> None:
        """The records failed every retry: describe them to the on-failure destination and move on."""
        self.stats.failed_records += len(records)
        if self._on_failure is None:
            return
        self._on_failure(
            {
                "requestContext": {"condition": "RetryAttemptsExhausted"},
                "DDBStreamBatchInfo": {
                    "shardId": self._shard_of.get(str(records[0]["dynamodb"]["SequenceNumber"]), ""),
                    "streamArn": self._stream_arn,
                    "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                    "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                    "batchSize": len(records),
                },
                "timestamp": datetime.now(UTC).isoformat(),
            }
        )
        self.stats.sent_to_dlq += len(records)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()


def send_to_queue(sqs: SQSClient, queue_url: str) -> Callable[[dict[str, Any]], None]:
    """An on-failure destination: each failure description becomes one message on ``queue_url``."""

    def send(document: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(document))

    return send


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
