"""Create a Region's tables and keys in the emulator from the same definitions the CDK app uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strongroom.config import PlatformConfig
from strongroom.runtime.adapters import kms
from strongroom.runtime.adapters.schema import AUDIT, TRANSACTIONS, TableSchema
from strongroom.runtime.keys import new_application_secret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

DATA_CLASSES = ("data", "logs", "pipeline")


@dataclass(frozen=True, slots=True)
class ProvisionedRegion:
    region: str
    transactions_table: str
    audit_table: str
    key_ids: dict[str, str]
    health_canary_ciphertext: str

    @property
    def data_key_id(self) -> str:
        return self.key_ids["data"]


def create_table_request(name: str, schema: TableSchema, key_arn: str) -> dict[str, Any]:
    """The CreateTable request for ``schema``: on-demand, KMS-encrypted with ``key_arn``."""

    def key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
        keys = [{"AttributeName": partition.name, "KeyType": "HASH"}]
        if sort is not None:
            keys.append({"AttributeName": sort.name, "KeyType": "RANGE"})
        return keys

    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in schema.attribute_definitions().items()
        ],
        "KeySchema": key_schema(schema.partition_key, schema.sort_key),
        "SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
    }
    if schema.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in schema.indexes
        ]
    if schema.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": schema.stream}
    return request


def _ensure_key(client: KMSClient, alias: str, description: str) -> str:
    existing = {a["AliasName"]: a.get("TargetKeyId") for a in client.list_aliases()["Aliases"]}
    if existing.get(alias):
        return client.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    key = client.create_key(Description=description, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    client.enable_key_rotation(KeyId=key["KeyId"])
    client.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key["Arn"]


def _ensure_table(client: DynamoDBClient, name: str, schema: TableSchema, key_arn: str) -> None:
    if name not in client.list_tables()["TableNames"]:
        client.create_table(**create_table_request(name, schema, key_arn))
        if schema.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.ttl_attribute},
            )
    # Point-in-time recovery, as the CDK tables have it
    # (docs/adr/0011-global-tables-streams-and-replica-keys.md); the emulator restores from the
    # table's stream (src/strongroom/local/point_in_time.py). Enabling it again changes nothing.
    client.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def provision_region(
    config: PlatformConfig, region: str, *, dynamodb: DynamoDBClient, kms_client: KMSClient
) -> ProvisionedRegion:
    """Idempotently create ``region``'s keys (one per data class) and tables (point-in-time recovery on)."""
    names = config.names
    key_ids = {
        data_class: _ensure_key(
            kms_client, names.key_alias(data_class), f"Strongroom {data_class} key ({region})"
        )
        for data_class in DATA_CLASSES
    }
    _ensure_table(dynamodb, names.transactions_table, TRANSACTIONS, key_ids["data"])
    _ensure_table(dynamodb, names.audit_table, AUDIT, key_ids["data"])
    return ProvisionedRegion(
        region=region,
        transactions_table=names.transactions_table,
        audit_table=names.audit_table,
        key_ids=key_ids,
        health_canary_ciphertext=kms.make_canary_ciphertext(kms_client, key_ids["data"]),
    )


def new_cursor_secret() -> str:
    """A fresh application secret in the format the rotation function writes in AWS (one live cursor
    key and the pseudonym secret), so local mode reads what a deployed function reads."""
    return new_application_secret().to_json()
