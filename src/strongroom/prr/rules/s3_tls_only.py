"""PRR-S3-TlsOnly: a bucket's policy (in the stack) denies every request not made over TLS."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::S3::Bucket",)


def s3_tls_only(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    me = _cfn.logical_id(node)
    name = _cfn.properties(node).get("BucketName")
    for bucket_policy in _cfn.of_type(node, "AWS::S3::BucketPolicy"):
        bucket = bucket_policy.properties.get("Bucket")
        if _cfn.referenced(bucket) != me and not (isinstance(name, str) and bucket == name):
            continue
        if any(
            _denies_plain_http(s) for s in _cfn.statements(bucket_policy.properties.get("PolicyDocument"))
        ):
            return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    condition = (statement.get("Condition") or {}).get("Bool") or {}
    actions = set(_cfn.listed(statement.get("Action")))
    principal = statement.get("Principal")
    return (
        statement.get("Effect") == "Deny"
        and str(condition.get("aws:SecureTransport")).lower() == "false"
        and bool(actions & {"s3:*", "*"})
        and principal in ("*", {"AWS": "*"})
    )
