"""PRR-S3-BucketCmk: a bucket's default encryption is SSE-KMS (or DSSE-KMS) with a named customer
managed key."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::S3::Bucket",)


def s3_bucket_cmk(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    encryption = _cfn.properties(node).get("BucketEncryption") or {}
    rules = _cfn.listed(encryption.get("ServerSideEncryptionConfiguration"))
    defaults = [r.get("ServerSideEncryptionByDefault") or {} for r in rules]
    ok = bool(defaults) and all(
        d.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and bool(d.get("KMSMasterKeyID"))
        for d in defaults
    )
    return NagRuleCompliance.COMPLIANT if ok else NagRuleCompliance.NON_COMPLIANT
