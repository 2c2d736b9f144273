"""Global tables in the emulator, over HTTP with boto3 per Region: MRSC as one logical table, MREC
replication with lag, last writer wins and held changes, faults on the data path, and a real
point-in-time restore. One emulator for the module; every test makes its own tables."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.dynamodb.models.dynamo_type import DynamoType

from strongroom.config import load_config
from strongroom.local import emulator, point_in_time
from strongroom.local import global_tables as gt
from strongroom.local.provision import ProvisionedRegion, create_table_request, provision_region
from strongroom.runtime.adapters.schema import CUSTOMER_INDEX, TRANSACTIONS
from tests.functional.conftest import REGION, aws_client

A, B = "eu-west-1", "eu-central-1"
LAG = 0.3
# One attempt: the SDK would otherwise retry every 5xx a fault produces, for seconds.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@dataclass
class Emulated:
    endpoint: str
    provisioned: dict[str, ProvisionedRegion]
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str) -> Any:
        """One client per service and Region for the module (making one costs ~0.1 s)."""
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

    def dynamodb(self, region: str) -> Any:
        return self.client("dynamodb", region)

    def streams(self, region: str) -> Any:
        return self.client("dynamodbstreams", region)

    def new_table(self, *, pitr: bool = True, regions: tuple[str, ...] = (A, B)) -> str:
        """A transactions-shaped table in each of ``regions``, created as provisioning creates one."""
        name = f"gt-{uuid.uuid4().hex[:10]}"
        for region in regions:
            client = self.dynamodb(region)
            client.create_table(
                **create_table_request(name, TRANSACTIONS, self.provisioned[region].data_key_id)
            )
            if pitr:
                client.update_continuous_backups(
                    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
        return name

    def configure(self, consistency: str, *tables: str, lag: float = LAG) -> dict[str, Any]:
        return gt.configure(
            self.endpoint, consistency=consistency, regions=[A, B], tables=list(tables), lag_seconds=lag
        )


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    config = load_config(environ={})
    with emulator.start() as running:
        provisioned = {}
        for region in (A, B):
            session = boto3.session.Session(
                aws_access_key_id="test", aws_secret_access_key="test", region_name=region
            )
            provisioned[region] = provision_region(
                config,
                region,
                dynamodb=session.client("dynamodb", endpoint_url=running.endpoint),
                kms_client=session.client("kms", endpoint_url=running.endpoint),
            )
        yield Emulated(running.endpoint, provisioned)


@pytest.fixture
def env(emulated: Emulated) -> Iterator[Emulated]:
    yield emulated
    gt.clear_faults(emulated.endpoint)


# --- helpers -------------------------------------------------------------------------------------


def item(key: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}


def read(client: Any, table: str, key: str, *, consistent: bool = True) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(
        TableName=table, Key={"pk": {"S": key}}, ConsistentRead=consistent
    ).get("Item")
    return found


def error(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def eventually(condition: Callable[[], Any], *, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout}s")


def stream_records(env: Emulated, region: str, table: str) -> list[dict[str, Any]]:
    arn = env.dynamodb(region).describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = env.streams(region)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)[
        "Records"
    ]
    return records


def direction(env: Emulated, source: str, target: str) -> dict[str, Any]:
    replication: dict[str, Any] = gt.status(env.endpoint)["replication"][f"{source}->{target}"]
    return replication


def control(env: Emulated, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(env.endpoint + path, data=body, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310 - loopback
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- strong: one logical table ---------------------------------------------------------------------


def test_strong_a_write_in_one_region_is_read_at_once_in_the_other(env: Emulated) -> None:
    table = env.new_table()
    env.configure("strong", table)
    west, central = env.dynamodb(A), env.dynamodb(B)

    west.put_item(TableName=table, Item=item("from-west"), ConditionExpression="attribute_not_exists(pk)")
    central.put_item(
        TableName=table, Item=item("from-central"), ConditionExpression="attribute_not_exists(pk)"
    )

    assert read(central, table, "from-west") == item("from-west")
    assert read(west, table, "from-central") == item("from-central")
    described = central.describe_table(TableName=table)["Table"]
    assert described["MultiRegionConsistency"] == "STRONG"
    assert described["ItemCount"] == 2  # the logical table's
    assert f":{B}:" in described["TableArn"]  # each Region describes its own replica
    assert described["SSEDescription"]["KMSMasterKeyArn"] == env.provisioned[B].data_key_id


def test_strong_the_change_stream_carries_every_regions_writes(env: Emulated) -> None:
    table = env.new_table()
    env.configure("strong", table)
    env.dynamodb(A).put_item(TableName=table, Item=item("one"))
    env.dynamodb(B).put_item(TableName=table, Item=item("two"))

    for region in (A, B):
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in stream_records(env, region, table)]
        assert keys == ["one", "two"], region


def test_strong_concurrent_conditional_puts_from_both_regions_have_exactly_one_winner(env: Emulated) -> None:
    table = env.new_table()
    env.configure("strong", table)
    clients = {A: env.dynamodb(A), B: env.dynamodb(B)}

    for attempt in range(8):
        key = f"race-{attempt}"
        start = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def put(
            region: str, key: str = key, start: threading.Barrier = start, outcomes: dict[str, str] = outcomes
        ) -> None:
            start.wait()
            try:
                clients[region].put_item(
                    TableName=table,
                    Item=item(key, writer=region),
                    ConditionExpression="attribute_not_exists(pk)",
                )
                outcomes[region] = "won"
            except ClientError as exc:
                outcomes[region] = exc.response["Error"]["Code"]

        threads = [threading.Thread(target=put, args=(region,)) for region in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes.values()) == ["ConditionalCheckFailedException", "won"]
        winner = next(region for region, outcome in outcomes.items() if outcome == "won")
        for client in clients.values():
            assert read(client, table, key) == item(key, writer=winner)


def test_strong_an_isolated_region_cannot_write_or_read_consistently_until_it_rejoins(env: Emulated) -> None:
    table = env.new_table()
    env.configure("strong", table)
    west, central = env.dynamodb(A), env.dynamodb(B)
    west.put_item(TableName=table, Item=item("before"))

    gt.set_fault(env.endpoint, B, "isolation")

    minority = ("ServiceUnavailable", 503)
    assert error(lambda: central.put_item(TableName=table, Item=item("lost"))) == minority
    assert error(lambda: read(central, table, "before")) == minority
    assert error(lambda: central.delete_item(TableName=table, Key={"pk": {"S": "before"}})) == minority
    assert read(central, table, "before", consistent=False) == item("before")  # still served
    west.put_item(TableName=table, Item=item("majority"))  # the other replica and the witness
    assert read(west, table, "majority") == item("majority")

    gt.clear_faults(env.endpoint, B)

    central.put_item(TableName=table, Item=item("rejoined"))
    assert read(west, table, "rejoined") == item("rejoined")
    assert read(central, table, "majority") == item("majority")


def test_strong_a_region_in_outage_fails_every_request_while_the_other_serves(env: Emulated) -> None:
    table = env.new_table()
    env.configure("strong", table)
    gt.set_fault(env.endpoint, A, "outage")

    assert error(lambda: read(env.dynamodb(A), table, "x", consistent=False)) == ("ServiceUnavailable", 503)
    env.dynamodb(B).put_item(TableName=table, Item=item("survivor"))
    assert read(env.dynamodb(B), table, "survivor") == item("survivor")


# --- eventual: replicas, lag, last writer wins --------------------------------------------------------


def test_eventual_a_write_reaches_the_other_region_after_the_lag_and_not_before(env: Emulated) -> None:
    lag = 0.5
    table = env.new_table()
    env.configure("eventual", table, lag=lag)
    west, central = env.dynamodb(A), env.dynamodb(B)

    before = time.monotonic()
    west.put_item(TableName=table, Item=item("k", v="1"))
    early = read(central, table, "k")
    if time.monotonic() - before < lag:  # the read finished within the lag: it must not see the write
        assert early is None
    eventually(lambda: read(central, table, "k"))
    seen_after = time.monotonic() - before

    assert seen_after >= lag
    assert read(central, table, "k") == item("k", v="1")
    replication = direction(env, A, B)
    assert (replication["applied"], replication["pending"]) == (1, 0)
    assert replication["lastAppliedLagSeconds"] >= lag


@pytest.mark.parametrize("first", [A, B])
def test_eventual_concurrent_writes_to_one_key_converge_to_the_later_write(env: Emulated, first: str) -> None:
    table = env.new_table()
    env.configure("eventual", table, lag=1.0)  # ample time for both writes before either replicates
    second = B if first == A else A
    clients = {A: env.dynamodb(A), B: env.dynamodb(B)}

    clients[first].put_item(TableName=table, Item=item("k", v=f"by {first}"))
    clients[second].put_item(TableName=table, Item=item("k", v=f"by {second}"))

    later = item("k", v=f"by {second}")

    def delivered(source: str, target: str) -> int:
        replication = direction(env, source, target)
        return int(replication["applied"] + replication["superseded"])

    eventually(lambda: delivered(first, second) == delivered(second, first) == 1)
    assert all(read(c, table, "k") == later for c in clients.values())
    assert direction(env, first, second)["superseded"] == 1  # the earlier write lost where it arrived
    assert direction(env, second, first)["applied"] == 1


def test_eventual_deletes_replicate(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    west, central = env.dynamodb(A), env.dynamodb(B)
    west.put_item(TableName=table, Item=item("doomed"))
    eventually(lambda: read(central, table, "doomed"))

    west.delete_item(TableName=table, Key={"pk": {"S": "doomed"}})

    eventually(lambda: read(central, table, "doomed") is None)
    assert [r["eventName"] for r in stream_records(env, B, table)] == ["INSERT", "REMOVE"]


def test_eventual_replicated_writes_are_in_the_targets_stream_and_never_come_back(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    env.dynamodb(A).put_item(TableName=table, Item=item("once"))
    eventually(lambda: read(env.dynamodb(B), table, "once"))

    time.sleep(4 * LAG)  # a loop would have sent it back, and on again, by now

    assert len(stream_records(env, A, table)) == 1
    assert len(stream_records(env, B, table)) == 1  # the replicated write, as AWS's replica streams have it
    assert direction(env, A, B)["applied"] == 1
    assert direction(env, B, A) | {"lastAppliedLagSeconds": None} == {
        "held": False,
        "pending": 0,
        "oldestPendingAgeSeconds": None,
        "applied": 0,
        "superseded": 0,
        "dropped": 0,
        "lastAppliedLagSeconds": None,
    }


def test_eventual_replication_is_held_during_isolation_and_delivered_when_it_clears(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    west, central = env.dynamodb(A), env.dynamodb(B)
    gt.set_fault(env.endpoint, B, "isolation")

    west.put_item(TableName=table, Item=item("from-west"))
    central.put_item(TableName=table, Item=item("from-central"))  # an isolated MREC Region still serves
    time.sleep(3 * LAG)

    assert read(central, table, "from-west") is None  # what a drill measures as lost
    assert read(west, table, "from-central") is None
    for source, target in ((A, B), (B, A)):
        held = direction(env, source, target)
        assert (held["held"], held["pending"], held["applied"]) == (True, 1, 0)
        assert held["oldestPendingAgeSeconds"] >= 3 * LAG

    gt.clear_faults(env.endpoint, B)

    eventually(lambda: read(central, table, "from-west") and read(west, table, "from-central"))
    assert direction(env, A, B)["pending"] == direction(env, B, A)["pending"] == 0


def test_eventual_an_outage_fails_the_regions_requests_and_holds_its_replication(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    gt.set_fault(env.endpoint, B, "outage")

    assert error(lambda: read(env.dynamodb(B), table, "k")) == ("ServiceUnavailable", 503)
    env.dynamodb(A).put_item(TableName=table, Item=item("k"))
    time.sleep(3 * LAG)
    assert direction(env, A, B)["pending"] == 1

    gt.clear_faults(env.endpoint)

    assert eventually(lambda: read(env.dynamodb(B), table, "k")) == item("k")


def test_configuring_the_same_tables_again_changes_nothing(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    env.dynamodb(A).put_item(TableName=table, Item=item("k"))
    eventually(lambda: direction(env, A, B)["applied"] == 1)

    again = env.configure("eventual", table)

    assert again["replication"][f"{A}->{B}"]["applied"] == 1
    assert again["tables"] == {table: "eventual"}


# --- the data-path fault -------------------------------------------------------------------------------


def test_a_data_path_fault_fails_that_regions_requests_only_and_replication_goes_on(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    west, central = env.dynamodb(A), env.dynamodb(B)

    faults = gt.set_fault(env.endpoint, A, "data-path")

    assert faults == {"faults": {A: "data-path", B: None}}
    internal = ("InternalServerError", 500)
    assert error(lambda: read(west, table, "k")) == internal
    assert error(lambda: west.put_item(TableName=table, Item=item("k"))) == internal
    assert error(west.list_tables) == internal
    assert error(lambda: env.dynamodb(A).describe_table(TableName=env.provisioned[A].audit_table)) == internal
    central.put_item(TableName=table, Item=item("k"))
    eventually(lambda: direction(env, B, A)["applied"] == 1)  # the replicas' data keeps moving

    gt.clear_faults(env.endpoint, A)

    assert read(west, table, "k") == item("k")


# --- the control routes --------------------------------------------------------------------------------


def test_the_status_reports_the_configuration_and_the_faults(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)
    gt.set_fault(env.endpoint, B, "isolation")

    document = gt.status(env.endpoint)

    assert (document["consistency"], document["regions"], document["tables"]) == (
        "eventual",
        [A, B],
        {table: "eventual"},
    )
    assert document["replicationLagSeconds"] == LAG
    assert document["faults"] == {A: None, B: "isolation"}
    assert set(document["replication"]) == {f"{A}->{B}", f"{B}->{A}"}
    assert document["replication"][f"{A}->{B}"]["held"] is True


def test_control_route_input_errors(env: Emulated) -> None:
    table = env.new_table()
    env.configure("eventual", table)

    assert control(env, "PUT", f"/strongroom-local/faults/{A}", b'{"fault": "meteor"}')[0] == 400
    status, document = control(env, "PUT", "/strongroom-local/faults/ap-nowhere-1", b'{"fault": "outage"}')
    assert (status, document["field"]) == (404, "region")
    assert A in document["message"]
    only_west = env.new_table(regions=(A,))
    with pytest.raises(gt.GlobalTablesError, match=rf"'{only_west}' does not exist in {B}; provision it"):
        gt.configure(env.endpoint, consistency="eventual", regions=[A, B], tables=[only_west], lag_seconds=1)
    with pytest.raises(gt.GlobalTablesError, match=r"\(400\): consistency must be one of: strong, eventual"):
        gt.configure(env.endpoint, consistency="firm", regions=[A, B], tables=[table], lag_seconds=1)
    with pytest.raises(gt.GlobalTablesError, match=r"\(404\): unknown region 'ap-nowhere-1'"):
        gt.clear_faults(env.endpoint, "ap-nowhere-1")


def test_the_client_says_when_the_emulator_does_not_answer() -> None:
    with pytest.raises(gt.GlobalTablesError, match=r"did not answer .* is it running"):
        gt.status(f"http://{emulator.LOOPBACK}:{emulator.free_port()}", timeout=2)


def test_the_client_module_does_not_import_moto() -> None:
    probe = (
        "import sys, strongroom.local.global_tables; print(any(m.startswith('moto') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- point-in-time restore --------------------------------------------------------------------------------


def test_provisioned_tables_have_point_in_time_recovery(env: Emulated) -> None:
    for region, provisioned in env.provisioned.items():
        for table in (provisioned.transactions_table, provisioned.audit_table):
            backups = env.dynamodb(region).describe_continuous_backups(TableName=table)
            status = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            assert status["PointInTimeRecoveryStatus"] == "ENABLED", (region, table)


def test_a_restore_brings_back_the_table_exactly_as_it_was(env: Emulated) -> None:
    table = env.new_table(regions=(A,))
    west = env.dynamodb(A)
    west.put_item(TableName=table, Item=item("kept", customerId="c1", createdAtId="1", v="old"))  # t0
    west.put_item(TableName=table, Item=item("deleted", customerId="c1", createdAtId="2"))  # t1
    time.sleep(0.01)
    t2 = time.time()
    time.sleep(0.01)
    west.put_item(TableName=table, Item=item("kept", customerId="c1", createdAtId="1", v="new"))
    west.delete_item(TableName=table, Key={"pk": {"S": "deleted"}})
    west.put_item(TableName=table, Item=item("added", customerId="c1", createdAtId="3"))

    restored = west.restore_table_to_point_in_time(
        SourceTableName=table, TargetTableName=f"{table}-restored", RestoreDateTime=t2
    )["TableDescription"]

    items = west.scan(TableName=f"{table}-restored", ConsistentRead=True)["Items"]
    assert sorted(items, key=lambda i: i["pk"]["S"]) == [
        item("deleted", customerId="c1", createdAtId="2"),
        item("kept", customerId="c1", createdAtId="1", v="old"),
    ]
    by_customer = west.query(
        TableName=f"{table}-restored",
        IndexName=CUSTOMER_INDEX,
        KeyConditionExpression="customerId = :c",
        ExpressionAttributeValues={":c": {"S": "c1"}},
    )["Items"]
    assert len(by_customer) == 2
    source = west.describe_table(TableName=table)["Table"]
    assert restored["KeySchema"] == source["KeySchema"]
    assert [i["IndexName"] for i in restored["GlobalSecondaryIndexes"]] == [CUSTOMER_INDEX]
    assert restored["SSEDescription"]["KMSMasterKeyArn"] == env.provisioned[A].data_key_id
    assert restored["RestoreSummary"]["SourceTableArn"] == source["TableArn"]
    assert abs(restored["RestoreSummary"]["RestoreDateTime"].timestamp() - t2) < 0.001
    assert len(west.scan(TableName=table)["Items"]) == 2  # the source is untouched: kept (new), added


def test_a_restore_is_refused_without_pitr_or_outside_the_restorable_period(env: Emulated) -> None:
    west = env.dynamodb(A)
    unprotected = env.new_table(pitr=False, regions=(A,))
    assert error(
        lambda: west.restore_table_to_point_in_time(
            SourceTableName=unprotected, TargetTableName=f"{unprotected}-r", UseLatestRestorableTime=True
        )
    ) == ("PointInTimeRecoveryUnavailableException", 400)

    protected = env.new_table(regions=(A,))
    backups = west.describe_continuous_backups(TableName=protected)["ContinuousBackupsDescription"]
    earliest = backups["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"].timestamp()
    for when in (earliest - 60, time.time() + 60):
        assert error(
            lambda when=when: west.restore_table_to_point_in_time(
                SourceTableName=protected, TargetTableName=f"{protected}-r", RestoreDateTime=when
            )
        ) == ("InvalidRestoreTimeException", 400)
    assert error(
        lambda: west.restore_table_to_point_in_time(
            SourceTableName="no-such-table", TargetTableName="whatever", UseLatestRestorableTime=True
        )
    ) == ("SourceTableNotFoundException", 400)
    assert not {f"{unprotected}-r", f"{protected}-r", "whatever"} & set(west.list_tables()["TableNames"])


def test_a_strong_restore_reads_the_logical_table_into_an_ordinary_table_of_the_requesting_region(
    env: Emulated,
) -> None:
    table = env.new_table()
    env.configure("strong", table)
    env.dynamodb(A).put_item(TableName=table, Item=item("written-in-west"))

    env.dynamodb(B).restore_table_to_point_in_time(
        SourceTableName=table, TargetTableName=f"{table}-restored", UseLatestRestorableTime=True
    )

    central_items = env.dynamodb(B).scan(TableName=f"{table}-restored", ConsistentRead=True)["Items"]
    assert central_items == [item("written-in-west")]
    assert error(lambda: env.dynamodb(A).describe_table(TableName=f"{table}-restored")) == (
        "ResourceNotFoundException",
        400,
    )


def test_a_restore_of_ten_thousand_items_takes_a_few_seconds_at_most(aws: None) -> None:
    # moto in this process: the items are written straight into the backend, so only the restore is timed
    from moto.core import DEFAULT_ACCOUNT_ID  # noqa: PLC0415
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

    client = aws_client("dynamodb")
    client.create_table(
        **create_table_request("big", TRANSACTIONS, f"arn:aws:kms:{REGION}:{DEFAULT_ACCOUNT_ID}:key/k")
    )
    client.update_continuous_backups(
        TableName="big", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    source = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["big"]
    for n in range(12_000):
        source.put_item(item(f"k{n}", customerId=f"c{n % 50}", createdAtId=f"{n:06d}", amount="1.00"))
    for n in range(0, 12_000, 6):  # a history after the restore time that must not show
        source.delete_item(DynamoType({"S": f"k{n}"}), None)

    started = time.monotonic()
    point_in_time.restore(
        DEFAULT_ACCOUNT_ID,
        REGION,
        {"SourceTableName": "big", "TargetTableName": "big-restored", "UseLatestRestorableTime": True},
        source_region=lambda _table, region: region,
        now=time.time(),
    )
    elapsed = time.monotonic() - started

    assert elapsed < 5.0, f"restoring 12,000 writes and 2,000 deletes took {elapsed:.1f}s"
    assert client.describe_table(TableName="big-restored")["Table"]["ItemCount"] == 10_000
