"""The drill's data model: samples and events, the per-second series, nearest-rank p99, the read-back
counts and every branch of the verdict's rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.config import load_config
from strongroom.drill.model import (
    CLIENT_RTO_GOAL_SECONDS,
    MAX_LISTED,
    RUNBOOKS,
    SCENARIOS,
    DrillResult,
    Event,
    ReadBack,
    Restore,
    Sample,
    judge,
    per_second,
    percentile,
    policy_of,
    runbooks_for,
)

BUDGET = 60.0


def figures(**overrides: Any) -> dict[str, Any]:
    """A passing region-outage drill's figures, for judge(), with ``overrides``."""
    base: dict[str, Any] = {
        "scenario": "region-outage",
        "consistency": "strong",
        "acknowledged_lost": 0,
        "duplicates": 0,
        "rto_seconds": 4.2,
        "dns_rto_seconds": 55.0,
        "rto_budget_seconds": BUDGET,
        "acknowledged_writes": 1200,
    }
    return {**base, **overrides}


def restore(**overrides: Any) -> Restore:
    base: dict[str, Any] = {
        "items": 500,
        "restore_seconds": 40.0,
        "reconcile_seconds": 2.5,
        "total_seconds": 42.5,
        "only_in_restored": 0,
        "only_in_live": 20,
        "differing": 0,
        "identical": 500,
        "restore_point": "2026-11-23T12:00:30Z",
        "expected_missing_from_restore": 0,
        "expected_differing": 0,
    }
    return Restore(**{**base, **overrides})


# --- samples, events, read-back -----------------------------------------------------------------


def test_a_sample_names_its_path() -> None:
    with pytest.raises(ValueError, match="path 'http'"):
        Sample(1.0, "http", True, 0.01)  # type: ignore[arg-type]


def test_an_event_has_a_known_kind() -> None:
    with pytest.raises(ValueError, match="event kind 'boom'"):
        Event(1.0, "boom")  # type: ignore[arg-type]


def test_sample_and_event_serialise_every_field() -> None:
    sample = Sample(1.5, "client", False, 5.0, None, None, "timeout")
    event = Event(20.0, "fault", "eu-west-1", "API and data stopped")

    assert sample.to_json() == {
        "t": 1.5,
        "path": "client",
        "ok": False,
        "latency": 5.0,
        "region": None,
        "status": None,
        "error": "timeout",
    }
    assert event.to_json() == {
        "t": 20.0,
        "kind": "fault",
        "region": "eu-west-1",
        "detail": "API and data stopped",
    }


def test_read_back_counts_everything_and_lists_the_first_fifty() -> None:
    lost = [f"txn-{i}" for i in range(70)]
    keys = [f"key-{i}" for i in range(3)]

    read_back = ReadBack.of(acknowledged=1000, lost_ids=lost, duplicate_keys=keys)

    assert (read_back.acknowledged, read_back.found, read_back.lost) == (1000, 930, 70)
    assert read_back.lost_ids == lost[:MAX_LISTED]
    assert (read_back.duplicates, read_back.duplicate_keys) == (3, keys)
    assert read_back.to_json()["lost_ids"] == lost[:MAX_LISTED]


# --- percentile and the per-second series -------------------------------------------------------


def test_p99_is_the_nearest_rank() -> None:
    assert percentile([float(v) for v in range(1, 101)], 99) == 99.0
    assert percentile([float(v) for v in range(1, 11)], 99) == 10.0  # rank ceil(9.9) = 10
    assert percentile([0.2], 99) == 0.2
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([], 99) is None


@pytest.mark.parametrize("q", [0, -1, 100.5])
def test_a_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)


def test_per_second_buckets_by_the_floor_of_t_and_fills_the_gaps() -> None:
    samples = [
        Sample(0.1, "client", True, 0.010),
        Sample(0.9, "client", True, 0.030),
        Sample(0.95, "client", False, 5.0, error="timeout"),
        Sample(2.0, "client", True, 0.020),
        Sample(1.5, "dns", True, 0.5),  # another path: not counted
    ]

    rows = per_second(samples, "client")

    assert rows == [
        {"second": 0, "successes": 2, "errors": 1, "p99_ms": 5000.0},
        {"second": 1, "successes": 0, "errors": 0, "p99_ms": None},
        {"second": 2, "successes": 1, "errors": 0, "p99_ms": 20.0},
    ]


def test_per_second_covers_the_seconds_asked_for_and_clamps_early_samples() -> None:
    rows = per_second([Sample(-0.2, "dns", True, 0.001)], "dns", seconds=3)

    assert [row["second"] for row in rows] == [0, 1, 2]
    assert rows[0]["successes"] == 1
    assert per_second([Sample(0.0, "client", True, 0.1)], "dns") == []


# --- the result ---------------------------------------------------------------------------------


def result(**overrides: Any) -> DrillResult:
    base: dict[str, Any] = {
        "scenario": "region-outage",
        "consistency": "strong",
        "target": "local",
        "time_scale": 1.0,
        "started_at": "2026-11-23T12:00:00Z",
        "duration_seconds": 4.0,
        "detection_seconds": 2.5,
        "rto_seconds": 1.2,
        "dns_rto_seconds": None,
        "rto_budget_seconds": BUDGET,
        "client_errors": 1,
        "acknowledged_writes": 3,
        "acknowledged_lost": 0,
        "duplicates": 0,
        "verdict": "pass",
        "reasons": ["checked"],
        "policy": {"rto_seconds": 60.0, "rpo_seconds": 0.0},
        "events": [Event(1.0, "fault", "eu-west-1")],
        "samples": [
            Sample(0.5, "client", True, 0.02, "eu-west-1", 201),
            Sample(1.5, "client", False, 5.0, error="timeout"),
            Sample(3.2, "client", True, 0.03, "eu-central-1", 201),
            Sample(0.0, "dns", True, 0.05, "eu-west-1", 200),
        ],
        "read_back": ReadBack.of(acknowledged=3, lost_ids=[]),
        "regions": ["eu-west-1", "eu-central-1"],
        "faulted_region": "eu-west-1",
    }
    return DrillResult(**{**base, **overrides})


def test_the_json_holds_every_field_in_order_then_the_series() -> None:
    document = result().to_json()

    assert list(document)[:5] == ["scenario", "consistency", "target", "time_scale", "started_at"]
    assert list(document)[-1] == "series"
    assert document["rto_goal_seconds"] == CLIENT_RTO_GOAL_SECONDS
    assert document["events"] == [{"t": 1.0, "kind": "fault", "region": "eu-west-1", "detail": ""}]
    assert document["read_back"]["found"] == 3
    assert document["restore"] is None
    json.dumps(document, allow_nan=False)  # serialisable as it is


def test_both_paths_of_the_series_span_the_same_seconds() -> None:
    series = result().to_json()["series"]

    assert [row["second"] for row in series["client"]] == [0, 1, 2, 3]
    assert [row["second"] for row in series["dns"]] == [0, 1, 2, 3]
    assert [row["errors"] for row in series["client"]] == [0, 1, 0, 0]


def test_a_result_without_dns_samples_has_an_empty_dns_series() -> None:
    samples = [Sample(0.5, "client", True, 0.02)]

    assert result(samples=samples).to_json()["series"] == {
        "client": [{"second": 0, "successes": 1, "errors": 0, "p99_ms": 20.0}],
        "dns": [],
    }


def test_the_policy_comes_from_the_configuration() -> None:
    strong = load_config(environ={})
    eventual = load_config(environ={}, consistency="eventual", replication_lag_seconds=2.5)

    assert policy_of(strong) == {"rto_seconds": 60.0, "rpo_seconds": 0.0, "expected_rpo_seconds": 0.0}
    assert policy_of(eventual)["expected_rpo_seconds"] == 2.5


def test_every_scenario_names_runbooks_under_docs_runbooks() -> None:
    assert set(RUNBOOKS) == set(SCENARIOS)
    for scenario in SCENARIOS:
        assert runbooks_for(scenario)
        assert all(
            path.startswith("docs/runbooks/") and path.endswith(".md") for path in runbooks_for(scenario)
        )
    assert runbooks_for("unknown") == []


# --- the verdict ------------------------------------------------------------------------------


def test_a_clean_drill_passes_and_says_what_was_checked() -> None:
    verdict, reasons = judge(**figures())

    assert verdict == "pass"
    assert reasons == [
        "every acknowledged write was found in the surviving Region (1200 of 1200)",
        "no idempotency key created a second transaction",
        "client RTO 4.2 s is within the goal of 15 s",
        "DNS RTO 55 s is within the budget of 60 s",
    ]


def test_a_lost_acknowledged_write_fails_a_strong_drill() -> None:
    verdict, reasons = judge(**figures(acknowledged_lost=2))

    assert verdict == "fail"
    assert reasons == [
        "2 of 1200 acknowledged writes were not found in the surviving Region: strong consistency "
        "promises none is lost (RPO 0)"
    ]


def test_lost_writes_under_eventual_consistency_are_the_measured_rpo_not_a_failure() -> None:
    verdict, reasons = judge(**figures(consistency="eventual", acknowledged_lost=7))

    assert verdict == "pass"
    assert any("7 of 1200 acknowledged writes" in r and "measured RPO" in r for r in reasons)


def test_the_measured_rpo_is_stated_when_an_eventual_drill_fails_for_another_reason() -> None:
    verdict, reasons = judge(**figures(consistency="eventual", acknowledged_lost=7, duplicates=1))

    assert verdict == "fail"
    assert reasons[0].startswith("1 idempotency keys created more than one transaction")
    assert "measured RPO" in reasons[1]
    assert len(reasons) == 2


@pytest.mark.parametrize("consistency", ["strong", "eventual"])
def test_a_duplicate_fails_the_drill_in_either_mode(consistency: str) -> None:
    verdict, reasons = judge(**figures(consistency=consistency, duplicates=3))

    assert verdict == "fail"
    assert any(r.startswith("3 idempotency keys created more than one transaction") for r in reasons)


@pytest.mark.parametrize("scenario", ["region-outage", "data-path-failure", "failback"])
def test_a_fault_without_a_client_success_after_it_fails(scenario: str) -> None:
    verdict, reasons = judge(**figures(scenario=scenario, rto_seconds=None))

    assert verdict == "fail"
    assert reasons == ["no client call succeeded after the fault: the goal is 15 s"]


def test_a_client_rto_above_the_goal_fails_and_at_the_goal_passes() -> None:
    assert judge(**figures(rto_seconds=15.01)) == (
        "fail",
        ["client RTO 15.01 s exceeds the goal of 15 s (docs/adr/0024)"],
    )
    assert judge(**figures(rto_seconds=CLIENT_RTO_GOAL_SECONDS))[0] == "pass"
    assert judge(**figures(rto_seconds=8.0, rto_goal_seconds=5.0))[0] == "fail"


@pytest.mark.parametrize("scenario", ["replication-lag", "restore"])
def test_scenarios_without_a_region_fault_have_no_client_rto_to_meet(scenario: str) -> None:
    extra = {"restore": restore()} if scenario == "restore" else {}

    verdict, reasons = judge(**figures(scenario=scenario, rto_seconds=None, **extra))

    assert verdict == "pass"
    assert not any("client RTO" in r or "client call" in r for r in reasons)


def test_a_dns_rto_above_the_budget_fails_at_the_budget_passes_and_unmeasured_is_not_judged() -> None:
    verdict, reasons = judge(**figures(dns_rto_seconds=61.0))
    assert verdict == "fail"
    assert reasons == ["DNS RTO 61 s exceeds the budget of 60 s (detection + TTL + retry, docs/adr/0025)"]

    assert judge(**figures(dns_rto_seconds=BUDGET))[0] == "pass"

    verdict, reasons = judge(**figures(dns_rto_seconds=None))
    assert verdict == "pass"
    assert not any("DNS" in r for r in reasons)


def test_a_restore_missing_acknowledged_items_fails() -> None:
    verdict, reasons = judge(
        **figures(scenario="restore", rto_seconds=None, restore=restore(expected_missing_from_restore=4))
    )

    assert verdict == "fail"
    assert reasons[0].startswith(
        "4 items acknowledged before the restore point (2026-11-23T12:00:30Z) are missing"
    )


def test_a_restore_with_changed_acknowledged_items_fails() -> None:
    verdict, reasons = judge(
        **figures(scenario="restore", rto_seconds=None, restore=restore(expected_differing=1))
    )

    assert verdict == "fail"
    assert reasons[0].startswith(
        "1 items acknowledged before the restore point were restored with other content"
    )


def test_a_faithful_restore_passes_and_says_so() -> None:
    verdict, reasons = judge(**figures(scenario="restore", rto_seconds=None, restore=restore()))

    assert verdict == "pass"
    assert (
        "the restored table holds every item acknowledged before 2026-11-23T12:00:30Z, unchanged"
        in reasons[-1]
    )


def test_a_restore_drill_without_restore_figures_fails() -> None:
    verdict, reasons = judge(**figures(scenario="restore", rto_seconds=None))

    assert verdict == "fail"
    assert reasons == ["the restore scenario produced no restore figures"]


def test_every_failure_is_listed() -> None:
    verdict, reasons = judge(
        **figures(acknowledged_lost=1, duplicates=1, rto_seconds=None, dns_rto_seconds=90.0)
    )

    assert verdict == "fail"
    assert len(reasons) == 4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("scenario", "meteor", "scenario 'meteor'"), ("consistency", "weak", "consistency 'weak'")],
)
def test_an_unknown_scenario_or_mode_is_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        judge(**figures(**{field: value}))


def test_a_restore_is_judged_by_its_restore_alone() -> None:
    from strongroom.drill.model import Restore, judge  # noqa: PLC0415

    restore = Restore(
        items=10,
        restore_seconds=1.0,
        reconcile_seconds=1.0,
        total_seconds=2.0,
        only_in_restored=1,
        only_in_live=1,
        differing=1,
        identical=7,
        restore_point="2026-11-30T00:00:00.000Z",
        expected_missing_from_restore=0,
        expected_differing=0,
    )
    verdict, reasons = judge(
        scenario="restore",
        consistency="strong",
        acknowledged_lost=0,
        duplicates=0,
        rto_seconds=None,
        dns_rto_seconds=None,
        rto_budget_seconds=60,
        acknowledged_writes=10,
        restore=restore,
    )
    assert verdict == "pass"
    assert not any("surviving Region" in reason or "idempotency key" in reason for reason in reasons)
