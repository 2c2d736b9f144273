"""Operator commands for the pipelines: `strongroom republish` (after a Region is lost) and
`strongroom redrive` (after a fix, replay what the dead-letter queues hold).

`strongroom republish --region R --since T [--until T] [--local]` publishes, from Region R's table to
R's event stream, every transaction updated in the window: the failover step that closes the gap when
the surviving Region's stream did not carry the lost Region's writes (docs/adr/0032). Its events have
the ids the stream path gives them, so consumers drop what they already had.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

from strongroom.config import load_config
from strongroom.errors import UserError


class OpsError(UserError):
    pass


def parse_time(raw: str, option: str) -> datetime:
    """An ISO 8601 time; naive times are UTC."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise OpsError(f"{option} {raw!r} is not an ISO 8601 time, e.g. 2026-11-30T08:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _clients(region: str, local: bool, state_dir: str | None) -> Callable[[str], Any]:
    """Clients for ``region``: of the running `strongroom up`'s emulator with ``local``, else of AWS."""
    if local:
        from strongroom.local.client import emulator_client, read_state  # noqa: PLC0415

        state = read_state(state_dir)
        return lambda service: emulator_client(state, service, region)
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        raise OpsError("no AWS credentials: configure them (profile, SSO or role), or pass --local")
    clients: Callable[[str], Any] = session.client  # type: ignore[assignment]
    return clients


def republish(
    *, region: str, since: str, until: str | None, local: bool, state_dir: str | None = None
) -> int:
    from strongroom.runtime.publisher import RepublishIncomplete  # noqa: PLC0415
    from strongroom.runtime.publisher import republish as run  # noqa: PLC0415

    start = parse_time(since, "--since")
    end = parse_time(until, "--until") if until else datetime.now(UTC)
    if end < start:
        raise OpsError(f"--until {until} is before --since {since}")
    names = load_config().names
    client = _clients(region, local, state_dir)
    dynamodb, kinesis = client("dynamodb"), client("kinesis")
    try:
        result = run(
            dynamodb=dynamodb,
            table=names.transactions_table,
            since=start,
            until=end,
            kinesis=kinesis,
            stream=names.event_stream(region),
            region=region,
        )
    except RepublishIncomplete as exc:
        raise OpsError(f"{exc}; run the same command again: what was published is deduplicated") from None
    document = {"region": region, "scanned": result.scanned, "published": result.published}
    print(json.dumps(document, indent=2))
    return 0


# --- redrive -------------------------------------------------------------------------------------


def _queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise OpsError(
            f"queue {name} does not exist in this Region: is the platform deployed (or running)?"
        ) from None


def _dead_letters(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message waiting in ``url`` (received, so hidden for the visibility timeout, not deleted)."""
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120).get(
            "Messages", []
        )
        if not batch:
            return found
        found += batch


def _describe(queue: str, body: str) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return "not JSON: " + body[:80]
    if queue == "publisher":
        info = document.get("DDBStreamBatchInfo", {})
        return (
            f"stream records {info.get('startSequenceNumber')}..{info.get('endSequenceNumber')} "
            f"({info.get('batchSize')}) on shard {info.get('shardId') or '?'}"
        )
    records = document.get("Records") if isinstance(document, dict) else None
    if records:
        return ", ".join(
            f"s3://{r['s3']['bucket']['name']}/{r['s3']['object']['key']}" for r in records if "s3" in r
        )
    return "continuation of " + str(document.get("key", document))[:80]


def _replay_stream_records(streams: Any, kinesis: Any, stream: str, region: str, body: str) -> int:
    """Read the failed range from the table's stream again and publish it (same event ids: consumers
    drop what they had); returns how many records were published."""
    from strongroom.local.stream_records import lambda_shaped  # noqa: PLC0415
    from strongroom.runtime.publisher import publish  # noqa: PLC0415

    info = json.loads(body)["DDBStreamBatchInfo"]
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
    except Exception as exc:  # trimmed (24 h retention) or the shard is gone
        raise OpsError(
            f"the stream no longer holds records {start}..{end} ({type(exc).__name__}): publish their "
            "window with `strongroom republish --region ... --since ...` instead"
        ) from None
    records: list[dict[str, Any]] = []
    while iterator:
        answer = streams.get_records(ShardIterator=iterator, Limit=1000)
        batch = answer.get("Records", [])
        records += [r for r in batch if start <= int(r["dynamodb"]["SequenceNumber"]) <= end]
        if not batch or int(batch[-1]["dynamodb"]["SequenceNumber"]) >= end:
            break
        iterator = answer.get("NextShardIterator")
    result = publish(
        [lambda_shaped(r, info["streamArn"]) for r in records], kinesis=kinesis, stream=stream, region=region
    )
    if result.response()["batchItemFailures"]:
        raise OpsError(
            "some records could not be published again; nothing was removed from the DLQ: run it again"
        )
    return len(records)


def redrive(
    *, region: str, queues: list[str], dry_run: bool, local: bool, state_dir: str | None = None
) -> int:
    """Show each dead-letter queue's messages and, unless ``dry_run``, replay them: ingest messages go
    back to the ingest queue (ingestion is exactly once), publisher failures are read from the stream
    again and published (event ids deduplicate). A message is deleted only once it was replayed."""
    names = load_config().names
    client = _clients(region, local, state_dir)
    sqs = client("sqs")
    report: dict[str, Any] = {"region": region, "dryRun": dry_run, "queues": {}}
    for queue in queues:
        dlq_name = names.ingest_dlq(region) if queue == "ingest" else names.publisher_dlq(region)
        dlq = _queue_url(sqs, dlq_name)
        messages = _dead_letters(sqs, dlq)
        replayed = 0
        for message in messages:
            if dry_run:
                continue
            if queue == "ingest":
                sqs.send_message(
                    QueueUrl=_queue_url(sqs, names.ingest_queue(region)), MessageBody=message["Body"]
                )
            else:
                _replay_stream_records(
                    client("dynamodbstreams"),
                    client("kinesis"),
                    names.event_stream(region),
                    region,
                    message["Body"],
                )
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            replayed += 1
        if dry_run:  # make them visible again at once: a dry run changes nothing
            for message in messages:
                sqs.change_message_visibility(
                    QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        report["queues"][queue] = {
            "deadLetterQueue": dlq_name,
            "messages": [{"id": m["MessageId"], "what": _describe(queue, m["Body"])} for m in messages],
            "replayed": replayed,
        }
    print(json.dumps(report, indent=2))
    return 0
