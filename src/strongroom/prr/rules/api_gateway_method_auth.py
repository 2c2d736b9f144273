"""PRR-ApiGateway-MethodAuth: every REST API method other than CORS preflight and the health paths
(``Policy.health_path_prefix``) requires IAM or an authorizer."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::ApiGateway::Method",)


def api_gateway_method_auth(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if props.get("HttpMethod") == "OPTIONS":
        return NagRuleCompliance.NOT_APPLICABLE
    path = resource_path(node, props.get("ResourceId"))
    if path is not None and (
        path == policy.health_path_prefix or path.startswith(policy.health_path_prefix + "/")
    ):
        return NagRuleCompliance.NOT_APPLICABLE
    kind = props.get("AuthorizationType", "NONE")
    return NagRuleCompliance.NON_COMPLIANT if kind == "NONE" else NagRuleCompliance.COMPLIANT


def resource_path(node: CfnResource, resource_id: object) -> str | None:
    """The method's path, from the stack's ``AWS::ApiGateway::Resource`` chain; "/" for the root,
    None where a part is not in the stack."""
    resources = {r.logical_id: r.properties for r in _cfn.of_type(node, "AWS::ApiGateway::Resource")}
    parts: list[str] = []
    current = _cfn.referenced(resource_id)
    while current in resources:
        parts.insert(0, str(resources[current].get("PathPart")))
        current = _cfn.referenced(resources[current].get("ParentId"))
    if parts:
        return "/" + "/".join(parts)
    if isinstance(resource_id, dict) and "Fn::GetAtt" in resource_id:
        return "/"  # the API's RootResourceId
    return None
