"""PRR-KMS-NoWildcardForNonRoot: a key policy grants ``kms:*`` (or ``*``) to the account root
alone; any other principal gets named actions (docs/adr/0020-key-policies-with-separation-of-duties.md)."""

from __future__ import annotations

import json

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::KMS::Key",)


def _root_only(principal: object) -> bool:
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    return all(":root" in json.dumps(p) for p in _cfn.listed(principal["AWS"]))


def kms_no_wildcard_for_non_root(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    for statement in _cfn.statements(_cfn.properties(node).get("KeyPolicy")):
        actions = {a.lower() for a in _cfn.listed(statement.get("Action")) if isinstance(a, str)}
        if (
            statement.get("Effect") == "Allow"
            and actions & {"kms:*", "*"}
            and not _root_only(statement.get("Principal"))
        ):
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT
