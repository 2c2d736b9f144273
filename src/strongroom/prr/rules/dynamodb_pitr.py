"""PRR-DynamoDB-Pitr: point-in-time recovery is on, for a table and for every replica of a global
table (the standard packs judge ``AWS::DynamoDB::Table`` only)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")


def _enabled(holder: dict[str, Any]) -> bool:
    spec = holder.get("PointInTimeRecoverySpecification") or {}
    return _cfn.truthy(spec.get("PointInTimeRecoveryEnabled"))


def dynamodb_pitr(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if node.cfn_resource_type == "AWS::DynamoDB::Table":
        return NagRuleCompliance.COMPLIANT if _enabled(props) else NagRuleCompliance.NON_COMPLIANT
    replicas = _cfn.listed(props.get("Replicas"))
    return (
        NagRuleCompliance.COMPLIANT
        if replicas and all(_enabled(r) for r in replicas)
        else NagRuleCompliance.NON_COMPLIANT
    )
