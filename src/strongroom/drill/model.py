"""What a drill measured and whether it passed: samples, events, read-back and restore figures, the
verdict's rule (:func:`judge`) and the per-second series the report draws.

Plain data, no I/O: the runner, the local and AWS targets and the report share these shapes, and
``to_json()`` is what `drill.json` holds. Every time is in real seconds since the drill's start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from strongroom.config import PlatformConfig

Scenario = Literal["region-outage", "data-path-failure", "replication-lag", "failback", "restore"]
SCENARIOS: tuple[Scenario, ...] = get_args(Scenario)
# Scenarios that take a Region's API or data path away: callers must be answered elsewhere in time.
FAULT_SCENARIOS = frozenset({"region-outage", "data-path-failure", "failback"})

SamplePath = Literal["client", "dns"]
PATHS: tuple[SamplePath, ...] = get_args(SamplePath)

EventKind = Literal[
    "fault",
    "detected",
    "failover",
    "dns-failover",
    "recovered",
    "cleared",
    "failback",
    "restore-started",
    "restore-finished",
    "note",
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

Verdict = Literal["pass", "fail"]

# The client's goal from a Region failing to a call answered elsewhere (docs/adr/0024).
CLIENT_RTO_GOAL_SECONDS = 15.0
# Lists of ids in a result keep this many: enough to start an investigation, small enough to read.
MAX_LISTED = 50

# The runbooks an operator follows for what each scenario rehearses (docs/runbooks/).
RUNBOOKS: Mapping[str, tuple[str, ...]] = {
    "region-outage": ("docs/runbooks/region-evacuation.md", "docs/runbooks/reconciliation.md"),
    "data-path-failure": ("docs/runbooks/region-evacuation.md", "docs/runbooks/reconciliation.md"),
    "replication-lag": ("docs/runbooks/replication-lag-incident.md", "docs/runbooks/reconciliation.md"),
    "failback": ("docs/runbooks/region-evacuation.md", "docs/runbooks/failback.md"),
    "restore": ("docs/runbooks/restore.md", "docs/runbooks/reconciliation.md"),
}


def runbooks_for(scenario: str) -> list[str]:
    """The repository-relative runbook paths for ``scenario`` (none for an unknown one)."""
    return list(RUNBOOKS.get(scenario, ()))


def policy_of(config: PlatformConfig) -> dict[str, float]:
    """The resilience objectives a drill is held to (``ResiliencePolicy``), and the RPO the configured
    consistency mode promises (``PlatformConfig.rpo_seconds``: 0 under strong, the lag under eventual)."""
    return {
        "rto_seconds": float(config.resilience.rto_seconds),
        "rpo_seconds": float(config.resilience.rpo_seconds),
        "expected_rpo_seconds": config.rpo_seconds(),
    }


@dataclass(frozen=True, slots=True)
class Sample:
    """One call of the load: through the client (``path="client"``) or the DNS model (``"dns"``).
    ``t`` is when it started; ``error`` is a short outcome such as "timeout", "refused", "503" or
    "all-regions-unavailable" (None when ``ok``)."""

    t: float
    path: SamplePath
    ok: bool
    latency: float
    region: str | None = None  # the Region that answered
    status: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise ValueError(f"path {self.path!r} is not one of {', '.join(PATHS)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "path": self.path,
            "ok": self.ok,
            "latency": self.latency,
            "region": self.region,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to the platform or was observed, at ``t`` seconds since the start."""

    t: float
    kind: EventKind
    region: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind {self.kind!r} is not one of {', '.join(EVENT_KINDS)}")

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "kind": self.kind, "region": self.region, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ReadBack:
    """Every acknowledged transaction read back from the surviving Region. ``lost`` and ``duplicates``
    are full counts; ``lost_ids`` and ``duplicate_keys`` keep the first :data:`MAX_LISTED`."""

    acknowledged: int
    found: int
    lost: int
    lost_ids: list[str] = field(default_factory=list)
    duplicates: int = 0
    duplicate_keys: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls, *, acknowledged: int, lost_ids: Iterable[str], duplicate_keys: Iterable[str] = ()
    ) -> ReadBack:
        """From every lost id and every idempotency key that created more than one transaction:
        counts them all, keeps the first :data:`MAX_LISTED` of each."""
        lost = list(lost_ids)
        duplicated = list(duplicate_keys)
        return cls(
            acknowledged=acknowledged,
            found=acknowledged - len(lost),
            lost=len(lost),
            lost_ids=lost[:MAX_LISTED],
            duplicates=len(duplicated),
            duplicate_keys=duplicated[:MAX_LISTED],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "found": self.found,
            "lost": self.lost,
            "lost_ids": list(self.lost_ids[:MAX_LISTED]),
            "duplicates": self.duplicates,
            "duplicate_keys": list(self.duplicate_keys[:MAX_LISTED]),
        }


@dataclass(frozen=True, slots=True)
class Restore:
    """A point-in-time restore to a new table and its reconciliation with the live one. The two
    ``expected_*`` counts are about items acknowledged before ``restore_point``: both must be 0."""

    items: int
    restore_seconds: float
    reconcile_seconds: float
    total_seconds: float
    only_in_restored: int
    only_in_live: int
    differing: int
    identical: int
    restore_point: str  # ISO 8601 UTC
    expected_missing_from_restore: int  # acknowledged before the restore point, absent when restored
    expected_differing: int  # acknowledged before the restore point, restored with other content

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class DrillResult:
    """Everything one drill measured, its verdict (from :func:`judge`) and where to read next.

    ``rto_seconds`` runs from the fault to the first client success after it; ``dns_rto_seconds`` from
    the fault to the health checker's failover plus the TTL (the DNS path's model); both None when not
    reached or not measured. ``runbooks`` are repository-relative paths."""

    scenario: str
    consistency: str
    target: str
    time_scale: float
    started_at: str  # ISO 8601 UTC
    duration_seconds: float
    detection_seconds: float | None
    rto_seconds: float | None
    dns_rto_seconds: float | None
    rto_budget_seconds: float
    rto_goal_seconds: float = CLIENT_RTO_GOAL_SECONDS
    client_errors: int
    acknowledged_writes: int
    acknowledged_lost: int
    duplicates: int
    verdict: Verdict
    reasons: list[str]
    policy: dict[str, float]
    events: list[Event] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    read_back: ReadBack | None = None
    restore: Restore | None = None
    regions: list[str] = field(default_factory=list)
    faulted_region: str | None = None
    runbooks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data, in field order, with a per-second ``series`` for each path
        (both paths span the same seconds, so they line up)."""
        document = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        document["series"] = self.series()
        return document

    def series(self) -> dict[str, list[dict[str, Any]]]:
        """:func:`per_second` for each path, over the same seconds (a path without samples has none)."""
        seconds = _span(self.samples)
        return {path: per_second(self.samples, path, seconds=seconds) for path in PATHS}


def _plain(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _span(samples: Iterable[Sample]) -> int:
    """How many whole seconds the samples cover, from 0 to the last sample's second."""
    return max((_second(s.t) + 1 for s in samples), default=0)


def _second(t: float) -> int:
    return max(0, math.floor(t))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100): the smallest value with at least q% of the
    values at or below it. None for no values."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is outside (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[rank - 1]


def per_second(samples: Iterable[Sample], path: str, *, seconds: int | None = None) -> list[dict[str, Any]]:
    """One row per second (floor of ``t``) from 0 for the samples of ``path``: ``second``, ``successes``,
    ``errors`` and ``p99_ms``, the nearest-rank p99 latency in milliseconds of every call started in
    that second, answered or not (None when there was none). Covers at least ``seconds`` seconds, and
    always up to the path's last sample; no samples on the path give no rows."""
    chosen = [s for s in samples if s.path == path]
    if not chosen:
        return []
    span = max(_span(chosen), seconds or 0)
    successes = [0] * span
    errors = [0] * span
    latencies: list[list[float]] = [[] for _ in range(span)]
    for sample in chosen:
        second = _second(sample.t)
        if sample.ok:
            successes[second] += 1
        else:
            errors[second] += 1
        latencies[second].append(sample.latency)
    rows = []
    for second in range(span):
        p99 = percentile(latencies[second], 99)
        rows.append(
            {
                "second": second,
                "successes": successes[second],
                "errors": errors[second],
                "p99_ms": None if p99 is None else round(p99 * 1000, 3),
            }
        )
    return rows


# --- the verdict ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Finding:
    passed: bool | None  # None: stated in the reasons, not judged
    text: str


def judge(
    *,
    scenario: str,
    consistency: str,
    acknowledged_lost: int,
    duplicates: int,
    rto_seconds: float | None,
    dns_rto_seconds: float | None,
    rto_budget_seconds: float,
    rto_goal_seconds: float = CLIENT_RTO_GOAL_SECONDS,
    acknowledged_writes: int | None = None,
    restore: Restore | None = None,
) -> tuple[Verdict, list[str]]:
    """The drill's verdict and its reasons, from the figures alone (call it before the result exists).

    The drill fails when any of these holds:

    - strong consistency and ``acknowledged_lost > 0``: MRSC promises an RPO of 0;
    - ``duplicates > 0`` in any mode: a retry with the same Idempotency-Key must replay, never create
      a second transaction (docs/adr/0002);
    - a scenario that takes a Region's API or data away (region-outage, data-path-failure, failback)
      and ``rto_seconds`` is None (no client call succeeded after the fault) or above
      ``rto_goal_seconds`` (the client's goal, docs/adr/0024);
    - ``dns_rto_seconds`` was measured and exceeds ``rto_budget_seconds`` (docs/adr/0025);
    - a restore (required for the restore scenario) lacks, or holds changed, items acknowledged
      before its restore point.

    Under eventual consistency lost acknowledged writes do not fail the drill: they are the measured
    RPO, and the reasons say how many. ``reasons`` lists why the drill failed when it did, otherwise
    what was checked; the RPO statement is in both.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r} is not one of {', '.join(SCENARIOS)}")
    if consistency not in ("strong", "eventual"):
        raise ValueError(f"consistency {consistency!r} is not one of strong, eventual")
    # A restore drill has no surviving Region to read back and no retried keys: its restore judges it.
    under_load = scenario != "restore"
    findings = [
        _lost_writes(consistency, acknowledged_lost, acknowledged_writes) if under_load else None,
        _duplicates(duplicates) if under_load else None,
        _client_rto(scenario, rto_seconds, rto_goal_seconds),
        _dns_rto(dns_rto_seconds, rto_budget_seconds),
        *_restore(scenario, restore),
    ]
    failed = [f.text for f in findings if f is not None and f.passed is False]
    if failed:
        stated = [f.text for f in findings if f is not None and f.passed is None]
        return "fail", failed + stated
    return "pass", [f.text for f in findings if f is not None]


def _seconds(value: float) -> str:
    """Seconds to the hundredth, without trailing zeros: 15.01 must not read as 15."""
    return f"{round(value, 2):g} s"


def _lost_writes(consistency: str, lost: int, acknowledged: int | None) -> _Finding:
    of = f" of {acknowledged}" if acknowledged is not None else ""
    if consistency == "strong":
        if lost > 0:
            return _Finding(
                False,
                f"{lost}{of} acknowledged writes were not found in the surviving Region: "
                "strong consistency promises none is lost (RPO 0)",
            )
        found = f" ({acknowledged} of {acknowledged})" if acknowledged is not None else ""
        return _Finding(True, f"every acknowledged write was found in the surviving Region{found}")
    if lost > 0:
        return _Finding(
            None,
            f"{lost}{of} acknowledged writes were not found in the surviving Region: the measured RPO "
            "of eventual consistency, which does not fail the drill",
        )
    return _Finding(None, "no acknowledged write was lost under eventual consistency")


def _duplicates(duplicates: int) -> _Finding:
    if duplicates > 0:
        return _Finding(
            False,
            f"{duplicates} idempotency keys created more than one transaction: a retry must replay, "
            "never create a second (docs/adr/0002)",
        )
    return _Finding(True, "no idempotency key created a second transaction")


def _client_rto(scenario: str, rto: float | None, goal: float) -> _Finding | None:
    if scenario not in FAULT_SCENARIOS:
        return None
    if rto is None:
        return _Finding(False, f"no client call succeeded after the fault: the goal is {_seconds(goal)}")
    if rto > goal:
        return _Finding(
            False, f"client RTO {_seconds(rto)} exceeds the goal of {_seconds(goal)} (docs/adr/0024)"
        )
    return _Finding(True, f"client RTO {_seconds(rto)} is within the goal of {_seconds(goal)}")


def _dns_rto(dns_rto: float | None, budget: float) -> _Finding | None:
    if dns_rto is None:
        return None
    if dns_rto > budget:
        return _Finding(
            False,
            f"DNS RTO {_seconds(dns_rto)} exceeds the budget of {_seconds(budget)} "
            "(detection + TTL + retry, docs/adr/0025)",
        )
    return _Finding(True, f"DNS RTO {_seconds(dns_rto)} is within the budget of {_seconds(budget)}")


def _restore(scenario: str, restore: Restore | None) -> list[_Finding]:
    if restore is None:
        if scenario == "restore":
            return [_Finding(False, "the restore scenario produced no restore figures")]
        return []
    findings = []
    if restore.expected_missing_from_restore > 0:
        findings.append(
            _Finding(
                False,
                f"{restore.expected_missing_from_restore} items acknowledged before the restore point "
                f"({restore.restore_point}) are missing from the restored table",
            )
        )
    if restore.expected_differing > 0:
        findings.append(
            _Finding(
                False,
                f"{restore.expected_differing} items acknowledged before the restore point were restored "
                "with other content than was acknowledged",
            )
        )
    if not findings:
        findings.append(
            _Finding(
                True,
                f"the restored table holds every item acknowledged before {restore.restore_point}, "
                f"unchanged ({restore.items} items restored)",
            )
        )
    return findings
