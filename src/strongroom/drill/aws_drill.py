"""`strongroom drill --target aws`: the same drill against a deployed Strongroom, through AWS FIS.

It needs an account where the stacks are deployed (the platform stacks with their `ApiUrl` outputs,
the FIS templates tagged ``strongroom:scenario``, and the routing stack's health checks). The fault
is the scenario's FIS experiment in the faulted Region; DNS callers follow Route 53's own health-check
status, polled every health-check interval; time runs at its real pace (no time scale).

`restore` on AWS never touches the live table's data: the drill writes its own transactions through
the API, takes the restore point, restores the live table to a new table at that point, checks that
every one of its transactions is there unchanged, and reconciles the restored table with the live one.
Run drills in a non-production account.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from strongroom.config import PlatformConfig
from strongroom.drill.aws import AwsTarget
from strongroom.drill.model import DrillResult, Restore
from strongroom.drill.reconcile import compare, key_text, table_items
from strongroom.drill.runner import Drill, DrillOptions
from strongroom.local.health_checker import DnsAnswer, Transition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_RESTORE_DRILL_TRANSACTIONS = 200


class Route53Watcher:
    """Route 53's view of each Region's health check, polled in the background, shaped like the local
    health checker (``healthy(region)`` and ``transitions``) so the drill reads both the same way."""

    def __init__(
        self,
        target: AwsTarget,
        regions: list[str],
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._regions = regions
        self._interval = interval
        self._clock = clock
        self._healthy = dict.fromkeys(regions, True)
        self.transitions: list[Transition] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="route53-watcher", daemon=True)

    def healthy(self, region: str) -> bool:
        with self._lock:
            return self._healthy[region]

    def poll_once(self) -> None:
        for region in self._regions:
            view = self._target.health_view(region)
            with self._lock:
                if view.healthy != self._healthy[region]:
                    self._healthy[region] = view.healthy
                    wall = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                    reason = f"{view.healthy_checkers} of {view.checkers} checkers report healthy"
                    self.transitions.append(Transition(region, view.healthy, self._clock(), wall, reason))

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5)


# Each local fault, as the drill scenario whose FIS template injects it on AWS (drill/aws.py maps a
# scenario to its template's strongroom:scenario tag).
FAULT_EXPERIMENTS = {
    "region-outage": "region-outage",
    "data-path": "data-path-failure",
    "isolation": "replication-lag",
}
PEER_STOP_ALARMS_TAG = "strongroom:peer-stop-alarms"  # infra/constructs/experiments.py sets it


def peer_alarms(tags: dict[str, str]) -> list[tuple[str, str]]:
    """The (Region, alarm name) pairs a template's peer-stop tag names: ``<region>/<alarm> ...``."""
    pairs = []
    for entry in tags.get(PEER_STOP_ALARMS_TAG, "").split():
        region, _, name = entry.partition("/")
        if region and name:
            pairs.append((region, name))
    return pairs


class PeerGuard:
    """Stops the experiment when callers fail in a Region that took the traffic over: FIS can only
    stop on alarms in the experiment's own Region (docs/adr/0028-fault-injection-and-resilience-hub.md)."""

    def __init__(
        self,
        target: AwsTarget,
        alarms: list[tuple[str, str]],
        region: str,
        interval: float = 15.0,
    ) -> None:
        self._target = target
        self._alarms = alarms
        self._region = region
        self._interval = interval
        self.stopped_by: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peer-guard", daemon=True)

    def check_once(self) -> bool:
        """Stop the experiment if a peer alarm is in ALARM; True when it did."""
        for region, name in self._alarms:
            if self._target.alarm_in_alarm(region, name):
                self._target.clear(self._region)
                self.stopped_by.append(f"{region}/{name}")
                return True
        return False

    def start(self) -> None:
        if self._alarms:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if self.check_once():
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5)


class AwsDrillTarget:
    """The drill's view of a deployed Strongroom: the runner's target interface over :class:`AwsTarget`."""

    name = "aws"

    def __init__(self, target: AwsTarget, watcher: Route53Watcher) -> None:
        self._target = target
        self.checker = watcher
        credentials = target.credentials
        if credentials is None:
            from strongroom.drill.aws import NoAwsCredentials  # noqa: PLC0415

            raise NoAwsCredentials()
        self.credentials = credentials
        self.guards: list[PeerGuard] = []

    def endpoints(self) -> dict[str, str]:
        return self._target.endpoints()

    def transactions_table(self) -> str:
        return self._target.transactions_table()

    def inject(self, fault: str, region: str) -> None:
        """Start the FIS experiment that injects ``fault`` (the runner's local fault names)."""
        scenario = FAULT_EXPERIMENTS[fault]
        template = self._target.find_template(region, scenario)
        guard = PeerGuard(self._target, peer_alarms(self._target.template_tags(region, template)), region)
        experiment = self._target.inject(scenario, region)
        self._target.wait_running(experiment)
        guard.start()
        self.guards.append(guard)

    def clear(self, region: str | None = None) -> None:
        for guard in self.guards:
            guard.stop()
        self._target.clear(region)

    def stopped_by(self) -> list[str]:
        """The peer alarms that stopped an experiment early."""
        return [alarm for guard in self.guards for alarm in guard.stopped_by]

    def dns_answer(self, preference: list[str], ttl_seconds: float) -> DnsAnswer:
        return DnsAnswer(self.checker, preference, ttl_seconds=ttl_seconds)

    def dynamodb(self, region: str) -> DynamoDBClient:
        return self._target.dynamodb(region)


def aws_drill(
    options: DrillOptions, config: PlatformConfig, target: AwsTarget, say: Callable[[str], None]
) -> DrillResult:
    """Run ``options.scenario`` against the deployed platform (real time: the time scale is 1)."""
    options = dataclasses.replace(options, time_scale=1.0)
    regions = [r.name for r in config.regions]
    watcher = Route53Watcher(target, regions, float(config.health_check.interval_seconds))
    drill_target = AwsDrillTarget(target, watcher)
    drill = Drill(options, config, drill_target, say)
    if options.scenario == "restore":
        return _restore(drill, target, min(options.items, _RESTORE_DRILL_TRANSACTIONS))
    watcher.start()
    try:
        result = drill.run()
    finally:
        watcher.stop()
        drill_target.clear()
    stopped = drill_target.stopped_by()
    if stopped:
        alarms = ", ".join(stopped)
        note = f"the experiment was stopped early: callers failed in the Region that took over ({alarms})"
        result = dataclasses.replace(
            result, verdict="fail", reasons=[note, *result.reasons], notes=[*result.notes, note]
        )
    return result


def _restore(drill: Drill, target: AwsTarget, count: int) -> DrillResult:
    """Write ``count`` transactions through the API, restore the live table to a point after them
    into a new table, check every one is there unchanged, and reconcile restored with live."""
    region = drill.regions[0]
    client = drill.client({region: target.endpoints()[region]})
    written = [
        client.create_transaction(
            amount="1.00",
            currency="EUR",
            customer_id=f"drill-{drill.run_id}-restore",
            type="credit",
            reference=f"restore-{drill.run_id}-{n}",
            idempotency_key=f"restore-{drill.run_id}-{n}",
        )
        for n in range(count)
    ]
    client.close()
    time.sleep(2)
    restore_point = datetime.now(UTC)
    table = target.transactions_table()
    restored = f"{table}-restored-{drill.run_id}"
    started = drill.recorder.event(
        "restore-started", region, f"restore {table} to {restore_point.isoformat()}"
    )
    outcome = target.restore_table(region, table, restored, restore_point)
    drill.say(f"  restored to {restored} in {outcome.seconds:.0f} s")
    clock = time.monotonic()
    dynamodb = target.dynamodb(region)
    restored_items = table_items(dynamodb, restored)
    reconciliation = compare(restored, restored_items, table, table_items(dynamodb, table))
    missing, differing = _check_written(dynamodb, table, written, restored_items)
    drill.recorder.event("restore-finished", region, f"{restored} reconciled with {table}")
    restore = Restore(
        items=count,
        restore_seconds=round(outcome.seconds, 3),
        reconcile_seconds=round(time.monotonic() - clock, 3),
        total_seconds=round(drill.clock.now() - started, 3),
        only_in_restored=reconciliation.only_in_table,
        only_in_live=reconciliation.only_in_against,
        differing=reconciliation.differing,
        identical=reconciliation.identical,
        restore_point=restore_point.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        expected_missing_from_restore=missing,
        expected_differing=differing,
    )
    drill.notes.append(f"the restored table {restored} is left for inspection: delete it when done")
    return drill.restore_result(restore)


def _check_written(
    dynamodb: DynamoDBClient, table: str, written: list[Any], restored: dict[str, dict[str, Any]]
) -> tuple[int, int]:
    """How many of the drill's transactions the restore lacks, and how many it holds changed (each
    compared with the live item as written, read strongly consistent)."""
    missing = differing = 0
    for result in written:
        key = {"pk": {"S": result.transaction.id}}
        live = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        text = key_text(key, ["pk"])
        if text not in restored:
            missing += 1
        elif live is not None and restored[text] != live:
            differing += 1
    return missing, differing
