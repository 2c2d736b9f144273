"""PRR-Lambda-ReservedConcurrency: a function reserves its concurrency, so one function's flood can
neither starve the others of the account's pool nor overrun what its downstream can take."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)


def lambda_reserved_concurrency(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    reserved = _cfn.properties(node).get("ReservedConcurrentExecutions")
    if _cfn.is_intrinsic(reserved):
        return NagRuleCompliance.COMPLIANT  # set from a parameter or condition: reserved all the same
    return (
        NagRuleCompliance.COMPLIANT
        if isinstance(reserved, int) and reserved > 0
        else NagRuleCompliance.NON_COMPLIANT
    )
