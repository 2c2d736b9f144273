from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from strongroom import constants as env
from strongroom.config import load_config
from strongroom.infra.constructs._props import PropsError, flatten_reference
from strongroom.infra.constructs.account_logging import ApiGatewayAccountLogging
from strongroom.infra.constructs.api import ACCESS_LOG_FIELDS, ApiDomain
from strongroom.infra.constructs.request_models import DRAFT4, draft4
from strongroom.runtime import problems as problem_types
from strongroom.runtime.routes import OPERATIONS, Operation

from .api_stacks import KEY, MODELS
from .api_stacks import transaction_api as _api
from .conftest import resources, stack_template

CERTIFICATE = "arn:aws:acm:eu-west-1:111111111111:certificate/11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(_api)


def _path_of(template: Template, resource_id: str) -> str:
    all_resources = resources(template, "AWS::ApiGateway::Resource")
    parts = []
    while resource_id in all_resources:
        properties = all_resources[resource_id]["Properties"]
        parts.append(properties["PathPart"])
        parent = properties["ParentId"]
        resource_id = parent.get("Ref", "") if isinstance(parent, dict) else ""
    return "/" + "/".join(reversed(parts))


def _method_settings(template: Template) -> dict[tuple[str, str], dict[str, Any]]:
    """The stage's MethodSettings by (resource path, HTTP method); ``("/*", "*")`` is the stage default."""
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}


def _gateway_problems(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each gateway response's status and problem document, with API Gateway's variables filled in."""
    documents = {}
    for response in resources(template, "AWS::ApiGateway::GatewayResponse").values():
        properties = response["Properties"]
        body = properties["ResponseTemplates"]["application/problem+json"]
        rendered = re.sub(
            r'\$util\.escapeJavaScript\(\$context\.[\w.]+\)(\.replaceAll\("[^"]*","[^"]*"\))?', "x", body
        ).replace("$context.error.messageString", '"x"')
        documents[properties["ResponseType"]] = (properties["StatusCode"], json.loads(rendered))
    return documents


def _methods(template: Template) -> dict[tuple[str, str], dict[str, Any]]:
    methods = {}
    for method in resources(template, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        methods[(properties["HttpMethod"], _path_of(template, properties["ResourceId"]["Ref"]))] = properties
    return methods


def test_every_operation_is_a_method_and_only_health_is_public(template: Template) -> None:
    methods = _methods(template)
    expected = {(op.method, op.path): op for op in OPERATIONS}
    assert set(methods) == set(expected)
    for key, method in methods.items():
        public = key[1].startswith("/health")
        assert method["AuthorizationType"] == ("NONE" if public else "AWS_IAM"), key
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert method["OperationName"] == expected[key].operation_id


def test_create_validates_its_body_against_the_model_and_requires_an_idempotency_key(
    template: Template,
) -> None:
    create = _methods(template)[("POST", "/transactions")]
    assert create["RequestModels"] == {
        "application/json": {"Ref": next(iter(resources(template, "AWS::ApiGateway::Model")))}
    }
    assert create["RequestParameters"] == {"method.request.header.Idempotency-Key": True}
    validator = resources(template, "AWS::ApiGateway::RequestValidator")[create["RequestValidatorId"]["Ref"]]
    assert validator["Properties"]["ValidateRequestBody"] is True
    (model,) = resources(template, "AWS::ApiGateway::Model").values()
    assert model["Properties"]["Schema"] == draft4(MODELS["CreateTransaction"])
    assert model["Properties"]["Schema"]["$schema"] == DRAFT4


def test_listing_declares_its_query_parameters(template: Template) -> None:
    listing = _methods(template)[("GET", "/customers/{customer_id}/transactions")]
    assert listing["RequestParameters"] == {
        "method.request.querystring.limit": False,
        "method.request.querystring.cursor": False,
        "method.request.path.customer_id": True,
    }


def test_stage_throttles_traces_and_writes_json_access_logs_to_an_encrypted_group(template: Template) -> None:
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["TracingEnabled"] is True
    settings = _method_settings(template)[("/*", "*")]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (100, 200)
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    assert json.loads(properties["AccessLogSetting"]["Format"]) == ACCESS_LOG_FIELDS
    destination = flatten_reference(properties["AccessLogSetting"]["DestinationArn"])
    (log_group,) = [g for k, g in resources(template, "AWS::Logs::LogGroup").items() if k in destination]
    assert not destination.endswith(":*")
    assert log_group["Properties"]["KmsKeyId"] == KEY
    assert log_group["Properties"]["RetentionInDays"] == 365


def test_health_routes_have_their_own_lower_throttle_and_the_money_routes_keep_the_stage_one(
    template: Template,
) -> None:
    settings = _method_settings(template)
    health = {("/~1health", "GET"), ("/~1health~1deep", "GET")}
    assert set(settings) == {("/*", "*"), *health}
    for key in health:
        assert (settings[key]["ThrottlingRateLimit"], settings[key]["ThrottlingBurstLimit"]) == (10, 20), key
        # an override must not switch off what the stage default turns on
        assert (settings[key]["LoggingLevel"], settings[key]["MetricsEnabled"]) == ("ERROR", True), key
        assert settings[key]["DataTraceEnabled"] is False, key


def test_api_is_regional_and_keeps_its_default_endpoint_without_a_domain(template: Template) -> None:
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["Properties"].get("DisableExecuteApiEndpoint", False) is False
    template.resource_count_is("AWS::ApiGateway::DomainName", 0)


def test_web_acl_is_associated_with_the_stage_this_api_deploys(template: Template) -> None:
    (stage_id,) = resources(template, "AWS::ApiGateway::Stage")
    (api_id,) = resources(template, "AWS::ApiGateway::RestApi")
    (association,) = resources(template, "AWS::WAFv2::WebACLAssociation").values()
    arn_parts = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    # Refs to the stage and the API: the association targets them and is created after them.
    assert {"Ref": stage_id} in arn_parts
    assert {"Ref": api_id} in arn_parts
    (acl_id,) = resources(template, "AWS::WAFv2::WebACL")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_gateway_errors_are_problem_details(template: Template) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    body = responses["BAD_REQUEST_BODY"]
    assert body["StatusCode"] == "422"
    assert (
        '"type":"urn:strongroom:problem:validation-error"'
        in body["ResponseTemplates"]["application/problem+json"]
    )
    assert responses["BAD_REQUEST_PARAMETERS"]["StatusCode"] == "400"
    statuses = {kind: r["StatusCode"] for kind, r in responses.items()}
    assert (
        statuses
        | {
            "ACCESS_DENIED": "403",
            "MISSING_AUTHENTICATION_TOKEN": "403",
            "INVALID_SIGNATURE": "403",
            "WAF_FILTERED": "403",
            "REQUEST_TOO_LARGE": "413",
            "UNSUPPORTED_MEDIA_TYPE": "415",
            "THROTTLED": "429",
            "QUOTA_EXCEEDED": "429",
            "INTEGRATION_FAILURE": "502",
            "INTEGRATION_TIMEOUT": "504",
        }
        == statuses
    ), "every error API Gateway raises itself must be a problem with the right status"
    # every template is JSON once API Gateway has substituted its variables
    for kind, (status, problem) in _gateway_problems(template).items():
        assert problem["status"] == int(status), kind
        assert problem["type"].startswith("urn:strongroom:problem:"), kind


def test_gateway_and_waf_problems_use_the_configured_type_base() -> None:
    base = "https://docs.example.com/problems#"
    template = stack_template(lambda stack: _api(stack, problem_type_base=base))
    slugs = {t.slug for t in problem_types.CATALOGUE}
    for kind, (_, problem) in _gateway_problems(template).items():
        assert problem["type"].removeprefix(base) in slugs, kind
    (acl,) = resources(template, "AWS::WAFv2::WebACL").values()
    too_large = json.loads(acl["Properties"]["CustomResponseBodies"]["PayloadTooLarge"]["Content"])
    assert too_large["type"] == base + "payload-too-large"


def test_a_custom_domain_requires_tls_12_and_disables_the_default_endpoint() -> None:
    template = stack_template(
        lambda stack: _api(stack, domain=ApiDomain("api.eu-west-1.example.com", CERTIFICATE))
    )
    template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": "api.eu-west-1.example.com",
            "SecurityPolicy": "TLS_1_2",
            "RegionalCertificateArn": CERTIFICATE,
        },
    )
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"DisableExecuteApiEndpoint": True})
    template.resource_count_is("AWS::ApiGateway::BasePathMapping", 1)


def test_invalid_props_fail_once_with_every_problem() -> None:
    public_write = Operation(
        "POST", "/payouts", "createPayout", "x", 201, "Payout", request="Payout", authorized=False
    )
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _api(
                stack,
                operations=[*OPERATIONS, public_write],
                throttle_burst=10,
                health_throttle_burst=5,
                problem_type_base="https://strongroom.dev/problems",
                max_body_bytes=10,
                waf_hosting_provider_action="allow",
                api_props={"deploy": False},
            )
        )
    problems = error.value.problems
    expected = [
        "needs model 'Payout'",
        "is unauthenticated",
        "throttle_burst must",
        "health_throttle_burst",
        "problem_type_base",
        "max_body_bytes 10",
        "waf_hosting_provider_action 'allow'",
        "api_props.deploy",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), fragment
    assert len(problems) == len(expected)


# --- the account-level logging role -------------------------------------------------------------------

# What API Gateway does with the account's CloudWatch role: create, describe and write; never read.
LOGGING_ACTIONS = frozenset(
    {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    }
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logging_statements(template: Template) -> list[dict[str, Any]]:
    """Every policy statement of the role named by the AWS::ApiGateway::Account resource."""
    (account,) = resources(template, "AWS::ApiGateway::Account").values()
    (role_id, _) = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"]
    role = resources(template, "AWS::IAM::Role")[role_id]
    (principal,) = [
        s["Principal"]["Service"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    ]
    assert principal == "apigateway.amazonaws.com"
    assert not role["Properties"].get("ManagedPolicyArns"), "no AWS-managed policy (it can read logs)"
    policies = {**resources(template, "AWS::IAM::ManagedPolicy"), **resources(template, "AWS::IAM::Policy")}
    statements = [
        statement
        for policy in policies.values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements
    return statements


def test_the_logging_role_writes_and_describes_logs_but_cannot_read_them(template: Template) -> None:
    statements = _logging_statements(template)
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert actions == LOGGING_ACTIONS
    assert not {"logs:GetLogEvents", "logs:FilterLogEvents"} & actions


def test_the_logging_role_reaches_this_apis_two_log_groups_only(template: Template) -> None:
    groups = resources(template, "AWS::Logs::LogGroup")
    (execution_id,) = [
        k
        for k, g in groups.items()
        if "API-Gateway-Execution-Logs_" in flatten_reference(g["Properties"].get("LogGroupName"))
    ]
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    destination = flatten_reference(stage["Properties"]["AccessLogSetting"]["DestinationArn"])
    (access_id,) = [k for k in groups if f"<{k}>" in destination or f"<{k}." in destination]
    named = set()
    for statement in _logging_statements(template):
        for resource in map(flatten_reference, _as_list(statement["Resource"])):
            if statement["Action"] == "logs:DescribeLogGroups":
                # Describe* lists groups: it takes a log-group:* resource, never a name.
                assert resource.endswith(":log-group:*"), resource
                continue
            prefix, _, named_part = resource.partition(":log-group:")
            assert prefix == "arn:aws:logs:eu-west-1:<AWS::AccountId>", resource
            (group,) = [g for g in (execution_id, access_id) if named_part.startswith(f"<{g}>")]
            # the group itself, or any stream in it: API Gateway names the streams
            assert named_part in {f"<{group}>", f"<{group}>:log-stream:*"}, resource
            named.add(group)
    assert named == {execution_id, access_id}, "access logs are written with the same role"


def test_the_logging_role_needs_a_log_group_to_write_to() -> None:
    with pytest.raises(PropsError, match="log_groups must name at least one log group"):
        stack_template(lambda stack: ApiGatewayAccountLogging(stack, "Logging", log_groups=[]))


def test_the_execution_log_group_exists_before_the_stage_can_log(template: Template) -> None:
    groups = resources(template, "AWS::Logs::LogGroup")
    (execution_id,) = [
        k
        for k, g in groups.items()
        if "API-Gateway-Execution-Logs_" in flatten_reference(g["Properties"].get("LogGroupName"))
    ]
    (stage_id, stage) = next(iter(resources(template, "AWS::ApiGateway::Stage").items()))
    # Otherwise API Gateway may create it first: unencrypted, kept forever, and CloudFormation then fails.
    assert execution_id in stage.get("DependsOn", []), stage_id


# --- the whole app, synthesized once for the session ---------------------------------------------

# Access-log variables that carry no customer data: who called, which route template, how it ended.
SAFE_ACCESS_LOG_VARIABLES = frozenset(
    {
        "$context.requestId",
        "$context.extendedRequestId",
        "$context.requestTimeEpoch",
        "$context.identity.sourceIp",
        "$context.identity.userArn",
        "$context.httpMethod",
        "$context.resourcePath",
        "$context.protocol",
        "$context.status",
        "$context.responseLength",
        "$context.responseLatency",
        "$context.integrationLatency",
        "$context.integrationStatus",
        "$context.waf.status",
        "$context.xrayTraceId",
        "$context.error.responseType",
    }
)
# What would put a path parameter, query string, body or error text into the log.
UNSAFE_ACCESS_LOG_FRAGMENTS = (
    "$context.path",
    "validationErrorString",
    "$context.error.message",
    "$input",
    "$method.request",
    "querystring",
    "$context.requestOverride",
    "$util",
)


@pytest.fixture(scope="module")
def regional_templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    templates = {s.name: synthesized.template(s.name) for s in synthesized.stacks}
    return {
        name: t
        for name, t in templates.items()
        if any(r["Type"] == "AWS::ApiGateway::Stage" for r in t["Resources"].values())
    }


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_access_logs_carry_no_path_query_body_or_error_text(
    regional_templates: dict[str, dict[str, Any]],
) -> None:
    assert len(regional_templates) == len(load_config(environ={}).regions)
    for name, template in regional_templates.items():
        (stage,) = _of_type(template, "AWS::ApiGateway::Stage")
        log_format = stage["AccessLogSetting"]["Format"]
        for fragment in UNSAFE_ACCESS_LOG_FRAGMENTS:
            assert fragment not in log_format, (name, fragment)
        variables = set(json.loads(log_format).values())
        assert variables <= SAFE_ACCESS_LOG_VARIABLES, (name, variables - SAFE_ACCESS_LOG_VARIABLES)
        assert {"$context.resourcePath", "$context.error.responseType"} <= variables, name


def test_function_and_gateway_share_the_configured_problem_type_base(
    regional_templates: dict[str, dict[str, Any]],
) -> None:
    base = problem_types.DEFAULT_PROBLEM_TYPE_BASE  # the session synthesizes the default configuration
    for name, template in regional_templates.items():
        (function,) = [
            f
            for f in _of_type(template, "AWS::Lambda::Function")
            if f.get("FunctionName") == "strongroom-api"
        ]
        assert function["Environment"]["Variables"][env.ENV_PROBLEM_TYPE_BASE] == base, name
        for response in _of_type(template, "AWS::ApiGateway::GatewayResponse"):
            body = response["ResponseTemplates"]["application/problem+json"]
            assert f'"type":"{base}' in body, (name, response["ResponseType"])
