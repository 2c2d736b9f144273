"""PRR-EC2-NoOpenCidr: no security group rule, in or out, is open to 0.0.0.0/0 or ::/0."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = (
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
)
OPEN = ("0.0.0.0/0", "::/0")


def ec2_no_open_cidr(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    rules = (
        [props]
        if node.cfn_resource_type != "AWS::EC2::SecurityGroup"
        else [
            *_cfn.listed(props.get("SecurityGroupIngress")),
            *_cfn.listed(props.get("SecurityGroupEgress")),
        ]
    )
    for rule in rules:
        if rule.get("CidrIp") in OPEN or rule.get("CidrIpv6") in OPEN:
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT
