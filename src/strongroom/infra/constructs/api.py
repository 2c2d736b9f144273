"""The transactions API: a regional REST API in front of one function, behind a WAF web ACL.

Routes come from the runtime's declared ``OPERATIONS`` (routes.py, which the handler registers), so the
gateway and the function cannot disagree about paths or about which routes are public. IAM (SigV4) on every
route except health; request bodies validated against the API's own models (converted to JSON Schema
draft 4, ADR 0012); stage throttling, with a separate, lower one for the public /health* routes; JSON
access logs (which carry no customer data) and execution logs (errors) in CMK-encrypted log groups;
X-Ray. The web ACL is associated with the stage this construct deploys. Every error API Gateway or the
WAF answers itself is problem+json under the configured problem type base
(docs/adr/0017-problem-type-uris-that-cannot-be-hijacked.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from strongroom.infra.constructs._props import (
    Problems,
    acknowledge,
    acknowledge_wildcard_resources,
    merge,
    retention,
    skip_checkov,
)
from strongroom.runtime import problems as problem_types
from strongroom.runtime.routes import JSON, SECURITY_HEADERS, Operation

DRAFT4 = "http://json-schema.org/draft-04/schema#"
# JSON Schema draft 4 vocabulary that API Gateway models accept; anything else is dropped.
_DRAFT4_KEYWORDS = frozenset(
    {
        "$schema",
        "title",
        "description",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "format",
        "default",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    }
)
_SCHEMA_MAPS = frozenset({"properties"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMA_ITEMS = frozenset({"items", "not", "additionalProperties"})
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
)
REDACTED_HEADERS = ("authorization", "x-amz-security-token")
# Who called what, and how it ended; never what was asked for. The path ($context.path) holds the
# customer id, and error messages echo it: validation text quotes submitted values, and a signature
# mismatch quotes the canonical request with its query string. So: the resource template and the
# error's type only, and no path parameter, query string, body or message.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.userArn",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
    "errorType": "$context.error.responseType",
}


# API Gateway's own validation message, escaped into a JSON string (escapeJavaScript also escapes ',
# which JSON does not allow, hence the replaceAll). It goes back to the caller who sent the values,
# never into the access log.
VALIDATION_DETAIL = '"$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\\\\'","\'")"'


def draft4(schema: Mapping[str, Any], *, root: bool = True) -> dict[str, Any]:
    """Convert an OpenAPI 3.1 (JSON Schema 2020-12) schema to the draft 4 API Gateway accepts.

    ``const`` becomes a one-value ``enum``; numeric ``exclusiveMinimum``/``exclusiveMaximum`` become a
    bound plus the draft-4 boolean; annotations draft 4 lacks (``examples``, ``$comment``,
    ``deprecated``, ``readOnly``…) are dropped. ``$ref`` is not supported: models are inlined.
    """
    if "$ref" in schema:
        raise ValueError(f"$ref {schema['$ref']!r} cannot be converted; inline the schema")
    result: dict[str, Any] = {"$schema": DRAFT4} if root else {}
    for key, value in schema.items():
        if key == "const":
            result["enum"] = [value]
        elif key in {"exclusiveMinimum", "exclusiveMaximum"} and not isinstance(value, bool):
            result["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            result[key] = True
        elif key in _DRAFT4_KEYWORDS and key != "$schema":
            result[key] = _draft4_value(key, value)
    return result


def _draft4_value(key: str, value: Any) -> Any:
    if key in _SCHEMA_MAPS:
        return {name: draft4(sub, root=False) for name, sub in value.items()}
    if key in _SCHEMA_LISTS:
        return [draft4(sub, root=False) for sub in value]
    if key in _SCHEMA_ITEMS and isinstance(value, Mapping):
        return draft4(value, root=False)
    return value


@dataclass(frozen=True, slots=True)
class ApiDomain:
    """A custom domain for the API; its certificate must be in ACM in the API's Region."""

    name: str
    certificate_arn: str


class TransactionApi(Construct):
    """REST API (regional) + stage + WAF web ACL for ``handler``.

    ``models`` maps request model names used by ``operations`` to OpenAPI schemas. ``domain`` adds a
    custom domain (TLS 1.2) and disables the default execute-api endpoint.

    ``health_throttle_*`` caps the GET methods under /health on their own. They are public and call
    the same function as the money routes, whose reserved concurrency they would otherwise share
    unchecked: a flood of unsigned health probes must hit a 429 at the gateway, not crowd out
    payments. Route 53's checkers (up to ~16 locations, each every 10 or 30 s) send about 1.6
    requests/s per health check at the fast interval, so 10/s with a burst of 20 is several times
    what they need. ``problem_type_base`` prefixes the ``type`` of the errors the gateway and the WAF
    answer themselves; it must be the base the function uses.

    Attributes: ``rest_api``, ``stage``, ``web_acl``, ``access_logs``, ``execution_logs``,
    ``waf_logs``, ``domain`` (or None), ``models``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        handler: lambda_.IFunction,
        operations: Sequence[Operation],
        models: Mapping[str, Mapping[str, Any]],
        logs_key: kms.IKey,
        log_retention_days: int,
        throttle_rate_per_second: int,
        throttle_burst: int,
        health_throttle_rate_per_second: int,
        health_throttle_burst: int,
        max_body_bytes: int,
        waf_requests_per_ip_per_5min: int,
        problem_type_base: str = problem_types.DEFAULT_PROBLEM_TYPE_BASE,
        stage_name: str = "v1",
        domain: ApiDomain | None = None,
        api_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("TransactionApi")
        problems.check(bool(operations), "operations must list at least one route")
        seen = [(op.method, op.path) for op in operations]
        problems.check(len(set(seen)) == len(seen), "operations repeat a method and path")
        for op in operations:
            problems.check(
                op.request is None or op.request in models,
                f"operations: {op.operation_id} needs model {op.request!r}, which models does not have",
            )
            problems.check(
                op.authorized or op.path.startswith("/health"),
                f"operations: {op.operation_id} ({op.path}) is unauthenticated; only /health* may be",
            )
        problems.check(throttle_rate_per_second >= 1, "throttle_rate_per_second must be ≥ 1")
        problems.check(throttle_burst >= throttle_rate_per_second, "throttle_burst must be ≥ the rate")
        problems.check(health_throttle_rate_per_second >= 1, "health_throttle_rate_per_second must be ≥ 1")
        problems.check(
            health_throttle_burst >= health_throttle_rate_per_second,
            "health_throttle_burst must be ≥ the health rate",
        )
        try:
            problem_types.checked_problem_type_base(problem_type_base)
        except ValueError as exc:
            problems.check(False, f"problem_type_base: {exc}")
        problems.check(
            256 <= max_body_bytes <= 65536, f"max_body_bytes {max_body_bytes} is outside 256..65536"
        )
        problems.check(
            10 <= waf_requests_per_ip_per_5min <= 2_000_000_000,
            f"waf_requests_per_ip_per_5min {waf_requests_per_ip_per_5min} is outside 10..2e9",
        )
        problems.check(bool(re.fullmatch(r"[A-Za-z0-9_]{1,64}", stage_name)), f"stage_name {stage_name!r}")
        problems.locked(
            api_props,
            dict.fromkeys(("deploy", "deploy_options", "endpoint_types", "disable_execute_api_endpoint")),
            "api_props",
        )
        converted: dict[str, dict[str, Any]] = {}
        for name, schema in models.items():
            try:
                converted[name] = draft4(schema)
            except ValueError as exc:
                problems.check(False, f"models.{name}: {exc}")
        problems.raise_if_any()

        stack = Stack.of(self)
        health_methods = apigw.MethodDeploymentOptions(
            throttling_rate_limit=health_throttle_rate_per_second,
            throttling_burst_limit=health_throttle_burst,
            # A method override stands on its own: repeat the stage's logging and metrics.
            metrics_enabled=True,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,
        )
        self.access_logs = self._log_group("AccessLogs", None, logs_key, log_retention_days)
        self.rest_api = apigw.RestApi(
            self,
            "Api",
            **merge(
                {
                    "description": "Strongroom transactions API",
                    "cloud_watch_role": False,
                    "min_compression_size": None,
                },
                api_props,
                {
                    "rest_api_name": api_name,
                    "endpoint_types": [apigw.EndpointType.REGIONAL],
                    "disable_execute_api_endpoint": domain is not None,
                    "deploy": True,
                    "deploy_options": apigw.StageOptions(
                        stage_name=stage_name,
                        throttling_rate_limit=throttle_rate_per_second,
                        throttling_burst_limit=throttle_burst,
                        tracing_enabled=True,
                        metrics_enabled=True,
                        logging_level=apigw.MethodLoggingLevel.ERROR,
                        data_trace_enabled=False,
                        access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                        access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                        method_options={
                            f"{op.path}/{op.method}": health_methods
                            for op in operations
                            if op.path.startswith("/health")
                        },
                    ),
                },
            ),
        )
        self.stage = self.rest_api.deployment_stage
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Callers authenticate with IAM (SigV4), docs/adr/0002; a Cognito user pool would add "
            "end-user identities the platform does not have.",
        )
        for rule in (
            "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
            "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
            "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        ):
            acknowledge(
                self.stage,
                rule,
                "Responses are per-caller money data and idempotent-creation results; the stage has no "
                "cache at all, so nothing is served from (or stored in) one.",
            )
        skip_checkov(
            self.stage,
            "CKV_AWS_120",
            "Responses are per-caller money data and idempotent-creation results; the stage has no cache "
            "at all, so nothing is served from (or stored in) one.",
        )
        for rule in (
            "NIST.800.53.R5-APIGWSSLEnabled",
            "PCI.DSS.321-APIGWSSLEnabled",
            "HIPAA.Security-APIGWSSLEnabled",
        ):
            acknowledge(
                self.stage,
                rule,
                "The rule asks for a client certificate towards HTTP backends; the only integration is a "
                "Lambda proxy, which is invoked over AWS's signed API and takes no client certificate.",
            )
        self.execution_logs = self._log_group(
            "ExecutionLogs",
            f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{stage_name}",
            logs_key,
            log_retention_days,
        )
        self._account_logging_role(stack)

        self.models = self._models(converted)
        self._routes(handler, operations)
        self._gateway_responses(operations, problem_type_base)
        self.waf_logs = self._log_group("WafLogs", f"aws-waf-logs-{api_name}", logs_key, log_retention_days)
        self.web_acl = self._web_acl(
            api_name, max_body_bytes, waf_requests_per_ip_per_5min, problem_type_base
        )
        # The ARN is built from Refs to the API and to the stage itself, so the association can only be
        # created after the stage it protects (seed 000 named a stage that did not exist).
        wafv2.CfnWebACLAssociation(
            self, "WafAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

        self.domain: apigw.DomainName | None = None
        if domain is not None:
            self.domain = apigw.DomainName(
                self,
                "Domain",
                domain_name=domain.name,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", domain.certificate_arn),
                endpoint_type=apigw.EndpointType.REGIONAL,
                security_policy=apigw.SecurityPolicy.TLS_1_2,
                mapping=self.rest_api,
            )

    def _log_group(self, construct_id: str, name: str | None, key: kms.IKey, days: int) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            log_group_name=name,
            encryption_key=key,
            retention=retention(days),
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _account_logging_role(self, stack: Stack) -> None:
        """API Gateway writes execution logs with one role per account and Region (the Account resource)."""
        role = iam.Role(
            self,
            "ExecutionLogsRole",
            assumed_by=iam.ServicePrincipal(
                "apigateway.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="API Gateway: write execution logs to API-Gateway-Execution-Logs_* only",
        )
        groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="API-Gateway-Execution-Logs_*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        describe = stack.format_arn(
            service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        policy = iam.ManagedPolicy(
            self,
            "ExecutionLogsPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ],
                    resources=[groups, f"{groups}:log-stream:*"],
                ),
                iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[describe]),
            ],
        )
        acknowledge_wildcard_resources(
            policy,
            [groups, f"{groups}:log-stream:*", describe],
            "API Gateway names execution log groups API-Gateway-Execution-Logs_<api id>/<stage> and uses one "
            "role per account and Region for every API; logs:DescribeLogGroups takes no group name.",
        )
        account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        account.node.add_dependency(policy)
        self.stage.node.add_dependency(account)

    def _models(self, converted: Mapping[str, dict[str, Any]]) -> dict[str, apigw.IModel]:
        result: dict[str, apigw.IModel] = {}
        for name, schema in converted.items():
            model = apigw.CfnModel(
                self,
                f"{name}Model",
                rest_api_id=self.rest_api.rest_api_id,
                content_type=JSON,
                name=name,
                schema=schema,
            )
            result[name] = apigw.Model.from_model_name(self, f"{name}ModelRef", model.ref)
        return result

    def _routes(self, handler: lambda_.IFunction, operations: Sequence[Operation]) -> None:
        integration = apigw.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        validators = {
            True: self.rest_api.add_request_validator(
                "BodyAndParameters", validate_request_body=True, validate_request_parameters=True
            ),
            False: self.rest_api.add_request_validator(
                "Parameters", validate_request_body=False, validate_request_parameters=True
            ),
        }
        for op in operations:
            resource = self.rest_api.root.resource_for_path(op.path)
            parameters = {f"method.request.header.{h}": True for h in op.headers}
            parameters |= {f"method.request.querystring.{q}": False for q in op.query}
            parameters |= {f"method.request.path.{p}": True for p in op.path_parameters}
            method = resource.add_method(
                op.method,
                integration,
                operation_name=op.operation_id,
                authorization_type=apigw.AuthorizationType.IAM
                if op.authorized
                else apigw.AuthorizationType.NONE,
                request_validator=validators[op.request is not None],
                request_models={JSON: self.models[op.request]} if op.request else None,
                request_parameters=parameters or None,
            )
            if not op.authorized:
                reason = (
                    "Health routes are public by design (docs/adr/0005): Route 53 health checkers cannot "
                    "sign requests, and the answer is a pass/fail status with no customer data."
                )
                acknowledge(method, "AwsSolutions-APIG4", reason)
                skip_checkov(method, "CKV_AWS_59", reason)

    def _gateway_responses(self, operations: Sequence[Operation], problem_type_base: str) -> None:
        """Errors API Gateway raises itself are RFC 9457 problems too, with the API's security headers."""
        required_headers = {h for op in operations for h in op.headers}
        parameter_problem = (
            problem_types.IDEMPOTENCY_KEY_REQUIRED
            if required_headers == {"Idempotency-Key"}
            else problem_types.INVALID_PARAMETER
        )
        message = "$context.error.messageString"  # already a quoted JSON string
        validation = VALIDATION_DETAIL
        responses = {
            apigw.ResponseType.BAD_REQUEST_BODY: (problem_types.VALIDATION_ERROR, validation),
            apigw.ResponseType.BAD_REQUEST_PARAMETERS: (parameter_problem, validation),
            apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: (problem_types.FORBIDDEN, message),
            apigw.ResponseType.ACCESS_DENIED: (problem_types.FORBIDDEN, message),
            apigw.ResponseType.INVALID_SIGNATURE: (problem_types.FORBIDDEN, message),
            apigw.ResponseType.EXPIRED_TOKEN: (problem_types.FORBIDDEN, message),
            apigw.ResponseType.WAF_FILTERED: (
                problem_types.FORBIDDEN,
                '"blocked by the web application firewall"',
            ),
            apigw.ResponseType.REQUEST_TOO_LARGE: (problem_types.PAYLOAD_TOO_LARGE, message),
            apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE: (problem_types.UNSUPPORTED_MEDIA_TYPE, message),
            apigw.ResponseType.THROTTLED: (problem_types.TOO_MANY_REQUESTS, message),
            apigw.ResponseType.QUOTA_EXCEEDED: (problem_types.TOO_MANY_REQUESTS, message),
            apigw.ResponseType.INTEGRATION_FAILURE: (problem_types.BAD_GATEWAY, message),
            apigw.ResponseType.INTEGRATION_TIMEOUT: (problem_types.GATEWAY_TIMEOUT, message),
        }
        headers = {name: f"'{value}'" for name, value in SECURITY_HEADERS.items()}
        for response_type, (problem, detail) in responses.items():
            type_uri = problem.uri_under(problem_type_base)
            template = (
                f'{{"type":"{type_uri}","title":"{problem.title}","status":{problem.status},'
                f'"detail":{detail},"instance":"$util.escapeJavaScript($context.path)"}}'
            )
            self.rest_api.add_gateway_response(
                f"{response_type.response_type}Response",
                type=response_type,
                status_code=str(problem.status),
                response_headers=headers,
                templates={problem_types.PROBLEM_CONTENT_TYPE: template, JSON: template},
            )

    def _web_acl(
        self, api_name: str, max_body_bytes: int, rate_limit: int, problem_type_base: str
    ) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        too_large = problem_types.PAYLOAD_TOO_LARGE
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=10,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                    )
                ),
                visibility_config=visibility("RateLimitPerIp"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="BodyTooLarge",
                priority=20,
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=too_large.status, custom_response_body_key="PayloadTooLarge"
                        )
                    )
                ),
                statement=wafv2.CfnWebACL.StatementProperty(
                    size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                        comparison_operator="GT",
                        size=max_body_bytes,
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                            body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                        ),
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                        ],
                    )
                ),
                visibility_config=visibility("BodyTooLarge"),
            ),
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=3):
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority * 10,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group
                        )
                    ),
                    visibility_config=visibility(group),
                )
            )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=api_name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(api_name),
            rules=rules,
            custom_response_bodies={
                "PayloadTooLarge": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=json.dumps(
                        {
                            "type": too_large.uri_under(problem_type_base),
                            "title": too_large.title,
                            "status": too_large.status,
                            "detail": f"the body is larger than {max_body_bytes} bytes",
                        }
                    ),
                )
            },
        )
        stack = Stack.of(self)
        waf_log_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.waf_logs.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[waf_log_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": name})
                for name in REDACTED_HEADERS
            ],
        )
        return acl
