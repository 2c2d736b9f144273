"""The cdk-nag gate, from the machine-readable report: every pack ran, nothing unacknowledged, and every
acknowledgement has a written reason that is in the report and in the template it applies to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.infra.compliance import PACKS, REPORT


@pytest.fixture(scope="module")
def report(synthesized: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((synthesized.outdir / REPORT).read_text())
    return loaded


def test_every_pack_ran_and_found_nothing_unacknowledged(report: dict[str, Any]) -> None:
    assert set(report["packs"]) == set(PACKS)
    for name, pack in report["packs"].items():
        assert pack["ran"], name
        assert (pack["errors"], pack["warnings"], pack["violations"]) == (0, 0, []), name


def test_cdk_validation_report_has_no_open_violation(synthesized: Any) -> None:
    validation = json.loads((synthesized.outdir / "validation-report.json").read_text())
    for plugin in validation["pluginReports"]:
        assert plugin["violations"] == [], plugin["pluginName"]


def test_every_acknowledgement_has_a_reason(report: dict[str, Any]) -> None:
    acknowledgements = report["acknowledgements"]
    assert acknowledgements, "the report must list the acknowledgements"
    for entry in acknowledgements:
        assert len(entry["reason"].split()) >= 8, entry
        assert any(entry["rule"].startswith(f"{pack}-") for pack in PACKS), entry


def test_acknowledgements_are_recorded_in_the_templates_with_the_same_reasons(
    synthesized: Any, report: dict[str, Any]
) -> None:
    recorded: dict[tuple[str, str], str] = {}
    for stack in synthesized.stacks:
        for resource in synthesized.template(stack.name)["Resources"].values():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                assert rule["reason"].strip(), rule
                recorded[(rule["id"], rule["reason"])] = stack.name
    for entry in report["acknowledgements"]:
        assert (entry["rule"], entry["reason"]) in recorded, entry


def test_checkov_skips_in_templates_carry_reasons(synthesized: Any) -> None:
    skips = []
    for stack in synthesized.stacks:
        for resource in synthesized.template(stack.name)["Resources"].values():
            skips += resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    assert skips
    for skip in skips:
        assert skip["id"].startswith("CKV_")
        assert len(skip["comment"].split()) >= 8, skip


def test_every_acknowledgement_answers_a_real_finding(synthesized: Any, report: dict[str, Any]) -> None:
    """Build the same app with acknowledgements off and run each pack on it directly: each
    acknowledgement must match a finding at (or under) the construct it is attached to. An
    acknowledgement that answers nothing is stale and hides the next real finding of that rule."""
    from aws_cdk import App  # noqa: PLC0415

    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.compliance import register_packs  # noqa: PLC0415
    from strongroom.infra.constructs._props import ACKNOWLEDGE_CONTEXT  # noqa: PLC0415

    raw_app = build_app(
        outdir=str(synthesized.outdir / "raw"), compliance=False, context={ACKNOWLEDGE_CONTEXT: False}
    )
    packs = register_packs(App())  # fresh packs, not registered on raw_app: run them by hand
    findings: set[tuple[str, str]] = set()
    for recorded in packs:
        result = recorded.pack.validate_scope(raw_app)
        for violation in result.violations:
            findings |= {(violation.rule_name, r.construct_path or "") for r in violation.violating_resources}

    stale = [
        entry
        for entry in report["acknowledgements"]
        if not any(
            rule == entry["rule"] and (path == entry["path"] or path.startswith(entry["path"] + "/"))
            for rule, path in findings
        )
    ]
    assert findings, "with acknowledgements off, the packs must report the acknowledged findings"
    assert stale == []
