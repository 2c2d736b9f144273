"""`strongroom check`'s own logic, without CDK or the tools: what a template's references and cycles
give, how a control is judged from its checks, the verdict, expired exceptions and JUnit reports."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from strongroom.prr import attestations, check, gates, tools, verdict
from strongroom.prr import template as cfn_template
from strongroom.prr.controls import Check, Control
from strongroom.prr.findings import BLOCKING, Acknowledgement, Finding, Input, ToolRun


def resource(type_: str = "AWS::SQS::Queue", **properties: object) -> dict[str, object]:
    return {"Type": type_, "Properties": properties}


def rules(findings: list[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


def test_references_read_ref_getatt_in_both_forms_and_sub_names_but_not_sub_variables() -> None:
    value = {
        "A": {"Ref": "One"},
        "B": {"Fn::GetAtt": ["Two", "Arn"]},
        "C": {"Fn::GetAtt": "Three.Arn"},
        "D": {"Fn::Sub": "arn:${AWS::Partition}:x:${Four.Arn}/${!Literal}"},
        "E": {"Fn::Sub": ["${Own}-${Five}", {"Own": {"Ref": "Six"}}]},
    }
    expected = ["AWS::Partition", "Five", "Four", "One", "Six", "Three", "Two"]
    assert sorted(cfn_template.references(value)) == expected


def test_a_reference_to_nothing_is_blocking_and_names_both_ends() -> None:
    template = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Queue": resource(
                QueueName={"Ref": "Name"}, Tags=[{"Key": "r", "Value": {"Ref": "AWS::Region"}}]
            ),
            "Topic": resource("AWS::SNS::Topic", TopicName={"Fn::GetAtt": ["Missing", "Name"]}),
            "Late": {**resource(), "DependsOn": ["Gone"]},
        },
    }
    found = cfn_template.structure_findings("t.yaml", template)
    assert rules(found) == [gates.TEMPLATE_DANGLING_REFERENCE] * 2
    assert {(f.logical_id, f.severity) for f in found} == {("Topic", "blocking"), ("Late", "blocking")}
    assert any("Missing" in f.message for f in found)
    assert any("Gone" in f.message for f in found)


def test_a_cycle_is_one_blocking_finding_that_walks_the_cycle_in_order() -> None:
    template = {
        "Resources": {
            "Key": resource("AWS::KMS::Key", KeyPolicy={"p": {"Fn::GetAtt": ["Role", "Arn"]}}),
            "Role": resource("AWS::IAM::Role", Policies=[{"r": {"Fn::GetAtt": ["Table", "Arn"]}}]),
            "Table": resource("AWS::DynamoDB::Table", SSESpecification={"KMSMasterKeyId": {"Ref": "Key"}}),
            "Outside": resource(Q={"Ref": "Key"}),
        }
    }
    found = cfn_template.structure_findings("t.yaml", template)
    assert rules(found) == [gates.TEMPLATE_CIRCULAR_DEPENDENCY]
    assert "Key -> Role -> Table -> Key" in found[0].message
    assert found[0].severity == BLOCKING


def test_a_resource_that_depends_on_itself_is_a_cycle() -> None:
    found = cfn_template.structure_findings("t", {"Resources": {"Me": {**resource(), "DependsOn": "Me"}}})
    assert rules(found) == [gates.TEMPLATE_CIRCULAR_DEPENDENCY]


def test_two_separate_cycles_are_two_findings_and_a_chain_is_none() -> None:
    graph = {"A": {"B"}, "B": {"A"}, "C": {"D"}, "D": {"E"}, "E": {"C"}, "F": {"A"}, "G": set()}
    assert sorted(cfn_template.cycles(graph)) == [["A", "B"], ["C", "D", "E"]]
    assert cfn_template.cycles({"A": {"B"}, "B": {"C"}, "C": set()}) == []


def control(cid: str, *checks: tuple[str, str], mandatory: bool = True, note: str | None = None) -> Control:
    return Control(
        id=cid,
        area="network",
        requirement=f"{cid} requirement",
        rationale="r",
        service="s",
        enforcement=(),
        checks=tuple(Check(kind, rule) for kind, rule in checks),
        evidence=(),
        mandatory=mandatory,
        frameworks={"nist_800_53_r5": ("SC-7",)},
        status_note=note,
    )


RAN = [ToolRun(name, "ran", "") for name in ("template", "cdk-nag", "prr", "cfn-lint", "checkov")]
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def report(
    controls: list[Control], findings: list[Finding], tools: list[ToolRun] = RAN, **kw: object
) -> dict:
    return verdict.build_report(controls, [], findings, tools, kw.pop("tests", None), now=NOW, **kw)  # type: ignore[arg-type]


def status(built: dict, cid: str) -> str:
    return next(c["status"] for c in built["controls"] if c["id"] == cid)


def test_a_control_fails_on_an_open_finding_is_acknowledged_when_all_are_and_passes_when_none() -> None:
    controls = [
        control("NET-01", ("prr", "PRR-A")),
        control("NET-02", ("checkov", "CKV_AWS_1")),
        control("NET-03", ("cdk_nag", "AwsSolutions-X")),
    ]
    ack = Acknowledgement("a reason of many words", "entry", "policies/exceptions.json")
    built = report(
        controls,
        [
            Finding("PRR-A", "prr", "error", "m", "t", "R1"),
            Finding("CKV_AWS_1", "checkov", "error", "m", "t", "R2", acknowledged=ack),
        ],
        self_check=False,
    )
    assert (status(built, "NET-01"), status(built, "NET-02"), status(built, "NET-03")) == (
        "fail",
        "acknowledged",
        "pass",
    )
    assert built["verdict"] == "NO-GO"
    assert "NET-01" in built["verdictReasons"][0]
    assert built["summary"]["controls"] == {"pass": 1, "fail": 1, "acknowledged": 1, "not-judged": 0}


def test_a_finding_no_control_names_is_kept_as_unmapped() -> None:
    built = report([control("NET-01", ("prr", "PRR-A"))], [Finding("Other-1", "cdk-nag", "warning", "m")],
                   self_check=False)  # fmt: skip
    assert built["unmapped"] == [built["findings"][0]["id"]]
    assert built["verdict"] == "GO"  # no control fails: the finding is listed, not lost


def test_a_blocking_finding_is_no_go_even_when_every_control_passes() -> None:
    built = report(
        [control("CICD-01", ("gate", gates.TEMPLATE_REJECTED))],
        [Finding("E3002", "cfn-lint", "blocking", "unknown property", "t", "R")],
        self_check=False,
    )
    assert built["verdict"] == "NO-GO"
    assert built["findings"][0]["controls"] == ["CICD-01"]  # any cfn-lint error is a rejected template
    assert built["summary"]["blocking"] == 1


def test_a_missing_tool_leaves_its_controls_not_judged_and_mandatory_ones_make_it_no_go() -> None:
    tools = [ToolRun("cdk-nag", "ran", ""), ToolRun("checkov", "missing", "not installed")]
    built = report(
        [
            control("NET-02", ("checkov", "CKV_AWS_1")),
            control("COST-01", ("checkov", "CKV_AWS_2"), mandatory=False),
        ],
        [],
        tools,
        self_check=False,
    )  # fmt: skip
    assert status(built, "NET-02") == "not-judged"
    assert built["verdict"] == "NO-GO"
    assert "tool was missing" in " ".join(built["verdictReasons"])


def test_tests_only_controls_are_judged_from_junit_and_otherwise_block_a_self_check_only() -> None:
    tested = control("CODE-02", ("test", "tests/x.py::test_a"))
    empty = control("CHG-01", note="the pipeline is not built yet")
    assert report([tested, empty], [], self_check=False)["verdict"] == "GO"
    own = report([tested, empty], [], self_check=True)
    assert own["verdict"] == "NO-GO"
    assert {n["control"]: n["why"] for n in own["notJudged"]} == {
        "CODE-02": "judged by tests only: pass --junit with the test run's report",
        "CHG-01": "no automated check: the pipeline is not built yet",
    }
    passed = report([tested], [], self_check=True, tests={"tests/x.py::test_a": True})
    assert (passed["verdict"], status(passed, "CODE-02")) == ("GO", "pass")
    failed = report([tested], [], self_check=True, tests={"tests/x.py::test_a": False})
    assert (failed["verdict"], status(failed, "CODE-02")) == ("NO-GO", "fail")


def test_duplicates_collapse_and_an_acknowledged_copy_wins() -> None:
    ack = Acknowledgement("r", "e", "s")
    built = report(
        [control("NET-01", ("checkov", "CKV_AWS_1"))],
        [Finding("CKV_AWS_1", "checkov", "error", "m", "t", "R"),
         Finding("CKV_AWS_1", "checkov", "error", "m", "t", "R", acknowledged=ack)],
        self_check=False,
    )  # fmt: skip
    assert len(built["findings"]) == 1
    assert built["findings"][0]["acknowledged"]["exception"] == "e"


def test_frameworks_and_checklist_cover_every_control() -> None:
    built = report([control("NET-01", ("prr", "PRR-A")), control("NET-02")], [], self_check=False)
    nist = next(f for f in built["frameworks"] if f["key"] == "nist_800_53_r5")
    assert (nist["controls"], nist["pass"], nist["not-judged"], nist["ids"]) == (2, 1, 1, ["SC-7"])
    items = [i["control"] for area in built["checklist"] for i in area["items"]]
    assert items == ["NET-01", "NET-02"]


def test_terraform_plans_cannot_judge_controls_without_a_checkov_check() -> None:
    controls = [control("NET-01", ("prr", "PRR-A")), control("NET-02", ("checkov", "CKV_AWS_1"))]
    assert list(verdict.terraform_not_judgeable(controls)) == ["NET-01"]
    built = report(controls, [], self_check=False, not_judgeable=verdict.terraform_not_judgeable(controls))
    assert status(built, "NET-01") == "not-judged"
    assert "Terraform plan" in built["notJudged"][0]["why"]


def test_an_exception_past_its_review_date_is_a_finding_and_is_not_applied() -> None:
    due = SimpleNamespace(id="old", review_by=date(2026, 1, 1), owner="platform")
    fresh = SimpleNamespace(id="new", review_by=date(2027, 1, 1), owner="platform")
    usable, found = check.usable_exceptions([due, fresh], "exceptions.json", date(2026, 11, 30))
    assert usable == [fresh]
    assert rules(found) == [gates.EXCEPTION_EXPIRED]
    assert "old" in found[0].message
    assert "2026-01-01" in found[0].message


def test_junit_reports_give_each_named_test_pass_or_fail_across_parameters(tmp_path: Path) -> None:
    xml = tmp_path / "junit.xml"
    xml.write_text(
        """<testsuites><testsuite>
        <testcase classname="tests.unit.test_a" name="test_ok"/>
        <testcase classname="tests.unit.test_a" name="test_param[1]"/>
        <testcase classname="tests.unit.test_a" name="test_param[2]"><failure message="x"/></testcase>
        <testcase classname="tests.unit.test_a" name="test_skipped"><skipped/></testcase>
        </testsuite></testsuites>"""
    )
    assert tools.junit_results([xml]) == {
        "tests/unit/test_a.py::test_ok": True,
        "tests/unit/test_a.py::test_param": False,
        "tests/unit/test_a.py::test_skipped": False,
    }


def test_inputs_and_the_time_are_in_the_report() -> None:
    built = verdict.build_report(
        [], [Input("x", "cloudformation", Path("x"))], [], RAN, None, self_check=False, now=NOW
    )
    assert built["inputs"] == [{"name": "x", "kind": "cloudformation", "path": "x", "resources": 0}]
    assert built["generatedAt"] == "2026-11-30T00:00:00Z"


def test_a_finding_of_a_twin_rule_in_another_compliance_pack_counts_for_the_named_rule() -> None:
    controls = [control("DATA-03", ("cdk_nag", "NIST.800.53.R5-S3BucketSSLRequestsOnly"))]
    built = report(
        controls,
        [Finding("HIPAA.Security-S3BucketSSLRequestsOnly", "cdk-nag", "error", "m", "t", "B"),
         Finding("AwsSolutions-IAM5[Action::s3:*]", "cdk-nag", "error", "m", "t", "R")],
        self_check=False,
    )  # fmt: skip
    assert status(built, "DATA-03") == "fail"
    assert built["findings"][0]["controls"] == ["DATA-03"]
    check_entry = next(c for c in built["controls"] if c["id"] == "DATA-03")["checks"][0]
    assert (check_entry["status"], check_entry["findings"]) == ("fail", 1)


def test_a_finding_qualified_id_belongs_to_its_rules_controls() -> None:
    built = report(
        [control("IAM-01", ("cdk_nag", "AwsSolutions-IAM5"))],
        [Finding("AwsSolutions-IAM5[Action::s3:*]", "cdk-nag", "error", "m", "t", "R")],
        self_check=False,
    )
    assert status(built, "IAM-01") == "fail"


# --- attestations -----------------------------------------------------------------------------------

NEEDING = {"API-06": "an independent penetration test"}


def attestation(**fields: object) -> dict[str, object]:
    return {
        "control": "API-06",
        "evidence": "PT-2026-014",
        "attested_by": "Head of security testing",
        "attested_on": "2026-11-02",
        "valid_until": "2027-11-01",
        **fields,
    }


def test_an_attestation_is_valid_until_its_date_and_then_expired() -> None:
    (found,) = attestations.parse({"attestations": [attestation()]}, NEEDING)
    assert found.state(date(2027, 11, 1)) == attestations.VALID
    assert found.state(date(2027, 11, 2)) == attestations.EXPIRED
    assert attestations.states([found], date(2026, 12, 1)) == {"API-06": ("valid", found)}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"control": "NET-01"}, "takes no attestation"),
        ({"valid_until": "2028-01-01"}, "more than twelve months"),
        ({"valid_until": "2026-01-01"}, "before `attested_on`"),
        ({"evidence": " "}, "`evidence`"),
        ({"attested_on": "soon"}, "must be dates"),
        ({"signed": "x"}, "unknown field `signed`"),
    ],
)
def test_a_malformed_attestation_is_refused_naming_the_entry_and_field(
    fields: dict[str, object], problem: str
) -> None:
    with pytest.raises(attestations.AttestationError, match=problem) as caught:
        attestations.parse({"attestations": [attestation(**fields)]}, NEEDING, source="a.yaml")
    assert "a.yaml: attestation 1" in str(caught.value)


def test_a_control_that_needs_an_attestation_waits_for_one_passes_with_it_and_fails_when_it_expired() -> None:
    attested = dataclasses.replace(control("API-06"), attestation="an independent penetration test")
    waiting = report([attested], [], self_check=True)
    assert status(waiting, "API-06") == "not-judged"
    assert waiting["verdict"] == "NO-GO"
    assert "await the organization's attestation" in " ".join(waiting["verdictReasons"])
    assert report([attested], [], self_check=True, attested={"API-06": "valid"})["verdict"] == "GO"
    expired = Finding(gates.ATTESTATION_EXPIRED, "attestation", "error", "expired", "a.yaml", "", "API-06")
    lapsed = report([attested], [expired], self_check=True, attested={"API-06": "expired"})
    assert status(lapsed, "API-06") == "fail"
    assert lapsed["findings"][0]["controls"] == ["API-06"]


def test_passing_checks_do_not_pass_a_control_whose_attestation_is_missing() -> None:
    attested = dataclasses.replace(
        control("CICD-03", ("checkov", "CKV_AWS_1")), attestation="branch protection"
    )
    assert status(report([attested], [], self_check=True), "CICD-03") == "not-judged"
    assert status(report([attested], [], self_check=True, attested={"CICD-03": "valid"}), "CICD-03") == "pass"


def test_a_junit_report_that_is_not_xml_is_refused_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("not xml")
    with pytest.raises(check.CheckError, match="not a JUnit XML report"):
        check.read_junit([bad])
    with pytest.raises(check.CheckError, match="no such file"):
        check.read_junit([tmp_path / "missing.xml"])
    assert check.read_junit([]) is None


def test_a_template_over_cloudformations_resource_quota_is_refused_without_walking_it() -> None:
    template = {"Resources": {f"Q{n}": resource() for n in range(501)}}
    (found,) = cfn_template.structure_findings("big.yaml", template)
    assert (found.rule, found.severity) == (gates.TEMPLATE_REJECTED, BLOCKING)
    assert "at most 500" in found.message
    assert cfn_template.structure_findings("ok.yaml", {"Resources": {"Q": resource()}}) == []
