"""PRR-DynamoDB-DeletionProtection: deletion protection is on, for a table and for every replica of
a global table."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")


def dynamodb_deletion_protection(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    holders = (
        [props] if node.cfn_resource_type == "AWS::DynamoDB::Table" else _cfn.listed(props.get("Replicas"))
    )
    protected = bool(holders) and all(_cfn.truthy(h.get("DeletionProtectionEnabled")) for h in holders)
    return NagRuleCompliance.COMPLIANT if protected else NagRuleCompliance.NON_COMPLIANT
