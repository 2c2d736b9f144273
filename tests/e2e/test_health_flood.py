"""A burst of anonymous /health/deep calls cannot make a healthy Region answer 503, and costs at most
one canary write per execution environment per interval (runtime/health.py)."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import Platform

CALLS = 200
ENVIRONMENTS = 4  # `strongroom up`'s default --concurrency
INTERVAL_SECONDS = 5  # the runtime's default sharing interval


def canary_writes(platform: Platform, region: str) -> int:
    item = (
        platform.dynamodb(region)
        .get_item(
            TableName=platform.state["regions"][region]["transactionsTable"],
            Key={"pk": {"S": f"HEALTH#{region}"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return int(item["probes"]["N"]) if item else 0


def test_a_flood_of_concurrent_deep_health_calls_all_pass_sharing_few_canary_writes(
    platform: Platform,
) -> None:
    # GIVEN a healthy Region and anonymous clients (no signature: health checkers cannot sign)
    region = "eu-west-1"
    anonymous = platform.client(region).unsigned()
    before = canary_writes(platform, region)
    # WHEN they all ask for deep health at once
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(lambda _: anonymous.request("GET", "/health/deep"), range(CALLS)))
    elapsed = time.monotonic() - started
    # THEN every answer is 200 and pass
    assert [r.status for r in replies] == [200] * CALLS
    assert {r.json()["status"] for r in replies} == {"pass"}
    # AND the canary was written at most once per environment per interval
    intervals = math.floor(elapsed / INTERVAL_SECONDS) + 1
    writes = canary_writes(platform, region) - before
    assert 1 <= writes <= ENVIRONMENTS * intervals, (writes, elapsed)
    # AND callers saw the shared result's age
    assert max(r.json()["ageSeconds"] for r in replies) > 0
