"""The synthesized Regional stacks: what the API function is told, what only the primary holds, alarms;
and the global data stack they all depend on."""

from __future__ import annotations

import json
import re
import zipfile
from typing import Any

import pytest

from strongroom import constants as env
from strongroom.constants import ENV_CURSOR_SECRET_ID
from strongroom.infra.constructs._props import flatten_reference
from strongroom.infra.constructs.observability import RUNBOOKS

from .conftest import REPO

PRIMARY, SECONDARY = "strongroom-eu-west-1", "strongroom-eu-central-1"
DATA = "strongroom-data-eu-west-1"
SECRET_ARN_PATTERN = {
    "Fn::Join": [
        "",
        [
            "arn:aws:secretsmanager:eu-west-1:",
            {"Ref": "AWS::AccountId"},
            ":secret:strongroom/api/cursor-secret-??????",
        ],
    ]
}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _api_function(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = [
        f["Properties"]
        for f in _of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "strongroom-api"
    ]
    return function


@pytest.fixture(scope="module")
def templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    return {s.name: synthesized.template(s.name) for s in synthesized.stacks}


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_api_function_is_told_its_table_key_and_secret_but_not_the_secret_itself(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    function = _api_function(templates[stack])
    variables = function["Environment"]["Variables"]
    assert function["Handler"] == "strongroom.runtime.api.handler"
    assert variables[env.ENV_TRANSACTIONS_TABLE] == "strongroom-transactions"
    assert variables[ENV_CURSOR_SECRET_ID] == "strongroom/api/cursor-secret"
    assert env.ENV_CURSOR_SECRET not in variables
    assert variables["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    assert variables[env.ENV_SERVICE_NAME] == "strongroom-api"
    assert variables[env.ENV_METRICS_NAMESPACE] == "Strongroom"
    assert variables[env.ENV_TRACING] == "false"
    assert variables[env.ENV_MAX_BODY_BYTES] == "8192"
    assert "Fn::GetStackOutput" in variables[env.ENV_DATA_KEY_ID]  # the Region's own data key
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 10
    assert function["ReservedConcurrentExecutions"] == 50


def test_code_is_the_bundle_asset(synthesized: Any, templates: dict[str, dict[str, Any]]) -> None:
    function = _api_function(templates[PRIMARY])
    key = function["Code"]["S3Key"]
    # The bundle's own reproducible zip, staged as it is (docs/adr/0041), not a directory CDK zips
    staged = synthesized.outdir / f"asset.{key}"
    names = set(zipfile.ZipFile(staged).namelist())
    assert "strongroom/runtime/api.py" in names
    assert "boto3/" in names
    assert not any(name.startswith("strongroom/infra/") for name in names)


def test_only_the_data_stack_declares_the_global_tables_and_the_secret(
    templates: dict[str, dict[str, Any]],
) -> None:
    assert len(_of_type(templates[DATA], "AWS::DynamoDB::GlobalTable")) == 2
    for stack in (PRIMARY, SECONDARY):
        assert _of_type(templates[stack], "AWS::DynamoDB::GlobalTable") == {}
        assert _of_type(templates[stack], "AWS::SecretsManager::Secret") == {}
    (secret,) = _of_type(templates[DATA], "AWS::SecretsManager::Secret").values()
    (replica,) = secret["Properties"]["ReplicaRegions"]
    assert replica["Region"] == "eu-central-1"
    assert ":kms:eu-central-1:" in str(replica["KmsKeyId"])
    assert "alias/strongroom/data" in str(replica["KmsKeyId"])


def test_replica_keys_are_the_other_regions_data_keys(templates: dict[str, dict[str, Any]]) -> None:
    for table in _of_type(templates[DATA], "AWS::DynamoDB::GlobalTable").values():
        keys = {
            r["Region"]: str(r["SSESpecification"]["KMSMasterKeyId"]) for r in table["Properties"]["Replicas"]
        }
        assert "alias/strongroom/data" in keys["eu-central-1"]
        assert ":kms:eu-central-1:" in keys["eu-central-1"]
        assert "strongroom-keys-eu-west-1" in keys["eu-west-1"]  # the primary's own key stack


# Every Region: the network's (default-group closer, flow logs, DNS queries), the API function's,
# the API's (access, execution) and the firewall's. The primary adds the secret rotation function's.
REGIONAL_LOG_GROUPS = {
    "/strongroom/network/default-sg-closer",
    "/strongroom/network/flow-logs",
    "/strongroom/network/dns-queries",
    "/aws/lambda/strongroom-api",
    "/aws/lambda/strongroom-ingest",  # the pipelines (docs/adr/0033)
    "/aws/lambda/strongroom-publisher",
    "/strongroom/api/access-logs",
    "API-Gateway-Execution-Logs_<Api>/v1",
    "aws-waf-logs-strongroom-api",
    "/strongroom/fis/experiments",  # what AWS FIS drills log (docs/adr/0028)
    # the release hooks that smoke-test each new version (docs/adr/0039)
    "/aws/lambda/strongroom-api-release-hook",
    "/aws/lambda/strongroom-ingest-release-hook",
    "/aws/lambda/strongroom-publisher-release-hook",
}
ROTATION_LOG_GROUP = "/aws/lambda/strongroom-cursor-secret-rotation"


def _log_group_name(group: dict[str, Any]) -> str:
    name = group["Properties"]["LogGroupName"]
    return name if isinstance(name, str) else re.sub(r"<Api[A-F0-9]+>", "<Api>", flatten_reference(name))


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_every_log_group_is_encrypted_and_kept_at_least_a_year(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    groups = _of_type(templates[stack], "AWS::Logs::LogGroup")
    expected = REGIONAL_LOG_GROUPS | ({ROTATION_LOG_GROUP} if stack == PRIMARY else set())
    assert sorted(_log_group_name(g) for g in groups.values()) == sorted(expected)
    for group in groups.values():
        assert "KmsKeyId" in group["Properties"]
        assert group["Properties"]["RetentionInDays"] >= 365


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_alarms_notify_the_encrypted_topic_and_link_a_runbook_that_exists(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template = templates[stack]
    (topic_id, topic) = next(iter(_of_type(template, "AWS::SNS::Topic").items()))
    assert "KmsMasterKeyId" in topic["Properties"]
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    linked = set()
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": topic_id}]
        assert properties["OKActions"] == [{"Ref": topic_id}]
        match = re.search(r"Runbook: (docs/runbooks/[a-z0-9-]+\.md)", properties["AlarmDescription"])
        assert match, properties["AlarmDescription"]
        assert (REPO / match.group(1)).is_file(), match.group(1)
        linked.add(match.group(1))
    names = {a["Properties"]["AlarmName"] for a in alarms.values()}
    region = "eu-west-1" if stack == PRIMARY else "eu-central-1"
    peer = "eu-central-1" if stack == PRIMARY else "eu-west-1"
    rotation = (
        {
            f"strongroom-{region}-cursor-secret-rotation",
            *(
                f"strongroom-{region}-rotation-{m}"
                for m in ("errors", "throttles", "duration-p99", "release-errors")
            ),
        }
        if stack == PRIMARY
        else set()
    )
    assert {
        f"strongroom-{region}-api-errors",
        f"strongroom-{region}-api-throttles",
        f"strongroom-{region}-api-duration-p99",
        f"strongroom-{region}-api-5xx-rate",
        f"strongroom-{region}-api-4xx-rate",
        f"strongroom-{region}-api-latency-p99",
        # errors through each function's live alias roll a release back (docs/adr/0039)
        *(f"strongroom-{region}-{f}-release-errors" for f in ("api", "ingest", "publisher")),
        # the pipelines (docs/adr/0033): both functions, both dead-letter queues, the stream consumer
        *(
            f"strongroom-{region}-{f}-{m}"
            for f in ("ingest", "publisher")
            for m in ("errors", "throttles", "duration-p99")
        ),
        f"strongroom-{region}-ingest-dlq-depth",
        f"strongroom-{region}-publisher-dlq-depth",
        f"strongroom-{region}-publisher-iterator-age",
        f"strongroom-{region}-transactions-throttles",
        f"strongroom-{region}-audit-throttles",
        f"strongroom-{region}-audit-replication-to-{peer}",  # the MREC audit table only
        f"strongroom-{region}-region-down",
        f"strongroom-{region}-deep-health",
        # callers failing for longer than a failover takes: a FIS drill's guard (docs/adr/0028)
        f"strongroom-{region}-fis-callers-failing",
        # the account's quotas, once per Region (docs/adr/0043)
        f"strongroom-{region}-lambda-concurrency-quota",
        f"strongroom-{region}-api-rate-quota",
        *rotation,  # the secret rotates in the primary Region only
    } == names
    template_dashboards = _of_type(template, "AWS::CloudWatch::Dashboard")
    assert len(template_dashboards) == 1


def test_every_runbook_has_real_content() -> None:
    for name in RUNBOOKS:
        text = (REPO / "docs" / "runbooks" / f"{name}.md").read_text()
        assert text.startswith("# "), name
        for section in ("## What it means", "## First five minutes", "## Causes and fixes"):
            assert section in text, f"{name}.md lacks {section}"
        assert len(text.split()) > 150, f"{name}.md is too thin to act on"


def test_the_web_acl_protects_the_real_stage(templates: dict[str, dict[str, Any]]) -> None:
    template = templates[PRIMARY]
    (stage_id,) = _of_type(template, "AWS::ApiGateway::Stage")
    (association,) = _of_type(template, "AWS::WAFv2::WebACLAssociation").values()
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]


def test_a_custom_domain_comes_from_context_per_region() -> None:
    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.stacks.regional import RegionalStack  # noqa: PLC0415

    certificate = "arn:aws:acm:eu-west-1:111111111111:certificate/11111111-2222-3333-4444-555555555555"
    app = build_app(
        compliance=False,
        context={
            "strongroom:api-domain:eu-west-1": "api.eu-west-1.example.com",
            "strongroom:api-certificate:eu-west-1": certificate,
        },
    )
    stacks = {s.node.id: s for s in app.node.children if isinstance(s, RegionalStack)}
    assert stacks[PRIMARY].api.domain is not None
    assert stacks[SECONDARY].api.domain is None


def test_half_a_custom_domain_is_refused() -> None:
    from strongroom.infra.app import build_app  # noqa: PLC0415

    with pytest.raises(ValueError, match="give both strongroom:api-domain:eu-west-1"):
        build_app(compliance=False, context={"strongroom:api-domain:eu-west-1": "api.example.com"})


# --- the cursor secret's rotation (docs/adr/0013-cursor-secret-in-secrets-manager.md) --------------

ROTATION_ACTIONS = {
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _rotation_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, f["Properties"])
        for logical_id, f in _of_type(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("FunctionName") == "strongroom-cursor-secret-rotation"
    ]
    return found


def _statements_by_role(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_role: dict[str, list[dict[str, Any]]] = {}
    for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for policy in _of_type(template, kind).values():
            for role in policy["Properties"].get("Roles", []):
                by_role.setdefault(role["Ref"], []).extend(
                    policy["Properties"]["PolicyDocument"]["Statement"]
                )
    return by_role


def test_the_primary_rotates_the_secret_on_the_configured_schedule(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates[PRIMARY]
    function_id, function = _rotation_function(template)
    (schedule,) = _of_type(template, "AWS::SecretsManager::RotationSchedule").values()
    # the data stack's secret, by name: deployed before, and no cross-stack reference
    assert schedule["Properties"]["SecretId"] == "strongroom/api/cursor-secret"
    # Secrets Manager invokes the function's live alias (docs/adr/0039)
    aliases = {
        a["Properties"]["FunctionName"]["Ref"]: k for k, a in _of_type(template, "AWS::Lambda::Alias").items()
    }
    assert schedule["Properties"]["RotationLambdaARN"] == {"Ref": aliases[function_id]}
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}  # the default
    # the primary's API (its live alias, moved by the release) reads the rotated format before the first
    # rotation writes it
    (api_id,) = [k for k, f in _of_type(template, "AWS::Lambda::Function").items() if "ApiFunction" in k]
    assert aliases[api_id] in schedule["DependsOn"]
    assert function["Handler"] == "strongroom.runtime.rotation.handler"
    assert function["Environment"]["Variables"][ENV_CURSOR_SECRET_ID] == "strongroom/api/cursor-secret"
    assert "VpcConfig" in function
    # rotation happens in the primary only; Secrets Manager replicates each version
    assert _of_type(templates[SECONDARY], "AWS::SecretsManager::RotationSchedule") == {}
    assert not [
        f
        for f in _of_type(templates[SECONDARY], "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "strongroom-cursor-secret-rotation"
    ]


def test_the_rotation_interval_comes_from_the_configuration() -> None:
    from aws_cdk.assertions import Template  # noqa: PLC0415

    from strongroom.config import load_config  # noqa: PLC0415
    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.stacks.regional import RegionalStack  # noqa: PLC0415

    config = load_config(environ={env.ENV_SECRET_ROTATION_DAYS: "45"})
    app = build_app(config, compliance=False)
    (primary,) = [s for s in app.node.children if isinstance(s, RegionalStack) and s.node.id == PRIMARY]
    template = Template.from_stack(primary).to_json()
    (schedule,) = _of_type(template, "AWS::SecretsManager::RotationSchedule").values()
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(45 days)"}


def test_the_rotation_role_may_rotate_only_that_secret(templates: dict[str, dict[str, Any]]) -> None:
    template = templates[PRIMARY]
    _, function = _rotation_function(template)
    role_id = function["Role"]["Fn::GetAtt"][0]
    by_role = _statements_by_role(template)
    secrets = [
        s for s in by_role[role_id] if any(a.startswith("secretsmanager:") for a in _listed(s["Action"]))
    ]
    assert [(set(_listed(s["Action"])), s["Resource"]) for s in secrets] == [
        (ROTATION_ACTIONS, SECRET_ARN_PATTERN)
    ]
    kms = [s for s in by_role[role_id] if any(a.startswith("kms:") for a in _listed(s["Action"]))]
    for statement in kms:  # the key only ever through a service, or for its own environment
        conditions = json.dumps(statement["Condition"])
        assert "kms:ViaService" in conditions or "kms:EncryptionContext:LambdaFunctionName" in conditions
    # and no other role in any stack may write the secret or move its labels
    writers = {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
    for stack, stack_template in templates.items():
        for role, statements in _statements_by_role(stack_template).items():
            if stack == PRIMARY and role == role_id:
                continue
            assert not [s for s in statements if writers & set(_listed(s["Action"]))], (stack, role)


def test_rotation_findings_are_acknowledged_only_where_cdk_nag_cannot_see_the_schedule(
    templates: dict[str, dict[str, Any]],
) -> None:
    # cdk-nag recognises a rotation schedule only in the secret's own stack; the schedule lives in the
    # primary platform stack (test_the_primary_rotates_the_secret_on_the_configured_schedule), so the
    # data stack's secret is the one resource that may carry these acknowledgements.
    acknowledged = {
        (stack, logical_id, resource["Type"])
        for stack, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        if "SMG4" in rule["id"] or "SecretsManagerRotationEnabled" in rule["id"]
    }
    assert {(stack, kind) for stack, _, kind in acknowledged} == {(DATA, "AWS::SecretsManager::Secret")}
    (schedule,) = _of_type(templates[PRIMARY], "AWS::SecretsManager::RotationSchedule").values()
    (secret,) = _of_type(templates[DATA], "AWS::SecretsManager::Secret").values()
    assert schedule["Properties"]["SecretId"] == secret["Properties"]["Name"]
    sources = (REPO / "src" / "strongroom" / "infra").rglob("*.py")
    mentions = [p for p in sources if re.search("SMG4|SecretsManagerRotationEnabled", p.read_text())]
    assert mentions == []
