"""The `restore` drill: a point-in-time restore of the transactions table to a new table, reconciled.

1. The table receives ``items`` transactions built by the domain code (as the API builds them), in
   batches; the restore point is taken once every one is acknowledged.
2. After the restore point an operator error is simulated: some transactions are deleted, some
   changed, and new ones arrive.
3. The table is restored to the restore point into a new table (never over the live one;
   docs/runbooks/restore.md), and the restored table is reconciled with the live one.
4. The restore must hold exactly what was acknowledged before the restore point: nothing missing,
   nothing different. The reconciliation also counts what the operator error did (only in the
   restored table: deleted; differing: changed; only live: written after the restore point).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from strongroom.drill.model import Restore
from strongroom.drill.reconcile import compare, key_text, table_items
from strongroom.runtime.adapters.dynamodb import to_item
from strongroom.runtime.adapters.ingest_store import Retrier, TransactionBatchWriter
from strongroom.runtime.domain.transaction import (
    is_transaction_id,
    new_transaction,
    parse_transaction_request,
    transaction_id_for,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from strongroom.drill.runner import Drill

DELETED = 100
CHANGED = 50
ARRIVED_LATER = 50


def _items(run_id: str, first: int, count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    built = []
    for number in range(first, first + count):
        key = f"restore-{run_id}-{number:06d}"
        request = parse_transaction_request(
            amount=f"{1 + number % 500}.{number % 100:02d}",
            currency="EUR",
            customer_id=f"restore-{run_id}-c{number % 16}",
            type="credit" if number % 3 else "debit",
            reference=key,
        )
        txn = new_transaction(request, transaction_id=transaction_id_for("drill", key), now=now)
        built.append(to_item(txn))
    return built


def _write(client: DynamoDBClient, table: str, items: list[dict[str, Any]]) -> None:
    TransactionBatchWriter(client, table, Retrier()).put_all(items)


def _wait_active(client: DynamoDBClient, table: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.2)
    raise TimeoutError(f"{table} did not become ACTIVE within {timeout:.0f} s")


def restore_drill(drill: Drill, count: int) -> Restore:
    region = drill.regions[0]
    client = drill.target.dynamodb(region)
    table = drill.target.transactions_table()
    say, recorder = drill.say, drill.recorder
    seeded = _items(drill.run_id, 0, count)
    _write(client, table, seeded)
    say(f"  {drill.clock.now():6.1f} s  {count} transactions written to {table} in {region}")
    time.sleep(1.1)  # the restore point lies strictly after the last acknowledged write
    restore_point = datetime.now(UTC)
    time.sleep(1.1)
    # The operator error after the restore point: deletions, changes, and new transactions.
    for item in seeded[:DELETED]:
        client.delete_item(TableName=table, Key={"pk": item["pk"]})
    for item in seeded[DELETED : DELETED + CHANGED]:
        client.update_item(
            TableName=table,
            Key={"pk": item["pk"]},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "REVERSED"}},
        )
    _write(client, table, _items(drill.run_id, count, ARRIVED_LATER))
    restored = f"{table}-restored-{drill.run_id}"
    started = recorder.event("restore-started", region, f"restore {table} to {restore_point.isoformat()}")
    clock = time.monotonic()
    client.restore_table_to_point_in_time(
        SourceTableName=table, TargetTableName=restored, RestoreDateTime=restore_point
    )
    _wait_active(client, restored)
    restore_seconds = time.monotonic() - clock
    say(f"  {drill.clock.now():6.1f} s  restored to {restored} in {restore_seconds:.1f} s")
    clock = time.monotonic()
    restored_items = _transactions(table_items(client, restored))
    live_items = _transactions(table_items(client, table))
    reconciliation = compare(restored, restored_items, table, live_items)
    expected = _by_key(seeded)
    missing = [key for key in expected if key not in restored_items]
    differing = [key for key in expected if key in restored_items and restored_items[key] != expected[key]]
    reconcile_seconds = time.monotonic() - clock
    recorder.event("restore-finished", region, f"{restored} reconciled with {table}")
    say(f"  {drill.clock.now():6.1f} s  reconciled in {reconcile_seconds:.1f} s")
    return Restore(
        items=count,
        restore_seconds=round(restore_seconds, 3),
        reconcile_seconds=round(reconcile_seconds, 3),
        total_seconds=round(drill.clock.now() - started, 3),
        only_in_restored=reconciliation.only_in_table,
        only_in_live=reconciliation.only_in_against,
        differing=reconciliation.differing,
        identical=reconciliation.identical,
        restore_point=restore_point.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        expected_missing_from_restore=len(missing),
        expected_differing=len(differing),
    )


def _transactions(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Only transactions: the deep-health canaries the health checks keep writing are not data."""
    return {key: item for key, item in items.items() if is_transaction_id(item["pk"]["S"])}


def _by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key_text(item, ["pk"]): item for item in items}
