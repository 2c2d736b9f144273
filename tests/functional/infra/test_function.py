from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from strongroom import __version__
from strongroom.config import load_config
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.function import Powertools, SecureFunction
from strongroom.infra.constructs.network import PrivateNetwork

from .conftest import resources, stack_template

KEY = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"
TABLE = "arn:aws:dynamodb:eu-west-1:111111111111:table/strongroom-transactions"


def _function(stack: Stack, **overrides: Any) -> SecureFunction:
    key = kms.Key.from_key_arn(stack, "Key", KEY)
    network = PrivateNetwork(
        stack,
        "Network",
        region=load_config(environ={}).region("eu-west-1"),
        logs_key=key,
        log_retention_days=365,
        log_group_prefix="/strongroom/network",
        interface_services=("xray",),
    )
    props: dict[str, Any] = {
        "function_name": "strongroom-test",
        "handler": "index.handler",
        "code": lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        "description": "test function",
        "vpc": network.vpc,
        "subnets": network.subnets,
        "security_group": network.function_security_group,
        "memory_mb": 512,
        "timeout_seconds": 10,
        "reserved_concurrency": 5,
        "logs_key": key,
        "log_retention_days": 365,
        "environment_key": key,
        "powertools": Powertools("strongroom-test", "Strongroom"),
        "statements": [iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[TABLE])],
        "environment": {"STRONGROOM_TRANSACTIONS_TABLE": "strongroom-transactions"},
        **overrides,
    }
    function = SecureFunction(stack, "Fn", **props)
    network.allow_through_endpoints(function.network_statements)
    return function


@pytest.fixture(scope="module")
def sync() -> Template:
    return stack_template(_function)


@pytest.fixture(scope="module")
def asynchronous() -> Template:
    return stack_template(
        lambda stack: _function(stack, asynchronous=True, queue_key=kms.Key(stack, "QueueKey"))
    )


def _our_function(template: Template) -> dict[str, Any]:
    (function,) = [
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "strongroom-test"
    ]
    return function


def test_python_313_on_arm64_with_explicit_limits_and_active_tracing(sync: Template) -> None:
    function = _our_function(sync)
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 10
    assert function["ReservedConcurrentExecutions"] == 5
    assert function["TracingConfig"] == {"Mode": "Active"}


def test_runs_in_the_isolated_subnets_with_its_own_security_group(sync: Template) -> None:
    vpc_config = _our_function(sync)["VpcConfig"]
    assert len(vpc_config["SubnetIds"]) == 3
    (group,) = vpc_config["SecurityGroupIds"]
    assert "FunctionSecurityGroup" in group["Fn::GetAtt"][0]


def test_environment_is_encrypted_and_carries_powertools_and_regional_sts(sync: Template) -> None:
    function = _our_function(sync)
    assert function["KmsKeyArn"] == KEY
    assert function["Environment"]["Variables"] == {
        "STRONGROOM_TRANSACTIONS_TABLE": "strongroom-transactions",
        "POWERTOOLS_SERVICE_NAME": "strongroom-test",
        "POWERTOOLS_METRICS_NAMESPACE": "Strongroom",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        # X-Ray never records response bodies or exception text (customer data)
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        "STRONGROOM_VERSION": __version__,  # the release, which /health reports (docs/adr/0039)
    }


def test_logs_go_to_its_own_encrypted_log_group_kept_a_year(sync: Template) -> None:
    function = _our_function(sync)
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = resources(sync, "AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"] == {
        "KmsKeyId": KEY,
        "LogGroupName": "/aws/lambda/strongroom-test",
        "RetentionInDays": 365,
    }
    assert log_group["DeletionPolicy"] == "Retain"


def test_role_has_no_managed_policies_and_only_named_actions(sync: Template) -> None:
    (role_id, role) = next(
        (k, v) for k, v in resources(sync, "AWS::IAM::Role").items() if k.startswith("FnRole")
    )
    assert "ManagedPolicyArns" not in role["Properties"]
    actions = set()
    for policy in resources(sync, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                actions.update([listed] if isinstance(listed, str) else listed)
    assert not any("*" in action for action in actions)
    assert {"dynamodb:GetItem", "logs:PutLogEvents", "xray:PutTraceSegments", "kms:Decrypt"} <= actions


def _role_statements(template: Template) -> dict[str, dict[str, Any]]:
    (role_id,) = [k for k in resources(template, "AWS::IAM::Role") if k.startswith("FnRole")]
    return {
        statement.get("Sid", str(index)): statement
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for index, statement in enumerate(policy["Properties"]["PolicyDocument"]["Statement"])
    }


def _subnet_arns(template: Template) -> list[dict[str, Any]]:
    return [
        {
            "Fn::Join": [
                "",
                ["arn:aws:ec2:eu-west-1:", {"Ref": "AWS::AccountId"}, ":subnet/", {"Ref": subnet_id}],
            ]
        }
        for subnet_id in resources(template, "AWS::EC2::Subnet")
    ]


def test_eni_permissions_name_only_interfaces_in_its_own_subnets(sync: Template) -> None:
    statements = _role_statements(sync)
    # GIVEN Lambda manages the function's interfaces with its role: any interface id (unknown until
    # Lambda creates it), but only in the function's own subnets and this account
    manage = statements["ManageEnisInOwnSubnets"]
    assert manage["Resource"] == {
        "Fn::Join": ["", ["arn:aws:ec2:eu-west-1:", {"Ref": "AWS::AccountId"}, ":network-interface/*"]]
    }
    assert manage["Condition"] == {
        "ArnEquals": {"ec2:Subnet": _subnet_arns(sync)},
        "StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}},
    }
    # AND creating one is authorized against the subnets and the security group, each named
    attach = statements["AttachEnisToOwnSubnetsAndGroup"]
    assert attach["Action"] == "ec2:CreateNetworkInterface"
    group_arn = attach["Resource"][0]["Fn::Join"][1]
    assert group_arn[2] == ":security-group/"
    assert "FunctionSecurityGroup" in group_arn[3]["Fn::GetAtt"][0]
    assert attach["Resource"][1:] == _subnet_arns(sync)
    # AND no statement names every resource of EC2 in the account ("*/*")
    assert not any(":*/*" in str(s["Resource"]) for s in statements.values())


def test_only_what_the_code_calls_goes_through_the_vpc() -> None:
    found: list[SecureFunction] = []
    stack_template(lambda stack: found.append(_function(stack)))
    (function,) = found
    called = [sorted(s.actions) for s in function.network_statements]
    # The caller's statement and the X-Ray daemon's; Lambda itself writes logs, manages interfaces and
    # decrypts the environment outside the VPC.
    assert called == [["dynamodb:GetItem"], ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]


def test_a_synchronous_function_has_no_dead_letter_queue(sync: Template) -> None:
    assert "DeadLetterConfig" not in _our_function(sync)
    sync.resource_count_is("AWS::SQS::Queue", 0)


def test_an_asynchronous_function_sends_failures_to_an_encrypted_tls_only_queue(
    asynchronous: Template,
) -> None:
    function = _our_function(asynchronous)
    queue_id = function["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    queue = resources(asynchronous, "AWS::SQS::Queue")[queue_id]["Properties"]
    assert "QueueKey" in queue["KmsMasterKeyId"]["Fn::GetAtt"][0]
    (policy,) = resources(asynchronous, "AWS::SQS::QueuePolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_code_signing_hook_is_passed_through() -> None:
    def build(stack: Stack) -> None:
        config = lambda_.CodeSigningConfig.from_code_signing_config_arn(
            stack,
            "Signing",
            "arn:aws:lambda:eu-west-1:111111111111:code-signing-config:csc-0123456789abcdef0",
        )
        _function(stack, code_signing_config=config)

    function = _our_function(stack_template(build))
    assert function["CodeSigningConfigArn"].endswith("csc-0123456789abcdef0")


def test_invalid_props_fail_once_with_every_problem() -> None:
    def build(stack: Stack) -> None:
        _function(
            stack,
            memory_mb=64,
            timeout_seconds=901,
            reserved_concurrency=0,
            log_retention_days=30,
            asynchronous=True,
            statements=[iam.PolicyStatement(actions=["dynamodb:*"], resources=[TABLE])],
            environment={"POWERTOOLS_SERVICE_NAME": "x"},
            function_props={"tracing": lambda_.Tracing.DISABLED},
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)

    problems = error.value.problems
    expected = [
        "memory_mb 64",
        "timeout_seconds 901",
        "reserved_concurrency 0",
        "log_retention_days 30 is under 365",
        "needs queue_key",
        "environment.POWERTOOLS_SERVICE_NAME",
        "wildcards are not allowed",
        "function_props.tracing",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), fragment
    assert len(problems) == len(expected)
