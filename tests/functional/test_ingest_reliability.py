"""Ingestion under faults: DynamoDB and S3 throttle and fail with 5xx on a seeded random subset of calls
(a botocore ``before-call`` hook answers in place of the service), the function gives up on some
invocations, and the queue retries them from their checkpoints. Afterwards nothing is missing, nothing
is doubled, and the audit counts agree with the table and the rejects object."""

from __future__ import annotations

import random
from collections import Counter
from types import SimpleNamespace
from typing import Any

import boto3

from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime import ingest
from strongroom.runtime.adapters.ingest_store import Retrier
from tests.functional.conftest import REGION
from tests.functional.ingest_harness import FakeContext, csv_bytes, make_pipeline, row

ROWS = 10_000
FAULTS = {
    "dynamodb": [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)],
    "s3": [("SlowDown", 503), ("InternalError", 500)],
}


class FaultInjector:
    """Answers a seeded random share of calls with a throttling or 5xx error instead of the service."""

    def __init__(self, service: str, rate: float, seed: int) -> None:
        self.service, self.rate, self.random = service, rate, random.Random(seed)
        self.calls = self.faults = 0

    def __call__(self, model: Any, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        self.calls += 1
        if self.random.random() >= self.rate:
            return None
        self.faults += 1
        code, status = self.random.choice(FAULTS[self.service])
        parsed = {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return SimpleNamespace(status_code=status, headers={}, content=b""), parsed


def faulty_client(service: str, rate: float, seed: int) -> tuple[Any, FaultInjector]:
    client = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
    injector = FaultInjector(service, rate, seed)
    client.meta.events.register_first(
        f"before-call.{client.meta.service_model.service_id.hyphenize()}", injector
    )
    return client, injector


def test_ten_thousand_rows_under_throttling_and_5xx_are_each_ingested_exactly_once(
    provisioned: ProvisionedRegion,
) -> None:
    # GIVEN 10,000 rows, 1% invalid, and clients that fail 8% of calls; two attempts per call, so
    # whole invocations fail too and are retried by the queue from the last checkpoint
    dynamodb, ddb_faults = faulty_client("dynamodb", 0.08, seed=7)
    s3, s3_faults = faulty_client("s3", 0.08, seed=11)
    pipeline = make_pipeline(
        provisioned,
        clients={"s3": s3, "dynamodb": dynamodb},
        retrier=Retrier(sleep=lambda _s: None, attempts=2),
        time_margin_seconds=1.0,
    )
    pipeline.max_receives = 50
    rows = [row(n) for n in range(1, ROWS + 1)]
    invalid = set(random.Random(3).sample(range(1, ROWS + 1), ROWS // 100))
    for n in invalid:
        rows[n - 1]["amount"] = "-1"
    try:
        version = pipeline.upload("reliability.csv", csv_bytes(rows))
        checks = iter(range(10**9))
        # out of time on every 7th check: a checkpoint every 700 rows
        pipeline.drain(FakeContext(lambda: 0 if next(checks) % 7 == 6 else 600_000), max_invocations=2000)
    finally:
        ingest.configure(None)

    # THEN faults happened, and failed invocations were retried
    assert ddb_faults.faults > 20
    assert s3_faults.faults > 0
    assert pipeline.dead_letters == []
    audit = pipeline.audit("reliability.csv", version)
    assert audit.status == "completed"
    assert audit.errors, "some invocations failed and were retried"
    # every valid row is in the table exactly once
    items = pipeline.transactions()
    by_reference = Counter(i["reference"]["S"] for i in items)
    expected = {f"invoice {n}" for n in range(1, ROWS + 1) if n not in invalid}
    assert sorted(expected - set(by_reference))[:20] == []
    assert set(by_reference) == expected
    assert max(by_reference.values()) == 1
    # every invalid row is in the rejects object, once, with its reason
    rejects = pipeline.rejects("reliability.csv")
    assert Counter(r["row"] for r in rejects) == Counter(invalid)
    assert {r["field"] for r in rejects} == {"amount"}
    # and the audit counts match
    c = audit.counts
    assert (c.read, c.created, c.replayed, c.rejected) == (ROWS, ROWS - len(invalid), 0, len(invalid))
