"""``strongroom check`` end to end on other teams' inputs (src/strongroom/prr/check.py): a deliberately
bad template, seed 004's template, templates CloudFormation would refuse, an exceptions file, a
Terraform plan, and the command line.

The engine takes about ten seconds a run (the five cdk-nag packs, the PRR pack, cfn-lint and checkov),
so the module runs it four times in all, each run shared by the tests about it: the bad template with
an exceptions file; seed 004 together with the refused templates (every assertion names its
template); the Terraform plan; and the command line once, in a subprocess. The fixtures are in
tests/fixtures/prr/ (bad-template.yaml says which control each resource breaks).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from strongroom.prr import controls as matrix
from strongroom.prr import gates
from strongroom.prr.check import check
from strongroom.prr.render import FILES
from strongroom.prr.verdict import same_rules

REPO = Path(__file__).resolve().parents[4]
FIXTURES = REPO / "tests" / "fixtures" / "prr"
BAD = FIXTURES / "bad-template.yaml"
SEED_004 = FIXTURES / "seed-004.yaml"
SEED_001_PLAN = FIXTURES / "seed-001.tfplan.json"
BIN = Path(sys.executable).parent  # the venv's own tools: cfn-lint, strongroom
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
TODAY = date(2026, 6, 1)  # the exceptions file's review dates are judged against this day
CHECKOV_ENV = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}

# Gate checks that judge something other than a valid template: a template CloudFormation refuses
# (which the bad template must not be) or the exceptions file. bad-template.yaml's header says why.
NOT_ON_A_VALID_TEMPLATE = {
    ("gate", gates.TEMPLATE_UNREADABLE),
    ("gate", gates.TEMPLATE_CIRCULAR_DEPENDENCY),
    ("gate", gates.TEMPLATE_DANGLING_REFERENCE),
    ("gate", gates.TEMPLATE_REJECTED),
    ("gate", gates.RESOURCE_NOT_JUDGED),
    ("gate", gates.EXCEPTION_EXPIRED),
}
TEMPLATE_KINDS = {"cdk_nag", "prr", "checkov", "cfn_lint", "gate"}

# The exceptions file of the bad template's run: one checkov and one cdk-nag finding accepted, and an
# entry past its review date (which must not be applied). Each accepted finding's control keeps other
# open findings, so every control the template breaks still fails.
ACCEPTED_CHECKOV = ("CKV_AWS_21", "IngestBucket")
ACCEPTED_CDK_NAG = ("AwsSolutions-SQS3", "SettlementQueue")
EXPIRED = ("CKV_AWS_43", "TransactionStream")
REASON = "The payments team accepts this on the test template until the migration to the platform lands."
EXCEPTIONS = {
    "exceptions": [
        {
            "id": "ingest-bucket-versioning",
            "checkov": [ACCEPTED_CHECKOV[0]],
            "resources": [f"bad-template/Resources/{ACCEPTED_CHECKOV[1]}"],
            "reason": REASON,
            "adr": "docs/adr/0023-one-registry-of-accepted-exceptions.md",
            "owner": "payments",
            "review_by": "2026-12-31",
        },
        {
            "id": "settlement-queue-dead-letters",
            "cdk_nag": [ACCEPTED_CDK_NAG[0]],
            "resources": [f"*/Resources/{ACCEPTED_CDK_NAG[1]}"],
            "reason": REASON,
            "adr": "docs/adr/0023-one-registry-of-accepted-exceptions.md",
            "owner": "payments",
            "review_by": "2026-12-31",
        },
        {
            "id": "stream-encryption-waiver",
            "checkov": [EXPIRED[0]],
            "resources": [f"*/Resources/{EXPIRED[1]}"],
            "reason": REASON,
            "adr": "docs/adr/0023-one-registry-of-accepted-exceptions.md",
            "owner": "payments",
            "review_by": "2026-01-31",
        },
    ]
}

# Templates CloudFormation would refuse, each with the finding that must say so.
REFUSED = {
    "dangling.yaml": (
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n'
        "    Properties:\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt DeadLetters.Arn\n"
        "        maxReceiveCount: 3\n"
    ),
    "unknown-property.yaml": (
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Archive:\n    Type: AWS::S3::Bucket\n'
        "    Properties:\n      BucketNmae: transaction-archive\n"
    ),
    "not-yaml.yaml": "Resources:\n  Queue: {Type: AWS::SQS::Queue\n  - ]]] this is not YAML\n\t@@@\n",
    "empty-resources.yaml": (
        'AWSTemplateFormatVersion: "2010-09-09"\nDescription: nothing yet\nResources: {}\n'
    ),
}
CYCLE = {"EncryptionKey", "LambdaExecutionRole", "TransactionTable"}


def template_judgeable_controls() -> set[str]:
    """The mandatory controls with a check that can fire on a valid CloudFormation template: every
    one the bad template sets out to break."""
    return {
        control.id
        for control in matrix.load()
        if control.mandatory
        and any(
            c.kind in TEMPLATE_KINDS and (c.kind, c.id) not in NOT_ON_A_VALID_TEMPLATE for c in control.checks
        )
    }


def of(report: dict[str, Any], template: str, **match: str) -> list[dict[str, Any]]:
    """The report's findings on ``template`` with every field of ``match`` equal."""
    return [
        f
        for f in report["findings"]
        if f["template"] == template and all(f[key] == value for key, value in match.items())
    ]


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["controls"]}


def _checkov(path: Path, framework: str) -> dict[str, list[dict[str, Any]]]:
    """checkov's own results on ``path`` as the engine runs it, but without ``--quiet`` (which also
    hides skipped checks): failed and skipped checks."""
    done = subprocess.run(
        [str(CHECKOV), "-f", str(path), "--framework", framework, "--output", "json", "--compact",
         "--skip-download"],
        capture_output=True, text=True, check=False, env=CHECKOV_ENV,
    )  # fmt: skip
    assert done.stdout, done.stderr
    loaded = json.loads(done.stdout)
    results = (loaded[0] if isinstance(loaded, list) else loaded)["results"]
    return {outcome: results.get(outcome, []) for outcome in ("failed_checks", "skipped_checks")}


def _cfn_lint(path: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "json", "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return found


# --- the engine runs ----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make install` (it creates .venv-checkov)"
    assert (BIN / "cfn-lint").exists(), "cfn-lint is missing: install the `infra` extra"


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The bad template, judged with the exceptions file."""
    work = tmp_path_factory.mktemp("bad")
    exceptions_file = work / "exceptions.json"
    exceptions_file.write_text(json.dumps(EXCEPTIONS, indent=2))
    return check([BAD], exceptions_file=exceptions_file, today=TODAY, workdir=work / "work")


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Seed 004 and the templates CloudFormation would refuse, in one run."""
    work = tmp_path_factory.mktemp("refused")
    paths = []
    for name, text in REFUSED.items():
        (work / name).write_text(text)
        paths.append(work / name)
    return check([SEED_004, *paths], today=TODAY, workdir=work / "work")


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return check(terraform_plans=[SEED_001_PLAN], today=TODAY, workdir=tmp_path_factory.mktemp("plan"))


@pytest.fixture(scope="module")
def bad_tools() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """cfn-lint's and checkov's own findings on the bad template."""
    return _cfn_lint(BAD), _checkov(BAD, "cloudformation")


# --- the bad template -----------------------------------------------------------------------------


def test_the_bad_template_sets_out_to_break_every_template_judgeable_mandatory_control() -> None:
    expected = template_judgeable_controls()
    mandatory = {c.id for c in matrix.load() if c.mandatory}
    assert expected <= mandatory
    assert {"IAM-01", "IAM-02", "IAM-03", "NET-04", "DATA-03", "CICD-01", "CICD-02", "RES-06"} <= expected


def test_the_bad_template_is_valid_cloudformation_apart_from_its_policies(
    bad: dict[str, Any], bad_tools: tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]
) -> None:
    """Nothing CloudFormation would refuse, and every resource typed for the packs: the failures are
    the deliberate ones, judged by every tool."""
    lint, _ = bad_tools
    assert [m["Rule"]["Id"] for m in lint if m["Rule"]["Id"].startswith("E")] == []
    assert bad["summary"]["blocking"] == 0
    refusals = {
        gates.TEMPLATE_UNREADABLE,
        gates.TEMPLATE_CIRCULAR_DEPENDENCY,
        gates.TEMPLATE_DANGLING_REFERENCE,
        gates.RESOURCE_NOT_JUDGED,
    }
    assert [f["message"] for f in bad["findings"] if f["rule"] in refusals] == []
    assert {t["name"]: t["status"] for t in bad["tools"]} == {
        "template": "ran", "cdk-nag": "ran", "prr": "ran", "cfn-lint": "ran", "checkov": "ran",
    }  # fmt: skip
    assert bad["inputs"] == [
        {
            "name": BAD.name,
            "kind": "cloudformation",
            "path": str(BAD),
            "resources": len(_load(BAD)["Resources"]),
        }
    ]


def test_the_bad_template_is_no_go_with_every_mandatory_control_it_breaks_failing(
    bad: dict[str, Any],
) -> None:
    assert bad["verdict"] == "NO-GO"
    expected = template_judgeable_controls()
    failing = {cid for cid, status in statuses(bad).items() if status == "fail"}
    mandatory = {c.id for c in matrix.load() if c.mandatory}
    missed = {cid: statuses(bad)[cid] for cid in sorted(expected - failing)}
    assert not missed, f"mandatory controls the bad template breaks but the report does not fail: {missed}"
    assert failing & mandatory == expected


def test_every_failing_mandatory_control_is_named_in_the_verdict_reasons(bad: dict[str, Any]) -> None:
    reasons = " ".join(bad["verdictReasons"])
    named = set(re.findall(r"\b[A-Z]{2,5}-\d{2}\b", reasons))
    assert template_judgeable_controls() <= named
    failing = [r for r in bad["verdictReasons"] if "mandatory control(s) fail" in r]
    assert len(failing) == 1


def test_every_finding_of_a_control_is_one_of_its_checks(bad: dict[str, Any]) -> None:
    """What makes a control fail is a rule it names (with cdk-nag's finding-qualified ids, such as
    ``AwsSolutions-IAM4[Policy::…]``, counted as their rule, and a NIST, PCI or HIPAA rule counted for
    its twins in the other two packs, which apply the same implementation)."""
    checks = {c.id: {(k.kind, k.id) for k in c.checks} for c in matrix.load()}
    kind = {
        "cdk-nag": "cdk_nag",
        "prr": "prr",
        "checkov": "checkov",
        "cfn-lint": "cfn_lint",
        "template": "gate",
    }
    for finding in bad["findings"]:
        rules = same_rules(finding["rule"])
        for control in finding["controls"]:
            named = any((kind[finding["tool"]], rule) in checks[control] for rule in rules)
            rejected = finding["tool"] == "cfn-lint" and ("gate", gates.TEMPLATE_REJECTED) in checks[control]
            assert named or rejected, (finding["id"], finding["rule"], control)


def test_cdk_nag_findings_with_a_qualified_id_count_for_their_rule(bad: dict[str, Any]) -> None:
    """cdk-nag reports IAM4 and IAM5 per finding (``AwsSolutions-IAM4[Policy::…]``); the matrix names
    the rule. The AWS managed policy on TransactionFunctionRole must fail IAM-03."""
    iam4 = [
        f
        for f in of(bad, BAD.name, logicalId="TransactionFunctionRole")
        if f["rule"].startswith("AwsSolutions-IAM4")
    ]
    assert iam4, "cdk-nag did not report the AWS managed policy"
    assert all("IAM-03" in f["controls"] for f in iam4), [(f["rule"], f["controls"]) for f in iam4]
    iam5 = [
        f
        for f in of(bad, BAD.name, logicalId="TransactionFunctionRole")
        if f["rule"].startswith("AwsSolutions-IAM5")
    ]
    assert iam5, "cdk-nag did not report the wildcard actions"
    assert all("IAM-01" in f["controls"] for f in iam5), [(f["rule"], f["controls"]) for f in iam5]


def test_no_cfn_lint_or_checkov_finding_is_lost_in_the_merge(
    bad: dict[str, Any], bad_tools: tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]
) -> None:
    lint, checkov = bad_tools
    assert lint, "cfn-lint found nothing on the bad template: the W3005 is gone"
    assert checkov["failed_checks"], "checkov found nothing on the bad template"
    merged = {(f["tool"], f["rule"], f["logicalId"]) for f in bad["findings"]}
    for match in lint:
        path = match["Location"]["Path"] or []
        logical_id = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
        assert ("cfn-lint", match["Rule"]["Id"], logical_id) in merged, match
    for result in checkov["failed_checks"]:
        assert ("checkov", result["check_id"], result["resource"].split(".", 1)[1]) in merged, result


def test_a_checkov_skip_the_template_wrote_for_itself_keeps_its_finding(
    bad: dict[str, Any], bad_tools: tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]
) -> None:
    """IngestBucket skips CKV_AWS_18 in its own metadata: for another team's template that counts for
    nothing, so the finding stays open, and the skip itself is an exception outside the registry."""
    _, checkov = bad_tools
    skipped = [(r["check_id"], r["resource"].split(".", 1)[1]) for r in checkov["skipped_checks"]]
    assert skipped == [("CKV_AWS_18", "IngestBucket")]
    found = of(bad, BAD.name, tool="checkov", rule="CKV_AWS_18", logicalId="IngestBucket")
    assert found, "checkov's skipped CKV_AWS_18 on IngestBucket is missing from the report"
    assert all(f["acknowledged"] is None for f in found)
    outside = [f for f in bad["findings"] if f["rule"] == gates.EXCEPTION_OUTSIDE_REGISTRY]
    assert any("IngestBucket" in f["message"] and "CKV_AWS_18" in f["message"] for f in outside), outside
    assert all("CICD-02" in f["controls"] for f in outside)


# --- the exceptions file -------------------------------------------------------------------------


def test_the_exceptions_file_accepts_a_checkov_and_a_cdk_nag_finding_with_its_reason(
    bad: dict[str, Any],
) -> None:
    for tool, (rule, logical_id), entry in (
        ("checkov", ACCEPTED_CHECKOV, "ingest-bucket-versioning"),
        ("cdk-nag", ACCEPTED_CDK_NAG, "settlement-queue-dead-letters"),
    ):
        found = of(bad, BAD.name, tool=tool, rule=rule, logicalId=logical_id)
        assert found, (tool, rule, logical_id)
        for finding in found:
            acknowledged = finding["acknowledged"]
            assert acknowledged is not None, finding
            assert acknowledged["exception"] == entry
            assert REASON in acknowledged["reason"]
            assert acknowledged["reviewBy"] == "2026-12-31"
    assert bad["summary"]["acknowledged"] == sum(1 for f in bad["findings"] if f["acknowledged"])
    assert bad["summary"]["acknowledged"] >= 2


def test_an_exception_past_its_review_date_is_a_finding_and_is_not_applied(bad: dict[str, Any]) -> None:
    expired = [f for f in bad["findings"] if f["rule"] == gates.EXCEPTION_EXPIRED]
    assert len(expired) == 1
    assert "stream-encryption-waiver" in expired[0]["message"]
    assert "2026-01-31" in expired[0]["message"]
    assert "CICD-02" in expired[0]["controls"]
    rule, logical_id = EXPIRED
    still_open = of(bad, BAD.name, tool="checkov", rule=rule, logicalId=logical_id)
    assert still_open
    assert all(f["acknowledged"] is None for f in still_open)


# --- seed 004 ------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    """A template as CloudFormation reads it (cfn-lint's decoder knows the short tags)."""
    from cfnlint.decode import decode  # type: ignore[import-untyped]  # noqa: PLC0415

    template, matches = decode(str(path))
    assert not matches, matches
    assert template is not None
    return dict(template)


def _named(value: Any) -> Iterator[str]:
    """The logical ids ``value`` names: Ref, Fn::GetAtt and the ``${Name}`` of Fn::Sub."""
    if isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                yield argument
            elif key == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0]
                yield str(target)
            elif key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) else argument
                yield from (name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", str(text)))
            yield from _named(argument)
    elif isinstance(value, list):
        for item in value:
            yield from _named(item)


def _edges(template: dict[str, Any]) -> dict[str, set[str]]:
    """Which resources each resource names in its properties: what orders CloudFormation's work."""
    resources = template["Resources"]
    return {
        logical_id: {t for t in _named(resource.get("Properties", {})) if t in resources}
        for logical_id, resource in resources.items()
    }


def test_seed_004_is_no_go_on_its_dependency_cycle(refused: dict[str, Any]) -> None:
    assert refused["verdict"] == "NO-GO"
    cycles = of(refused, SEED_004.name, rule=gates.TEMPLATE_CIRCULAR_DEPENDENCY)
    assert len(cycles) == 1
    assert cycles[0]["severity"] == "blocking"
    path = cycles[0]["message"].split(": ", 1)[1].split(" (", 1)[0].split(" -> ")
    assert path[0] == path[-1], cycles[0]["message"]
    assert {"EncryptionKey", "LambdaExecutionRole"} <= set(path)
    edges = _edges(_load(SEED_004))
    assert all(b in edges[a] for a, b in itertools.pairwise(path)), f"not a cycle: {path}"
    # cfn-lint names the cycle pairwise; between them, the three resources are named.
    e3004 = of(refused, SEED_004.name, tool="cfn-lint", rule="E3004")
    assert e3004
    assert all(f["severity"] == "blocking" for f in e3004)
    named = {word for f in [*cycles, *e3004] for word in re.findall(r"[A-Za-z0-9]+", f["message"])}
    assert named >= CYCLE


def test_seed_004_config_recorder_typo_is_a_blocking_cfn_lint_finding(refused: dict[str, Any]) -> None:
    recorder = [
        f
        for f in of(refused, SEED_004.name, tool="cfn-lint", logicalId="ConfigRecorder")
        if f["rule"] in {"E3002", "E3003"}
    ]
    assert {f["rule"] for f in recorder} == {"E3002", "E3003"}
    assert all(f["severity"] == "blocking" for f in recorder)
    assert any("RoleArn" in f["message"] for f in recorder)
    assert all("CICD-01" in f["controls"] for f in recorder)


# --- templates CloudFormation would refuse -----------------------------------------------------------


def test_a_dangling_reference_is_a_blocking_finding(refused: dict[str, Any]) -> None:
    found = of(refused, "dangling.yaml", rule=gates.TEMPLATE_DANGLING_REFERENCE)
    assert [(f["logicalId"], f["severity"]) for f in found] == [("Queue", "blocking")]
    assert "DeadLetters" in found[0]["message"]


def test_an_unknown_property_is_a_blocking_cfn_lint_finding(refused: dict[str, Any]) -> None:
    found = of(refused, "unknown-property.yaml", tool="cfn-lint", rule="E3002")
    assert [(f["logicalId"], f["severity"]) for f in found] == [("Archive", "blocking")]
    assert "BucketNmae" in found[0]["message"]


@pytest.mark.parametrize(
    ("name", "why"), [("not-yaml.yaml", "cannot be read"), ("empty-resources.yaml", "no Resources")]
)
def test_an_unreadable_template_is_a_blocking_finding(refused: dict[str, Any], name: str, why: str) -> None:
    found = of(refused, name, rule=gates.TEMPLATE_UNREADABLE)
    assert len(found) == 1, found
    assert found[0]["severity"] == "blocking"
    assert why in found[0]["message"]


def test_refused_templates_never_stop_the_other_inputs_being_judged(refused: dict[str, Any]) -> None:
    """Every tool ran to the end, and each input is listed, seed 004 judged as fully as on its own."""
    assert all(t["status"] == "ran" for t in refused["tools"]), refused["tools"]
    assert [i["name"] for i in refused["inputs"]] == [SEED_004.name, *REFUSED]
    assert {f["tool"] for f in of(refused, SEED_004.name)} == {
        "template",
        "cdk-nag",
        "prr",
        "cfn-lint",
        "checkov",
    }
    blocking = {f["template"] for f in refused["findings"] if f["severity"] == "blocking"}
    assert blocking == {SEED_004.name, *REFUSED}


# --- a Terraform plan ------------------------------------------------------------------------------


def test_the_terraform_plan_is_an_input_of_its_own_kind(plan: dict[str, Any]) -> None:
    document = json.loads(SEED_001_PLAN.read_text())
    assert plan["inputs"] == [
        {"name": SEED_001_PLAN.name, "kind": "terraform-plan", "path": str(SEED_001_PLAN),
         "resources": len(document["resource_changes"])}
    ]  # fmt: skip
    assert [t["name"] for t in plan["tools"] if t["status"] == "ran"] == ["template", "checkov"]


def test_the_terraform_plan_is_no_go_on_checkov_findings_mapped_to_controls(plan: dict[str, Any]) -> None:
    assert plan["verdict"] == "NO-GO"
    by_check: dict[str, set[str]] = {}
    for control in matrix.load():
        for c in control.checks:
            if c.kind == "checkov":
                by_check.setdefault(c.id, set()).add(control.id)
    own = _checkov(SEED_001_PLAN, "terraform_plan")["failed_checks"]
    assert own
    findings = {(f["rule"], f["resource"]): f for f in plan["findings"] if f["tool"] == "checkov"}
    for result in own:
        finding = findings.get((result["check_id"], result["resource"]))
        assert finding is not None, f"lost in the merge: {result['check_id']} on {result['resource']}"
        assert set(finding["controls"]) == by_check.get(result["check_id"], set())
    mapped = {control for result in own for control in by_check.get(result["check_id"], ())}
    assert mapped >= {"KEY-01", "KEY-02", "NET-01", "DATA-03", "OBS-01", "OBS-02"}
    assert {cid for cid, status in statuses(plan).items() if status == "fail"} == mapped


def test_controls_a_plan_cannot_show_are_not_judged_with_that_reason(plan: dict[str, Any]) -> None:
    without_checkov = {c.id for c in matrix.load() if not any(k.kind == "checkov" for k in c.checks)}
    why = {n["control"]: n["why"] for n in plan["notJudged"]}
    assert without_checkov <= set(why)
    assert all("Terraform plan" in why[cid] for cid in without_checkov)
    assert all(statuses(plan)[cid] == "not-judged" for cid in without_checkov)


# --- the command line -------------------------------------------------------------------------------


@pytest.fixture
def node_spy(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose JSII_NODE records that it was started (jsii starts Node when aws_cdk is
    imported) before handing over to the real Node."""
    real = os.environ.get("JSII_NODE") or "node"
    marker = tmp_path / "node-started"
    spy = tmp_path / "node"
    spy.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{real}" "$@"\n')
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "JSII_NODE": str(spy)}, marker


def _strongroom(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "strongroom"), "check", *args], capture_output=True, text=True, check=False, env=env,
        timeout=timeout, cwd=REPO,
    )  # fmt: skip


def test_the_command_writes_every_format_and_exits_1_on_no_go(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _strongroom("--template", str(BAD), "--format", "md,html,json,sarif,asff", "--out", str(out))
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("NO-GO:"), done.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())
    assert all(p.stat().st_size > 0 for p in out.iterdir())
    report = json.loads((out / FILES["json"]).read_text())
    assert report["verdict"] == "NO-GO"
    assert json.loads((out / FILES["sarif"]).read_text())["version"] == "2.1.0"
    assert json.loads((out / FILES["asff"]).read_text())


def test_an_unknown_format_exits_2_naming_the_accepted_ones_before_cdk_starts(
    tmp_path: Path, node_spy: tuple[dict[str, str], Path]
) -> None:
    env, marker = node_spy
    done = _strongroom(
        "--template", str(BAD), "--format", "md,pdf", "--out", str(tmp_path / "out"), env=env, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "pdf" in done.stderr
    assert all(f in done.stderr for f in ("md", "html", "json", "sarif", "asff")), done.stderr
    assert not (tmp_path / "out").exists()
    assert not marker.exists(), "Node (CDK's jsii runtime) was started for a command that cannot run"


def test_a_missing_template_exits_2_naming_it_before_cdk_starts(
    tmp_path: Path, node_spy: tuple[dict[str, str], Path]
) -> None:
    env, marker = node_spy
    missing = tmp_path / "missing.yaml"
    done = _strongroom("--template", str(missing), "--out", str(tmp_path / "out"), env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert not marker.exists(), "Node (CDK's jsii runtime) was started for a command that cannot run"
