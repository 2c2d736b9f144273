"""PRR-Logs-RetentionPolicy: a log group keeps its events at least as long as the policy demands
(``Policy.log_retention_days``); without ``RetentionInDays`` it keeps them forever."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Logs::LogGroup",)


def logs_retention_policy(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    days = _cfn.properties(node).get("RetentionInDays")
    if days is None:
        return NagRuleCompliance.COMPLIANT
    if not isinstance(days, int):
        return NagRuleCompliance.NON_COMPLIANT  # a parameter could be anything: state it
    return (
        NagRuleCompliance.COMPLIANT if days >= policy.log_retention_days else NagRuleCompliance.NON_COMPLIANT
    )
