"""PRR-ApiGateway-Tracing: a REST API stage sends X-Ray traces (``TracingEnabled``)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::ApiGateway::Stage",)


def api_gateway_tracing(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    traced = _cfn.truthy(_cfn.properties(node).get("TracingEnabled"))
    return NagRuleCompliance.COMPLIANT if traced else NagRuleCompliance.NON_COMPLIANT
