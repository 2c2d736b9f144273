"""PRR-Kinesis-StreamCmk: a Kinesis data stream is encrypted with a customer managed key, not
``alias/aws/kinesis``."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Kinesis::Stream",)


def kinesis_stream_cmk(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    encryption = _cfn.properties(node).get("StreamEncryption") or {}
    key = encryption.get("KeyId")
    ok = encryption.get("EncryptionType") == "KMS" and bool(key) and key != "alias/aws/kinesis"
    return NagRuleCompliance.COMPLIANT if ok else NagRuleCompliance.NON_COMPLIANT
