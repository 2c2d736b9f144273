"""PRR-VpcEndpoint-PolicyNotOpen: a VPC endpoint has its own policy, and no statement of it allows
every action on every resource to anyone without a condition (what the default policy does)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::EC2::VPCEndpoint",)


def vpc_endpoint_policy_not_open(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if props.get("VpcEndpointType") not in (None, "Interface", "Gateway"):
        return NagRuleCompliance.NOT_APPLICABLE  # GatewayLoadBalancer, Resource, ServiceNetwork: no policy
    document = props.get("PolicyDocument")
    if not _cfn.statements(document):
        return NagRuleCompliance.NON_COMPLIANT
    for statement in _cfn.statements(document):
        if (
            statement.get("Effect") == "Allow"
            and "*" in _cfn.listed(statement.get("Action"))
            and "*" in _cfn.listed(statement.get("Resource", "*"))
            and not statement.get("Condition")
        ):
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT
