"""The Resilience Hub policy and application (docs/adr/0028): the policy's objectives follow the
configuration, and the application's template body is one Resilience Hub and CloudFormation accept,
naming resources that exist in the stack it maps by AWS::StackId."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import CfnResource, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from strongroom.config import ResiliencePolicy, load_config
from strongroom.infra.constructs._props import PropsError, flatten_reference
from strongroom.infra.constructs.resilience_hub import (
    COMPONENT_TYPES,
    TEMPLATE_BODY_MAX,
    AppResource,
    ResilienceHubApplication,
    app_template_body,
    template_body_problems,
)

from .conftest import stack_template

PLATFORMS = {"strongroom-eu-west-1": "eu-west-1", "strongroom-eu-central-1": "eu-central-1"}
CUSTOM = ResiliencePolicy(
    rto_seconds=120, rpo_seconds=5, tier="Critical", software_rto_seconds=1800, software_rpo_seconds=60
)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _application(
    stack: Stack, policy: ResiliencePolicy = CUSTOM, **overrides: Any
) -> ResilienceHubApplication:
    topic = sns.Topic(stack, "Topic")
    bucket = s3.Bucket(stack, "Bucket")
    props: dict[str, Any] = {
        "name": "strongroom-eu-west-1",
        "description": "Strongroom platform in eu-west-1",
        "policy": policy,
        "stack_resources": {
            "alarm-topic": (topic.node.default_child, "alarms"),
            "ingest-bucket": (bucket.node.default_child, "ingest"),
        },
        "external_resources": [
            AppResource(
                "transactions-table",
                "AWS::DynamoDB::Table",
                "transactions-table",
                arn="arn:aws:dynamodb:eu-west-1:111111111111:table/strongroom-transactions",
            )
        ],
        **overrides,
    }
    return ResilienceHubApplication(stack, "ResilienceHub", **props)


# --- the policy ----------------------------------------------------------------------------------------


def test_the_policy_holds_the_configured_objectives() -> None:
    template = stack_template(_application).to_json()
    (policy,) = _of_type(template, "AWS::ResilienceHub::ResiliencyPolicy").values()
    properties = policy["Properties"]
    assert properties["Tier"] == "Critical"
    assert properties["PolicyName"] == "strongroom-eu-west-1"
    assert properties["Policy"] == {
        "Software": {"RtoInSecs": 1800, "RpoInSecs": 60},
        # an AZ or hardware failure is held to the Region's objectives: it fails over if it must
        "Hardware": {"RtoInSecs": 120, "RpoInSecs": 5},
        "AZ": {"RtoInSecs": 120, "RpoInSecs": 5},
        "Region": {"RtoInSecs": 120, "RpoInSecs": 5},
    }
    (app,) = _of_type(template, "AWS::ResilienceHub::App").values()
    (policy_id,) = _of_type(template, "AWS::ResilienceHub::ResiliencyPolicy")
    assert app["Properties"]["ResiliencyPolicyArn"] == {"Fn::GetAtt": [policy_id, "PolicyArn"]}


@pytest.mark.parametrize("stack", sorted(PLATFORMS))
def test_every_regions_policy_follows_the_configuration(synthesized: Any, stack: str) -> None:
    policy = load_config().resilience  # what the session's synth was built from
    template = synthesized.template(stack)
    (resource,) = _of_type(template, "AWS::ResilienceHub::ResiliencyPolicy").values()
    properties = resource["Properties"]
    assert properties["Tier"] == policy.tier
    assert properties["Policy"]["Region"] == {
        "RtoInSecs": policy.rto_seconds,
        "RpoInSecs": policy.rpo_seconds,
    }
    assert properties["Policy"]["Software"] == {
        "RtoInSecs": policy.software_rto_seconds,
        "RpoInSecs": policy.software_rpo_seconds,
    }


# --- the application ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(PLATFORMS))
def test_the_application_maps_its_own_stack_and_names_resources_that_exist_in_it(
    synthesized: Any, stack: str
) -> None:
    template = synthesized.template(stack)
    (app,) = _of_type(template, "AWS::ResilienceHub::App").values()
    properties = app["Properties"]
    body = properties["AppTemplateBody"]
    assert isinstance(body, str)  # rendered at synthesis: logical ids are final, nothing left to resolve
    assert template_body_problems(body) == []
    document = json.loads(body)
    in_stack = [r for r in document["resources"] if "logicalStackName" in r["logicalResourceId"]]
    assert {r["name"] for r in in_stack} == {"api-function", "rest-api", "alarm-topic", "ingest-bucket"}
    for resource in in_stack:
        logical = resource["logicalResourceId"]
        assert logical["logicalStackName"] == stack
        assert template["Resources"][logical["identifier"]]["Type"] == resource["type"], resource["name"]
    function = next(r for r in in_stack if r["name"] == "api-function")
    assert template["Resources"][function["logicalResourceId"]["identifier"]]["Properties"][
        "FunctionName"
    ] == ("strongroom-api")
    # the stack by its own ARN (known to CloudFormation as it deploys), the tables by configured name
    mappings = {m.get("ResourceName", m.get("LogicalStackName")): m for m in properties["ResourceMappings"]}
    assert mappings[stack]["MappingType"] == "CfnStack"
    assert mappings[stack]["PhysicalResourceId"]["Identifier"] == {"Ref": "AWS::StackId"}
    assert mappings[stack]["PhysicalResourceId"]["AwsRegion"] == PLATFORMS[stack]
    for label, table in (
        ("transactions-table", "strongroom-transactions"),
        ("audit-table", "strongroom-audit"),
    ):
        mapping = mappings[label]
        assert mapping["MappingType"] == "Resource"
        assert flatten_reference(mapping["PhysicalResourceId"]["Identifier"]) == (
            f"arn:aws:dynamodb:{PLATFORMS[stack]}:<AWS::AccountId>:table/{table}"
        )
        assert {"identifier": label} in [r["logicalResourceId"] for r in document["resources"]]
    assert properties["Name"] == stack
    assert properties["AppAssessmentSchedule"] == "Disabled"


def test_the_template_body_groups_every_resource_into_a_component_of_its_kind() -> None:
    resources = [
        AppResource("api-function", "AWS::Lambda::Function", "api", logical_id="ApiFunction1"),
        AppResource("rest-api", "AWS::ApiGateway::RestApi", "api", logical_id="Api2"),
        AppResource("transactions-table", "AWS::DynamoDB::Table", "tables", arn="arn:aws:dynamodb:x"),
    ]
    body = app_template_body("strongroom-eu-west-1", resources)
    assert body["version"] == 2.0
    assert body["excludedResources"] == {"logicalResourceIds": []}
    assert body["appComponents"] == [
        {
            "name": "api",
            "type": "AWS::ResilienceHub::ComputeAppComponent",
            "resourceNames": ["api-function", "rest-api"],
        },
        {
            "name": "tables",
            "type": "AWS::ResilienceHub::DatabaseAppComponent",
            "resourceNames": ["transactions-table"],
        },
    ]
    assert body["resources"][0]["logicalResourceId"] == {
        "identifier": "ApiFunction1",
        "logicalStackName": "strongroom-eu-west-1",
    }
    assert body["resources"][2]["logicalResourceId"] == {"identifier": "transactions-table"}
    assert template_body_problems(json.dumps(body)) == []


def _valid_body() -> dict[str, Any]:
    resource = AppResource("api-function", "AWS::Lambda::Function", "api", logical_id="ApiFunction1")
    return app_template_body("strongroom-eu-west-1", [resource])


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (lambda b: b["resources"][0].update(name="api function!"), "characters the resource schema refuses"),
        (lambda b: b["resources"][0].update(name="a"), "is not 2-60 letters"),
        (lambda b: b["resources"][0].update(type="AWS::EC2::Instance"), "is unsupported"),
        (lambda b: b["resources"].append(dict(b["resources"][0])), "repeat"),
        (lambda b: b["appComponents"].clear(), "appComponents group"),
        (lambda b: b.update(version=1.0), "is not 2.0"),
        (lambda b: b.pop("excludedResources"), "has no 'excludedResources'"),
        (
            lambda b: b["resources"][0]["logicalResourceId"].pop("identifier"),
            "no logicalResourceId.identifier",
        ),
        (lambda b: b.update(padding="x" * TEMPLATE_BODY_MAX), "the limit is 5000"),
    ],
)
def test_a_body_resilience_hub_or_cloudformation_would_refuse_is_found(spoil: Any, problem: str) -> None:
    body = _valid_body()
    spoil(body)
    found = template_body_problems(json.dumps(body))
    assert any(problem in line for line in found), found


def test_a_body_that_is_not_json_is_found() -> None:
    assert any("is not JSON" in p for p in template_body_problems("{resources: [}"))


def test_every_component_type_is_one_resilience_hub_defines() -> None:
    assert set(COMPONENT_TYPES.values()) <= {
        "AWS::ResilienceHub::ComputeAppComponent",
        "AWS::ResilienceHub::DatabaseAppComponent",
        "AWS::ResilienceHub::NotificationAppComponent",
        "AWS::ResilienceHub::StorageAppComponent",
        "AWS::ResilienceHub::NetworkingAppComponent",
        "AWS::ResilienceHub::QueueAppComponent",
    }


def test_invalid_props_fail_once_with_every_problem() -> None:
    def build(stack: Stack) -> None:
        queue = CfnResource(stack, "Queue", type="AWS::SQS::Queue")
        _application(
            stack,
            name="strongroom eu-west-1",
            stack_resources={"queue": (queue, "queues")},
            external_resources=[AppResource("table", "AWS::DynamoDB::Table", "tables", logical_id="Table1")],
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)
    problems = error.value.problems
    assert any(p.startswith("name 'strongroom eu-west-1'") for p in problems)
    assert any("AWS::SQS::Queue has no AppComponent type" in p for p in problems)
    assert any("external_resources.table: give its arn" in p for p in problems)
    assert len(problems) == 3
