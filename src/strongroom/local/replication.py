"""MREC replication between the emulator's Regions: each replica follows the others' change streams,
applies their changes after the configured lag, last writer wins per item.

Imported by the emulator process only (src/strongroom/local/global_tables.py imports it lazily): it
reads and writes moto's DynamoDB backends in place, under the emulator's serialisation lock.

How it follows AWS's multi-Region eventual consistency, and where it is simpler:

- **From the stream.** A replica's changes are read from its own stream (moto's ``StreamShard``, in
  this process; MREC tables must have one, as in AWS). Each poll reads only the records added since
  the last poll. Every configured replica's stream is read from its start, once.
- **Lag.** A change is applied to the other replicas once ``lag`` seconds have passed since it was
  made (its stream record's ``ApproximateCreationDateTime``). AWS's lag varies (typically a second or
  less); here it is one configured number, so a drill can measure what it costs.
- **Last writer wins.** The replicator remembers, per replica and item, the :class:`Version` (time,
  Region) of the last write it has seen there, local or replicated. A change is applied only if it is
  newer; otherwise it is counted as superseded. Deletes replicate like writes (a tombstone version).
  Timestamps come from one clock here, where AWS reconciles clocks across Regions.
- **No loops.** The stream records the replicator's own writes produce are marked, and never
  replicated back; they stay in the target's stream (AWS's replica streams carry replicated writes too).
- **Held, not dropped.** While a Region is cut off (outage or isolation) its outgoing and incoming
  changes wait in their queues, and are delivered, in order, once the fault clears.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from strongroom.local.global_tables import Version, canonical_key, supersedes

if TYPE_CHECKING:
    from moto.dynamodb.models.table import StreamRecord, Table

    from strongroom.local.global_tables import Configuration

# Set on the stream records the replicator's own writes produce, so they are not replicated back.
REPLICATED_MARK = "strongroom_replicated_from"
NEW_IMAGE_VIEWS = frozenset({"NEW_IMAGE", "NEW_AND_OLD_IMAGES"})


def epoch_seconds(moment: datetime) -> float:
    """moto's timestamps are naive UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def check_replicas(account_id: str, configuration: Configuration) -> str | None:
    """Why ``configuration`` cannot be applied (a replica missing, an MREC table without a stream of
    new images), or None."""
    backends = dynamodb_backends[account_id]
    for name, mode in configuration.tables:
        for region in configuration.regions:
            table = backends[region].tables.get(name)
            if table is None:
                return f"table {name!r} does not exist in {region}; provision it in every Region first"
            view = (table.stream_specification or {}).get("StreamViewType")
            if mode == "eventual" and (table.stream_shard is None or view not in NEW_IMAGE_VIEWS):
                return (
                    f"table {name!r} in {region} has no stream of new images, which MREC replicates "
                    "through; create it with StreamViewType NEW_AND_OLD_IMAGES"
                )
    return None


@dataclass(frozen=True, slots=True)
class Change:
    """One write or delete in one replica, as its stream recorded it."""

    table: str
    keys: dict[str, Any]
    key: str
    new_image: dict[str, Any] | None  # None: the item was deleted
    version: Version


@dataclass(slots=True)
class Direction:
    """Replication from one Region to another: what waits, and what was delivered."""

    source: str
    target: str
    pending: deque[Change] = field(default_factory=deque)
    applied: int = 0
    superseded: int = 0
    dropped: int = 0  # the target replica no longer exists
    last_applied_lag: float | None = None

    def status(self, now: float, held: bool) -> dict[str, Any]:
        oldest = now - self.pending[0].version.time if self.pending else None
        return {
            "held": held,
            "pending": len(self.pending),
            "oldestPendingAgeSeconds": round(oldest, 3) if oldest is not None else None,
            "applied": self.applied,
            "superseded": self.superseded,
            "dropped": self.dropped,
            "lastAppliedLagSeconds": (
                round(self.last_applied_lag, 3) if self.last_applied_lag is not None else None
            ),
        }


@dataclass(slots=True)
class _Cursor:
    identity: tuple[datetime, datetime]  # the table's and its stream's creation: a new table starts over
    position: int = 0


class Replicator:
    """The MREC replicator's state. :meth:`poll` is called with the emulator's lock held."""

    def __init__(self, account_id: str, *, clock: Callable[[], float] = time.time) -> None:
        self._account_id = account_id
        self._clock = clock
        self._regions: tuple[str, ...] = ()
        self._tables: tuple[str, ...] = ()
        self._lag = 0.0
        self._cursors: dict[tuple[str, str], _Cursor] = {}
        self._versions: dict[tuple[str, str], dict[str, Version]] = {}
        self._directions: dict[tuple[str, str], Direction] = {}

    def reconfigure(self, regions: Sequence[str], tables: Sequence[str], lag: float) -> None:
        """Replicate ``tables`` between ``regions``. Queued changes of tables or directions no longer
        replicated are dropped, the counters start again; stream positions are kept, so nothing is
        read twice."""
        self._regions, self._tables, self._lag = tuple(regions), tuple(tables), lag
        pairs = [(s, t) for s in self._regions for t in self._regions if s != t] if tables else []
        directions = {pair: Direction(*pair) for pair in pairs}
        for pair, direction in directions.items():
            previous = self._directions.get(pair)
            if previous is not None:
                direction.pending = deque(c for c in previous.pending if c.table in self._tables)
        self._directions = directions

    def poll(self, held: Iterable[str] = ()) -> None:
        """Read every replica's new stream records, then deliver what is due to Regions not ``held``."""
        for table in self._tables:
            for region in self._regions:
                self._collect(table, region)
        cut_off = set(held)
        now = self._clock()
        for direction in self._directions.values():
            if direction.source in cut_off or direction.target in cut_off:
                continue
            while direction.pending and direction.pending[0].version.time + self._lag <= now:
                self._deliver(direction, direction.pending.popleft(), now)

    def status(self, held: Iterable[str] = ()) -> dict[str, Any]:
        cut_off = set(held)
        now = self._clock()
        return {
            f"{d.source}->{d.target}": d.status(now, d.source in cut_off or d.target in cut_off)
            for d in self._directions.values()
        }

    def _table(self, region: str, name: str) -> Table | None:
        table: Table | None = dynamodb_backends[self._account_id][region].tables.get(name)
        return table

    def _collect(self, name: str, region: str) -> None:
        table = self._table(region, name)
        shard = table.stream_shard if table is not None else None
        if table is None or shard is None:
            return
        identity = (table.created_at, shard.created_on)
        cursor = self._cursors.get((name, region))
        if cursor is None or cursor.identity != identity or cursor.position > len(shard.items):
            cursor = self._cursors[(name, region)] = _Cursor(identity)
            self._versions[(name, region)] = {}
        if cursor.position == len(shard.items):
            return
        records = shard.items[cursor.position :]
        cursor.position = len(shard.items)
        versions = self._versions[(name, region)]
        for record in records:
            if getattr(record, REPLICATED_MARK, None):
                continue
            change = _change(name, region, record)
            versions[change.key] = change.version
            for target in self._regions:
                if target != region:
                    self._directions[(region, target)].pending.append(change)

    def _deliver(self, direction: Direction, change: Change, now: float) -> None:
        table = self._table(direction.target, change.table)
        if table is None:
            direction.dropped += 1
            return
        versions = self._versions.setdefault((change.table, direction.target), {})
        if not supersedes(change.version, versions.get(change.key)):
            direction.superseded += 1
            return
        shard = table.stream_shard
        before = len(shard.items) if shard is not None else 0
        if change.new_image is None:
            range_attr = table.range_key_attr
            table.delete_item(
                DynamoType(change.keys[table.hash_key_attr]),
                DynamoType(change.keys[range_attr]) if range_attr else None,
            )
        else:
            # A deep copy: moto's items share set values with the dict they were built from.
            table.put_item(copy.deepcopy(change.new_image))
        if shard is not None and len(shard.items) > before:
            setattr(shard.items[-1], REPLICATED_MARK, change.version.region)
        versions[change.key] = change.version
        direction.applied += 1
        direction.last_applied_lag = now - change.version.time


def _change(table: str, region: str, record: StreamRecord) -> Change:
    data = record.record["dynamodb"]
    keys: dict[str, Any] = data["Keys"]
    removed = record.record["eventName"] == "REMOVE"
    return Change(
        table=table,
        keys=keys,
        key=canonical_key(keys),
        new_image=None if removed else data["NewImage"],
        version=Version(epoch_seconds(data["ApproximateCreationDateTime"]), region),
    )
