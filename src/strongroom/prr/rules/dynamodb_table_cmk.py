"""PRR-DynamoDB-TableCmk: a table is encrypted with a customer managed key: ``SSEType: KMS`` with a
``KMSMasterKeyId`` (KMS without a key id is the AWS managed key)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::DynamoDB::Table",)


def dynamodb_table_cmk(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    sse = _cfn.properties(node).get("SSESpecification") or {}
    ok = (
        _cfn.truthy(sse.get("SSEEnabled"))
        and sse.get("SSEType", "KMS") == "KMS"
        and bool(sse.get("KMSMasterKeyId"))
    )
    return NagRuleCompliance.COMPLIANT if ok else NagRuleCompliance.NON_COMPLIANT
