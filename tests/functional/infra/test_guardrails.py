"""Guardrails as code (docs/adr/0037-guardrails-as-code.md): the service control policies, the CI/CD
permission boundary and the AWS Config conformance pack in policies/, each checked for what it says,
linted by the tool that knows its grammar (parliament for IAM, cfn-lint for the pack, CloudFormation
Guard's own engine for the Guard rules), kept equal to what strongroom.infra.guardrails generates, and
found in the synthesized ComplianceStack of every Region."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cfn_guard_rs.api import run_checks
from cfn_guard_rs.errors import ParseError
from parliament import analyze_policy_string  # type: ignore[import-untyped]

from strongroom.config import load_config
from strongroom.infra import guardrails
from strongroom.infra.app import compliance_stack_name
from strongroom.infra.guardrails import GUARD_RULES, MANAGED_RULES
from strongroom.infra.stacks.compliance import BOUNDARY_OUTPUT, conformance_pack_name
from strongroom.infra.stacks.routing import ROUTING_REGION
from strongroom.infra.synth import SynthResult

from .conftest import REPO

CONFIG = load_config(environ={})
SCP_FILES = sorted((REPO / guardrails.SCP_DIR).glob("*.json"))
POLICY_FILES = [*SCP_FILES, REPO / guardrails.BOUNDARY_FILE]
GUARD_FILES = sorted((REPO / guardrails.GUARD_DIR).glob("*.guard"))
CFN_LINT_BIN = Path(sys.executable).parent / "cfn-lint"
ACCOUNT_ID = "111122223333"  # stands in for ${aws:PrincipalAccount} where a tool wants twelve digits

# AWS Config managed rule identifiers the pack may use: each checked by hand against AWS Config's list of
# managed rules when it was added here. A new rule in guardrails.MANAGED_RULES is added here too, after
# the same check, so a misspelt identifier fails this test rather than the deployment.
KNOWN_MANAGED_RULES = frozenset(
    {
        "API_GW_ASSOCIATED_WITH_WAF",
        "API_GW_EXECUTION_LOGGING_ENABLED",
        "API_GW_XRAY_ENABLED",
        "CLOUD_TRAIL_ENABLED",
        "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
        "CMK_BACKING_KEY_ROTATION_ENABLED",
        "DYNAMODB_IN_BACKUP_PLAN",
        "DYNAMODB_PITR_ENABLED",
        "DYNAMODB_TABLE_ENCRYPTED_KMS",
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        "KINESIS_STREAM_ENCRYPTED",
        "KMS_CMK_NOT_SCHEDULED_FOR_DELETION",
        "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED",
        "LAMBDA_INSIDE_VPC",
        "MULTI_REGION_CLOUD_TRAIL_ENABLED",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "S3_BUCKET_VERSIONING_ENABLED",
        "S3_DEFAULT_ENCRYPTION_KMS",
        "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
        "SECRETSMANAGER_USING_CMK",
        "SNS_ENCRYPTED_KMS",
        "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
        "VPC_FLOW_LOGS_ENABLED",
        "WAFV2_LOGGING_ENABLED",
    }
)

# The condition operators IAM accepts, each also with IfExists (Null excepted) and, for multivalued
# keys, a ForAllValues:/ForAnyValue: qualifier.
CONDITION_OPERATORS = frozenset(
    {
        *(f"String{op}" for op in ("Equals", "NotEquals", "EqualsIgnoreCase", "NotEqualsIgnoreCase", "Like")),
        "StringNotLike",
        *(f"Numeric{op}" for op in ("Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan")),
        "NumericGreaterThanEquals",
        *(f"Date{op}" for op in ("Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan")),
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        *(f"Arn{op}" for op in ("Equals", "NotEquals", "Like", "NotLike")),
    }
)
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
_SID = re.compile(r"^[A-Za-z0-9]+$")
_CONDITION_KEY = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9/_:.-]+$")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(policy: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


# --- the files are what the generator writes -------------------------------------------------------------


def test_the_files_are_what_the_generator_writes_for_the_default_configuration() -> None:
    stale = guardrails.stale_files(CONFIG, REPO)
    assert stale == [], f"out of date: {', '.join(map(str, stale))}; run `{guardrails.REGENERATE}`"
    assert {p.stem for p in SCP_FILES} == set(guardrails.SCP_NAMES)


def test_the_command_checks_and_writes_another_configurations_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert guardrails.main([]) == 0  # the committed files are current
    monkeypatch.setenv("STRONGROOM_NAME_PREFIX", "bank")
    assert guardrails.main(["--outdir", str(tmp_path)]) == 0
    audit = _load(tmp_path / guardrails.SCP_DIR / "audit-trail.json")
    exempt = audit["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert exempt == "arn:aws:iam::*:role/bank-break-glass"
    boundary = _load(tmp_path / guardrails.BOUNDARY_FILE)
    assert "policy/bank-cicd-boundary" in json.dumps(boundary)


# --- IAM grammar, for every policy file --------------------------------------------------------------------


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_each_policy_is_iam_policy_grammar(path: Path) -> None:
    policy = _load(path)
    assert set(policy) == {"Version", "Statement"}
    assert policy["Version"] == "2012-10-17"
    assert isinstance(policy["Statement"], list)
    assert policy["Statement"]
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert len(set(sids)) == len(sids), "every Sid is unique"
    for statement in policy["Statement"]:
        assert _SID.match(statement["Sid"]), statement["Sid"]
        assert statement["Effect"] in {"Allow", "Deny"}
        assert set(statement) <= {"Sid", "Effect", "Action", "NotAction", "Resource", "Condition"}
        assert ("Action" in statement) != ("NotAction" in statement), "exactly one of Action, NotAction"
        for action in _listed(statement.get("Action", statement.get("NotAction"))):
            assert action == "*" or _ACTION.match(action), action
        assert statement["Resource"]
        for operator, keys in statement.get("Condition", {}).items():
            qualifier, _, base = operator.rpartition(":")
            assert qualifier in {"", "ForAllValues", "ForAnyValue"}, operator
            assert base.removesuffix("IfExists") in CONDITION_OPERATORS or base == "Null", operator
            for key, value in keys.items():
                assert _CONDITION_KEY.match(key), key
                assert all(isinstance(v, str) for v in _listed(value)), (key, value)


# parliament's database of condition keys predates kms:ResourceAliases (the KMS service authorization
# reference lists it for Decrypt and GenerateDataKey); the boundary holds the pipeline key to its alias
# with it, so that gap in parliament's data is the one finding it may report.
KNOWN_DATABASE_GAPS = {("UNKNOWN_CONDITION_FOR_ACTION", "kms:ResourceAliases")}


def _parliament(path: Path, *, community: bool) -> list[tuple[str, Any]]:
    # parliament reads an ARN's account as twelve digits and knows no policy variables: lint the boundary
    # as IAM evaluates it for an account, with the variable resolved.
    text = path.read_text().replace(guardrails.ACCOUNT, ACCOUNT_ID)
    policy = analyze_policy_string(text, include_community_auditors=community)
    return [
        (finding.issue, finding.location.get("actions"))
        for finding in policy.findings
        if not any(
            finding.issue == issue and f"Unknown condition {key} " in str(finding.detail)
            for issue, key in KNOWN_DATABASE_GAPS
        )
    ]


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_parliament_finds_nothing(path: Path) -> None:
    assert _parliament(path, community=False) == []


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_parliaments_community_auditors_find_only_the_accepted_credentials_exposure(path: Path) -> None:
    """CREDENTIALS_EXPOSURE (MEDIUM) on sts:AssumeRole is what the boundary is for: a CDK deployment
    works by assuming the bootstrap roles, each named in full (docs/adr/0037)."""
    accepted = [("CREDENTIALS_EXPOSURE", ["sts:assumerole"])]
    assert _parliament(path, community=True) == (accepted if path.name.startswith("permission") else [])


# --- the service control policies -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCP_FILES, ids=lambda p: p.name)
def test_each_scp_fits_the_size_quota_and_only_denies(path: Path) -> None:
    policy = _load(path)
    assert len(json.dumps(policy, separators=(",", ":"))) <= guardrails.SCP_MAX_CHARS
    assert guardrails.scp_size(policy) <= guardrails.SCP_MAX_CHARS
    # A deny list: the organization's FullAWSAccess stays attached, and these only take away.
    assert {s["Effect"] for s in policy["Statement"]} == {"Deny"}
    assert all(s["Resource"] == "*" for s in policy["Statement"])


def test_the_size_quota_is_measured_minified() -> None:
    padded = {"Version": "2012-10-17", "Statement": [{"Sid": "X", "Effect": "Deny", "Action": "s3:*"}]}
    assert guardrails.scp_size(padded) == len(json.dumps(padded).replace(" ", ""))


def test_lambda_code_signing_denies_unsigned_creation_and_removing_signing() -> None:
    statements = _statements(_load(REPO / guardrails.SCP_DIR / "lambda-code-signing.json"))
    create = statements["DenyCreateFunctionWithoutCodeSigningConfig"]
    assert create["Action"] == "lambda:CreateFunction"
    assert create["Condition"] == {"Null": {"lambda:CodeSigningConfigArn": "true"}}
    remove = statements["DenyRemovingCodeSigningConfigSoUpdateFunctionCodeStaysVerified"]
    assert remove["Action"] == "lambda:DeleteFunctionCodeSigningConfig"
    assert "Condition" not in remove
    # UpdateFunctionCode carries no lambda:CodeSigningConfigArn: a condition on it would deny every update.
    # The function's own configuration (Enforce) verifies each update instead (docs/adr/0037).
    assert "lambda:UpdateFunctionCode" not in json.dumps(statements)


def test_audit_trail_cannot_be_stopped_except_by_break_glass() -> None:
    statements = _statements(_load(REPO / guardrails.SCP_DIR / "audit-trail.json"))
    trail, config = (
        statements["DenyStoppingOrNarrowingCloudTrail"],
        statements["DenyStoppingConfigAndDeletingItsRules"],
    )
    assert set(trail["Action"]) == {
        "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:PutEventSelectors",
    }
    assert set(config["Action"]) == {
        "config:StopConfigurationRecorder",
        "config:DeleteConfigurationRecorder",
        "config:DeleteDeliveryChannel",
        "config:DeleteConfigRule",
        "config:DeleteConformancePack",
    }
    for statement in (trail, config):
        assert statement["Condition"] == {
            "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/strongroom-break-glass"}
        }


def test_a_break_glass_role_given_as_an_arn_is_exempt_as_given() -> None:
    arn = "arn:aws:iam::123456789012:role/ops/emergency"
    policy = guardrails.audit_trail_scp(load_config(environ={}, break_glass_role=arn))
    assert {s["Condition"]["ArnNotLike"]["aws:PrincipalArn"] for s in policy["Statement"]} == {arn}


def _requested_regions(policy: Mapping[str, Any]) -> list[str]:
    (statement,) = policy["Statement"]
    regions: list[str] = statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"]
    return regions


def test_regions_are_the_platform_regions_and_the_routing_region() -> None:
    policy = _load(REPO / guardrails.SCP_DIR / "regions.json")
    assert _requested_regions(policy) == [*(r.name for r in CONFIG.regions), ROUTING_REGION]
    assert guardrails.ROUTING_REGION == ROUTING_REGION
    assert CONFIG.witness_region not in _requested_regions(policy)
    (statement,) = policy["Statement"]
    exempt = statement["NotAction"]
    assert {"iam:*", "sts:*", "organizations:*", "route53:*", "cloudfront:*", "support:*"} <= set(exempt)
    # Regional services the platform runs in its own Regions stay denied everywhere else.
    assert not {"kms:*", "dynamodb:*", "lambda:*", "config:*", "wafv2:*"} & set(exempt)


def test_the_region_list_follows_the_configuration() -> None:
    reordered = load_config(environ={}, regions="eu-central-1,eu-west-1")
    assert _requested_regions(guardrails.regions_scp(reordered)) == ["eu-central-1", "eu-west-1", "us-east-1"]


def test_plain_http_is_denied_where_a_service_would_answer_it() -> None:
    (statement,) = _load(REPO / guardrails.SCP_DIR / "secure-transport.json")["Statement"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "s3:*" in statement["Action"]
    assert set(statement["Action"]) == {"s3:*", "sns:*", "sqs:*"}


# --- the CI/CD permission boundary ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boundary() -> dict[str, dict[str, Any]]:
    return _statements(_load(REPO / guardrails.BOUNDARY_FILE))


def test_the_boundary_allows_no_action_on_everything(boundary: dict[str, dict[str, Any]]) -> None:
    for statement in boundary.values():
        if statement["Effect"] != "Allow":
            continue
        assert "NotAction" not in statement
        for action in _listed(statement["Action"]):
            assert "*" not in action, (statement["Sid"], action)
        for resource in _listed(statement["Resource"]):
            assert resource != "*"
            assert guardrails.ACCOUNT in resource, "every resource is of the role's own account"


def test_the_boundary_allows_cdk_deployment_and_signing(boundary: dict[str, dict[str, Any]]) -> None:
    roles = boundary["AssumeCdkBootstrapRoles"]["Resource"]
    assert len(roles) == 4 * 3  # deploy, file-publishing, image-publishing, lookup x three Regions
    assert all(
        re.search(r":role/cdk-hnb659fds-[a-z-]+-role-\$\{aws:PrincipalAccount\}-[a-z0-9-]+$", r)
        for r in roles
    )
    assert boundary["ReadCdkBootstrapVersion"]["Resource"][0].endswith(
        ":parameter/cdk-bootstrap/hnb659fds/version"
    )
    assert "cloudformation:ExecuteChangeSet" in boundary["DeployPlatformStacks"]["Action"]
    assert "signer:StartSigningJob" in boundary["SignLambdaCode"]["Action"]
    assert any(
        r.endswith("/signing-profiles/strongroom_lambda") for r in boundary["SignLambdaCode"]["Resource"]
    )


def test_the_boundary_denies_users_keys_escapes_the_organization_and_the_audit_trail(
    boundary: dict[str, dict[str, Any]],
) -> None:
    own = "arn:aws:iam::${aws:PrincipalAccount}:policy/strongroom-cicd-boundary"
    denied = {s["Sid"]: s for s in boundary.values() if s["Effect"] == "Deny"}
    assert {"iam:CreateUser", "iam:CreateAccessKey"} <= set(denied["DenyLongLivedCredentials"]["Action"])
    assert "iam:DeleteRolePermissionsBoundary" in denied["DenyRemovingPermissionBoundaries"]["Action"]
    others = denied["DenyAnyBoundaryButThisOne"]
    assert "iam:PutRolePermissionsBoundary" in others["Action"]
    assert others["Condition"] == {"ArnNotEquals": {"iam:PermissionsBoundary": own}}
    itself = denied["DenyChangingThisBoundary"]
    assert "iam:CreatePolicyVersion" in itself["Action"]
    assert itself["Resource"] == own
    assert denied["DenyOrganizations"]["Action"] == "organizations:*"
    audit = set(denied["DenyStoppingTheAuditTrail"]["Action"])
    assert {"cloudtrail:StopLogging", "config:StopConfigurationRecorder"} <= audit
    assert all(s["Resource"] == "*" for sid, s in denied.items() if sid != "DenyChangingThisBoundary")


# --- the conformance pack ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pack() -> dict[str, Any]:
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - installed with cfn-lint

    loaded: dict[str, Any] = yaml.safe_load((REPO / guardrails.PACK_FILE).read_text())
    return loaded


def test_the_pack_template_is_cfn_lint_clean() -> None:
    completed = subprocess.run(
        [str(CFN_LINT_BIN), "--format", "json", "--", str(REPO / guardrails.PACK_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(completed.stdout or "[]") == [], completed.stdout
    assert completed.returncode == 0, completed.stderr


def test_the_pack_holds_only_config_rules_within_configs_limits(pack: dict[str, Any]) -> None:
    rules = pack["Resources"].values()
    assert {r["Type"] for r in rules} == {"AWS::Config::ConfigRule"}
    names = [r["Properties"]["ConfigRuleName"] for r in rules]
    assert len(set(names)) == len(names) == len(MANAGED_RULES) + len(GUARD_RULES)
    assert all(len(name) <= 128 for name in names)
    # CloudFormation's limit on a conformance pack's TemplateBody
    assert len((REPO / guardrails.PACK_FILE).read_bytes()) <= 51_200


def test_every_managed_rule_is_a_known_identifier(pack: dict[str, Any]) -> None:
    managed = [
        r["Properties"] for r in pack["Resources"].values() if r["Properties"]["Source"]["Owner"] == "AWS"
    ]
    identifiers = {r["Source"]["SourceIdentifier"] for r in managed}
    assert identifiers <= KNOWN_MANAGED_RULES, identifiers - KNOWN_MANAGED_RULES
    assert {
        "LAMBDA_INSIDE_VPC",
        "DYNAMODB_PITR_ENABLED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "KINESIS_STREAM_ENCRYPTED",
        "CMK_BACKING_KEY_ROTATION_ENABLED",
        "CLOUD_TRAIL_ENABLED",
    } <= identifiers
    assert all("Scope" not in r or r["Scope"] for r in managed)


def test_every_guard_rule_is_in_the_pack_with_its_files_text(pack: dict[str, Any]) -> None:
    custom = {
        r["Properties"]["ConfigRuleName"]: r["Properties"]
        for r in pack["Resources"].values()
        if r["Properties"]["Source"]["Owner"] == "CUSTOM_POLICY"
    }
    assert {f"{rule.file}.guard" for rule in GUARD_RULES} == {p.name for p in GUARD_FILES}
    for rule in GUARD_RULES:
        properties = custom[rule.name]
        details = properties["Source"]["CustomPolicyDetails"]
        text = (REPO / guardrails.GUARD_DIR / f"{rule.file}.guard").read_text()
        assert details == {
            "PolicyRuntime": "guard-2.x.x",
            "PolicyText": text,
            "EnableDebugLogDelivery": False,
        }
        assert len(text) <= 10_000  # Config's limit on a custom policy's text
        assert {
            "EventSource": "aws.config",
            "MessageType": "ConfigurationItemChangeNotification",
        } in properties["Source"]["SourceDetails"]
        # The rule's scope and the types its Guard text applies to are the same.
        assert properties["Scope"]["ComplianceResourceTypes"] == list(rule.resource_types)
        assert re.findall(r'resourceType == "([A-Za-z:]+)"', text) == list(rule.resource_types)


# --- the Guard rules, run by CloudFormation Guard's engine ------------------------------------------------

LAMBDA, STAGE, TABLE = "AWS::Lambda::Function", "AWS::ApiGateway::Stage", "AWS::DynamoDB::Table"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ACL = "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/strongroom-api/a1b2c3d4"
LOGS = "arn:aws:logs:eu-west-1:111122223333:log-group:/strongroom/api-access"

# (Guard file, configuration item's resourceType, its configuration, the expected status)
CASES = [
    ("lambda-environment-cmk", LAMBDA, {"environment": {"variables": {"A": "b"}}, "kMSKeyArn": KEY}, "PASS"),
    ("lambda-environment-cmk", LAMBDA, {"environment": {"variables": {"A": "b"}}}, "FAIL"),
    ("lambda-environment-cmk", LAMBDA, {"environment": {"variables": {"A": "b"}}, "kMSKeyArn": None}, "FAIL"),
    ("lambda-environment-cmk", LAMBDA, {"environment": {"variables": {"A": "b"}}, "kMSKeyArn": ""}, "FAIL"),
    ("lambda-environment-cmk", LAMBDA, {"environment": {"variables": {}}}, "SKIP"),  # nothing to encrypt
    ("lambda-environment-cmk", LAMBDA, {"functionName": "f"}, "SKIP"),
    ("lambda-environment-cmk", TABLE, {"environment": {"variables": {"A": "b"}}}, "SKIP"),
    ("api-stage-waf", STAGE, {"stageName": "v1", "webAclArn": ACL}, "PASS"),
    ("api-stage-waf", STAGE, {"stageName": "v1"}, "FAIL"),
    (
        "api-stage-waf",
        STAGE,
        {"stageName": "v1", "webAclArn": "arn:aws:waf-regional:eu-west-1:1:webacl/x"},
        "FAIL",
    ),
    ("api-stage-waf", LAMBDA, {"functionName": "f"}, "SKIP"),
    ("api-stage-access-logs", STAGE, {"accessLogSettings": {"destinationArn": LOGS, "format": "{}"}}, "PASS"),
    ("api-stage-access-logs", STAGE, {"stageName": "v1"}, "FAIL"),
    ("api-stage-access-logs", STAGE, {"accessLogSettings": {"format": "{}"}}, "FAIL"),
    ("dynamodb-deletion-protection", TABLE, {"tableName": "t", "deletionProtectionEnabled": True}, "PASS"),
    ("dynamodb-deletion-protection", TABLE, {"tableName": "t", "deletionProtectionEnabled": False}, "FAIL"),
    ("dynamodb-deletion-protection", TABLE, {"tableName": "t"}, "FAIL"),
    ("dynamodb-deletion-protection", STAGE, {"stageName": "v1"}, "SKIP"),
]


@pytest.mark.parametrize(("guard", "resource_type", "configuration", "expected"), CASES)
def test_guard_rule_judges_a_configuration_item(
    guard: str, resource_type: str, configuration: dict[str, Any], expected: str
) -> None:
    """Each rule on a configuration item shaped as AWS Config delivers it: ``resourceType`` and the
    resource's ``configuration`` (its describe call's output, keys in lower camel case)."""
    text = (REPO / guardrails.GUARD_DIR / f"{guard}.guard").read_text()
    item = {"resourceType": resource_type, "awsRegion": "eu-west-1", "configuration": configuration}
    report = run_checks(item, text)
    assert report.status == expected, report


@pytest.mark.parametrize("path", GUARD_FILES, ids=lambda p: p.name)
def test_every_guard_file_parses_and_names_one_rule(path: Path) -> None:
    text = path.read_text()
    assert len(re.findall(r"^rule \w+ when ", text, flags=re.MULTILINE)) == 1
    run_checks({"resourceType": "AWS::S3::Bucket", "configuration": {}}, text)  # raises ParseError if not
    with pytest.raises(ParseError):
        run_checks({}, text.replace("{", "(", 1))  # the engine does reject broken syntax


def test_every_guard_rule_fails_with_its_message() -> None:
    text = (REPO / guardrails.GUARD_DIR / "api-stage-waf.guard").read_text()
    report = run_checks({"resourceType": STAGE, "configuration": {}}, text)
    assert "no AWS WAF (WAFv2) web ACL" in str(report.not_compliant)


# --- the ComplianceStack in the synthesized app -----------------------------------------------------------


def _resolve(value: Any) -> Any:
    """A template value with the account resolved to ACCOUNT_ID (Fn::Join of Ref AWS::AccountId)."""
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::Join"}:
            delimiter, parts = value["Fn::Join"]
            return delimiter.join(_resolve(p) for p in parts)
        if value == {"Ref": "AWS::AccountId"}:
            return ACCOUNT_ID
        return {k: _resolve(v) for k, v in value.items()}
    return value


def _of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_every_region_deploys_the_pack_and_the_primary_the_boundary(synthesized: SynthResult) -> None:
    assert synthesized.ok
    for region in CONFIG.regions:
        template = synthesized.template(compliance_stack_name(CONFIG, region.name))
        (pack,) = _of_type(template, "AWS::Config::ConformancePack").values()
        assert pack["Properties"] == {
            "ConformancePackName": conformance_pack_name(CONFIG),
            "TemplateBody": (REPO / guardrails.PACK_FILE).read_text(),
        }
        boundaries = _of_type(template, "AWS::IAM::ManagedPolicy")
        if region != CONFIG.primary_region:
            assert boundaries == {}
            continue
        ((logical_id, policy),) = boundaries.items()
        assert policy["Properties"]["ManagedPolicyName"] == "strongroom-cicd-boundary"
        expected = guardrails.permission_boundary(CONFIG, ACCOUNT_ID)
        assert _resolve(policy["Properties"]["PolicyDocument"]) == expected
        assert template["Outputs"][BOUNDARY_OUTPUT]["Value"] == {"Ref": logical_id}


def test_no_stack_creates_service_control_policies(synthesized: SynthResult) -> None:
    """The management account applies policies/scp/*.json; a workload stack cannot (docs/adr/0037)."""
    for stack in synthesized.stacks:
        assert _of_type(synthesized.template(stack.name), "AWS::Organizations::Policy") == {}
