"""PRR-Lambda-Tracing: a function sends X-Ray traces (``TracingConfig.Mode: Active``)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)


def lambda_tracing(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    mode = (_cfn.properties(node).get("TracingConfig") or {}).get("Mode")
    return NagRuleCompliance.COMPLIANT if mode == "Active" else NagRuleCompliance.NON_COMPLIANT
