"""PRR-Lambda-CodeSigningEnforced: a function has a code-signing configuration, and where it is in
the stack, it rejects unsigned or untrusted code (``UntrustedArtifactOnDeployment: Enforce``)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)


def lambda_code_signing_enforced(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    arn = _cfn.properties(node).get("CodeSigningConfigArn")
    if not arn:
        return NagRuleCompliance.NON_COMPLIANT
    config = _cfn.referenced(arn)
    for candidate in _cfn.of_type(node, "AWS::Lambda::CodeSigningConfig"):
        if candidate.logical_id == config:
            policies = candidate.properties.get("CodeSigningPolicies") or {}
            enforced = policies.get("UntrustedArtifactOnDeployment") == "Enforce"
            return NagRuleCompliance.COMPLIANT if enforced else NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT  # a configuration from elsewhere: judged where it is defined
