"""PRR-KMS-KeyRotation: a symmetric encryption key rotates its key material (``EnableKeyRotation``);
asymmetric and HMAC keys cannot rotate."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::KMS::Key",)


def kms_key_rotation(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if props.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return NagRuleCompliance.NOT_APPLICABLE
    return (
        NagRuleCompliance.COMPLIANT
        if _cfn.truthy(props.get("EnableKeyRotation"))
        else NagRuleCompliance.NON_COMPLIANT
    )
