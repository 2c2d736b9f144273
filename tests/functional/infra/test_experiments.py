"""The FIS drill templates (docs/adr/0028): every template stops on an alarm of its own Region and finds
its targets by tag only; only what is tagged can be hit, and only what the role names; the Lambda
templates exist only with the extension, the replication pause only under MREC; the role allows no
wildcard action; experiment logs go to a CMK-encrypted log group."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from strongroom.config import AlarmThresholds, load_config
from strongroom.infra import wildcards
from strongroom.infra.constructs._props import PropsError, flatten_reference
from strongroom.infra.constructs.experiments import (
    CONFIG_PREFIX,
    EXTENSION_LAYER_PARAMETER,
    EXTENSION_WRAPPER,
    INJECTED_DELAY_MS,
    INJECTED_ERROR_PERCENT,
    LAMBDA_ERRORS,
    LAMBDA_LATENCY,
    PEER_STOP_ALARMS_TAG,
    REGION_OUTAGE,
    REPLICATION_LAG,
    RUNBOOK_TAG,
    RUNBOOKS,
    SCENARIO_TAG,
    TARGET_TAG,
    ApiRoute,
    FaultInjection,
)
from strongroom.infra.constructs.observability import Observability

from .conftest import REPO, stack_template

PLATFORMS = {"strongroom-eu-west-1": "eu-west-1", "strongroom-eu-central-1": "eu-central-1"}
DATA = "strongroom-data-eu-west-1"
# What each template's target tag may find (strongroom:fault-target=strongroom/<target>), and where.
TARGETS = {
    REGION_OUTAGE: ("aws:ec2:subnet", "strongroom/function-subnets", "Subnets"),
    LAMBDA_ERRORS: ("aws:lambda:function", "strongroom/api-function", "Functions"),
    LAMBDA_LATENCY: ("aws:lambda:function", "strongroom/api-function", "Functions"),
    REPLICATION_LAG: ("aws:dynamodb:global-table", "strongroom/transactions-table", "Tables"),
}
ACTIONS = {
    REGION_OUTAGE: "aws:network:disrupt-connectivity",
    LAMBDA_ERRORS: "aws:lambda:invocation-error",
    LAMBDA_LATENCY: "aws:lambda:invocation-add-delay",
    REPLICATION_LAG: "aws:dynamodb:global-table-pause-replication",
}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _experiments(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Scenario → the template's properties."""
    found = {}
    for resource in _of_type(template, "AWS::FIS::ExperimentTemplate").values():
        properties = resource["Properties"]
        found[properties["Tags"][SCENARIO_TAG]] = properties
    return found


def _tag(resource: dict[str, Any], key: str) -> str | None:
    tags = resource["Properties"].get("Tags") or []
    if isinstance(tags, dict):
        return tags.get(key)
    return next((t["Value"] for t in tags if t["Key"] == key), None)


def _fis_policy(template: dict[str, Any]) -> dict[str, Any]:
    role = next(
        k
        for k, r in _of_type(template, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "fis.amazonaws.com"}
    )
    (policy,) = [
        r["Properties"]
        for r in _of_type(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role} in r["Properties"].get("Roles", [])
    ]
    return policy


@pytest.fixture(scope="module")
def default_templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    """The app as `strongroom synth` builds it: MRSC, no Lambda extension."""
    return {s.name: synthesized.template(s.name) for s in synthesized.stacks}


@pytest.fixture(scope="module")
def drill_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The app with every drill: MREC and the FIS Lambda extension (no packs; test_compliance and the
    raw build cover the extension's findings)."""
    from strongroom.infra.app import build_app  # noqa: PLC0415

    outdir = tmp_path_factory.mktemp("drills.out")
    config = load_config(environ={}, consistency="eventual", fis_lambda_extension=True)
    build_app(config, outdir=str(outdir), compliance=False).synth()
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text()) for path in _templates(outdir)
    }


def _templates(outdir: Path) -> list[Path]:
    return sorted(outdir.glob("*.template.json"))


# --- which templates exist ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(PLATFORMS))
def test_by_default_only_the_region_outage_template_exists(
    default_templates: dict[str, dict[str, Any]], stack: str
) -> None:
    # MRSC: pausing replication would isolate the Region, not make it lag; no extension: no Lambda faults
    assert set(_experiments(default_templates[stack])) == {REGION_OUTAGE}


@pytest.mark.parametrize("stack", sorted(PLATFORMS))
def test_with_mrec_and_the_extension_every_scenario_has_a_template(
    drill_templates: dict[str, dict[str, Any]], stack: str
) -> None:
    assert set(_experiments(drill_templates[stack])) == {
        REGION_OUTAGE,
        LAMBDA_ERRORS,
        LAMBDA_LATENCY,
        REPLICATION_LAG,
    }


# --- every template: stop conditions, tag-only targets, logs, tags -----------------------------------


def _every_template(
    *sets: dict[str, dict[str, Any]],
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    return [
        (stack, scenario, properties, templates[stack])
        for templates in sets
        for stack in sorted(PLATFORMS)
        for scenario, properties in _experiments(templates[stack]).items()
    ]


def test_every_template_stops_on_an_alarm_of_its_own_stack(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]]
) -> None:
    checked = 0
    for stack, scenario, properties, template in _every_template(default_templates, drill_templates):
        alarms = _of_type(template, "AWS::CloudWatch::Alarm")
        stops = properties["StopConditions"]
        assert stops, (stack, scenario)
        for stop in stops:
            assert stop["Source"] == "aws:cloudwatch:alarm", (stack, scenario)
            (logical_id, attribute) = stop["Value"]["Fn::GetAtt"]
            assert attribute == "Arn"
            assert logical_id in alarms, (stack, scenario, logical_id)
        checked += 1
    assert checked == 10  # 1 per Region by default, 4 per Region with every drill


def test_every_template_finds_its_targets_by_tag_only(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]]
) -> None:
    for stack, scenario, properties, _ in _every_template(default_templates, drill_templates):
        resource_type, tag_value, target_key = TARGETS[scenario]
        (target,) = properties["Targets"].values()
        assert target == {
            "ResourceType": resource_type,
            "ResourceTags": {TARGET_TAG: tag_value},
            "SelectionMode": "ALL",
        }, (stack, scenario)
        (action,) = properties["Actions"].values()
        assert action["ActionId"] == ACTIONS[scenario]
        assert action["Targets"] == {target_key: next(iter(properties["Targets"]))}
        assert re.fullmatch(r"PT\d+M", action["Parameters"]["duration"])
        assert properties["ExperimentOptions"] == {
            "AccountTargeting": "single-account",
            "EmptyTargetResolutionMode": "fail",
        }


def test_every_template_is_found_by_its_scenario_tag_and_names_its_runbook(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]]
) -> None:
    for stack, scenario, properties, _ in _every_template(default_templates, drill_templates):
        tags = properties["Tags"]
        assert tags[SCENARIO_TAG] == scenario
        assert tags[RUNBOOK_TAG] == RUNBOOKS[scenario]
        assert tags["Name"] == f"{stack}-{scenario}"
        assert f"Drill {scenario}:" in flatten_reference(properties["Description"])
        assert f"Runbook: {RUNBOOKS[scenario]}" in flatten_reference(properties["Description"])
    for runbook in set(RUNBOOKS.values()):
        assert (REPO / runbook).is_file(), runbook


def test_every_template_logs_to_a_log_group_encrypted_with_the_logs_key(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]]
) -> None:
    retention = load_config(environ={}).retention.log_days
    for stack, scenario, properties, template in _every_template(default_templates, drill_templates):
        logging = properties["LogConfiguration"]
        assert logging["LogSchemaVersion"] == 2
        (group_id, attribute) = logging["CloudWatchLogsConfiguration"]["LogGroupArn"]["Fn::GetAtt"]
        group = template["Resources"][group_id]
        assert (group["Type"], attribute) == ("AWS::Logs::LogGroup", "Arn"), (stack, scenario)
        assert group["Properties"]["LogGroupName"] == "/strongroom/fis/experiments"
        assert group["Properties"]["RetentionInDays"] == retention
        # the Region's logs key, from its key stack (the same reference the other log groups use)
        key = group["Properties"]["KmsKeyId"]["Fn::GetStackOutput"]
        assert key["StackName"] == f"strongroom-keys-{PLATFORMS[stack]}"
        assert "LogsKey" in key["OutputName"]


def test_log_delivery_is_admitted_by_the_log_groups_resource_policy(
    default_templates: dict[str, dict[str, Any]],
) -> None:
    template = default_templates["strongroom-eu-west-1"]
    (policy,) = _of_type(template, "AWS::Logs::ResourcePolicy").values()
    document = flatten_reference(policy["Properties"]["PolicyDocument"])
    (group_id,) = [k for k, r in _of_type(template, "AWS::Logs::LogGroup").items() if "FaultInjection" in k]
    assert '"Service":"delivery.logs.amazonaws.com"' in document
    assert f'"Resource":"<{group_id}.Arn>"' in document
    assert '"aws:SourceAccount":"<AWS::AccountId>"' in document


# --- what can be hit: the tagged resources, and only those the role names ------------------------------


def _tagged(templates: dict[str, dict[str, Any]], value: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Stack → the resources whose TARGET_TAG has ``value`` (a global table: any replica)."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            values = [_tag(resource, TARGET_TAG)]
            values += [
                next((t["Value"] for t in replica.get("Tags", []) if t["Key"] == TARGET_TAG), None)
                for replica in resource["Properties"].get("Replicas", [])
            ]
            if value in values:
                found.setdefault(stack, []).append((logical_id, resource))
    return found


def test_only_the_function_subnets_carry_the_region_outage_tag(
    default_templates: dict[str, dict[str, Any]],
) -> None:
    tagged = _tagged(default_templates, "strongroom/function-subnets")
    assert set(tagged) == set(PLATFORMS)
    for stack, found in tagged.items():
        subnets = _of_type(default_templates[stack], "AWS::EC2::Subnet")
        assert {logical_id for logical_id, _ in found} == set(subnets), stack  # all three, nothing else


def test_the_function_and_table_are_tagged_only_for_the_drills_that_need_them(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]]
) -> None:
    assert _tagged(default_templates, "strongroom/api-function") == {}
    assert _tagged(default_templates, "strongroom/transactions-table") == {}
    for stack in PLATFORMS:
        ((_, function),) = _tagged(drill_templates, "strongroom/api-function")[stack]
        assert function["Properties"]["FunctionName"] == "strongroom-api"
    # every replica of the transactions table (declared once, in the data stack), not the audit table
    ((_, table),) = _tagged(drill_templates, "strongroom/transactions-table")[DATA]
    assert table["Properties"]["TableName"] == "strongroom-transactions"
    assert all(
        {"Key": TARGET_TAG, "Value": "strongroom/transactions-table"} in replica["Tags"]
        for replica in table["Properties"]["Replicas"]
    )


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("which", ["default", "drills"])
def test_the_fis_role_allows_no_wildcard_action_and_trusts_only_this_accounts_experiments(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]], which: str
) -> None:
    templates = default_templates if which == "default" else drill_templates
    allowed = wildcards.load_allow_list()
    for stack, region in PLATFORMS.items():
        template = templates[stack]
        policy = _fis_policy(template)
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in _listed(statement["Action"])), statement["Sid"]
        # every wildcard resource it names is one the allow-list accepts (with its conditions)
        assert (
            wildcards.findings(
                {"Resources": {"Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": policy}}}, allowed
            )
            == []
        )
        (trust,) = [
            r["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            for r in _of_type(template, "AWS::IAM::Role").values()
            if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            == {"Service": "fis.amazonaws.com"}
        ]
        (assume,) = trust
        assert assume["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        source = flatten_reference(assume["Condition"]["ArnLike"]["aws:SourceArn"])
        assert source == f"arn:aws:fis:{region}:<AWS::AccountId>:experiment/*"


def test_the_role_changes_only_the_tagged_subnets_the_platforms_acl_and_acls_fis_made(
    default_templates: dict[str, dict[str, Any]],
) -> None:
    template = default_templates["strongroom-eu-west-1"]
    statements = _statements(_fis_policy(template))
    subnets = statements["SwapTheAclOfTaggedFunctionSubnets"]
    assert {flatten_reference(r).rsplit("/", 1)[1] for r in subnets["Resource"]} == {
        f"<{logical_id}>" for logical_id in _of_type(template, "AWS::EC2::Subnet")
    }
    assert subnets["Condition"] == {
        "StringEquals": {f"ec2:ResourceTag/{TARGET_TAG}": "strongroom/function-subnets"}
    }
    (acl,) = _of_type(template, "AWS::EC2::NetworkAcl")
    assert flatten_reference(statements["SwapTheOriginalAclBack"]["Resource"]).endswith(
        f":network-acl/<{acl}>"
    )
    for sid in ("FillSwapAndDeleteOnlyFisAcls",):
        assert statements[sid]["Condition"] == {"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}}
    for sid in ("CreateOnlyAclsTaggedForFis", "TagTheAclsFisCreates"):
        assert statements[sid]["Condition"]["StringEquals"]["aws:RequestTag/managedByFIS"] == "true"
    # nothing for Lambda or DynamoDB without those drills
    services = {a.split(":")[0] for s in statements.values() for a in _listed(s["Action"])}
    assert services == {"tag", "logs", "ec2"}


def test_the_replication_pause_may_change_only_this_regions_transactions_replica_and_its_stream(
    drill_templates: dict[str, dict[str, Any]],
) -> None:
    for stack, region in PLATFORMS.items():
        statement = _statements(_fis_policy(drill_templates[stack]))[
            "PauseReplicationOfTheTransactionsReplica"
        ]
        table = f"arn:aws:dynamodb:{region}:<AWS::AccountId>:table/strongroom-transactions"
        assert [flatten_reference(r) for r in statement["Resource"]] == [
            table,
            f"{table}/stream/????-??-??T??:??:??.???",  # the stream's label: no '*' needed
        ]
        assert sorted(statement["Action"]) == [
            "dynamodb:DeleteResourcePolicy",
            "dynamodb:DescribeTable",
            "dynamodb:GetResourcePolicy",
            "dynamodb:PutResourcePolicy",
        ]


# --- the Lambda extension ------------------------------------------------------------------------------


def _api_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, r["Properties"])
        for k, r in _of_type(template, "AWS::Lambda::Function").items()
        if r["Properties"].get("FunctionName") == "strongroom-api"
    ]
    return found


def test_without_the_extension_the_api_function_is_untouched(
    default_templates: dict[str, dict[str, Any]],
) -> None:
    for stack in PLATFORMS:
        _, function = _api_function(default_templates[stack])
        assert "Layers" not in function
        assert "AWS_LAMBDA_EXEC_WRAPPER" not in function["Environment"]["Variables"]
        assert not [k for k in default_templates[stack]["Resources"] if k.startswith("LambdaFaultExtension")]


def test_with_the_extension_the_function_polls_its_regions_configuration_bucket(
    drill_templates: dict[str, dict[str, Any]],
) -> None:
    template = drill_templates["strongroom-eu-central-1"]
    _, function = _api_function(template)
    (layer,) = function["Layers"]
    parameter = template["Parameters"][layer["Ref"]]
    # the extension's layer ARN for arm64, resolved in the Region at deploy time (no per-Region table)
    assert parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": EXTENSION_LAYER_PARAMETER}
    variables = function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == EXTENSION_WRAPPER
    (bucket_id,) = _of_type(template, "AWS::S3::Bucket").keys() - {
        k for k in template["Resources"] if k.startswith("Ingest")
    }
    assert (
        flatten_reference(variables["AWS_FIS_CONFIGURATION_LOCATION"])
        == f"arn:aws:s3:::<{bucket_id}>/{CONFIG_PREFIX}"
    )
    bucket = template["Resources"][bucket_id]["Properties"]
    assert (
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    )
    # the function reads the prefix through the VPC's S3 gateway endpoint; FIS writes it
    objects = f"<{bucket_id}.Arn>/{CONFIG_PREFIX}*"
    writer = _statements(_fis_policy(template))["WriteFaultConfigurations"]
    assert sorted(writer["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
    assert flatten_reference(writer["Resource"]) == objects
    endpoints = [
        flatten_reference(r["Properties"]["ServiceName"])
        for r in _of_type(template, "AWS::EC2::VPCEndpoint").values()
    ]
    assert any(name.endswith(".s3") for name in endpoints)


# --- the guards ----------------------------------------------------------------------------------------


def _alarms_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in _of_type(template, "AWS::CloudWatch::Alarm").values()
    }


def _stops(template: dict[str, Any], scenario: str) -> set[str]:
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    stops = _experiments(template)[scenario]["StopConditions"]
    return {alarms[s["Value"]["Fn::GetAtt"][0]]["Properties"]["AlarmName"] for s in stops}


def test_each_drill_stops_on_what_it_does_beyond_its_intent(
    drill_templates: dict[str, dict[str, Any]],
) -> None:
    template = drill_templates["strongroom-eu-west-1"]
    prefix = "strongroom-eu-west-1"
    # the outage is the intent; callers piling into the Region (the function out of capacity) is not
    assert _stops(template, REGION_OUTAGE) == {f"{prefix}-api-throttles"}
    # every invocation fails at once on purpose; a slow API or a throttled function is not that
    assert _stops(template, LAMBDA_ERRORS) == {f"{prefix}-api-latency-p99", f"{prefix}-api-throttles"}
    # slow on purpose; failing callers, or slower than the injected delay allows, is beyond it
    assert _stops(template, LAMBDA_LATENCY) == {
        f"{prefix}-fis-callers-failing",
        f"{prefix}-fis-latency-beyond-injected",
        f"{prefix}-api-throttles",
    }
    # under MREC the API keeps serving while replication is paused
    assert _stops(template, REPLICATION_LAG) == {f"{prefix}-fis-callers-failing", f"{prefix}-deep-health"}
    (errors,) = _experiments(template)[LAMBDA_ERRORS]["Actions"].values()
    assert errors["Parameters"]["invocationPercentage"] == str(INJECTED_ERROR_PERCENT)
    (delay,) = _experiments(template)[LAMBDA_LATENCY]["Actions"].values()
    assert delay["Parameters"]["startupDelayMilliseconds"] == str(INJECTED_DELAY_MS)


def _expression(alarm: dict[str, Any]) -> str:
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    return str(expression)


def _dimensions(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        m["Id"]: {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]}
        | {"metric": m["MetricStat"]["Metric"]["MetricName"]}
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }


def test_the_guards_count_callers_not_health_checks_for_longer_than_a_failover(
    default_templates: dict[str, dict[str, Any]], drill_templates: dict[str, dict[str, Any]]
) -> None:
    config = load_config(environ={})
    minutes = -(-config.health_check.rto_budget_seconds() // 60) + 2
    # by default there is one guard; the Lambda drills add theirs
    assert {n for n in _alarms_by_name(default_templates["strongroom-eu-west-1"]) if "-fis-" in n} == {
        "strongroom-eu-west-1-fis-callers-failing"
    }
    guards = {
        n: a for n, a in _alarms_by_name(drill_templates["strongroom-eu-west-1"]).items() if "-fis-" in n
    }
    assert set(guards) == {
        "strongroom-eu-west-1-fis-callers-failing",
        "strongroom-eu-west-1-fis-latency-beyond-injected",
    }
    for name, alarm in guards.items():
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (minutes, minutes), name
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    failing = guards["strongroom-eu-west-1-fis-callers-failing"]
    assert failing["Threshold"] == config.alarms.api_5xx_rate_percent
    assert guards["strongroom-eu-west-1-fis-latency-beyond-injected"]["Threshold"] == (
        INJECTED_DELAY_MS + config.alarms.api_p99_latency_ms
    )
    # callers = the stage's requests less the health checks' (per method), whatever the routes
    dimensions = _dimensions(failing)
    excluded = {(d["Resource"], d["metric"]) for d in dimensions.values() if "Resource" in d}
    assert excluded == {
        (path, metric) for path in ("/health", "/health/deep") for metric in ("5XXError", "Count")
    }
    assert {d["metric"] for d in dimensions.values() if "Resource" not in d} == {"5XXError", "Count"}
    expression = _expression(failing)
    for metric_id, d in dimensions.items():
        sign = "- " if "Resource" in d else ""
        assert f"{sign}FILL({metric_id}, 0)" in expression
    assert expression.startswith("IF(")
    assert "100 *" in expression


def test_each_template_names_the_peers_guard_for_the_drill_to_watch(
    default_templates: dict[str, dict[str, Any]],
) -> None:
    for stack, region in PLATFORMS.items():
        ((peer_stack, peer),) = [(s, r) for s, r in PLATFORMS.items() if r != region]
        (properties,) = _experiments(default_templates[stack]).values()
        assert properties["Tags"][PEER_STOP_ALARMS_TAG] == f"{peer}/strongroom-{peer}-fis-callers-failing"
        assert f"strongroom-{peer}-fis-callers-failing" in _alarms_by_name(default_templates[peer_stack])


# --- props ---------------------------------------------------------------------------------------------


def test_invalid_props_fail_once_with_every_problem() -> None:
    def build(stack: Stack) -> None:
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        api = apigw.RestApi(stack, "Api", cloud_watch_role=False)
        api.root.add_method("GET")
        observability = Observability(
            stack,
            "Observability",
            alarm_prefix="t",
            topic_key=kms.Key(stack, "Key"),
            thresholds=AlarmThresholds(),
            api=api,
        )
        FaultInjection(
            stack,
            "FaultInjection",
            deployment="strongroom",
            alarm_prefix="strongroom-eu-west-1",
            log_group_name="/strongroom/fis/experiments",
            logs_key=kms.Key(stack, "LogsKey"),
            log_retention_days=365,
            vpc=vpc,
            subnets=[],
            network_acl=ec2.NetworkAcl(stack, "Acl", vpc=vpc),
            api=api,
            excluded_routes=[ApiRoute(f"/health/{n}", "GET") for n in range(5)],
            observability=observability,
            capacity_alarm=next(iter(observability.alarms.values())),
            latency_alarm=next(iter(observability.alarms.values())),
            rto_budget_seconds=60,
            error_rate_percent=0,
            latency_threshold_ms=2000,
            duration_minutes=0,
            peer_alarm_prefixes={f"eu-peer-{n}": "x" * 60 for n in range(5)},
            function=lambda_.Function(
                stack,
                "Function",
                runtime=lambda_.Runtime.PYTHON_3_13,
                handler="index.handler",
                code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
            ),
            lambda_extension=None,  # a Lambda drill without the extension could never inject anything
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)
    problems = error.value.problems
    assert any(p.startswith("subnets:") for p in problems)
    assert any("excluded_routes: 5 routes" in p for p in problems)
    assert any("error_rate_percent 0 is outside (0, 100]" in p for p in problems)
    assert any("duration_minutes 0 is outside 1..720" in p for p in problems)
    assert any("do not fit a tag value" in p for p in problems)
    assert any("function and lambda_extension go together" in p for p in problems)
    assert len(problems) == 6
