"""The local Route 53 model: thresholds both ways, the time scale, and the DNS answer with its TTL."""

from __future__ import annotations

from strongroom.config import HealthCheckConfig
from strongroom.local.health_checker import DnsAnswer, HealthChecker, Transition

REGIONS = {"eu-west-1": "http://a/health/deep", "eu-central-1": "http://b/health/deep"}


class FakeProbe:
    def __init__(self) -> None:
        self.failing: dict[str, str] = {}
        self.calls: list[tuple[str, float]] = []

    def __call__(self, url: str, timeout: float, search: str) -> str | None:
        assert search.startswith('"status":"pass","region":"eu-')
        self.calls.append((url, timeout))
        return self.failing.get(url)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def checker(threshold: int = 2, scale: float = 1.0) -> tuple[HealthChecker, FakeProbe, list[Transition]]:
    probe, seen = FakeProbe(), []
    config = HealthCheckConfig(interval_seconds=10, failure_threshold=threshold)
    made = HealthChecker(REGIONS, config, scale, on_change=seen.append, probe=probe)
    return made, probe, seen


def test_a_region_fails_over_only_after_threshold_consecutive_failures() -> None:
    made, probe, seen = checker(threshold=3)
    probe.failing[REGIONS["eu-west-1"]] = "timeout"
    made.check_once()
    made.check_once()
    assert made.healthy("eu-west-1")
    assert not seen
    made.check_once()
    assert not made.healthy("eu-west-1")
    assert [(t.region, t.healthy, t.reason) for t in seen] == [("eu-west-1", False, "timeout")]
    assert made.healthy("eu-central-1")


def test_one_pass_between_failures_resets_the_count() -> None:
    made, probe, seen = checker(threshold=2)
    url = REGIONS["eu-west-1"]
    for failing in (True, False, True, False, True):
        probe.failing.pop(url, None)
        if failing:
            probe.failing[url] = "status-503"
        made.check_once()
    assert made.healthy("eu-west-1")
    assert not seen
    assert made.view()["eu-west-1"]["lastResult"] == "status-503"


def test_a_failed_region_is_healthy_again_after_threshold_passes() -> None:
    made, probe, seen = checker(threshold=2)
    probe.failing[REGIONS["eu-west-1"]] = "connection-failed"
    made.check_once()
    made.check_once()
    probe.failing.clear()
    made.check_once()
    assert not made.healthy("eu-west-1")
    made.check_once()
    assert made.healthy("eu-west-1")
    assert [t.healthy for t in seen] == [False, True]
    view = made.view()["eu-west-1"]
    assert view["healthy"] is True
    assert view["consecutivePasses"] == 2
    assert view["checks"] == 4


def test_the_time_scale_shortens_interval_and_timeout() -> None:
    made, probe, _ = checker(scale=10)
    assert made.interval == 1.0
    made.check_once()
    assert {timeout for _, timeout in probe.calls} == {0.4}


def test_dns_answers_the_preferred_region_until_it_fails_then_the_next_after_the_ttl() -> None:
    made, probe, _ = checker(threshold=1)
    clock = Clock()
    answer = DnsAnswer(made, ["eu-west-1", "eu-central-1"], ttl_seconds=30, clock=clock)
    assert answer.resolve() == "eu-west-1"
    probe.failing[REGIONS["eu-west-1"]] = "timeout"
    made.check_once()
    clock.now += 29
    assert answer.resolve() == "eu-west-1"  # a cached answer outlives the failover by up to the TTL
    clock.now += 1
    assert answer.resolve() == "eu-central-1"


def test_dns_fails_open_when_every_region_is_unhealthy() -> None:
    made, probe, _ = checker(threshold=1)
    probe.failing.update(dict.fromkeys(REGIONS.values(), "timeout"))
    made.check_once()
    assert DnsAnswer(made, ["eu-central-1", "eu-west-1"], ttl_seconds=1).resolve() == "eu-central-1"
