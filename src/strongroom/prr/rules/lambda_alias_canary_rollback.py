"""PRR-Lambda-AliasCanaryRollback: a Lambda alias moves to a new version only through a CodeDeploy
deployment group that watches alarms and rolls back on them and on failure, so a bad release reaches
a canary share of callers and is withdrawn without a person in the loop."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Alias",)
ROLLBACK_EVENTS = frozenset({"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"})


def lambda_alias_canary_rollback(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    group = _deployment_group(node)
    if group is None:
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT if not problems(group) else NagRuleCompliance.NON_COMPLIANT


def explain(node: CfnResource, policy: Policy = DEFAULT) -> str:
    group = _deployment_group(node)
    if group is None:
        return "Its UpdatePolicy names no CodeDeploy deployment group of this stack."
    return " ".join(problems(group))


def problems(group: dict[str, Any]) -> list[str]:
    found = []
    rollback = group.get("AutoRollbackConfiguration") or {}
    events = set(_cfn.listed(rollback.get("Events")))
    if not _cfn.truthy(rollback.get("Enabled")) or not events >= ROLLBACK_EVENTS:
        found.append("The deployment group does not roll back automatically on failure and on alarm.")
    alarms = group.get("AlarmConfiguration") or {}
    if not _cfn.truthy(alarms.get("Enabled")) or not _cfn.listed(alarms.get("Alarms")):
        found.append("The deployment group watches no alarm.")
    return found


def _key(value: Any, name: str) -> Any:
    if not isinstance(value, dict):
        return None
    return next((v for k, v in value.items() if k.lower() == name.lower()), None)


def _deployment_group(node: CfnResource) -> dict[str, Any] | None:
    """The deployment group the alias's UpdatePolicy names, as a template spells it."""
    update = Stack.of(node).resolve(node.cfn_options.update_policy) or {}
    # CDK resolves its own struct in camelCase; CloudFormation spells the keys in PascalCase.
    logical = _cfn.referenced(_key(_key(update, "CodeDeployLambdaAliasUpdate"), "DeploymentGroupName"))
    for group in _cfn.of_type(node, "AWS::CodeDeploy::DeploymentGroup"):
        if group.logical_id == logical:
            return group.properties
    return None
