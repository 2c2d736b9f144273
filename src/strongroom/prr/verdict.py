"""From findings to controls to a verdict: which controls each finding bears on, each control's
status, and the report document (report.json) with its summary, frameworks and checklist
(docs/adr/0038-strongroom-check.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from strongroom.prr import gates
from strongroom.prr.attestations import EXPIRED, VALID
from strongroom.prr.controls import AREAS, CHECKOV, FRAMEWORKS, GATE, TEST, Check, Control
from strongroom.prr.findings import (
    ACKNOWLEDGED,
    ATTESTATION,
    BLOCKING,
    ERROR,
    FAIL,
    INFO,
    KIND_OF_TOOL,
    NOT_JUDGED,
    PASS,
    RAN,
    T_ATTESTATION,
    T_CFN_LINT,
    WARNING,
    Finding,
    Input,
    ToolRun,
)


def _index(controls: Sequence[Control]) -> dict[tuple[str, str], list[str]]:
    by_check: dict[tuple[str, str], list[str]] = {}
    for control in controls:
        for check in control.checks:
            by_check.setdefault((check.kind, check.id), []).append(control.id)
    return by_check


def base_rule(rule: str) -> str:
    """A finding-qualified id (``AwsSolutions-IAM5[Action::s3:*]``) is a finding of its rule."""
    return rule.split("[", 1)[0]


# cdk-nag's NIST, PCI and HIPAA packs apply the same rule implementations (cdk-nag's rules/<service>/
# <Rule>) under their own prefixes: a control naming one of them names the others.
EQUIVALENT_PACKS = ("NIST.800.53.R5", "PCI.DSS.321", "HIPAA.Security")


def same_rules(rule: str) -> set[str]:
    """The rule ids that are this finding's rule: itself, and its twins in the equivalent packs."""
    base = base_rule(rule)
    for pack in EQUIVALENT_PACKS:
        if base.startswith(f"{pack}-"):
            suffix = base.removeprefix(f"{pack}-")
            return {f"{twin}-{suffix}" for twin in EQUIVALENT_PACKS}
    return {base}


def controls_of(finding: Finding, by_check: Mapping[tuple[str, str], list[str]]) -> list[str]:
    if finding.tool == T_ATTESTATION:  # an attestation names its control
        return [finding.resource]
    kind = KIND_OF_TOOL.get(finding.tool, GATE)
    found = [c for rule in sorted(same_rules(finding.rule)) for c in by_check.get((kind, rule), [])]
    if finding.tool == T_CFN_LINT and finding.severity == BLOCKING:
        found += by_check.get((GATE, gates.TEMPLATE_REJECTED), [])
    return list(dict.fromkeys(found))


@dataclass(slots=True)
class Judged:
    control: Control
    status: str
    reason: str
    checks: list[dict[str, Any]]
    findings: list[str]


NOT_RUN = "not-run"
AWAITING = "awaiting the organization's attestation (prr/attestations.yaml):"


def check_status(
    check: Check, of_check: Sequence[Finding], ran_kinds: set[str], tests: Mapping[str, bool] | None
) -> str:
    """One check's status: a test from the JUnit report; a tool's rule from its findings, if the tool ran."""
    if check.kind == TEST:
        if tests is None or check.id not in tests:
            return NOT_RUN
        return PASS if tests[check.id] else FAIL
    if check.kind not in ran_kinds:
        return NOT_RUN
    if any(f.acknowledged is None for f in of_check):
        return FAIL
    return ACKNOWLEDGED if of_check else PASS


def judge(
    control: Control,
    findings: Sequence[Finding],
    ran_kinds: set[str],
    tests: Mapping[str, bool] | None,
    attested: Mapping[str, str] | None = None,
) -> Judged:
    """A control's status from its checks: fail on any finding not acknowledged or a named test that
    failed, acknowledged when every finding is, pass when at least one of its checks ran and found
    nothing, not-judged when none of its checks could run here."""
    mine = [f for f in findings if control.id in f.controls]
    checks = []
    for check in control.checks:
        of_check = [
            f for f in mine if KIND_OF_TOOL.get(f.tool, GATE) == check.kind and check.id in same_rules(f.rule)
        ]
        status = check_status(check, of_check, ran_kinds, tests)
        checks.append({"kind": check.kind, "id": check.id, "status": status, "findings": len(of_check)})
    awaiting = False
    if control.attestation is not None:
        state = (attested or {}).get(control.id)
        awaiting = state != VALID
        status = PASS if state == VALID else FAIL if state == EXPIRED else NOT_RUN
        expired = sum(1 for f in mine if f.tool == T_ATTESTATION)
        checks.append({"kind": ATTESTATION, "id": control.id, "status": status, "findings": expired})
    open_findings = sum(1 for f in mine if f.acknowledged is None)
    failed_tests = sum(1 for c in checks if c["kind"] == TEST and c["status"] == FAIL)
    ran = sum(1 for c in checks if c["status"] != NOT_RUN)
    if open_findings or failed_tests:
        parts = [f"{open_findings} finding(s) not acknowledged"] if open_findings else []
        parts += [f"{failed_tests} test(s) failed"] if failed_tests else []
        status, reason = FAIL, "; ".join(parts)
    elif awaiting:
        status, reason = NOT_JUDGED, f"{AWAITING} {control.attestation}"
    elif mine:
        status, reason = ACKNOWLEDGED, f"{len(mine)} finding(s), each accepted with a reason"
    elif ran:
        status, reason = PASS, f"{ran} check(s) ran and found nothing"
    else:
        status, reason = NOT_JUDGED, _why_not_judged(control)
    return Judged(control, status, reason, checks, [f.id for f in mine])


def _why_not_judged(control: Control) -> str:
    if not control.checks:
        return "no automated check" + (f": {control.status_note}" if control.status_note else "")
    if all(c.kind == TEST for c in control.checks):
        return "judged by tests only: pass --junit with the test run's report"
    return "none of its checks could run on this input"


def build_report(
    controls: Sequence[Control],
    inputs: Sequence[Input],
    findings: list[Finding],
    tools: Sequence[ToolRun],
    tests: Mapping[str, bool] | None,
    *,
    self_check: bool,
    not_judgeable: Mapping[str, str] | None = None,
    attested: Mapping[str, str] | None = None,
    version: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    by_check = _index(controls)
    findings = _deduplicated(findings)
    for n, finding in enumerate(findings, start=1):
        finding.id = f"F{n:04d}"
        finding.controls = controls_of(finding, by_check)
    ran_kinds = {KIND_OF_TOOL[t.name] for t in tools if t.status == RAN and t.name in KIND_OF_TOOL}
    missing_kinds = {KIND_OF_TOOL[t.name] for t in tools if t.status != RAN and t.name in KIND_OF_TOOL}
    judged = [judge(c, findings, ran_kinds, tests, attested) for c in controls]
    not_judgeable = dict(not_judgeable or {})
    for j in judged:
        if j.control.id in not_judgeable and j.status in {PASS, NOT_JUDGED}:
            j.status, j.reason = NOT_JUDGED, not_judgeable[j.control.id]
    reasons: list[str] = []
    blocking = [f for f in findings if f.severity == BLOCKING and f.acknowledged is None]
    failing = [j.control.id for j in judged if j.control.mandatory and j.status == FAIL]
    unjudged_by_tool = [
        j.control.id
        for j in judged
        if j.control.mandatory
        and j.status == NOT_JUDGED
        and any(c.kind in missing_kinds for c in j.control.checks)
    ]
    unautomated = [
        j.control.id for j in judged if self_check and j.control.mandatory and j.status == NOT_JUDGED
    ]
    if blocking:
        reasons.append(f"{len(blocking)} blocking finding(s): CloudFormation would refuse the template")
    if failing:
        reasons.append(f"{len(failing)} mandatory control(s) fail: {', '.join(failing)}")
    if unjudged_by_tool:
        reasons.append(
            f"{len(unjudged_by_tool)} mandatory control(s) could not be judged because a tool was missing "
            f"or failed: {', '.join(unjudged_by_tool)}"
        )
    awaiting = [j.control.id for j in judged if j.reason.startswith(AWAITING) and j.control.id in unautomated]
    leftover = [c for c in unautomated if c not in unjudged_by_tool and c not in awaiting]
    if awaiting:
        reasons.append(
            f"{len(awaiting)} mandatory control(s) await the organization's attestation "
            f"(prr/attestations.yaml): {', '.join(awaiting)}"
        )
    if leftover:
        reasons.append(
            f"{len(leftover)} mandatory control(s) of Strongroom are not judged: {', '.join(leftover)}"
        )
    verdict = "NO-GO" if reasons else "GO"
    if not reasons:
        reasons.append("no blocking finding, and every mandatory control judged here passes or is accepted")
    counts = {s: sum(1 for j in judged if j.status == s) for s in (PASS, FAIL, ACKNOWLEDGED, NOT_JUDGED)}
    mandatory = [j for j in judged if j.control.mandatory]
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "tool": "strongroom check",
        "version": version,
        "generatedAt": stamp,
        "verdict": verdict,
        "verdictReasons": reasons,
        "inputs": [
            {"name": i.name, "kind": i.kind, "path": str(i.path), "resources": i.resources} for i in inputs
        ],
        "tools": [
            {"name": t.name, "status": t.status, "detail": t.detail, "seconds": t.seconds} for t in tools
        ],
        "summary": {
            "controls": counts,
            "mandatory": {
                "total": len(mandatory),
                **{
                    s: sum(1 for j in mandatory if j.status == s)
                    for s in (PASS, FAIL, ACKNOWLEDGED, NOT_JUDGED)
                },
            },
            "findings": len(findings),
            "acknowledged": sum(1 for f in findings if f.acknowledged is not None),
            "blocking": len(blocking),
        },
        "controls": [_control_entry(j) for j in judged],
        "findings": [_finding_entry(f) for f in findings],
        "unmapped": [f.id for f in findings if not f.controls],
        "frameworks": _frameworks(judged),
        "notJudged": [{"control": j.control.id, "why": j.reason} for j in judged if j.status == NOT_JUDGED],
        "checklist": _checklist(judged),
    }


def _deduplicated(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (tool, rule, template, resource, message); an acknowledged copy wins."""
    kept: dict[tuple[str, str, str, str, str], Finding] = {}
    for finding in findings:
        key = finding.key()
        if key not in kept or (finding.acknowledged is not None and kept[key].acknowledged is None):
            kept[key] = finding
    order = {BLOCKING: 0, ERROR: 1, WARNING: 2, INFO: 3}
    return sorted(kept.values(), key=lambda f: (f.acknowledged is not None, order.get(f.severity, 4),
                                                 f.template, f.logical_id, f.rule))  # fmt: skip


def _control_entry(j: Judged) -> dict[str, Any]:
    c = j.control
    return {
        "id": c.id,
        "area": c.area,
        "areaTitle": AREAS.get(c.area, c.area),
        "requirement": c.requirement,
        "service": c.service,
        "mandatory": c.mandatory,
        "status": j.status,
        "statusReason": j.reason,
        "checks": j.checks,
        "findings": j.findings,
        "evidence": list(c.evidence),
        "enforcement": list(c.enforcement),
        "frameworks": {key: list(ids) for key, ids in c.frameworks.items()},
    }


def _finding_entry(f: Finding) -> dict[str, Any]:
    ack = f.acknowledged
    return {
        "id": f.id,
        "rule": f.rule,
        "tool": f.tool,
        "severity": f.severity,
        "resource": f.resource or f.logical_id,
        "template": f.template,
        "logicalId": f.logical_id,
        "message": f.message,
        "controls": f.controls,
        "acknowledged": None
        if ack is None
        else {
            "reason": ack.reason,
            "exception": ack.exception,
            "source": ack.source,
            "reviewBy": ack.review_by,
        },
    }


def _frameworks(judged: Sequence[Judged]) -> list[dict[str, Any]]:
    out = []
    for key, (title, _) in FRAMEWORKS.items():
        mapped = [j for j in judged if j.control.frameworks.get(key)]
        ids = sorted({i for j in mapped for i in j.control.frameworks.get(key, ())})
        out.append(
            {
                "key": key,
                "title": title,
                "controls": len(mapped),
                **{
                    s: sum(1 for j in mapped if j.status == s) for s in (PASS, FAIL, ACKNOWLEDGED, NOT_JUDGED)
                },
                "ids": ids,
            }
        )
    return out


def _checklist(judged: Sequence[Judged]) -> list[dict[str, Any]]:
    return [
        {
            "area": area,
            "title": title,
            "items": [
                {
                    "control": j.control.id,
                    "requirement": j.control.requirement,
                    "status": j.status,
                    "mandatory": j.control.mandatory,
                }
                for j in judged
                if j.control.area == area
            ],
        }
        for area, title in AREAS.items()
    ]


def terraform_not_judgeable(controls: Sequence[Control]) -> dict[str, str]:
    """Controls a Terraform plan cannot show: those whose checks are only cdk-nag, PRR, cfn-lint,
    Strongroom's template gates or tests (checkov's Terraform checks are what judges a plan)."""
    out = {}
    for control in controls:
        kinds = {c.kind for c in control.checks}
        if CHECKOV not in kinds:
            out[control.id] = (
                "cannot be judged from a Terraform plan: its checks run on CloudFormation or in tests"
            )
    return out
