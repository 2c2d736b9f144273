"""The transactions API: a regional REST API in front of one function, behind a WAF web ACL.

Routes come from the runtime's declared ``OPERATIONS`` (routes.py, which the handler registers), so the
gateway and the function cannot disagree about paths or about which routes are public. IAM (SigV4) on every
route except health; request bodies validated against the API's own models (converted to JSON Schema
draft 4 by request_models.py, docs/adr/0012-api-gateway-request-models-as-draft-4.md); stage throttling,
with a separate, lower one for the public /health* routes; JSON access logs (which carry no customer
data) and execution logs (errors) in CMK-encrypted log groups, written with a role that cannot read them
(account_logging.py); X-Ray. The web ACL (firewall.py, docs/adr/0022-api-firewall.md) protects the stage
this construct deploys. Every error API Gateway or the WAF answers itself is problem+json under the
configured problem type base (gateway_responses.py,
docs/adr/0017-problem-type-uris-that-cannot-be-hijacked.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from strongroom.infra.constructs._props import Problems, merge, retention
from strongroom.infra.constructs.account_logging import ApiGatewayAccountLogging
from strongroom.infra.constructs.firewall import ApiFirewall, HostingProviderAction, firewall_problems
from strongroom.infra.constructs.gateway_responses import problem_responses
from strongroom.infra.constructs.request_models import draft4
from strongroom.runtime import problems as problem_types
from strongroom.runtime.routes import JSON, Operation

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

    ``max_body_bytes``, ``waf_requests_per_ip_per_5min`` and ``waf_hosting_provider_action`` configure
    the firewall (``ApiFirewall`` explains them); the firewall is named ``api_name``.

    Attributes: ``rest_api``, ``stage``, ``access_logs``, ``execution_logs``, ``firewall``
    (``ApiFirewall``), ``account_logging`` (``ApiGatewayAccountLogging``), ``gateway_responses``,
    ``domain`` (or None), ``models``.
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
        waf_hosting_provider_action: HostingProviderAction = "count",
        problem_type_base: str = problem_types.DEFAULT_PROBLEM_TYPE_BASE,
        stage_name: str = "v1",
        domain: ApiDomain | None = None,
        api_props: Mapping[str, Any] | None = None,
        access_log_group_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("TransactionApi")
        _check_routes(problems, operations, models)
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
        problems.items += firewall_problems(
            name=api_name,
            max_body_bytes=max_body_bytes,
            requests_per_ip_per_5min=waf_requests_per_ip_per_5min,
            hosting_provider_action=waf_hosting_provider_action,
            labels={
                "name": "api_name",
                "requests_per_ip_per_5min": "waf_requests_per_ip_per_5min",
                "hosting_provider_action": "waf_hosting_provider_action",
            },
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

        health_methods = apigw.MethodDeploymentOptions(
            throttling_rate_limit=health_throttle_rate_per_second,
            throttling_burst_limit=health_throttle_burst,
            # A method override stands on its own: repeat the stage's logging and metrics.
            metrics_enabled=True,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,
        )
        self.access_logs = self._log_group("AccessLogs", access_log_group_name, logs_key, log_retention_days)
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
        self.execution_logs = self._log_group(
            "ExecutionLogs",
            f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{stage_name}",
            logs_key,
            log_retention_days,
        )
        # API Gateway creates a missing execution log group itself (unencrypted, kept forever), and
        # CloudFormation then fails to create this one: the stage logs only once it exists.
        self.stage.node.add_dependency(self.execution_logs)
        self.account_logging = ApiGatewayAccountLogging(
            self, "AccountLogging", log_groups=[self.execution_logs, self.access_logs]
        )
        self.stage.node.add_dependency(self.account_logging.account)

        self.models = self._models(converted)
        self._routes(handler, operations)
        self.gateway_responses = problem_responses(
            self.rest_api, operations=operations, problem_type_base=problem_type_base
        )
        self.firewall = ApiFirewall(
            self,
            "Firewall",
            name=api_name,
            stage=self.stage,
            logs_key=logs_key,
            log_retention_days=log_retention_days,
            max_body_bytes=max_body_bytes,
            requests_per_ip_per_5min=waf_requests_per_ip_per_5min,
            hosting_provider_action=waf_hosting_provider_action,
            problem_type_base=problem_type_base,
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
            resource.add_method(
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


def _check_routes(
    problems: Problems, operations: Sequence[Operation], models: Mapping[str, Mapping[str, Any]]
) -> None:
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
