"""The AWS drill's view of Route 53 (drill/aws_drill.py): health-check status changes become the same
transitions the local checker records, and the DNS answer follows them."""

from __future__ import annotations

from typing import Any

from strongroom.drill.aws import HealthView
from strongroom.drill.aws_drill import AwsDrillTarget, Route53Watcher


class FakeTarget:
    def __init__(self) -> None:
        self.healthy_checkers = {"eu-west-1": 3, "eu-central-1": 3}
        self.started: list[tuple[str, str]] = []
        self.waited: list[str] = []
        self.cleared: list[str | None] = []
        self.credentials: Any = object()

    def health_view(self, region: str) -> HealthView:
        return HealthView(region, f"hc-{region}", 3, self.healthy_checkers[region])

    def find_template(self, region: str, scenario: str) -> str:
        return f"EXT-{scenario}"

    def template_tags(self, region: str, template_id: str) -> dict[str, str]:
        return {"strongroom:scenario": template_id}

    def inject(self, scenario: str, region: str) -> str:
        self.started.append((scenario, region))
        return "EXP1"

    def wait_running(self, experiment_id: str) -> None:
        self.waited.append(experiment_id)

    def clear(self, region: str | None = None) -> list[str]:
        self.cleared.append(region)
        return []


def test_a_health_check_that_fails_and_recovers_is_recorded_once_each_way() -> None:
    target = FakeTarget()
    ticks = iter(range(100))
    watcher = Route53Watcher(target, ["eu-west-1", "eu-central-1"], 10, clock=lambda: float(next(ticks)))  # type: ignore[arg-type]
    watcher.poll_once()
    assert watcher.transitions == []
    target.healthy_checkers["eu-west-1"] = 0
    watcher.poll_once()
    watcher.poll_once()
    assert not watcher.healthy("eu-west-1")
    assert watcher.healthy("eu-central-1")
    target.healthy_checkers["eu-west-1"] = 3
    watcher.poll_once()
    assert [(t.region, t.healthy) for t in watcher.transitions] == [("eu-west-1", False), ("eu-west-1", True)]
    assert "0 of 3 checkers" in watcher.transitions[0].reason


def test_a_fault_starts_the_scenarios_experiment_and_waits_until_it_runs() -> None:
    target = FakeTarget()
    watcher = Route53Watcher(target, ["eu-west-1"], 10)  # type: ignore[arg-type]
    drill_target = AwsDrillTarget(target, watcher)  # type: ignore[arg-type]
    drill_target.inject("data-path", "eu-west-1")
    drill_target.inject("isolation", "eu-west-1")  # the replication-lag drill pauses replication first
    drill_target.inject("region-outage", "eu-west-1")
    assert target.started == [
        ("data-path-failure", "eu-west-1"),
        ("replication-lag", "eu-west-1"),
        ("region-outage", "eu-west-1"),
    ]
    assert target.waited == ["EXP1"] * 3
    drill_target.clear("eu-west-1")
    assert target.cleared == ["eu-west-1"]
    target.healthy_checkers["eu-west-1"] = 0
    watcher.poll_once()
    answer = drill_target.dns_answer(["eu-west-1"], ttl_seconds=0)
    assert answer.resolve() == "eu-west-1"  # all unhealthy: Route 53 fails open


def test_the_peer_stop_tag_names_each_other_regions_alarm() -> None:
    from strongroom.drill.aws_drill import peer_alarms  # noqa: PLC0415

    tags = {"strongroom:peer-stop-alarms": "eu-central-1/sr-eu-central-1-fis-callers-failing  bad"}
    assert peer_alarms(tags) == [("eu-central-1", "sr-eu-central-1-fis-callers-failing")]
    assert peer_alarms({}) == []


class FakeAlarms(FakeTarget):
    def __init__(self) -> None:
        super().__init__()
        self.in_alarm: set[tuple[str, str]] = set()

    def alarm_in_alarm(self, region: str, alarm_name: str) -> bool:
        return (region, alarm_name) in self.in_alarm


def test_the_guard_stops_the_experiment_when_callers_fail_in_the_region_that_took_over() -> None:
    from strongroom.drill.aws_drill import PeerGuard  # noqa: PLC0415

    target = FakeAlarms()
    guard = PeerGuard(target, [("eu-central-1", "guard")], "eu-west-1")  # type: ignore[arg-type]
    assert not guard.check_once()
    assert target.cleared == []
    target.in_alarm.add(("eu-central-1", "guard"))
    assert guard.check_once()
    assert target.cleared == ["eu-west-1"]
    assert guard.stopped_by == ["eu-central-1/guard"]
