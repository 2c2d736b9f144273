"""Ingest benchmarks: batched ingestion against naive per-row PutItem, peak memory by file size, and AWS
calls per row.

Run ``strongroom bench ingest [--rows N] [--naive-rows N] [--rss-sizes N,N] [--json PATH]``; it needs the
``local`` extra. Every ratio is taken within one run, on one machine, so load moves both sides alike.

1. Throughput on the emulator (moto's server, over HTTP, as ``strongroom up`` runs it): a CSV of
   ``--rows`` rows (default 20,000) ingested by :class:`strongroom.runtime.ingest.FileIngestor` (the
   hash pass included), against a naive baseline in the same run: one conditional PutItem per row,
   sequentially, for ``--naive-rows`` rows (default 2,000). Goal: batched >= 10x naive rows/s.
   The emulator's own CPU time is read from /proc in both runs: its CPU per batched row against the
   naive run's wall time per row is the highest ratio this emulator allows, however well the function
   overlaps its calls (docs/adr/0036-ingest-throughput-on-the-emulator.md).
2. AWS calls per ingested row in that batched run, counted with a botocore ``before-call`` hook on
   the function's S3, DynamoDB and SQS clients. Goal: <= 0.1.
3. Peak RSS of the ingesting process, one fresh subprocess per size (``--rss-sizes``, default 100,000
   and 1,000,000 rows). The emulator would hold a million items in memory, so these children read
   the file from local disk through an S3 stand-in that streams it, and answer DynamoDB from a
   stand-in that remembers only the audit records: what is measured is the function's own memory.
   Goal: <= 256 MB and flat in the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strongroom.bench.table import Row, render, verdict

RESULT_MARKER = "@@bench-result "
REGION = "eu-west-1"
BUCKET = "bench-ingest"
ROWS_RATIO_GOAL = 10.0
CALLS_PER_ROW_GOAL = 0.1
RSS_GOAL_MB = 256.0


def csv_rows(count: int) -> Any:
    yield b"amount,currency,customerId,type,reference\n"
    for n in range(1, count + 1):
        kind = "debit" if n % 2 else "credit"
        yield f"{n % 997 + 1}.{n % 100:02d},EUR,cust-{n % 500:04d},{kind},invoice {n}\n".encode()


# --- 1 and 2: the emulator ------------------------------------------------------------------------


class CallCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU of a process, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_delta(pid: int, before: float | None) -> float | None:
    after = process_cpu_seconds(pid)
    return None if before is None or after is None else after - before


def measure_emulator(rows: int, naive_rows: int) -> dict[str, float | None]:
    import boto3  # noqa: PLC0415

    from strongroom.config import load_config  # noqa: PLC0415
    from strongroom.local import emulator  # noqa: PLC0415
    from strongroom.local.provision import provision_region  # noqa: PLC0415
    from strongroom.runtime import ingest  # noqa: PLC0415
    from strongroom.runtime.adapters.dynamodb import TransactionStore  # noqa: PLC0415
    from strongroom.runtime.domain import new_transaction, parse_transaction_request, transaction_id_for  # noqa: PLC0415

    with emulator.start() as running:
        session = boto3.session.Session(
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - the emulator checks no credentials
            region_name=REGION,
        )

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=running.endpoint)  # type: ignore[call-overload]

        dynamodb, s3, sqs = client("dynamodb"), client("s3"), client("sqs")
        provisioned = provision_region(
            load_config(environ={}), REGION, dynamodb=dynamodb, kms_client=client("kms")
        )
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        queue_url = sqs.create_queue(QueueName="bench-ingest")["QueueUrl"]
        version = s3.put_object(Bucket=BUCKET, Key="bench.csv", Body=b"".join(csv_rows(rows)))["VersionId"]

        counter = CallCounter()
        for c in (dynamodb, s3, sqs):
            c.meta.events.register("before-call", counter)
        settings = ingest.IngestSettings(
            region=REGION,
            transactions_table=provisioned.transactions_table,
            audit_table=provisioned.audit_table,
            queue_url=queue_url,
        )
        ingestor = ingest.FileIngestor(ingest.IngestDependencies(settings, s3, dynamodb, sqs))
        obj = ingest.ObjectVersion(BUCKET, "bench.csv", version, datetime.now(UTC))
        pid = running.process.pid
        cpu_before = process_cpu_seconds(pid)
        started = time.perf_counter()
        result = ingestor.ingest(obj, lambda: 900_000)
        batched_s = time.perf_counter() - started
        batched_cpu = _cpu_delta(pid, cpu_before)
        if result != "completed":
            raise RuntimeError(f"the batched run did not complete: {result}")
        calls = counter.calls

        store = TransactionStore(dynamodb, provisioned.transactions_table)
        now = datetime.now(UTC)
        cpu_before = process_cpu_seconds(pid)
        started = time.perf_counter()
        for n in range(naive_rows):
            request = parse_transaction_request(
                amount=f"{n % 997 + 1}.00",
                currency="EUR",
                customer_id="cust-1",
                type="debit",
                reference=f"naive {n}",
            )
            store.create(
                new_transaction(request, transaction_id=transaction_id_for("bench", f"naive-{n}"), now=now)
            )
        naive_s = time.perf_counter() - started
        naive_cpu = _cpu_delta(pid, cpu_before)
    return {
        "batched_rows_per_s": rows / batched_s,
        "naive_rows_per_s": naive_rows / naive_s,
        "calls": calls,
        "calls_per_row": calls / rows,
        "emulator_cpu_ms_per_batched_row": None if batched_cpu is None else batched_cpu * 1000 / rows,
        "emulator_cpu_ms_per_naive_row": None if naive_cpu is None else naive_cpu * 1000 / naive_rows,
        "naive_ms_per_row": naive_s * 1000 / naive_rows,
    }


# --- 3: peak RSS in a child per size ----------------------------------------------------------------


class _FileBody:
    def __init__(self, path: Path, offset: int) -> None:
        self._file = path.open("rb")
        self._file.seek(offset)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


class _DiskS3:
    """get_object streams a local file (ranges honoured); writes are counted and dropped."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def get_object(self, **request: Any) -> dict[str, Any]:
        offset = int(request.get("Range", "bytes=0-")[6:].rstrip("-"))
        if offset >= self._path.stat().st_size and offset:
            from botocore.exceptions import ClientError  # noqa: PLC0415

            raise ClientError({"Error": {"Code": "InvalidRange"}}, "GetObject")
        return {"Body": _FileBody(self._path, offset)}

    def put_object(self, **_: Any) -> dict[str, Any]:
        return {}

    def copy_object(self, **_: Any) -> dict[str, Any]:
        return {}

    def delete_objects(self, **_: Any) -> dict[str, Any]:
        return {}


class _ForgetfulDynamoDB:
    """Transactions are acknowledged and forgotten (nothing exists yet); audit records are kept."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def batch_get_item(self, **_: Any) -> dict[str, Any]:
        return {"Responses": {}}

    def batch_write_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def put_item(self, **request: Any) -> dict[str, Any]:
        item = request["Item"]
        if "sk" in item:
            self.items[(item["pk"]["S"], item["sk"]["S"])] = item
        return {}

    def get_item(self, **request: Any) -> dict[str, Any]:
        key = request["Key"]
        item = self.items.get((key["pk"]["S"], key.get("sk", {}).get("S", "")))
        return {"Item": item} if item else {}


def rss_child(rows: int) -> None:
    from strongroom.runtime import ingest  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rows.csv"
        with path.open("wb") as out:
            for line in csv_rows(rows):
                out.write(line)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        settings = ingest.IngestSettings(
            region=REGION, transactions_table="t", audit_table="a", queue_url="q"
        )
        deps = ingest.IngestDependencies(settings, _DiskS3(path), _ForgetfulDynamoDB(), None)  # type: ignore[arg-type]
        obj = ingest.ObjectVersion(BUCKET, "rows.csv", "v1", datetime.now(UTC))
        started = time.perf_counter()
        result = ingest.FileIngestor(deps).ingest(obj, lambda: 900_000)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        size = path.stat().st_size
        measured = {
            "result": result,
            "before_kib": before,
            "peak_kib": peak,
            "seconds": elapsed,
            "file_bytes": size,
        }
        print(RESULT_MARKER + json.dumps(measured))


def measure_rss(rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom.bench.ingest", "--rss-child", str(rows)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith(RESULT_MARKER))
    result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
    return result


# --- report --------------------------------------------------------------------------------------


def emulator_bound_rows(emulated: dict[str, float | None]) -> list[Row]:
    """The emulator's CPU per row, and the ratio it allows: a naive row's wall time over the CPU the
    emulator spends on a batched row (it serves one request at a time, so that CPU cannot overlap)."""
    batched, naive = emulated["emulator_cpu_ms_per_batched_row"], emulated["emulator_cpu_ms_per_naive_row"]
    if batched is None or naive is None or not batched:
        return [Row("emulator CPU per row", "not measured (no /proc)")]
    naive_ms = emulated["naive_ms_per_row"] or 0.0
    return [
        Row("emulator CPU per row, batched / naive", f"{batched:.3f} ms / {naive:.3f} ms"),
        Row("highest ratio the emulator allows (naive ms/row ÷ emulator CPU ms per batched row)",
            f"{naive_ms / batched:.1f}x"),
    ]  # fmt: skip


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="strongroom bench ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows in the batched run (default 20000)")
    parser.add_argument("--naive-rows", type=int, default=2_000, help="rows put one by one (default 2000)")
    parser.add_argument(
        "--rss-sizes",
        type=_sizes,
        default=[100_000, 1_000_000],
        help="rows per RSS child (default 100000,1000000)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child)
        return 0
    print(f"throughput: {args.rows} rows batched, {args.naive_rows} naive, on the emulator", file=sys.stderr)
    emulated = measure_emulator(args.rows, args.naive_rows)
    ratio = float(emulated["batched_rows_per_s"] or 0) / float(emulated["naive_rows_per_s"] or 1)
    report = [
        Row("rows/s, batched (emulator)", f"{emulated['batched_rows_per_s']:.0f}"),
        Row("rows/s, naive PutItem per row (emulator)", f"{emulated['naive_rows_per_s']:.0f}"),
        Row(
            "ratio batched / naive",
            f"{ratio:.1f}x",
            f">= {ROWS_RATIO_GOAL:.0f}x",
            verdict(ratio >= ROWS_RATIO_GOAL),
        ),
        *emulator_bound_rows(emulated),
        Row(
            "AWS calls per row (no faults)",
            f"{emulated['calls_per_row']:.4f} ({emulated['calls']:.0f} calls)",
            f"<= {CALLS_PER_ROW_GOAL}",
            verdict(float(emulated["calls_per_row"] or 0) <= CALLS_PER_ROW_GOAL),
        ),
    ]
    results: dict[str, Any] = {"emulator": emulated, "rss": {}}
    peaks = []
    for size in args.rss_sizes:
        print(f"peak RSS: {size} rows in a child process", file=sys.stderr)
        measured = measure_rss(size)
        results["rss"][size] = measured
        peak_mb = measured["peak_kib"] / 1024
        peaks.append(peak_mb)
        value = f"{peak_mb:.1f} MB (after imports {measured['before_kib'] / 1024:.1f} MB; file {measured['file_bytes'] / 1e6:.0f} MB; {size / measured['seconds']:.0f} rows/s)"  # noqa: E501
        report.append(
            Row(
                f"peak RSS, {size:,} rows",
                value,
                f"<= {RSS_GOAL_MB:.0f} MB",
                verdict(peak_mb <= RSS_GOAL_MB),
            )
        )
    if len(peaks) > 1:
        growth = peaks[-1] - peaks[0]
        report.append(
            Row(
                "peak RSS growth, smallest -> largest file",
                f"{growth:+.1f} MB",
                "flat (< 16 MB)",
                verdict(growth < 16),
            )
        )
    report.append(Row("machine: CPUs · 1-min load average", f"{os.cpu_count()} · {os.getloadavg()[0]:.1f}"))
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
