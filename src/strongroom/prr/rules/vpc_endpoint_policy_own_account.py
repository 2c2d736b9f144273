"""PRR-VpcEndpoint-PolicyOwnAccount: every Allow statement of an interface endpoint's policy is
limited to the account (a condition on aws:PrincipalAccount, aws:ResourceAccount or
aws:PrincipalOrgID), so stolen credentials of another account cannot use it to move data out."""

from __future__ import annotations

import json

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::EC2::VPCEndpoint",)
ACCOUNT_KEYS = ("aws:principalaccount", "aws:resourceaccount", "aws:principalorgid", "aws:sourceaccount")


def vpc_endpoint_policy_own_account(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if props.get("VpcEndpointType") != "Interface":
        return NagRuleCompliance.NOT_APPLICABLE
    allows = [s for s in _cfn.statements(props.get("PolicyDocument")) if s.get("Effect") == "Allow"]
    if not allows:
        return NagRuleCompliance.NON_COMPLIANT  # no policy: the default allows any account
    for statement in allows:
        keys = {
            k.lower()
            for op in (statement.get("Condition") or {}).values()
            if isinstance(op, dict)
            for k in op
        }
        if not keys & set(ACCOUNT_KEYS) and not _account_principal(statement.get("Principal")):
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _account_principal(principal: object) -> bool:
    """A principal naming accounts (not ``*``): ``{"AWS": "arn:…:root"}`` or an account reference."""
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    return all(
        p != "*" and ("AccountId" in json.dumps(p) or ":root" in json.dumps(p))
        for p in _cfn.listed(principal["AWS"])
    )
