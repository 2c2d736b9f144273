"""The money table and the audit table, built from the one schema the local emulator also uses.

Transactions live in a DynamoDB global table declared once, in the primary Region's data stack: with
multi-Region strong consistency (MRSC: two replicas and a witness, RPO 0) when the platform's
consistency is ``strong``, eventual (MREC) otherwise. Audit events live in an MREC table whose items
expire (TTL is allowed there; MRSC forbids it). Every replica is encrypted with its own Region's data
key; keys of other Regions are named by alias ARN because CloudFormation cannot reference a resource
in another Region (ADR 0011).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from strongroom.config import Consistency
from strongroom.infra.constructs._props import Problems, merge
from strongroom.runtime.adapters.schema import AUDIT, TRANSACTIONS, Key, StreamView, TableSchema

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
# An MREC global table with more than one replica replicates through its stream, so DynamoDB requires
# one, with both images. A schema that asks for no stream gets this one in the cloud.
REPLICATION_STREAM: StreamView = "NEW_AND_OLD_IMAGES"
PITR_DAYS = 35

_REQUIRED_TABLE_PROPS = (
    "table_name",
    "partition_key",
    "sort_key",
    "global_secondary_indexes",
    "dynamo_stream",
    "time_to_live_attribute",
    "encryption",
    "replicas",
    "multi_region_consistency",
    "witness_region",
    "point_in_time_recovery_specification",
    "deletion_protection",
)


def cloud_stream(schema: TableSchema, replica_count: int, consistency: Consistency) -> StreamView | None:
    """The stream view a table has in the cloud: the schema's, or the one MREC replication needs."""
    if schema.stream is not None:
        return schema.stream
    if consistency == "eventual" and replica_count > 1:
        return REPLICATION_STREAM
    return None


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class TransactionStore(Construct):
    """The transactions table (MRSC or MREC) and the audit table (MREC, TTL).

    ``regions`` are the active Regions, the stack's own among them; ``replica_key_arns`` names the
    data key of every other Region. ``transactions_props`` / ``audit_props`` tune anything but the
    schema, encryption, replication, PITR and deletion protection.

    Attributes: ``transactions``, ``audit`` (``TableV2``), ``consistency``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        transactions_table_name: str,
        audit_table_name: str,
        regions: Sequence[str],
        consistency: Consistency,
        witness_region: str | None,
        table_key: kms.IKey,
        replica_key_arns: Mapping[str, str],
        transactions_schema: TableSchema = TRANSACTIONS,
        audit_schema: TableSchema = AUDIT,
        transactions_props: Mapping[str, Any] | None = None,
        audit_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        here = Stack.of(self).region
        others = [r for r in regions if r != here]
        problems = Problems("TransactionStore")
        problems.check(here in regions, f"regions {list(regions)} must include the stack's Region {here}")
        problems.check(len(set(regions)) == len(regions), f"regions {list(regions)} repeats a Region")
        for region in others:
            problems.check(region in replica_key_arns, f"replica_key_arns: no data key for replica {region}")
        for region in sorted(set(replica_key_arns) - set(others)):
            problems.check(False, f"replica_key_arns: {region} is not a replica Region of this stack")
        if consistency == "strong":
            problems.check(
                len(regions) == 2, f"strong consistency (MRSC) needs two replica Regions, got {len(regions)}"
            )
            problems.check(bool(witness_region), "strong consistency (MRSC) needs a witness_region")
            problems.check(
                witness_region not in regions, f"witness_region {witness_region} is also a replica Region"
            )
            problems.check(
                transactions_schema.ttl_attribute is None,
                "transactions_schema has a TTL attribute; MRSC tables cannot expire items",
            )
        else:
            problems.check(witness_region is None, "witness_region applies only to strong consistency")
        problems.locked(transactions_props, dict.fromkeys(_REQUIRED_TABLE_PROPS), "transactions_props")
        problems.locked(audit_props, dict.fromkeys(_REQUIRED_TABLE_PROPS), "audit_props")
        problems.raise_if_any()

        self.consistency = consistency
        encryption = dynamodb.TableEncryptionV2.customer_managed_key(table_key, dict(replica_key_arns))
        self.transactions = self._table(
            "Transactions",
            name=transactions_table_name,
            schema=transactions_schema,
            other_regions=others,
            consistency=consistency,
            witness_region=witness_region if consistency == "strong" else None,
            encryption=encryption,
            props=transactions_props,
        )
        self.audit = self._table(
            "Audit",
            name=audit_table_name,
            schema=audit_schema,
            other_regions=others,
            consistency="eventual",
            witness_region=None,
            encryption=encryption,
            props=audit_props,
        )

    def _table(
        self,
        construct_id: str,
        *,
        name: str,
        schema: TableSchema,
        other_regions: Sequence[str],
        consistency: Consistency,
        witness_region: str | None,
        encryption: dynamodb.TableEncryptionV2,
        props: Mapping[str, Any] | None,
    ) -> dynamodb.TableV2:
        stream = cloud_stream(schema, len(other_regions) + 1, consistency)
        return dynamodb.TableV2(
            self,
            construct_id,
            **merge(
                {
                    "billing": dynamodb.Billing.on_demand(),
                    "table_class": dynamodb.TableClass.STANDARD,
                    "contributor_insights_specification": dynamodb.ContributorInsightsSpecification(
                        enabled=True
                    ),
                    "removal_policy": RemovalPolicy.RETAIN,
                },
                props,
                {
                    "table_name": name,
                    "partition_key": _attribute(schema.partition_key),
                    "sort_key": _attribute(schema.sort_key) if schema.sort_key else None,
                    "global_secondary_indexes": [
                        dynamodb.GlobalSecondaryIndexPropsV2(
                            index_name=index.name,
                            partition_key=_attribute(index.partition_key),
                            sort_key=_attribute(index.sort_key) if index.sort_key else None,
                            projection_type=dynamodb.ProjectionType.ALL,
                        )
                        for index in schema.indexes
                    ]
                    or None,
                    "dynamo_stream": dynamodb.StreamViewType[stream] if stream else None,
                    "time_to_live_attribute": schema.ttl_attribute,
                    "encryption": encryption,
                    "replicas": [dynamodb.ReplicaTableProps(region=r) for r in other_regions] or None,
                    "multi_region_consistency": dynamodb.MultiRegionConsistency.STRONG
                    if consistency == "strong"
                    else dynamodb.MultiRegionConsistency.EVENTUAL,
                    "witness_region": witness_region,
                    "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                        point_in_time_recovery_enabled=True, recovery_period_in_days=PITR_DAYS
                    ),
                    "deletion_protection": True,
                },
            ),
        )
