"""The exception registry as data: what an entry must say, what its patterns match, when it is due for
review, and how applications are compared with what the tools find (strongroom.infra.exceptions)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from strongroom.infra import exceptions
from strongroom.infra.exceptions import CDK_NAG, CHECKOV, Applied, RegistryError

REASON = "A reason long enough to say why this finding is accepted here."


def _raw(**fields: Any) -> dict[str, Any]:
    return {
        "id": "an-entry",
        "cdk_nag": ["AwsSolutions-L1"],
        "resources": ["*/Fn/Function/Resource"],
        "reason": REASON,
        "adr": "docs/adr/0014-lambda-packaging-without-docker.md",
        "owner": "platform",
        "review_by": "2027-05-31",
        **fields,
    }


def _entry(**fields: Any) -> exceptions.Entry:
    (entry,) = exceptions.parse({"exceptions": [_raw(**fields)]})
    return entry


def _problems(*raw: dict[str, Any]) -> list[str]:
    with pytest.raises(RegistryError) as error:
        exceptions.parse({"exceptions": list(raw)})
    return error.value.problems


# --- what an entry must say -----------------------------------------------------------------------


def test_a_complete_entry_is_read_with_every_field() -> None:
    entry = _entry(checkov=["CKV_AWS_116"], cfn_lint=["W3005"], resource_types=["AWS::Lambda::Function"])
    assert entry.id == "an-entry"
    assert list(entry.rules()) == [
        (CDK_NAG, "AwsSolutions-L1"),
        (CHECKOV, "CKV_AWS_116"),
        ("cfn-lint", "W3005"),
    ]
    assert entry.review_by == date(2027, 5, 31)
    assert entry.stated_reason == f"{REASON} [policies/exceptions.json: an-entry]"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"id": "Not An Id"}, "id must be lowercase words"),
        ({"cdk_nag": []}, "lists no finding"),
        ({"cdk_nag": ["IAM5"]}, "'IAM5' names no pack"),
        (
            {"cdk_nag": ["AwsSolutions-S1[Bucket::x]"]},
            "finding patterns are expanded only for AwsSolutions-IAM5",
        ),
        ({"cdk_nag": ["AwsSolutions-IAM5[*]"]}, "the finding must read Kind::value"),
        ({"checkov": ["CKV-AWS-1"]}, "'CKV-AWS-1' is not a checkov check id"),
        ({"cfn_lint": ["E3001"]}, "'E3001' cannot be accepted: only warnings"),
        ({"resources": []}, "resources must list construct-path patterns"),
        ({"resources": ["/Stack/Fn"]}, "resources must list construct-path patterns"),
        ({"resource_types": ["Lambda"]}, "'Lambda' is not a CloudFormation type"),
        ({"reason": "because"}, "reason must say why in at least 8 words"),
        ({"adr": "see the wiki"}, "adr must name the ADR"),
        ({"owner": " "}, "owner must name who reviews it"),
        ({"review_by": "next spring"}, "review_by must be a date"),
        ({"reviewer": "x"}, "unknown field 'reviewer'"),
    ],
)
def test_an_incomplete_entry_is_refused_naming_the_entry_and_the_field(
    fields: dict[str, Any], problem: str
) -> None:
    problems = _problems(_raw(**fields))
    assert len(problems) == 1, problems
    assert problem in problems[0]
    assert problems[0].startswith(f"{fields.get('id', 'an-entry')}: ")


def test_every_problem_is_reported_at_once_and_ids_are_unique() -> None:
    problems = _problems(_raw(owner=""), _raw(reason="short"), _raw(id="other", adr=""))
    assert problems == [
        "an-entry: owner must name who reviews it",
        "an-entry: reason must say why in at least 8 words",
        "other: adr must name the ADR that explains it (docs/adr/00NN-title.md)",
    ]
    assert _problems(_raw(), _raw()) == ["an-entry: id is used by more than one entry"]


# --- patterns -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*/ApiFunction/Function/Resource", "strongroom-eu-west-1/ApiFunction/Function/Resource", True),
        ("*/ApiFunction/Function/Resource", "a/b/ApiFunction/Function/Resource", False),  # * is one segment
        ("**/Function/Resource", "s/CursorSecret/Rotation/Function/Resource", True),
        ("**/Function/Resource", "s/ApiFunction/Function/ResourceX", False),
        ("*/Network/Acl/**", "s/Network/Acl/Egress100/Resource", True),
        ("*/Network/Acl/**", "s/Network/AclX/Resource", False),
        ("*/Network/Vpc/isolatedSubnet*/Subnet", "s/Network/Vpc/isolatedSubnet2/Subnet", True),
        (
            "*/Api/Api/DeploymentStage.*/Resource",
            "s/Api/Api/DeploymentStageXv1/Resource",
            False,
        ),  # . is literal
    ],
)
def test_resource_patterns_match_construct_paths(pattern: str, path: str, matches: bool) -> None:
    assert bool(exceptions.path_regex(pattern).match(path)) is matches


def test_resource_types_narrow_the_patterns() -> None:
    entry = _entry(resources=["*/Acl/**"], resource_types=["AWS::EC2::NetworkAcl"])
    assert entry.pattern_for("s/Acl/Resource", "AWS::EC2::NetworkAcl") == "*/Acl/**"
    assert entry.pattern_for("s/Acl/Association/Resource", "AWS::EC2::SubnetNetworkAclAssociation") is None


def test_a_finding_pattern_expands_to_the_resources_own_findings_only() -> None:
    findings = [
        "Resource::*",
        "Resource::arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:<ApiAccessLogs50B185DB>:log-stream:*",
        "Resource::arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:<Other.Arn>:log-stream:*",
        "Action::s3:*",
    ]
    streams = (
        "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:<AWS::AccountId>:log-group:<{id}>:log-stream:*]"
    )
    assert exceptions.expand(streams, findings) == [f"AwsSolutions-IAM5[{findings[1]}]"]
    # '*' in a finding pattern is the literal wildcard cdk-nag reports, not "anything"
    assert exceptions.expand("AwsSolutions-IAM5[Resource::*]", findings) == ["AwsSolutions-IAM5[Resource::*]"]
    assert exceptions.expand("AwsSolutions-IAM5[Action::*]", findings) == []
    assert exceptions.expand("AwsSolutions-L1", findings) == ["AwsSolutions-L1"]


# --- review dates (today is passed in) ------------------------------------------------------------


def test_an_entry_past_its_review_date_is_reported_with_its_owner() -> None:
    entry = _entry(review_by="2027-05-31")
    assert exceptions.review_problems([entry], date(2027, 5, 31)) == []
    (problem,) = exceptions.review_problems([entry], date(2027, 6, 1))
    assert problem.startswith("an-entry: review was due on 2027-05-31 (platform)")


def test_a_review_date_more_than_12_months_ahead_is_reported() -> None:
    entry = _entry(review_by="2027-12-01")
    assert exceptions.review_problems([entry], date(2026, 12, 1)) == []
    assert exceptions.review_problems([entry], date(2026, 11, 29)) == [
        "an-entry: review_by 2027-12-01 is more than 12 months ahead"
    ]


# --- applications against findings ---------------------------------------------------------------


def _applied(rule: str, path: str, listed: str | None = None, tool: str = CDK_NAG) -> Applied:
    return Applied("an-entry", tool, rule, path, listed or rule)


def test_an_application_that_answers_no_finding_and_a_finding_without_one_are_reported() -> None:
    applied = [
        _applied("AwsSolutions-L1", "s/Fn/Function/Resource"),
        _applied("AwsSolutions-L1", "s/Gone/Resource"),
    ]
    findings = {
        (CDK_NAG, "AwsSolutions-L1", "s/Fn/Function/Resource"),
        (CDK_NAG, "AwsSolutions-S1", "s/Bucket/Resource"),
        (CHECKOV, "AwsSolutions-L1", "s/Gone/Resource"),  # another tool's finding answers nothing here
    }
    assert exceptions.unanswered(applied, findings) == [applied[1]]
    assert exceptions.uncovered(applied, findings) == [
        (CDK_NAG, "AwsSolutions-S1", "s/Bucket/Resource"),
        (CHECKOV, "AwsSolutions-L1", "s/Gone/Resource"),
    ]


def test_unused_patterns_and_ids_are_reported() -> None:
    entry = _entry(resources=["*/Fn/Function/Resource", "*/Gone/Resource"], checkov=["CKV_AWS_116"])
    applied = [_applied("AwsSolutions-L1", "s/Fn/Function/Resource")]
    assert exceptions.unused([entry], applied, [("an-entry", "*/Fn/Function/Resource")]) == [
        "an-entry: resource pattern '*/Gone/Resource' names no resource",
        "an-entry: checkov 'CKV_AWS_116' was applied to nothing",
    ]


def test_an_expanded_pattern_counts_as_the_listed_id() -> None:
    listed = "AwsSolutions-IAM5[Resource::*]"
    entry = _entry(cdk_nag=[listed], resources=["*/Policy/Resource"])
    applied = [_applied(listed, "s/Policy/Resource", listed)]
    assert exceptions.unused([entry], applied, [("an-entry", "*/Policy/Resource")]) == []


# --- the generated table --------------------------------------------------------------------------


def test_the_table_shows_every_field_and_escapes_cell_separators() -> None:
    entry = _entry(reason=f"{REASON} Pipes | stay inside the cell.", resource_types=["AWS::Lambda::Function"])
    table = exceptions.markdown_table([entry])
    header, rule, row = table.splitlines()
    assert header.count("|") == rule.count("|") == row.count("|") - 1 == 8
    assert "Pipes \\| stay" in row
    assert "cdk-nag: `AwsSolutions-L1`" in row
    assert "`*/Fn/Function/Resource`<br>(AWS::Lambda::Function only)" in row
    assert "[0014](0014-lambda-packaging-without-docker.md) | platform | 2027-05-31 |" in row
