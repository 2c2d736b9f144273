"""Outbox publisher benchmark: how long from a transaction's commit to its event being in Kinesis, locally.

Run ``strongroom bench publisher [--count N] [--rate R] [--poll-ms MS ...]`` (or
``python -m strongroom.bench.publisher``); it needs the ``local`` extra. It starts the emulator,
provisions one Region, and runs a writer that creates transactions with the store's conditional
PutItem (the API's write) at a steady rate, while a poller reads the table's stream
(``strongroom.local.stream_records.StreamTail``) and hands each batch to
``strongroom.runtime.publisher.publish`` against the emulator's Kinesis.

Latency is from the moment PutItem was acknowledged to the writer to the moment the PutRecords call
that carried the event returned. It includes the stream poll interval: Lambda's event source mapping
polls each DynamoDB stream shard about four times a second (``--poll-ms 250``, the default); ``0``
polls continuously and shows the publisher's own cost. The emulator answers from memory on loopback,
so this is a lower bound for the path in AWS (where the stream, the ESM and Kinesis add their own
latency), not a prediction of it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

LOCAL_REGION = "eu-west-1"


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _client(endpoint: str, service: str) -> Any:
    import boto3  # noqa: PLC0415

    session = boto3.session.Session(
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the local emulator accepts any credentials
        region_name=LOCAL_REGION,
    )
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def run_once(endpoint: str, table: str, *, count: int, rate: float, poll_seconds: float) -> list[float]:
    """Latencies in seconds, one per transaction, for one writer/poller run against ``table``."""
    from strongroom.local.stream_records import StreamTail  # noqa: PLC0415
    from strongroom.runtime.adapters.dynamodb import TransactionStore  # noqa: PLC0415
    from strongroom.runtime.domain import (  # noqa: PLC0415
        new_transaction,
        parse_transaction_request,
        transaction_id_for,
    )
    from strongroom.runtime.publisher import publish  # noqa: PLC0415

    kinesis = _client(endpoint, "kinesis")
    stream = f"bench-outbox-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    tail = StreamTail(_client(endpoint, "dynamodb"), _client(endpoint, "dynamodbstreams"), table)
    tail.read()  # skip what earlier runs wrote
    store = TransactionStore(_client(endpoint, "dynamodb"), table)
    acknowledged: dict[str, float] = {}
    published: dict[str, float] = {}
    done = threading.Event()

    def write() -> None:
        start = time.monotonic()
        for n in range(count):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            request = parse_transaction_request(
                amount="10.00", currency="EUR", customer_id=f"cust-{n % 20}", type="debit", reference="bench"
            )
            txn = new_transaction(
                request,
                transaction_id=transaction_id_for("bench", str(uuid.uuid4())),
                now=datetime.now(UTC),
            )
            store.create(txn)
            acknowledged[txn.id] = time.monotonic()
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    deadline = time.monotonic() + count / rate + 60
    while len(published) < count and time.monotonic() < deadline:
        records = tail.read()
        if records:
            result = publish(records, kinesis=kinesis, stream=stream, region=LOCAL_REGION)
            now = time.monotonic()
            for event in result.events:
                published.setdefault(str(event.body["transactionId"]), now)
        if poll_seconds:
            time.sleep(poll_seconds)
    writer.join()
    return [published[i] - acknowledged[i] for i in acknowledged if i in published]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="strongroom bench publisher", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="transactions per run (default 300)")
    parser.add_argument("--rate", type=float, default=50.0, help="transactions per second (default 50)")
    parser.add_argument(
        "--poll-ms",
        type=int,
        nargs="+",
        default=[250, 0],
        help="stream poll intervals to run (default 250 0)",
    )
    args = parser.parse_args(argv)

    from strongroom.config import load_config  # noqa: PLC0415
    from strongroom.local import emulator  # noqa: PLC0415
    from strongroom.local.provision import provision_region  # noqa: PLC0415

    rows = []
    with emulator.start() as running:
        provisioned = provision_region(
            load_config(environ={}),
            LOCAL_REGION,
            dynamodb=_client(running.endpoint, "dynamodb"),
            kms_client=_client(running.endpoint, "kms"),
        )
        for poll_ms in args.poll_ms:
            latencies = run_once(
                running.endpoint,
                provisioned.transactions_table,
                count=args.count,
                rate=args.rate,
                poll_seconds=poll_ms / 1000,
            )
            rows.append((poll_ms, latencies))

    print(f"commit → in Kinesis, local emulator, {args.count} transactions at {args.rate:g}/s per run")
    print(
        f"{'poll ms':>8} {'events':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}"
    )
    for poll_ms, latencies in rows:
        ms = [v * 1000 for v in latencies]
        print(
            f"{poll_ms:>8} {len(ms):>7} {_percentile(ms, 0.5):>8.1f} {_percentile(ms, 0.9):>8.1f} "
            f"{_percentile(ms, 0.99):>8.1f} {max(ms):>8.1f} {statistics.fmean(ms):>8.1f}"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min): {load:.2f}")
    missing = [len(latencies) < args.count for _, latencies in rows]
    return 1 if any(missing) else 0


if __name__ == "__main__":
    raise SystemExit(main())
