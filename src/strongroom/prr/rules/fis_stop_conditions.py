"""PRR-FIS-StopConditions: a fault-injection experiment template stops on a CloudWatch alarm."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::FIS::ExperimentTemplate",)


def fis_stop_conditions(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    conditions = _cfn.listed(_cfn.properties(node).get("StopConditions"))
    alarms = [c for c in conditions if c.get("Source") == "aws:cloudwatch:alarm" and c.get("Value")]
    return NagRuleCompliance.COMPLIANT if alarms else NagRuleCompliance.NON_COMPLIANT
