"""The errors API Gateway answers itself (validation, SigV4, WAF, throttling, integration failures) as
RFC 9457 problem+json, with the API's security headers and the configured problem type base
(docs/adr/0017-problem-type-uris-that-cannot-be-hijacked.md), so a caller sees one error format
whoever refused the request.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_apigateway as apigw

from strongroom.runtime import problems as problem_types
from strongroom.runtime.routes import JSON, SECURITY_HEADERS, Operation

# API Gateway's own validation message, escaped into a JSON string (escapeJavaScript also escapes ',
# which JSON does not allow, hence the replaceAll). It goes back to the caller who sent the values,
# never into the access log.
VALIDATION_DETAIL = '"$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\\\\'","\'")"'
MESSAGE_DETAIL = "$context.error.messageString"  # already a quoted JSON string
WAF_DETAIL = '"blocked by the web application firewall"'


def problem_responses(
    rest_api: apigw.RestApi, *, operations: Sequence[Operation], problem_type_base: str
) -> dict[apigw.ResponseType, apigw.GatewayResponse]:
    """Add a problem+json gateway response to ``rest_api`` for every error API Gateway raises itself.

    A missing required parameter is ``idempotency-key-required`` when that header is the only required
    parameter ``operations`` declare, else ``invalid-parameter``. Returns the responses by type.
    """
    problem_types.checked_problem_type_base(problem_type_base)
    required_headers = {h for op in operations for h in op.headers}
    parameter_problem = (
        problem_types.IDEMPOTENCY_KEY_REQUIRED
        if required_headers == {"Idempotency-Key"}
        else problem_types.INVALID_PARAMETER
    )
    problems = {
        apigw.ResponseType.BAD_REQUEST_BODY: (problem_types.VALIDATION_ERROR, VALIDATION_DETAIL),
        apigw.ResponseType.BAD_REQUEST_PARAMETERS: (parameter_problem, VALIDATION_DETAIL),
        apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: (problem_types.FORBIDDEN, MESSAGE_DETAIL),
        apigw.ResponseType.ACCESS_DENIED: (problem_types.FORBIDDEN, MESSAGE_DETAIL),
        apigw.ResponseType.INVALID_SIGNATURE: (problem_types.FORBIDDEN, MESSAGE_DETAIL),
        apigw.ResponseType.EXPIRED_TOKEN: (problem_types.FORBIDDEN, MESSAGE_DETAIL),
        apigw.ResponseType.WAF_FILTERED: (problem_types.FORBIDDEN, WAF_DETAIL),
        apigw.ResponseType.REQUEST_TOO_LARGE: (problem_types.PAYLOAD_TOO_LARGE, MESSAGE_DETAIL),
        apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE: (problem_types.UNSUPPORTED_MEDIA_TYPE, MESSAGE_DETAIL),
        apigw.ResponseType.THROTTLED: (problem_types.TOO_MANY_REQUESTS, MESSAGE_DETAIL),
        apigw.ResponseType.QUOTA_EXCEEDED: (problem_types.TOO_MANY_REQUESTS, MESSAGE_DETAIL),
        apigw.ResponseType.INTEGRATION_FAILURE: (problem_types.BAD_GATEWAY, MESSAGE_DETAIL),
        apigw.ResponseType.INTEGRATION_TIMEOUT: (problem_types.GATEWAY_TIMEOUT, MESSAGE_DETAIL),
    }
    headers = {name: f"'{value}'" for name, value in SECURITY_HEADERS.items()}
    responses = {}
    for response_type, (problem, detail) in problems.items():
        template = (
            f'{{"type":"{problem.uri_under(problem_type_base)}","title":"{problem.title}",'
            f'"status":{problem.status},"detail":{detail},'
            f'"instance":"$util.escapeJavaScript($context.path)"}}'
        )
        responses[response_type] = rest_api.add_gateway_response(
            f"{response_type.response_type}Response",
            type=response_type,
            status_code=str(problem.status),
            response_headers=headers,
            templates={problem_types.PROBLEM_CONTENT_TYPE: template, JSON: template},
        )
    return responses
