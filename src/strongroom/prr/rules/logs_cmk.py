"""PRR-Logs-Cmk: a log group is encrypted with a customer managed key (``KmsKeyId``)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Logs::LogGroup",)


def logs_cmk(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    return (
        NagRuleCompliance.COMPLIANT
        if _cfn.properties(node).get("KmsKeyId")
        else NagRuleCompliance.NON_COMPLIANT
    )
