"""PRR-IAM-NoWildcardActionsOnOwnResources: no Allow statement grants every action (``*``) or every
action of a service (``dynamodb:*``) on a resource the app defines: own resources get the actions
their users need."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")


def iam_no_wildcard_actions_on_own_resources(
    node: CfnResource, policy: Policy = DEFAULT
) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    documents = [props.get("PolicyDocument")] + [
        p.get("PolicyDocument") for p in _cfn.listed(props.get("Policies"))
    ]
    for statement in (s for d in documents for s in _cfn.statements(d)):
        if statement.get("Effect") != "Allow":
            continue
        whole = [
            a
            for a in _cfn.listed(statement.get("Action"))
            if isinstance(a, str) and (a == "*" or a.endswith(":*"))
        ]
        own = [
            r for r in _cfn.listed(statement.get("Resource")) if isinstance(r, dict)
        ]  # Ref, GetAtt, Join of them
        if whole and own:
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT
