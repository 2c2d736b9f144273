"""PRR-DynamoDB-GlobalTableReplicaKeys: a global table is encrypted with customer managed keys, one
named for every replica (a KMS key lives in one Region, so each replica needs its own)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::DynamoDB::GlobalTable",)


def dynamodb_global_table_replica_keys(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if (props.get("SSESpecification") or {}).get("SSEType") != "KMS":
        return NagRuleCompliance.NON_COMPLIANT
    replicas = _cfn.listed(props.get("Replicas"))
    keys = [((r.get("SSESpecification") or {}).get("KMSMasterKeyId")) for r in replicas]
    return NagRuleCompliance.COMPLIANT if replicas and all(keys) else NagRuleCompliance.NON_COMPLIANT
