"""PRR-Backup-VaultLock: a backup vault is locked (``LockConfiguration`` with a minimum retention),
so nobody, an administrator included, can delete recovery points early."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Backup::BackupVault",)


def backup_vault_lock(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    lock = _cfn.properties(node).get("LockConfiguration") or {}
    return NagRuleCompliance.COMPLIANT if lock.get("MinRetentionDays") else NagRuleCompliance.NON_COMPLIANT
