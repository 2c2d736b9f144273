"""RotatedSecret: a replicated secret rotated on schedule by a VPC function that may touch nothing else."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from strongroom import constants as env
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.function import Powertools
from strongroom.infra.constructs.secret import (
    REPLICA_KEY_ACTIONS,
    ROTATION_ACTIONS,
    ROTATION_RUNBOOK,
    SECRET_KEY_ACTIONS,
    RotatedSecret,
)

from .conftest import REPO, resources, stack_template

KEY = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"
REPLICA_KEY = "arn:aws:kms:eu-central-1:111111111111:alias/strongroom/data"
NAME = "strongroom/api/cursor-secret"


def _rotated(stack: Stack, **overrides: Any) -> RotatedSecret:
    key = kms.Key.from_key_arn(stack, "Key", KEY)
    # A bare isolated VPC: what the function needs from PrivateNetwork, without its endpoints and logs.
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    props: dict[str, Any] = {
        "secret_name": NAME,
        "description": "test secret",
        "key": key,
        "key_alias": "alias/strongroom/data",
        "replica_regions": {"eu-central-1": REPLICA_KEY},
        "rotation_days": 7,
        "rotation_handler": "strongroom.runtime.rotation.handler",
        "code": lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        "function_name": "strongroom-cursor-secret-rotation",
        "vpc": vpc,
        "subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        "security_group": ec2.SecurityGroup(stack, "FunctionGroup", vpc=vpc, allow_all_outbound=False),
        "logs_key": key,
        "log_retention_days": 365,
        "powertools": Powertools("strongroom-secret-rotation", "Strongroom"),
        **overrides,
    }
    rotated = RotatedSecret(stack, "CursorSecret", **props)
    rotated.alarm_on_failure(sns.Topic(stack, "Alarms"), "strongroom-eu-west-1")
    return rotated


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(_rotated)


def _only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources(template, kind).items()
    return logical_id, resource


def _alias_of(template: Template, function_id: str) -> str:
    (alias_id,) = [
        k
        for k, a in resources(template, "AWS::Lambda::Alias").items()
        if a["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    return alias_id


def _rotation_function(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, f)
        for logical_id, f in resources(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("FunctionName") == "strongroom-cursor-secret-rotation"
    ]
    return found


def _role_statements(template: Template, function_id: str) -> list[dict[str, Any]]:
    function = resources(template, "AWS::Lambda::Function")[function_id]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for policy in resources(template, "AWS::IAM::Policy").values():  # none expected: checked below
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_rotation_runs_on_the_configured_schedule_with_our_function(template: Template) -> None:
    secret_id, _ = _only(template, "AWS::SecretsManager::Secret")
    function_id, _ = _rotation_function(template)
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    properties = schedule["Properties"]
    assert properties["SecretId"] == {"Ref": secret_id}
    # the live alias, never $LATEST (docs/adr/0039)
    assert properties["RotationLambdaARN"] == {"Ref": _alias_of(template, function_id)}
    assert properties["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}
    assert "HostedRotationLambda" not in properties


def test_the_role_may_rotate_only_this_secret(template: Template) -> None:
    secret_id, _ = _only(template, "AWS::SecretsManager::Secret")
    function_id, _ = _rotation_function(template)
    statements = _role_statements(template, function_id)
    secrets = [s for s in statements if any(a.startswith("secretsmanager:") for a in _listed(s["Action"]))]
    assert len(secrets) == 1
    assert sorted(_listed(secrets[0]["Action"])) == sorted(ROTATION_ACTIONS)
    assert secrets[0]["Resource"] == {"Ref": secret_id}
    assert "Condition" not in secrets[0]
    # nothing CDK would have added on its own: no GetRandomPassword on *, no inline policy
    assert all("secretsmanager:GetRandomPassword" not in _listed(s["Action"]) for s in statements)
    assert not [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if "Rotation" in json.dumps(p["Properties"])
    ]


def test_the_role_uses_the_secrets_key_only_through_secrets_manager_for_this_secret(
    template: Template,
) -> None:
    secret_id, _ = _only(template, "AWS::SecretsManager::Secret")
    function_id, _ = _rotation_function(template)
    on_key = [s for s in _role_statements(template, function_id) if s.get("Resource") == KEY]
    by_sid = {s["Sid"]: s for s in on_key}
    use = by_sid["UseTheSecretsKeyForThisSecretOnly"]
    assert sorted(_listed(use["Action"])) == sorted(SECRET_KEY_ACTIONS)
    assert use["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
            "kms:EncryptionContext:SecretARN": {"Ref": secret_id},
        }
    }
    assert set(by_sid) == {"UseTheSecretsKeyForThisSecretOnly", "DecryptOwnEnvironment"}


def test_the_replica_keys_may_only_encrypt_through_secrets_manager(template: Template) -> None:
    function_id, _ = _rotation_function(template)
    (replica,) = [
        s for s in _role_statements(template, function_id) if s["Sid"].startswith("EncryptTheReplica")
    ]
    assert sorted(_listed(replica["Action"])) == sorted(REPLICA_KEY_ACTIONS)
    assert "kms:Decrypt" not in _listed(replica["Action"])
    assert ":kms:eu-central-1:" in json.dumps(replica["Resource"])
    assert replica["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": "alias/strongroom/data"
    }
    assert sorted(replica["Condition"]["StringEquals"]["kms:ViaService"]) == [
        "secretsmanager.eu-central-1.amazonaws.com",
        "secretsmanager.eu-west-1.amazonaws.com",
    ]


def test_only_secrets_manager_of_this_account_may_invoke_it(template: Template) -> None:
    function_id, _ = _rotation_function(template)
    (permission,) = resources(template, "AWS::Lambda::Permission").values()
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": _alias_of(template, function_id)},
        "Principal": "secretsmanager.amazonaws.com",
        "SourceAccount": {"Ref": "AWS::AccountId"},
    }


def test_rotation_is_configured_after_secrets_manager_may_invoke_the_function(template: Template) -> None:
    permission_id, _ = _only(template, "AWS::Lambda::Permission")
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    assert permission_id in schedule["DependsOn"]


def test_the_function_runs_in_the_vpc_and_knows_only_its_secrets_name(template: Template) -> None:
    _, function = _rotation_function(template)
    properties = function["Properties"]
    assert properties["Handler"] == "strongroom.runtime.rotation.handler"
    assert properties["VpcConfig"]["SubnetIds"]
    assert properties["ReservedConcurrentExecutions"] == 1
    variables = properties["Environment"]["Variables"]
    assert variables[env.ENV_CURSOR_SECRET_ID] == NAME
    assert env.ENV_CURSOR_SECRET not in variables


def test_the_secret_is_replicated_with_each_regions_key(template: Template) -> None:
    _, secret = _only(template, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["ReplicaRegions"] == [{"Region": "eu-central-1", "KmsKeyId": REPLICA_KEY}]
    assert secret["Properties"]["KmsKeyId"] == KEY
    assert secret["DeletionPolicy"] == "Retain"


def test_one_failed_rotation_step_pages_with_a_runbook(template: Template) -> None:
    (alarm,) = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == "strongroom-eu-west-1-cursor-secret-rotation"
    ]
    topic_id, _ = _only(template, "AWS::SNS::Topic")
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1, 1)
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    assert {m["Id"] for m in alarm["Metrics"]} >= {"errors", "throttles"}
    runbook = re.search(r"Runbook: (docs/runbooks/[a-z0-9-]+\.md)", alarm["AlarmDescription"])
    assert runbook
    assert runbook.group(1) == f"docs/runbooks/{ROTATION_RUNBOOK}.md"
    text = (REPO / runbook.group(1)).read_text()
    for section in ("## What it means", "## First five minutes", "## Causes and fixes"):
        assert section in text


def test_wrapping_the_secret_keeps_its_logical_id() -> None:
    # A new logical id would make CloudFormation create a second secret of the same name, and fail.
    ids: dict[str, str] = {}

    def plain(stack: Stack) -> None:
        secretsmanager.Secret(stack, "CursorSecret", secret_name=NAME)

    for build in (plain, _rotated):
        (ids[build.__name__],) = resources(stack_template(build), "AWS::SecretsManager::Secret")
    assert ids["plain"] == ids["_rotated"]


def test_invalid_props_are_reported_together() -> None:
    with pytest.raises(PropsError) as caught:
        stack_template(
            lambda stack: _rotated(
                stack,
                rotation_days=0,
                key_alias="strongroom/data",
                replica_regions={"eu-west-1": REPLICA_KEY},
            )
        )
    problems = caught.value.problems
    assert any("rotation_days 0" in p for p in problems)
    assert any("key_alias" in p for p in problems)
    assert any("eu-west-1, the secret's own Region" in p for p in problems)


def test_an_existing_secret_of_another_stack_is_rotated_by_name() -> None:
    # GIVEN the secret declared in another stack (the global data stack, docs/adr/0010)
    template = stack_template(
        lambda stack: _rotated(stack, existing_secret=True, description="", initial_value=None)
    )
    # THEN no secret here, and nothing refers to one: the schedule and the role name it
    assert resources(template, "AWS::SecretsManager::Secret") == {}
    _, schedule = _only(template, "AWS::SecretsManager::RotationSchedule")
    assert schedule["Properties"]["SecretId"] == NAME
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}
    function_id, _ = _rotation_function(template)
    by_sid = {s["Sid"]: s for s in _role_statements(template, function_id)}
    pattern = json.dumps(by_sid["RotateOnlyThisSecret"]["Resource"])
    assert f":secret:{NAME}-??????" in pattern
    use = by_sid["UseTheSecretsKeyForThisSecretOnly"]["Condition"]
    assert use["StringEquals"] == {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    assert json.dumps(use["StringLike"]["kms:EncryptionContext:SecretARN"]) == pattern


def test_an_existing_secret_takes_no_props_of_a_new_one() -> None:
    with pytest.raises(PropsError, match="give neither with existing_secret"):
        stack_template(lambda stack: _rotated(stack, existing_secret=True))
