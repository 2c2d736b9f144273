"""PRR-DynamoDB-BackupPlanMembership: a table or global table is selected by an AWS Backup plan in the
app, by its ARN or name (a selection by tag or condition counts for every table)."""

from __future__ import annotations

import json

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")


def dynamodb_backup_plan_membership(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    me = _cfn.logical_id(node)
    name = _cfn.properties(node).get("TableName")
    for selection in (r for r in _cfn.app_resources(node) if r.type == "AWS::Backup::BackupSelection"):
        chosen = selection.properties.get("BackupSelection") or {}
        if chosen.get("ListOfTags") or chosen.get("Conditions"):
            return NagRuleCompliance.COMPLIANT
        for resource in _cfn.listed(chosen.get("Resources")):
            text = json.dumps(resource)
            if (
                (selection.stack is node.stack and _cfn.mentions(resource, me))
                or (isinstance(name, str) and f"table/{name}" in text)
                or text.endswith(':table/*"')
            ):
                return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT
