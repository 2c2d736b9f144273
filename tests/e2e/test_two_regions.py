"""Two Regions acting as one, over HTTP: a `strongroom up` per consistency mode, faults through
`strongroom fault`, and what callers see in each Region.

strong (MRSC): one logical table — read your write in the other Region at once; one winner for one
key written in both; a Region cut off from the majority cannot write.
eventual (MREC): a write reaches the other Region after the replication lag; replication is held
while a Region is cut off and delivered when it returns (last writer wins); what had not replicated
when a Region died is missing from the survivor.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from strongroom.local.client import HttpReply, SignedClient
from strongroom.local.process import free_port_run
from tests.e2e.conftest import Platform, start_platform, txn_body

WEST, CENTRAL = "eu-west-1", "eu-central-1"
LAG = 1.5  # the eventual platform's replication lag, in seconds


@pytest.fixture(scope="module")
def strong(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(
        tmp_path_factory.mktemp("strong"), "--port", str(free_port_run()), "--consistency", "strong"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def eventual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(
        tmp_path_factory.mktemp("eventual"),
        "--port",
        str(free_port_run()),
        "--consistency",
        "eventual",
        environment={"STRONGROOM_REPLICATION_LAG_SECONDS": str(LAG)},
    )
    yield running
    running.stop()


def fault(platform: Platform, *args: str) -> dict[str, Any]:
    """`strongroom fault ARGS` against ``platform``, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "fault", *args, "--state-dir", str(platform.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def create(client: SignedClient, key: str, **fields: str) -> HttpReply:
    return client.request("POST", "/transactions", txn_body(**fields), headers={"Idempotency-Key": key})


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


# --- strong -------------------------------------------------------------------------------------


def test_strong_a_write_in_one_region_is_read_at_once_in_the_other(strong: Platform) -> None:
    created = create(strong.client(WEST), f"two-{uuid.uuid4()}")
    assert created.status == 201, created.body
    read = strong.client(CENTRAL).request("GET", f"/transactions/{created.json()['id']}")
    assert read.status == 200, read.body
    assert read.json() == created.json()


def test_strong_one_key_written_in_both_regions_at_once_has_one_winner(strong: Platform) -> None:
    for _ in range(5):
        key = f"race-{uuid.uuid4()}"
        clients = [strong.client(WEST), strong.client(CENTRAL)] * 4
        with ThreadPoolExecutor(len(clients)) as pool:
            replies = list(pool.map(create, clients, [key] * len(clients)))
        assert {r.status for r in replies} == {201}, [r.body for r in replies]
        replayed = [r.headers.get("Idempotent-Replayed") == "true" for r in replies]
        assert replayed.count(False) == 1, replayed  # one original, every other answer a replay
        assert len({r.json()["id"] for r in replies}) == 1
        assert len({r.json()["createdAt"] for r in replies}) == 1  # every replay is the winner's


def test_strong_a_region_cut_off_from_the_majority_cannot_write(strong: Platform) -> None:
    fault(strong, "isolation", "--region", CENTRAL)
    try:
        refused = create(strong.client(CENTRAL), f"minority-{uuid.uuid4()}")
        assert refused.status == 503, refused.body
        assert refused.headers["Content-Type"] == "application/problem+json"
        accepted = create(strong.client(WEST), f"majority-{uuid.uuid4()}")
        assert accepted.status == 201, accepted.body
    finally:
        status = fault(strong, "clear")
    assert status["regions"][CENTRAL]["fault"] is None
    assert create(strong.client(CENTRAL), f"rejoined-{uuid.uuid4()}").status == 201


def test_strong_an_outage_stops_the_region_answering_and_clear_brings_it_back(strong: Platform) -> None:
    central = strong.client(CENTRAL)
    down = fault(strong, "region-outage", "--region", CENTRAL)
    try:
        assert down["serving"] is False
        assert down["fault"] == "region-outage"
        silent = SignedClient(central.base_url, CENTRAL, central.credentials, timeout=1.0)
        with pytest.raises(TimeoutError):
            silent.request("GET", "/health")
        assert create(strong.client(WEST), f"survivor-{uuid.uuid4()}").status == 201
    finally:
        fault(strong, "clear", "--region", CENTRAL)
    assert central.request("GET", "/health").status == 200


def test_the_state_file_names_each_region_its_health_and_the_control_endpoint(strong: Platform) -> None:
    state = json.loads(strong.state_file.read_text())
    for region in (WEST, CENTRAL):
        assert state["regions"][region]["url"].startswith("http://127.0.0.1:")
        assert {"healthy", "consecutiveFailures", "lastResult"} <= state["regions"][region]["health"].keys()
    assert state["control"]["statusUrl"].endswith("/status")


# --- eventual -----------------------------------------------------------------------------------


def test_eventual_a_write_reaches_the_other_region_after_the_lag(eventual: Platform) -> None:
    created = create(eventual.client(WEST), f"lag-{uuid.uuid4()}")
    assert created.status == 201, created.body
    path = f"/transactions/{created.json()['id']}"
    central = eventual.client(CENTRAL)
    assert central.request("GET", path).status == 404  # not yet: replication lags
    assert wait_for(lambda: central.request("GET", path).status == 200, LAG + 10)
    assert central.request("GET", path).json() == created.json()


def test_eventual_replication_is_held_while_a_region_is_cut_off_and_last_writer_wins(
    eventual: Platform,
) -> None:
    key = f"split-{uuid.uuid4()}"
    fault(eventual, "isolation", "--region", CENTRAL)
    try:
        # GIVEN the same key accepted in both Regions while they cannot replicate
        first = create(eventual.client(WEST), key)
        time.sleep(0.05)
        second = create(eventual.client(CENTRAL), key)
        assert (first.status, second.status) == (201, 201)  # MREC: each replica accepts the write
        path = f"/transactions/{first.json()['id']}"
        assert second.json()["id"] == first.json()["id"]  # one key, one id: never two transactions
        time.sleep(LAG + 1)
        assert eventual.client(WEST).request("GET", path).json() == first.json()  # still held
    finally:
        fault(eventual, "clear")
    # THEN once replication resumes both Regions converge on the later write
    assert wait_for(lambda: eventual.client(WEST).request("GET", path).json() == second.json(), LAG + 10)
    assert eventual.client(CENTRAL).request("GET", path).json() == second.json()


def test_eventual_what_had_not_replicated_when_a_region_died_is_missing_from_the_survivor(
    eventual: Platform,
) -> None:
    created = create(eventual.client(WEST), f"unreplicated-{uuid.uuid4()}")
    assert created.status == 201
    fault(eventual, "region-outage", "--region", WEST)
    try:
        path = f"/transactions/{created.json()['id']}"
        time.sleep(LAG + 1)
        assert eventual.client(CENTRAL).request("GET", path).status == 404  # acknowledged, and lost here
    finally:
        fault(eventual, "clear")
    # AND when the Region returns, the held write reaches the survivor
    assert wait_for(lambda: eventual.client(CENTRAL).request("GET", path).status == 200, LAG + 10)


def test_fault_names_a_missing_region_and_a_platform_that_is_not_running(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "fault", "region-outage", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "strongroom up" in done.stderr
    assert "Traceback" not in done.stderr
