"""`strongroom drill`: rehearse a Region failure (or a restore) under load and measure what callers saw.

A drill starts the platform (local target), runs a steady, signed load of transaction creations
through `strongroom.client` at ``rate`` per second, each with its own idempotency key, plus a DNS
caller that follows the health-checked DNS answer to /health/deep; injects the scenario's fault in the
preferred Region; keeps going; then reads every acknowledged transaction back from the surviving
Region and counts what is missing and what was created twice.

Clocks: the client path runs in real time (its timeouts and breaker are real). The DNS path is a model
whose every timer (health-check interval, DNS TTL, the DNS caller's timeout and retry, the functions'
shared deep-health result) runs ``time_scale`` times faster, so its figures are multiplied back:
everything reported is in real seconds.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from strongroom.client import AllRegionsUnavailable, ApiProblem, StrongroomClient, StrongroomClientError
from strongroom.config import PlatformConfig
from strongroom.drill.model import (
    SCENARIOS,
    DrillResult,
    Event,
    EventKind,
    ReadBack,
    Restore,
    Sample,
    judge,
    policy_of,
    runbooks_for,
)
from strongroom.local.health_checker import probe
from strongroom.runtime.routes import deep_health_search_string

if TYPE_CHECKING:
    import botocore.credentials
    from mypy_boto3_dynamodb import DynamoDBClient

    from strongroom.local.health_checker import DnsAnswer, Transition


class HealthView(Protocol):
    transitions: list[Transition]

    def healthy(self, region: str) -> bool: ...


class DrillTarget(Protocol):
    """What a drill drives: the local platform (drill/local.py) or a deployed one (drill/aws_drill.py)."""

    name: str
    credentials: botocore.credentials.Credentials

    @property
    def checker(self) -> HealthView: ...

    def endpoints(self) -> dict[str, str]: ...

    def transactions_table(self) -> str: ...

    def inject(self, fault: str, region: str) -> None: ...

    def clear(self, region: str | None = None) -> None: ...

    def dns_answer(self, preference: list[str], ttl_seconds: float) -> DnsAnswer: ...

    def dynamodb(self, region: str) -> DynamoDBClient: ...


CUSTOMERS = 8
DNS_CALLS_PER_SECOND = 5.0
READ_BACK_THREADS = 8
# Real seconds the drill waits, after a fault clears, for held replication to reach the survivor.
CONVERGENCE_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class DrillOptions:
    scenario: str
    out: Path
    consistency: str
    target: str = "local"
    time_scale: float = 10.0
    duration: float = 40.0
    rate: float = 20.0
    region: str | None = None  # the Region to fault; default the preferred (first) one
    items: int = 10_000  # restore: transactions in the table before the restore point

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}")


class Clock:
    """Seconds since the drill started, on the monotonic clock."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.started_at = datetime.now(UTC)

    def now(self) -> float:
        return time.monotonic() - self.origin

    def at(self, monotonic: float) -> float:
        return monotonic - self.origin


@dataclass
class Recorder:
    clock: Clock
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key → transaction id
    acknowledged_in: dict[str, str] = field(default_factory=dict)  # key → the Region that answered
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sample(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def event(
        self, kind: EventKind, region: str | None = None, detail: str = "", t: float | None = None
    ) -> float:
        at = self.clock.now() if t is None else t
        with self._lock:
            self.events.append(Event(round(at, 3), kind, region, detail))
        return at

    def acknowledge(self, key: str, transaction_id: str, region: str) -> None:
        with self._lock:
            self.acknowledged[key] = transaction_id
            self.acknowledged_in[key] = region
            self.latest = (transaction_id, time.monotonic())

    latest: tuple[str, float] | None = None  # the last acknowledged transaction, and when


class _Background:
    """One daemon thread running ``_run`` until ``stop``, which waits for it to finish."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class LagProbe(_Background):
    """How long an acknowledged write takes to be readable in the other Region: every ``every``
    seconds the newest acknowledged transaction is read there until it appears (up to ``limit``)."""

    def __init__(
        self, reader: StrongroomClient, recorder: Recorder, every: float = 0.5, limit: float = 10.0
    ) -> None:
        self._reader = reader
        self._recorder = recorder
        self._every = every
        self._limit = limit
        self.delays: list[float] = []
        self.unseen = 0
        self.waiting_since: float | None = None  # a write being waited for when the probe stopped
        super().__init__("drill-lag-probe")

    def _run(self) -> None:
        probed: str | None = None
        while not self._stop.wait(self._every):
            latest = self._recorder.latest
            if latest is None or latest[0] == probed:
                continue
            probed, acknowledged_at = latest
            self.waiting_since = acknowledged_at
            while not self._stop.is_set():
                try:
                    self._reader.get_transaction(probed)
                    self.delays.append(time.monotonic() - acknowledged_at)
                    self.waiting_since = None
                    break
                except StrongroomClientError:
                    if time.monotonic() - acknowledged_at > self._limit:
                        self.unseen += 1
                        self.waiting_since = None
                        break
                    time.sleep(0.02)

    def summary(self, configured: float) -> str:
        waiting = ""
        if self.waiting_since is not None:
            unseen_for = time.monotonic() - self.waiting_since
            waiting = f"; the last write probed was still unseen after {unseen_for:.1f} s"
        if not self.delays:
            return "no replication delay could be observed" + waiting
        ordered = sorted(self.delays)
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"replication lag observed in the other Region: p50 {p50:.2f} s, p99 {p99:.2f} s, max "
            f"{ordered[-1]:.2f} s over {len(ordered)} writes (configured {configured:g} s); "
            f"{self.unseen} not seen within {self._limit:g} s{waiting}"
        )


def _failure_code(exc: Exception) -> str:
    if isinstance(exc, ApiProblem):
        return str(exc.status)
    if isinstance(exc, AllRegionsUnavailable):
        return "all-regions-unavailable"
    return type(exc).__name__


class ClientLoad:
    """Transaction creations at a steady rate, each in its own thread so a hung call never slows the
    rate (a real population of callers does not wait for each other)."""

    def __init__(
        self,
        client: StrongroomClient,
        recorder: Recorder,
        rate: float,
        run_id: str,
        region: str | None = None,
    ) -> None:
        self._client = client
        self._recorder = recorder
        self._rate = rate
        self._run_id = run_id
        self._region = region
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=256, thread_name_prefix="drill-call")
        self._thread = threading.Thread(target=self._schedule, name="drill-load", daemon=True)
        self.customers = [f"drill-{run_id}-c{i}" for i in range(CUSTOMERS)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def _schedule(self) -> None:
        start = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            due = start + sent / self._rate
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self._pool.submit(self._call, sent)
            sent += 1

    def key(self, number: int) -> str:
        return f"drill-{self._run_id}-{number:06d}"

    def _call(self, number: int) -> None:
        key = self.key(number)
        started = self._recorder.clock.now()
        try:
            result = self._client.create_transaction(
                amount="1.00",
                currency="EUR",
                customer_id=self.customers[number % CUSTOMERS],
                type="debit",
                reference=key,
                idempotency_key=key,
                region=self._region,
            )
        except StrongroomClientError as exc:
            latency = self._recorder.clock.now() - started
            status = exc.status if isinstance(exc, ApiProblem) else None
            self._recorder.sample(Sample(started, "client", False, latency, None, status, _failure_code(exc)))
            return
        latency = self._recorder.clock.now() - started
        self._recorder.acknowledge(key, result.transaction.id, result.region)
        self._recorder.sample(Sample(started, "client", True, latency, result.region, 201))


class DnsLoad(_Background):
    """A caller that follows the DNS answer: GET /health/deep on the Region DNS gives it, retrying
    after a failure as a well-behaved caller does. Its timers run ``time_scale`` times faster."""

    def __init__(
        self,
        resolve: Callable[[], str],
        endpoints: dict[str, str],
        recorder: Recorder,
        *,
        timeout: float,
        retry_after: float,
    ) -> None:
        self._resolve = resolve
        self._endpoints = endpoints
        self._recorder = recorder
        self._timeout = timeout
        self._retry_after = retry_after
        super().__init__("drill-dns")

    def _run(self) -> None:
        while not self._stop.is_set():
            region = self._resolve()
            started = self._recorder.clock.now()
            status: int | None = None
            error: str | None = None
            try:
                url = self._endpoints[region] + "/health/deep"
                with urllib.request.urlopen(url, timeout=self._timeout) as reply:  # noqa: S310 - loopback
                    status = reply.status
                    reply.read()
            except urllib.error.HTTPError as exc:
                status, error = exc.code, str(exc.code)
            except (urllib.error.URLError, OSError) as exc:
                error = "timeout" if "timed out" in str(exc) else "connection-failed"
            latency = self._recorder.clock.now() - started
            ok = status == 200
            self._recorder.sample(Sample(started, "dns", ok, latency, region, status, error))
            self._stop.wait(1 / DNS_CALLS_PER_SECOND if ok else self._retry_after)


def first_success_after(samples: list[Sample], path: str, t: float) -> float | None:
    """When the first call started at or after ``t`` on ``path`` succeeded (its end), or None."""
    ends = [s.t + s.latency for s in samples if s.path == path and s.ok and s.t >= t]
    return min(ends) if ends else None


class Drill:
    """One drill against one target; :meth:`run` returns the result (the report is written by the CLI)."""

    def __init__(
        self, options: DrillOptions, config: PlatformConfig, target: DrillTarget, say: Callable[[str], None]
    ) -> None:
        self.options = options
        self.config = config
        self.target = target
        self.say = say
        self.regions = [r.name for r in config.regions]
        self.faulted = options.region or self.regions[0]
        if self.faulted not in self.regions:
            raise ValueError(
                f"--region {self.faulted} is not a configured Region ({', '.join(self.regions)})"
            )
        self.survivor = next(r for r in self.regions if r != self.faulted)
        self.run_id = uuid.uuid4().hex[:8]
        self.clock = Clock()
        self.recorder = Recorder(self.clock)
        self.notes: list[str] = []
        self.fault_at: float | None = None

    # --- pieces --------------------------------------------------------------------------------------

    def client(self, endpoints: dict[str, str] | None = None) -> StrongroomClient:
        return StrongroomClient(endpoints or self._preferring_faulted(), self.target.credentials)

    def _preferring_faulted(self) -> dict[str, str]:
        endpoints = self.target.endpoints()
        order = [self.faulted] + [r for r in self.regions if r != self.faulted]
        return {region: endpoints[region] for region in order}

    def _dns_load(self) -> DnsLoad:
        scale = self.options.time_scale
        health = self.config.health_check
        answer = self.target.dns_answer(list(self._preferring_faulted()), health.dns_ttl_seconds / scale)
        return DnsLoad(
            answer.resolve,
            self.target.endpoints(),
            self.recorder,
            timeout=4.0 / scale,
            retry_after=health.client_retry_seconds / scale,
        )

    def inject(self, fault: str) -> None:
        self.target.inject(fault, self.faulted)
        self.fault_at = self.recorder.event("fault", self.faulted, fault)
        self.say(f"  {self.clock.now():6.1f} s  fault: {fault} in {self.faulted}")

    def clear(self) -> float:
        self.target.clear(self.faulted)
        at = self.recorder.event("cleared", self.faulted, "fault cleared")
        self.say(f"  {self.clock.now():6.1f} s  fault cleared in {self.faulted}")
        return at

    def _checker_events(self) -> None:
        for change in self.target.checker.transitions:
            if change.region != self.faulted:
                continue
            at = self.clock.at(change.at)
            if not change.healthy:
                self.recorder.event("detected", change.region, f"health check failed ({change.reason})", at)
                ttl = self.config.health_check.dns_ttl_seconds / self.options.time_scale
                self.recorder.event("dns-failover", change.region, "cached DNS answers expired", at + ttl)
            else:
                self.recorder.event("recovered", change.region, "health check passes again", at)

    def read_back(self, keys: dict[str, str]) -> tuple[list[str], int, list[str]]:
        """Ids of ``keys`` missing from the survivor, and the keys that created two transactions."""
        survivor = self.client({self.survivor: self.target.endpoints()[self.survivor]})
        missing: list[str] = []
        lock = threading.Lock()

        def check(transaction_id: str) -> None:
            try:
                survivor.get_transaction(transaction_id)
            except ApiProblem as exc:
                if exc.status != 404:
                    raise
                with lock:
                    missing.append(transaction_id)

        with ThreadPoolExecutor(max_workers=READ_BACK_THREADS) as pool:
            list(pool.map(check, keys.values()))
        per_key: dict[str, int] = {}
        for customer in [f"drill-{self.run_id}-c{i}" for i in range(CUSTOMERS)]:
            cursor: str | None = None
            while True:
                page = survivor.list_customer_transactions(customer, limit=100, cursor=cursor)
                for item in page.items:
                    per_key[item.reference] = per_key.get(item.reference, 0) + 1
                cursor = page.next_cursor
                if cursor is None:
                    break
        duplicates = sorted(key for key, count in per_key.items() if count > 1)
        survivor.close()
        return sorted(missing), len(duplicates), duplicates

    # --- scenarios -----------------------------------------------------------------------------------

    def run(self) -> DrillResult:
        if self.options.scenario == "restore":
            return self._restore()
        return self._under_load()

    def warm_up(self, timeout: float = 30.0) -> None:
        """Before the clock starts: each Region answers its deep health, and the health checker has
        seen every Region healthy (a cold first probe must not read as a failure in the report)."""
        deadline = time.monotonic() + timeout
        for region, url in self.target.endpoints().items():
            while probe(url + "/health/deep", 10, deep_health_search_string(region)) is not None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer /health/deep within {timeout:g} s")
                time.sleep(0.2)
        while not all(self.target.checker.healthy(region) for region in self.regions):
            if time.monotonic() > deadline:
                raise RuntimeError("the health checker did not see every Region healthy")
            time.sleep(0.2)
        self.clock = Clock()
        self.recorder = Recorder(self.clock)

    def _under_load(self) -> DrillResult:
        self.warm_up()
        cleared_at = self._load_through_the_fault()
        self._checker_events()
        samples = list(self.recorder.samples)
        assert self.fault_at is not None
        rto = first_success_after(samples, "client", self.fault_at)
        if rto is not None:
            self.recorder.event("failover", self.survivor, "first client call answered after the fault", rto)
        dns_end = first_success_after(samples, "dns", self.fault_at)
        scale = self.options.time_scale
        detected = [e.t for e in self.recorder.events if e.kind == "detected"]
        detection = (detected[0] - self.fault_at) * scale if detected else None
        dns_rto = (dns_end - self.fault_at) * scale if dns_end is not None else None
        if cleared_at is not None:
            self._failback(samples, cleared_at)
        acknowledged = dict(self.recorder.acknowledged)
        missing, duplicates, duplicate_keys = self.read_back(acknowledged)
        if cleared_at is None:
            self._after_recovery(missing)
        read_back = ReadBack.of(
            acknowledged=len(acknowledged), lost_ids=missing, duplicate_keys=duplicate_keys
        )
        return self._result(
            rto=(rto - self.fault_at) if rto is not None else None,
            detection=detection,
            dns_rto=dns_rto,
            acknowledged=len(acknowledged),
            lost=len(missing),
            duplicates=duplicates,
            read_back=read_back,
        )

    def _load_through_the_fault(self) -> float | None:
        """Run the load, inject the fault (and, for failback, clear it); when it was cleared."""
        scenario, duration = self.options.scenario, self.options.duration
        fault = {"data-path-failure": "data-path"}.get(scenario, "region-outage")
        client = self.client()
        load = ClientLoad(client, self.recorder, self.options.rate, self.run_id)
        dns = self._dns_load()
        load.start()
        dns.start()
        probe: LagProbe | None = None
        if self.options.consistency == "eventual":
            reader = self.client({self.survivor: self.target.endpoints()[self.survivor]})
            probe = LagProbe(reader, self.recorder)
            probe.start()
        # A failback needs the client's breaker cool-down (15 s) after the Region returns to show it.
        fault_time = duration * {"failback": 0.2, "replication-lag": 0.3}.get(scenario, 0.4)
        time.sleep(fault_time)
        if scenario == "replication-lag":  # replication pauses (FIS's pause-replication), the lag grows
            self.target.inject("isolation", self.faulted)
            self.recorder.event(
                "note", self.faulted, "replication paused: the Region is cut off from the other"
            )
            self.say(
                f"  {self.clock.now():6.1f} s  replication paused between {self.faulted} and {self.survivor}"
            )
            time.sleep(duration * 0.3)
        if probe is not None:  # the lag before the fault: what the fault will cost
            probe.stop()
            self.notes.append(probe.summary(self.config.replication_lag_seconds))
        self.inject(fault)
        cleared_at: float | None = None
        if scenario == "failback":
            time.sleep(duration * 0.25)
            cleared_at = self.clear()
        time.sleep(max(0.0, duration - self.clock.now()))
        load.stop()
        dns.stop()
        client.close()
        return cleared_at

    def _failback(self, samples: list[Sample], cleared_at: float) -> None:
        back = [
            s
            for s in samples
            if s.path == "client" and s.ok and s.t >= cleared_at and s.region == self.faulted
        ]
        if not back:
            self.notes.append(f"no client call was answered by {self.faulted} again before the drill ended")
            return
        self.recorder.event(
            "failback", self.faulted, "client traffic answered by the Region again", back[0].t
        )
        self.notes.append(
            f"client traffic returned to {self.faulted} {back[0].t - cleared_at:.1f} s after it came "
            "back (the client's circuit breaker tries a Region again after its cool-down)"
        )

    def _after_recovery(self, missing: list[str]) -> None:
        """Clear the fault after the read-back and see whether held writes reach the survivor."""
        self.clear()
        if not missing:
            return
        survivor = self.client({self.survivor: self.target.endpoints()[self.survivor]})
        deadline = time.monotonic() + CONVERGENCE_WAIT_SECONDS + self.config.replication_lag_seconds
        remaining = list(missing)
        while remaining and time.monotonic() < deadline:
            still: list[str] = []
            for transaction_id in remaining:
                try:
                    survivor.get_transaction(transaction_id)
                except ApiProblem:
                    still.append(transaction_id)
            remaining = still
            if remaining:
                time.sleep(0.5)
        survivor.close()
        delivered = len(missing) - len(remaining)
        self.notes.append(
            f"after {self.faulted} returned, {delivered} of the {len(missing)} writes missing from "
            f"{self.survivor} during the outage reached it (replication held, then resumed); "
            f"{len(remaining)} still missing after {CONVERGENCE_WAIT_SECONDS:.0f} s"
        )

    def _restore(self) -> DrillResult:
        from strongroom.drill.restore import restore_drill  # noqa: PLC0415

        return self.restore_result(restore_drill(self, self.options.items))

    def restore_result(self, restore: Restore) -> DrillResult:
        return self._result(
            rto=None,
            detection=None,
            dns_rto=None,
            acknowledged=restore.items,
            lost=restore.expected_missing_from_restore,
            duplicates=0,
            read_back=None,
            restore=restore,
        )

    def _result(
        self,
        *,
        rto: float | None,
        detection: float | None,
        dns_rto: float | None,
        acknowledged: int,
        lost: int,
        duplicates: int,
        read_back: ReadBack | None,
        restore: Restore | None = None,
    ) -> DrillResult:
        options = self.options
        budget = float(self.config.health_check.rto_budget_seconds())
        verdict, reasons = judge(
            scenario=options.scenario,
            consistency=options.consistency,
            acknowledged_lost=lost,
            duplicates=duplicates,
            rto_seconds=rto,
            dns_rto_seconds=dns_rto,
            rto_budget_seconds=budget,
            acknowledged_writes=acknowledged,
            restore=restore,
        )
        samples = sorted(self.recorder.samples, key=lambda s: s.t)
        self.notes.append(
            f"the DNS path's timers ran {options.time_scale:g}x faster; its figures are in real seconds "
            "(the timeline's axis is the drill's own clock)"
        )
        return DrillResult(
            scenario=options.scenario,
            consistency=options.consistency,
            target=options.target,
            time_scale=options.time_scale,
            started_at=self.clock.started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            duration_seconds=round(self.clock.now(), 3),
            detection_seconds=None if detection is None else round(detection, 3),
            rto_seconds=None if rto is None else round(rto, 3),
            dns_rto_seconds=None if dns_rto is None else round(dns_rto, 3),
            rto_budget_seconds=budget,
            client_errors=sum(1 for s in samples if s.path == "client" and not s.ok),
            acknowledged_writes=acknowledged,
            acknowledged_lost=lost,
            duplicates=duplicates,
            verdict=verdict,
            reasons=reasons,
            policy=policy_of(self.config),
            events=sorted(self.recorder.events, key=lambda e: e.t),
            samples=samples,
            read_back=read_back,
            restore=restore,
            regions=self.regions,
            faulted_region=None if options.scenario == "restore" else self.faulted,
            runbooks=runbooks_for(options.scenario),
            notes=self.notes,
        )
