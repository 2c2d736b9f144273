"""PRR-Lambda-EnvironmentCmk: a function with environment variables encrypts them with a customer
managed key (``KmsKeyArn``), not the AWS managed Lambda key."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)


def lambda_environment_cmk(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if not (props.get("Environment") or {}).get("Variables"):
        return NagRuleCompliance.NOT_APPLICABLE
    return NagRuleCompliance.COMPLIANT if props.get("KmsKeyArn") else NagRuleCompliance.NON_COMPLIANT
