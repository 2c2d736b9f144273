"""The cdk-nag gate, from the machine-readable report: every pack ran, nothing unacknowledged, every
acknowledgement comes from policies/exceptions.json with its reason (in the report and in the
template it applies to), each answers a finding, and no other acknowledgement, skip or ignore
survives synthesis."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, AspectPriority, Aspects, CfnResource, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from strongroom.infra import exceptions
from strongroom.infra.compliance import (
    PACK_TYPES,
    REPORT,
    ApplyExceptions,
    ExceptionGate,
    acknowledgements,
)
from strongroom.infra.exceptions import ACKNOWLEDGEABLE, CDK_NAG, CFN_LINT, CHECKOV, PACKS
from strongroom.prr import Policy, ProductionReadinessChecks

from .conftest import ROUTED, RawBuild


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


def test_every_acknowledgement_has_a_reason_from_a_registry_entry(report: dict[str, Any]) -> None:
    registry = {entry.id: entry for entry in exceptions.load()}
    acknowledgements = report["acknowledgements"]
    assert acknowledgements, "the report must list the acknowledgements"
    for entry in acknowledgements:
        assert any(entry["rule"].startswith(f"{pack}-") for pack in ACKNOWLEDGEABLE), entry
        assert entry["exception"] in registry, entry
        assert entry["reason"] == registry[entry["exception"]].stated_reason, entry


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


def test_the_report_lists_where_each_registry_entry_applied(report: dict[str, Any]) -> None:
    summary = report["exceptions"]
    assert summary["registry"] == "policies/exceptions.json"
    assert summary["entries"] == len(exceptions.load())
    applications = summary["applications"]
    for tool in exceptions.TOOLS:
        assert summary["applied"][tool] == sum(1 for a in applications if a["tool"] == tool) > 0, tool
    assert {a["rule"] for a in applications if a["tool"] == CDK_NAG} == {
        a["rule"] for a in report["acknowledgements"]
    }
    assert all(a["template"].endswith(".template.json") and a["logicalId"] for a in applications)


# --- every exception answers a finding, and every finding has one ----------------------------------


@pytest.fixture(scope="module")
def raw_nag_findings(raw_build: RawBuild) -> set[tuple[str, str, str]]:
    """What each pack finds on the app with every optional resource and no acknowledgement: the five
    packs synthesis runs, and the PRR pack `strongroom check` runs beside them."""
    from strongroom.config import load_config  # noqa: PLC0415

    found = set()
    prr = ProductionReadinessChecks(verbose=True, policy=Policy.of(load_config(environ={}, **ROUTED)))
    for pack in [kind(verbose=True) for kind in PACK_TYPES] + [prr]:
        for violation in pack.validate_scope(raw_build.app).violations:
            found |= {
                (CDK_NAG, violation.rule_name, r.construct_path or "") for r in violation.violating_resources
            }
    return found


def test_every_cdk_nag_exception_answers_a_finding_and_every_finding_has_one(
    raw_build: RawBuild, raw_nag_findings: set[tuple[str, str, str]]
) -> None:
    """An acknowledgement that suppresses nothing is stale and would hide the next real finding of its
    rule there; a finding without one fails synthesis."""
    applied = [a for a in raw_build.exceptions.applied() if a.tool == CDK_NAG]
    assert raw_nag_findings, "without the registry, the packs must report the findings it answers"
    assert exceptions.unanswered(applied, raw_nag_findings) == []
    # PRR findings left open fail their controls in `strongroom check`, not synthesis
    # (docs/adr/0038-strongroom-check.md): only the five packs' findings must each have an entry.
    synth_findings = {f for f in raw_nag_findings if not f[1].startswith("PRR-")}
    assert exceptions.uncovered(applied, synth_findings) == []


def test_every_registry_entry_and_pattern_is_used(raw_build: RawBuild) -> None:
    recorder = raw_build.exceptions
    assert recorder.problems == []
    assert exceptions.unused(recorder.entries, recorder.applied(), recorder.matched) == []


# --- the applier and the gate, on small apps ---------------------------------------------------------


def _entry(**fields: Any) -> exceptions.Entry:
    document = {
        "id": "test-entry",
        "resources": ["*/Named"],
        "reason": "A reason long enough to say why this finding is accepted here.",
        "adr": "docs/adr/0015-compliance-gates.md",
        "owner": "platform",
        "review_by": "2027-05-31",
        **fields,
    }
    (entry,) = exceptions.parse({"exceptions": [document]})
    return entry


def _gated_app(
    entries: list[exceptions.Entry], *, apply: bool = True
) -> tuple[App, ApplyExceptions, ExceptionGate]:
    app = App()
    applier = ApplyExceptions(entries, apply=apply)
    Aspects.of(app).add(applier, priority=AspectPriority.MUTATING)
    gate = ExceptionGate(app, applier)
    Validations.of(app).add_plugins(gate)
    return app, applier, gate


def test_the_registry_applies_each_tool_to_the_resources_it_names_and_no_other() -> None:
    # GIVEN an entry for the resource at */Named, and an app with that bucket and another
    entry = _entry(cdk_nag=["AwsSolutions-S1"], checkov=["CKV_AWS_18"], cfn_lint=["W3005"])
    app, applier, gate = _gated_app([entry])
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    s3.CfnBucket(stack, "Named")
    s3.CfnBucket(stack, "Other")
    # WHEN it is synthesized
    assembly = app.synth()
    resources = assembly.get_stack_by_name("Small").template["Resources"]
    # THEN the named bucket carries the acknowledgement, the skip and the ignore, with the reason
    assert [(a["path"], a["rule"], a["reason"]) for a in acknowledgements(app)] == [
        ("Small/Named", "AwsSolutions-S1", entry.stated_reason)
    ]
    assert resources["Named"]["Metadata"]["checkov"] == {
        "skip": [{"id": "CKV_AWS_18", "comment": entry.stated_reason}]
    }
    assert resources["Named"]["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["W3005"]}}
    # AND the other bucket carries nothing, and the gate found nothing outside the registry
    assert "Metadata" not in resources["Other"]
    assert gate.findings == []
    assert {(a.tool, a.rule, a.template, a.logical_id) for a in applier.applied()} == {
        (CDK_NAG, "AwsSolutions-S1", "Small.template.json", "Named"),
        (CHECKOV, "CKV_AWS_18", "Small.template.json", "Named"),
        (CFN_LINT, "W3005", "Small.template.json", "Named"),
    }


def test_recording_only_applies_nothing() -> None:
    app, applier, _ = _gated_app([_entry(cdk_nag=["AwsSolutions-S1"], checkov=["CKV_AWS_18"])], apply=False)
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    s3.CfnBucket(stack, "Named")
    resources = app.synth().get_stack_by_name("Small").template["Resources"]
    assert "Metadata" not in resources["Named"]
    assert acknowledgements(app) == []
    assert len(applier.applied()) == 2


def test_a_finding_pattern_acknowledges_only_the_policys_own_matching_findings() -> None:
    # GIVEN a policy with three wildcard resources, and an entry for one of them by pattern
    entry = _entry(
        cdk_nag=["AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:<AWS::AccountId>:log-group:*]"],
        resources=["*/Named/Resource"],
    )
    app, applier, _ = _gated_app([entry])
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    iam.ManagedPolicy(
        stack,
        "Named",
        statements=[
            iam.PolicyStatement(
                actions=["logs:DescribeLogGroups"],
                resources=[f"arn:aws:logs:{stack.region}:{stack.account}:log-group:*"],
            ),
            iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::bucket/*"]),
        ],
    )
    # WHEN it is synthesized THEN the pattern expanded to exactly the id cdk-nag reports for that resource
    app.synth()
    assert [a.rule for a in applier.applied()] == [
        "AwsSolutions-IAM5[Resource::arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:*]"
    ]
    # AND cdk-nag, run on the app, still reports the other two wildcards and not the acknowledged one
    pack = PACK_TYPES[0]()  # AwsSolutions
    reported = {
        v.rule_name
        for v in pack.validate_scope(app).violations
        if v.rule_name.startswith("AwsSolutions-IAM5")
    }
    assert reported == {
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]",
    }


def test_exceptions_outside_the_registry_fail_synthesis() -> None:
    # GIVEN a construct that acknowledges, skips and ignores findings itself
    app, _, gate = _gated_app([])
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    bucket = s3.Bucket(stack, "Bucket")
    Validations.of(bucket).acknowledge(
        Acknowledgment(id="AwsSolutions-S1", reason="typed next to the resource")
    )
    cfn = bucket.node.default_child
    assert isinstance(cfn, CfnResource)
    cfn.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_18", "comment": "typed next to the resource"}]})
    cfn.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
    # WHEN the app is synthesized THEN it fails, naming each one
    with pytest.raises(RuntimeError, match="outside the registry"):
        app.synth()
    assert len(gate.findings) == 3
    assert any(
        "Small/Bucket: AwsSolutions-S1 is acknowledged outside the registry" in f for f in gate.findings
    )
    assert any("checkov CKV_AWS_18" in f for f in gate.findings)
    assert any("cfn-lint W3005" in f for f in gate.findings)


def test_a_finding_pattern_on_a_resource_it_cannot_expand_fails_synthesis() -> None:
    # GIVEN an IAM5 finding pattern whose resource pattern names a bucket, not a policy
    app, applier, gate = _gated_app([_entry(cdk_nag=["AwsSolutions-IAM5[Resource::*]"])])
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    s3.CfnBucket(stack, "Named")
    # WHEN the app is synthesized THEN it fails, saying what to narrow
    with pytest.raises(RuntimeError, match="can be expanded on IAM policies only"):
        app.synth()
    assert [problem for problem, _ in applier.problems] == gate.findings
    assert "narrow its resource patterns" in gate.findings[0]


def test_the_gates_cannot_be_acknowledged_away() -> None:
    # GIVEN a construct that acknowledges the exception gate's own rule, and a checkov skip it refuses
    app, _, gate = _gated_app([])
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    bucket = s3.CfnBucket(stack, "Bucket")
    bucket.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_18", "comment": "typed next to the resource"}]})
    Validations.of(stack).acknowledge(
        Acknowledgment(id=f"strongroom-exceptions::{ExceptionGate.RULE}", reason="silence the gate")
    )
    # WHEN the app is synthesized THEN it still fails: on the skip, and on the acknowledgement itself
    with pytest.raises(RuntimeError, match="outside the registry"):
        app.synth()
    assert gate.findings == [
        f"Small: strongroom-exceptions::{ExceptionGate.RULE} is acknowledged outside the registry",
        "Small.template.json Bucket: checkov CKV_AWS_18 is ignored outside the registry",
    ]


def test_a_registry_exception_restated_with_another_reason_fails_synthesis() -> None:
    # GIVEN the registry's skip on a resource, and a construct that writes the same skip its own way
    entry = _entry(cdk_nag=["AwsSolutions-S1"], checkov=["CKV_AWS_18"])
    app, _, gate = _gated_app([entry])
    stack = Stack(app, "Small", env=Environment(region="eu-west-1"))
    bucket = s3.CfnBucket(stack, "Named")
    Validations.of(bucket).acknowledge(
        Acknowledgment(id="AwsSolutions-S1", reason="typed next to the resource")
    )
    # WHEN the app is synthesized THEN only the construct's restatement fails it
    with pytest.raises(RuntimeError, match="outside the registry"):
        app.synth()
    assert gate.findings == ["Small/Named: AwsSolutions-S1 is acknowledged outside the registry"]
