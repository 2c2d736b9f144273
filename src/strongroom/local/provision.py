"""Create a Region's tables and keys in the emulator from the same definitions the CDK app uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strongroom.config import PlatformConfig
from strongroom.runtime.adapters import kms
from strongroom.runtime.adapters.files import INGEST_PREFIX
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


DEFAULT_MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True, slots=True)
class ProvisionedPipelines:
    """One Region's ingestion and outbox resources in the emulator."""

    ingest_bucket: str
    ingest_queue_url: str
    ingest_queue_arn: str
    ingest_dlq_url: str
    event_stream: str
    event_stream_arn: str
    publisher_dlq_url: str

    def to_state(self) -> dict[str, str]:
        """The fields `strongroom up` adds to local.json for this Region."""
        return {
            "ingestBucket": self.ingest_bucket,
            "ingestPrefix": INGEST_PREFIX,
            "ingestQueue": self.ingest_queue_url,
            "ingestDlq": self.ingest_dlq_url,
            "eventStream": self.event_stream,
            "publisherDlq": self.publisher_dlq_url,
        }


def _queue(sqs: Any, name: str, key_arn: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=name, Attributes={"KmsMasterKeyId": key_arn, **(attributes or {})})[
        "QueueUrl"
    ]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def provision_pipelines(
    config: PlatformConfig,
    region: str,
    *,
    s3: Any,
    sqs: Any,
    kinesis: Any,
    key_ids: dict[str, str],
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
) -> ProvisionedPipelines:
    """The Region's ingest bucket (versioned, KMS) notifying its queue (with a dead-letter queue) of
    objects created under :data:`INGEST_PREFIX`, its event stream (on demand, KMS) and the
    publisher's dead-letter queue — the resources the CDK platform stack deploys, by the same names."""
    names, key = config.names, key_ids["pipeline"]
    dlq_url, dlq_arn = _queue(sqs, names.ingest_dlq(region), key)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    queue_url, queue_arn = _queue(sqs, names.ingest_queue(region), key, {"RedrivePolicy": redrive})
    bucket = names.ingest_bucket(region)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": INGEST_PREFIX}]}},
                }
            ]
        },
    )
    _drain_test_event(sqs, queue_url)
    stream = names.event_stream(region)
    kinesis.create_stream(StreamName=stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId=key)
    stream_arn: str = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    publisher_dlq_url, _ = _queue(sqs, names.publisher_dlq(region), key)
    return ProvisionedPipelines(
        ingest_bucket=bucket,
        ingest_queue_url=queue_url,
        ingest_queue_arn=queue_arn,
        ingest_dlq_url=dlq_url,
        event_stream=stream,
        event_stream_arn=stream_arn,
        publisher_dlq_url=publisher_dlq_url,
    )


def _drain_test_event(sqs: Any, queue_url: str) -> None:
    """S3 sends an ``s3:TestEvent`` when notifications are configured; it is not an upload."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        if '"s3:TestEvent"' in message["Body"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
