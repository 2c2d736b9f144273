"""RestoreTableToPointInTime for real in the emulator: the table as it was at the restore time, rebuilt
from the source table's change stream.

moto's own restore ignores the time and copies the table as it is now, which would make a restore drill
prove nothing. Locally every table is created with a stream of new and old images
(src/strongroom/local/provision.py), so the stream holds the table's whole life: replaying its records
up to the restore time gives the items as they were then.

Imported by the emulator process only (src/strongroom/local/global_tables.py imports it lazily).

As DynamoDB does, a restore is refused when point-in-time recovery is not enabled on the source
(``PointInTimeRecoveryUnavailableException``) or the time is outside [earliest, latest] restorable
time (``InvalidRestoreTimeException``). The target is an ordinary table (no stream, no PITR, no TTL,
not global: AWS restores none of these either) with the source's key schema, indexes, billing mode
and encryption, in the Region the request was made in. Simplified: the earliest restorable time is
when PITR was last enabled, the latest is now (AWS's is about five minutes behind), the restored
table is ACTIVE at once, and index or throughput overrides are refused.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from strongroom.local.global_tables import canonical_key
from strongroom.local.replication import NEW_IMAGE_VIEWS, epoch_seconds

if TYPE_CHECKING:
    from moto.dynamodb.models.table import StreamShard

_UNSUPPORTED_OVERRIDES = (
    "GlobalSecondaryIndexOverride",
    "LocalSecondaryIndexOverride",
    "ProvisionedThroughputOverride",
    "OnDemandThroughputOverride",
    "VectorIndexOverride",
)
# A stream switched on more than this after its table was created may have missed the first writes.
_STREAM_FROM_CREATION = timedelta(seconds=1)


class RestoreRefused(Exception):
    """A restore DynamoDB would refuse too: ``code`` is its error code (all are HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _source(request: Mapping[str, Any], region: str) -> tuple[str, str]:
    """The source table's name and the Region its ARN names (the request's if named by name)."""
    arn, name = request.get("SourceTableArn"), request.get("SourceTableName")
    if isinstance(name, str) and name and not arn:
        return name, region
    if isinstance(arn, str) and not name:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "dynamodb" and parts[5].startswith("table/"):
            return parts[5].removeprefix("table/").split("/")[0], parts[3]
    raise RestoreRefused(
        "ValidationException", "give either SourceTableName or SourceTableArn (a table ARN), not both"
    )


def _restore_time(request: Mapping[str, Any], earliest: float, latest: float) -> float:
    given, use_latest = request.get("RestoreDateTime"), request.get("UseLatestRestorableTime") is True
    if use_latest == (given is not None):
        raise RestoreRefused(
            "ValidationException", "give either RestoreDateTime or UseLatestRestorableTime=true, not both"
        )
    if use_latest:
        return latest
    if isinstance(given, bool) or not isinstance(given, int | float):
        raise RestoreRefused("ValidationException", "RestoreDateTime must be a timestamp (epoch seconds)")
    if not earliest <= given <= latest:
        raise RestoreRefused(
            "InvalidRestoreTimeException",
            f"RestoreDateTime {_iso(given)} is not within the restorable period of the source table, "
            f"{_iso(earliest)} to {_iso(latest)}",
        )
    return float(given)


def _earliest_restorable(table: Table) -> float:
    description = table.continuous_backups.get("PointInTimeRecoveryDescription", {})
    if description.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise RestoreRefused(
            "PointInTimeRecoveryUnavailableException",
            f"Point in time recovery is not enabled for table '{table.name}'",
        )
    return float(description["EarliestRestorableDateTime"])


def _replayable_stream(table: Table) -> StreamShard:
    shard = table.stream_shard
    view = (table.stream_specification or {}).get("StreamViewType")
    if (
        shard is None
        or view not in NEW_IMAGE_VIEWS
        or shard.created_on - table.created_at > _STREAM_FROM_CREATION
        or table.lambda_event_source_mappings  # moto empties a stream it has delivered to Lambda
    ):
        raise RestoreRefused(
            "ValidationException",
            f"the local emulator rebuilds a point in time from the table's stream, which must have "
            f"carried new images since the table was created; {table.name}'s does not (tables provisioned "
            "by strongroom up have one)",
        )
    return shard


def images_at(table: Table, when: float) -> list[dict[str, Any]]:
    """Every item of ``table`` as it was at ``when`` (epoch seconds), from its stream: one pass."""
    state: dict[str, dict[str, Any]] = {}
    for record in _replayable_stream(table).items:
        data = record.record["dynamodb"]
        if epoch_seconds(data["ApproximateCreationDateTime"]) > when:
            continue
        key = canonical_key(data["Keys"])
        if record.record["eventName"] == "REMOVE":
            state.pop(key, None)
        else:
            state[key] = data["NewImage"]
    return list(state.values())


def _new_table(name: str, account_id: str, region: str, source: Table, request: Mapping[str, Any]) -> Table:
    billing_mode = request.get("BillingModeOverride") or source.billing_mode
    sse = request.get("SSESpecificationOverride") or source.sse_specification
    table = Table(  # type: ignore[abstract]  # moto instantiates it so too
        name,
        account_id=account_id,
        region=region,
        schema=copy.deepcopy(source.schema),
        attr=copy.deepcopy(source.attr),
        throughput=None if billing_mode == "PAY_PER_REQUEST" else copy.deepcopy(source.throughput),
        billing_mode=billing_mode,
        sse_specification=copy.deepcopy(sse) if sse and sse.get("Enabled", True) else None,
    )
    table.indexes = copy.deepcopy(source.indexes)
    table.global_indexes = copy.deepcopy(source.global_indexes)
    return table


def _fill(table: Table, images: list[dict[str, Any]]) -> None:
    hash_attr, range_attr = table.hash_key_attr, table.range_key_attr
    for image in images:
        attrs = copy.deepcopy(image)  # moto's items share set values with the dict they are built from
        hash_key = DynamoType(attrs[hash_attr])
        if range_attr is None:
            table.items[hash_key] = Item(hash_key, None, attrs)  # type: ignore[assignment]  # as moto does
        else:
            range_key = DynamoType(attrs[range_attr])
            table.items[hash_key][range_key] = Item(hash_key, range_key, attrs)


def restore(
    account_id: str,
    region: str,
    request: Mapping[str, Any],
    *,
    source_region: Callable[[str, str], str],
    now: float,
) -> dict[str, Any]:
    """Answer a RestoreTableToPointInTime ``request`` made in ``region``; returns its response document.

    ``source_region(table, region)`` names the backend that holds the source as seen from ``region``
    (under MRSC, the one logical table's).
    """
    for override in _UNSUPPORTED_OVERRIDES:
        if request.get(override):
            raise RestoreRefused("ValidationException", f"the local emulator does not support {override}")
    target_name = request.get("TargetTableName")
    if not isinstance(target_name, str) or not target_name:
        raise RestoreRefused("ValidationException", "TargetTableName is required")
    source_name, named_region = _source(request, region)
    backends = dynamodb_backends[account_id]
    source: Table | None = backends[source_region(source_name, named_region)].tables.get(source_name)
    if source is None:
        raise RestoreRefused("SourceTableNotFoundException", f"Source table not found: {source_name}")
    target_backend = backends[region]
    if target_name in target_backend.tables:
        raise RestoreRefused("TableAlreadyExistsException", f"Table already exists: {target_name}")
    when = _restore_time(request, _earliest_restorable(source), now)
    images = images_at(source, when)
    table = _new_table(target_name, account_id, region, source, request)
    _fill(table, images)
    target_backend.tables[target_name] = table
    document: dict[str, Any] = table.describe()
    document["TableDescription"]["RestoreSummary"] = {
        "SourceTableArn": source.table_arn,
        "RestoreDateTime": when,
        "RestoreInProgress": False,
    }
    return document
