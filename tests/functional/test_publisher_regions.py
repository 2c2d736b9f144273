"""The outbox publisher across two Regions in the emulator's global tables (docs/adr/0032): each Region
publishes what its own stream carries into its own Kinesis stream, a consumer reading both and
deduplicating by event id gets each transaction exactly once — with Kinesis failing, and when a Region
stops after acknowledging writes and its publisher never runs, under MRSC (whether or not replica
streams carry peer writes) and MREC. One emulator for the module; every test makes its own table."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from strongroom.config import load_config
from strongroom.local import emulator
from strongroom.local import global_tables as gt
from strongroom.local.provision import ProvisionedRegion, create_table_request, provision_region
from strongroom.local.stream_records import StreamTail
from strongroom.runtime.adapters.dynamodb import TransactionStore
from strongroom.runtime.adapters.schema import TRANSACTIONS
from strongroom.runtime.domain import Transaction
from strongroom.runtime.publisher import republish
from tests.functional.outbox import (
    FlakyKinesis,
    assert_exactly_once,
    consume,
    create_kinesis_stream,
    create_transactions,
    deduplicate,
    publish_until_done,
)

A, B = "eu-west-1", "eu-central-1"
LAG = 0.3
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@dataclass
class Emulated:
    endpoint: str
    provisioned: dict[str, ProvisionedRegion]
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self.clients:
            session = boto3.session.Session(
                aws_access_key_id="test", aws_secret_access_key="test", region_name=region
            )
            self.clients[service, region] = session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint,
                config=NO_RETRIES,
            )
        return self.clients[service, region]


@dataclass
class TwoRegions:
    """One global transactions table and one Kinesis stream per Region."""

    env: Emulated
    table: str
    streams: dict[str, str]
    tails: dict[str, StreamTail] = field(default_factory=dict)

    def store(self, region: str) -> TransactionStore:
        return TransactionStore(self.env.client("dynamodb", region), self.table, conflict_retries=0)

    def stream_records(self, region: str) -> list[dict[str, Any]]:
        """What ``region``'s replica stream carries (new records since the last call)."""
        if region not in self.tails:
            self.tails[region] = StreamTail(
                self.env.client("dynamodb", region), self.env.client("dynamodbstreams", region), self.table
            )
        return self.tails[region].read()

    def publish(self, region: str, records: list[dict[str, Any]], *, kinesis: Any = None) -> None:
        """``region``'s publisher, invoked as Lambda invokes it, into ``region``'s Kinesis stream."""
        publish_until_done(
            records,
            kinesis=kinesis or self.kinesis(region),
            stream=self.streams[region],
            region=region,
        )

    def kinesis(self, region: str) -> Any:
        return self.env.client("kinesis", region)

    def consumed(self, *regions: str) -> list[dict[str, Any]]:
        return [event for region in regions for event in consume(self.kinesis(region), self.streams[region])]


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    config = load_config(environ={})
    with emulator.start() as running:
        env = Emulated(running.endpoint, {})
        for region in (A, B):
            env.provisioned[region] = provision_region(
                config,
                region,
                dynamodb=env.client("dynamodb", region),
                kms_client=env.client("kms", region),
            )
        yield env


def two_regions(env: Emulated, consistency: str) -> Iterator[TwoRegions]:
    table = f"pub-{uuid.uuid4().hex[:10]}"
    for region in (A, B):
        env.client("dynamodb", region).create_table(
            **create_table_request(table, TRANSACTIONS, env.provisioned[region].data_key_id)
        )
    gt.configure(env.endpoint, consistency=consistency, regions=[A, B], tables=[table], lag_seconds=LAG)
    streams = {region: create_kinesis_stream(env.client("kinesis", region)) for region in (A, B)}
    try:
        yield TwoRegions(env, table, streams)
    finally:
        gt.clear_faults(env.endpoint)


@pytest.fixture
def strong(emulated: Emulated) -> Iterator[TwoRegions]:
    yield from two_regions(emulated, "strong")


@pytest.fixture
def eventual(emulated: Emulated) -> Iterator[TwoRegions]:
    yield from two_regions(emulated, "eventual")


def wait_for_replication(regions: TwoRegions, region: str, ids: set[str], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    client = regions.env.client("dynamodb", region)
    while time.monotonic() < deadline:
        found = {i for i in ids if client.get_item(TableName=regions.table, Key={"pk": {"S": i}}).get("Item")}
        if found == ids:
            return
        time.sleep(0.05)
    raise AssertionError(f"{len(ids - found)} writes never replicated to {region}")


def transaction_ids(records: list[dict[str, Any]]) -> set[str]:
    return {
        r["dynamodb"]["Keys"]["pk"]["S"]
        for r in records
        if r["dynamodb"]["Keys"]["pk"]["S"].startswith("txn_")
    }


def ids_of(transactions: list[Transaction]) -> set[str]:
    return {t.id for t in transactions}


def transactions_in(events: list[dict[str, Any]]) -> set[str]:
    return {e["transactionId"] for e in events}


# --- both Regions up -------------------------------------------------------------------------------


@pytest.mark.parametrize("consistency", ["strong", "eventual"])
def test_both_regions_publish_and_the_consumer_gets_each_transaction_once(
    emulated: Emulated, consistency: str
) -> None:
    for regions in two_regions(emulated, consistency):
        # GIVEN transactions created in both Regions (and a deep-health canary write in each)
        created = create_transactions(regions.store(A), 8) + create_transactions(regions.store(B), 8)
        for region in (A, B):
            regions.store(region).increment_canary(f"HEALTH#{region}")
        if consistency == "eventual":
            wait_for_replication(regions, A, ids_of(created))
            wait_for_replication(regions, B, ids_of(created))

        # WHEN each Region's publisher runs over its own stream into its own Kinesis stream
        for region in (A, B):
            records = regions.stream_records(region)
            # each replica stream carries the peer's writes: under MRSC locally (one logical stream)
            # and under MREC (replicated writes are in the target's stream)
            assert transaction_ids(records) == ids_of(created)
            regions.publish(region, records)

        # THEN each Kinesis stream alone holds every transaction, both together hold each twice, and
        # deduplication by event id leaves exactly one event per transaction
        for region in (A, B):
            assert transactions_in(regions.consumed(region)) == ids_of(created)
        both = regions.consumed(A, B)
        assert len(both) == 2 * len(created)
        assert_exactly_once(deduplicate(both), created)
        assert {e["publishedBy"] for e in both} == {A, B}


@pytest.mark.parametrize("consistency", ["strong", "eventual"])
def test_injected_kinesis_failures_still_give_exactly_once(emulated: Emulated, consistency: str) -> None:
    for regions in two_regions(emulated, consistency):
        created = create_transactions(regions.store(A), 15, customers=4) + create_transactions(
            regions.store(B), 15, customers=4
        )
        if consistency == "eventual":
            wait_for_replication(regions, A, ids_of(created))
            wait_for_replication(regions, B, ids_of(created))

        flaky = {r: FlakyKinesis(regions.kinesis(r), seed=seed) for r, seed in ((A, 1), (B, 2))}
        for region in (A, B):
            regions.publish(region, regions.stream_records(region), kinesis=flaky[region])

        assert all(f.injected for f in flaky.values())
        both = regions.consumed(A, B)
        assert len(both) > 2 * len(created)  # the lost responses left duplicates behind
        assert_exactly_once(deduplicate(both), created)


# --- a Region lost after acknowledging writes, its publisher never running --------------------------


def test_mrsc_region_loss_when_replica_streams_carry_peer_writes(strong: TwoRegions) -> None:
    # GIVEN writes acknowledged in A and B, then A goes silent before its publisher ever ran
    in_a = create_transactions(strong.store(A), 10)
    in_b = create_transactions(strong.store(B), 5)
    gt.set_fault(strong.env.endpoint, A, "outage")

    # WHEN only B's publisher runs, over B's stream, into B's Kinesis
    strong.publish(B, strong.stream_records(B))

    # THEN B's Kinesis alone holds every acknowledged write: the consumer needs nothing from A
    assert_exactly_once(deduplicate(strong.consumed(B)), in_a + in_b)


def test_mrsc_region_loss_when_replica_streams_do_not_carry_peer_writes(strong: TwoRegions) -> None:
    # GIVEN replica streams that carry only their own Region's writes (simulated: B's publisher is given
    # only the records of writes made through B), writes acknowledged in both, and A lost unpublished
    started = datetime.now(UTC)
    in_a = create_transactions(strong.store(A), 10)
    in_b = create_transactions(strong.store(B), 5)
    gt.set_fault(strong.env.endpoint, A, "outage")
    own = [r for r in strong.stream_records(B) if r["dynamodb"]["Keys"]["pk"]["S"] in ids_of(in_b)]
    strong.publish(B, own)

    # THEN, before the failover step, A's acknowledged writes are missing from B's Kinesis: the gap is real
    assert transactions_in(strong.consumed(B)) == ids_of(in_b)

    # WHEN the failover runbook republishes the window from B's table (strongly consistent, majority)
    result = republish(
        dynamodb=strong.env.client("dynamodb", B),
        table=strong.table,
        since=started - timedelta(minutes=15),
        until=datetime.now(UTC) + timedelta(minutes=1),
        kinesis=strong.kinesis(B),
        stream=strong.streams[B],
        region=B,
        page_size=4,  # several pages
        sleep=lambda _: None,
    )

    # THEN every acknowledged write is in B's Kinesis, B's own ones twice, and exactly once after dedup
    assert result.scanned == len(in_a) + len(in_b)
    events = strong.consumed(B)
    assert len(events) == len(in_a) + 2 * len(in_b)
    assert_exactly_once(deduplicate(events), in_a + in_b)


def test_republish_only_reads_its_window(strong: TwoRegions) -> None:
    create_transactions(strong.store(A), 3)
    result = republish(
        dynamodb=strong.env.client("dynamodb", B),
        table=strong.table,
        since=datetime.now(UTC) + timedelta(minutes=1),
        until=datetime.now(UTC) + timedelta(minutes=2),
        kinesis=strong.kinesis(B),
        stream=strong.streams[B],
        region=B,
    )
    assert result.scanned == 0
    assert strong.consumed(B) == []


def test_mrec_region_loss_replicated_writes_now_unreplicated_ones_when_it_returns(
    eventual: TwoRegions,
) -> None:
    # GIVEN writes in A that replicated to B, then writes in A acknowledged just before A goes silent
    replicated = create_transactions(eventual.store(A), 5)
    wait_for_replication(eventual, B, ids_of(replicated))
    unreplicated = create_transactions(eventual.store(A), 5)
    gt.set_fault(eventual.env.endpoint, A, "outage")
    in_b = create_transactions(eventual.store(B), 3)

    # WHEN B's publisher runs during the outage (A's never runs)
    eventual.publish(B, eventual.stream_records(B))

    # THEN the replicated writes are published at once; the unreplicated ones are not in B at all (MREC's
    # RPO: they are not in B's table either, so no republish could find them)
    assert transactions_in(eventual.consumed(B)) == ids_of(replicated + in_b)
    assert not any(
        eventual.env.client("dynamodb", B)
        .get_item(TableName=eventual.table, Key={"pk": {"S": t.id}})
        .get("Item")
        for t in unreplicated
    )

    # WHEN A returns: its held writes replicate into B, whose stream carries them, and B publishes them
    gt.clear_faults(eventual.env.endpoint, A)
    wait_for_replication(eventual, B, ids_of(unreplicated))
    eventual.publish(B, eventual.stream_records(B))

    # THEN every acknowledged write reached Kinesis through B, exactly once after dedup
    assert_exactly_once(deduplicate(eventual.consumed(B)), replicated + unreplicated + in_b)
