"""PRR-Backup-CrossRegionCopy: every rule of a backup plan copies its recovery points to a vault in
another Region (a literal ARN naming the stack's own Region does not count)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Backup::BackupPlan",)


def backup_cross_region_copy(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    plan = _cfn.properties(node).get("BackupPlan") or {}
    rules = _cfn.listed(plan.get("BackupPlanRule"))
    region = node.stack.region
    for rule in rules:
        targets = [c.get("DestinationBackupVaultArn") for c in _cfn.listed(rule.get("CopyActions"))]
        if not any(t and not (isinstance(t, str) and f":backup:{region}:" in t) for t in targets):
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT if rules else NagRuleCompliance.NON_COMPLIANT
