"""Route 53 in local mode: a health checker on each Region's /health/deep, and the DNS answer it drives.

The checker applies the deployed health checks' rules, with the same values from config
(docs/adr/0025-health-check-timing-and-the-rto-budget.md): every ``interval`` it requests the
Region's deep-health path; a probe passes on a 2xx or 3xx status whose body contains the search
string, within the timeout; a healthy Region becomes unhealthy after ``failure_threshold``
consecutive failed probes, and an unhealthy one healthy again after as many
consecutive passes. Each change is recorded with its time: the moment DNS callers would be failed over.

:class:`DnsAnswer` is what a latency record set answers a caller near the preferred Region: that
Region while it is healthy, else the next healthy one (and, as Route 53 does when every record is
unhealthy, the preferred one anyway), cached by the caller for the record's TTL.

``time_scale`` runs every timer N times faster (interval, timeout, TTL), so a drill sees in seconds
what takes minutes on AWS; everything reported is converted back to real seconds.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from strongroom.config import HealthCheckConfig
from strongroom.runtime.routes import deep_health_search_string

# Route 53 waits this long for a connection and an answer.
PROBE_TIMEOUT_SECONDS = 4.0
# Route 53 reads at most this much of the body looking for the search string.
SEARCH_WINDOW_BYTES = 5120


def probe(url: str, timeout: float, search: str) -> str | None:
    """None when ``url`` answers as a healthy Region does; else why not (a short code)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - loopback http
            body = reply.read(SEARCH_WINDOW_BYTES)
            status = reply.status
    except urllib.error.HTTPError as exc:
        return f"status-{exc.code}"
    except TimeoutError:
        return "timeout"
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return "timeout" if isinstance(reason, TimeoutError) else "connection-failed"
    if not 200 <= status < 400:
        return f"status-{status}"
    if search.encode() not in body:
        return "string-not-found"
    return None


@dataclass
class RegionHealth:
    """The checker's view of one Region."""

    region: str
    healthy: bool = True
    consecutive_failures: int = 0
    consecutive_passes: int = 0
    checks: int = 0
    last_result: str = "not-checked"
    last_checked_at: str | None = None
    changed_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "consecutiveFailures": self.consecutive_failures,
            "consecutivePasses": self.consecutive_passes,
            "checks": self.checks,
            "lastResult": self.last_result,
            "lastCheckedAt": self.last_checked_at,
            "changedAt": self.changed_at,
        }


@dataclass(frozen=True, slots=True)
class Transition:
    """A Region's health changed: ``at`` is the checker's monotonic clock, ``wall`` the UTC time."""

    region: str
    healthy: bool
    at: float
    wall: str
    reason: str


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class HealthChecker:
    """Probe each Region in ``targets`` (Region → its deep-health URL) in a background thread."""

    targets: Mapping[str, str]
    config: HealthCheckConfig
    time_scale: float = 1.0
    on_change: Callable[[Transition], None] | None = None
    clock: Callable[[], float] = time.monotonic
    probe: Callable[[str, float, str], str | None] = probe
    regions: dict[str, RegionHealth] = field(init=False)
    transitions: list[Transition] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.regions = {name: RegionHealth(name) for name in self.targets}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        """Seconds between probes of one Region, on this machine's clock."""
        return self.config.interval_seconds / self.time_scale

    @property
    def timeout(self) -> float:
        return min(PROBE_TIMEOUT_SECONDS, self.config.interval_seconds) / self.time_scale

    def check_once(self) -> None:
        """Probe every Region once (concurrently, as Route 53's checkers do) and apply the threshold."""
        results: dict[str, str | None] = {}

        def run(region: str, url: str) -> None:
            results[region] = self.probe(url, self.timeout, deep_health_search_string(region))

        threads = [threading.Thread(target=run, args=item, daemon=True) for item in self.targets.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for region, failure in results.items():
            self._record(region, failure)

    def _record(self, region: str, failure: str | None) -> None:
        threshold = self.config.failure_threshold
        changed: Transition | None = None
        with self._lock:
            health = self.regions[region]
            health.checks += 1
            health.last_result = failure or "pass"
            health.last_checked_at = _now_text()
            if failure is None:
                health.consecutive_passes += 1
                health.consecutive_failures = 0
                flips = not health.healthy and health.consecutive_passes >= threshold
            else:
                health.consecutive_failures += 1
                health.consecutive_passes = 0
                flips = health.healthy and health.consecutive_failures >= threshold
            if flips:
                health.healthy = not health.healthy
                health.changed_at = health.last_checked_at
                changed = Transition(
                    region, health.healthy, self.clock(), health.changed_at, health.last_result
                )
                self.transitions.append(changed)
        if changed is not None and self.on_change is not None:
            self.on_change(changed)

    def view(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: health.to_json() for name, health in self.regions.items()}

    def healthy(self, region: str) -> bool:
        with self._lock:
            return self.regions[region].healthy

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="health-checker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_due = self.clock()
        while not self._stop.is_set():
            self.check_once()
            next_due += self.interval
            self._stop.wait(max(0.0, next_due - self.clock()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class HealthSource(Protocol):
    def healthy(self, region: str) -> bool: ...


class DnsAnswer:
    """What a caller resolving the API's name gets: the latency-routed Region, cached for the TTL."""

    def __init__(
        self,
        checker: HealthSource,
        preference: list[str],
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checker = checker
        self._preference = list(preference)
        self._ttl = ttl_seconds
        self._clock = clock
        self._cached: tuple[str, float] | None = None

    def resolve(self) -> str:
        now = self._clock()
        if self._cached is not None and now < self._cached[1]:
            return self._cached[0]
        healthy = [region for region in self._preference if self._checker.healthy(region)]
        # Route 53 answers as if all were healthy when none is (it fails open).
        region = healthy[0] if healthy else self._preference[0]
        self._cached = (region, now + self._ttl)
        return region
