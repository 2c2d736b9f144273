"""Local provisioning creates exactly what the shared schema describes, and can be run again."""

from __future__ import annotations

import base64
from typing import Any

from strongroom.config import load_config
from strongroom.local.provision import DATA_CLASSES, ProvisionedRegion, provision_region
from strongroom.runtime.adapters import kms
from strongroom.runtime.adapters.schema import AUDIT, TRANSACTIONS, TableSchema
from tests.functional.conftest import REGION, aws_client


def describe(table: str) -> dict[str, Any]:
    return aws_client("dynamodb").describe_table(TableName=table)["Table"]  # type: ignore[no-any-return]


def key_schema(entries: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(e["AttributeName"], e["KeyType"]) for e in entries]


def expected_key_schema(schema: TableSchema) -> list[tuple[str, str]]:
    keys = [(schema.partition_key.name, "HASH")]
    if schema.sort_key:
        keys.append((schema.sort_key.name, "RANGE"))
    return keys


def provision_again() -> ProvisionedRegion:
    return provision_region(
        load_config(environ={}), REGION, dynamodb=aws_client("dynamodb"), kms_client=aws_client("kms")
    )


def test_provisioning_twice_changes_nothing(provisioned: ProvisionedRegion) -> None:
    # GIVEN a provisioned Region WHEN it is provisioned again
    again = provision_again()
    # THEN the same keys and tables are returned, and nothing was duplicated
    assert again.key_ids == provisioned.key_ids
    assert (again.transactions_table, again.audit_table) == (
        provisioned.transactions_table,
        provisioned.audit_table,
    )
    assert sorted(aws_client("dynamodb").list_tables()["TableNames"]) == sorted(
        [provisioned.transactions_table, provisioned.audit_table]
    )
    aliases = [a["AliasName"] for a in aws_client("kms").list_aliases()["Aliases"]]
    assert sorted(a for a in aliases if a.startswith("alias/strongroom/")) == [
        f"alias/strongroom/{data_class}" for data_class in sorted(DATA_CLASSES)
    ]


def test_transactions_table_matches_the_shared_schema(provisioned: ProvisionedRegion) -> None:
    table = describe(provisioned.transactions_table)
    assert key_schema(table["KeySchema"]) == expected_key_schema(TRANSACTIONS)
    assert {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]} == (
        TRANSACTIONS.attribute_definitions()
    )
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in TRANSACTIONS.indexes}
    for index in TRANSACTIONS.indexes:
        described = indexes[index.name]
        expected = [(index.partition_key.name, "HASH")]
        if index.sort_key:
            expected.append((index.sort_key.name, "RANGE"))
        assert key_schema(described["KeySchema"]) == expected
        assert described["Projection"]["ProjectionType"] == "ALL"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": TRANSACTIONS.stream}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_tables_are_encrypted_with_the_data_key(provisioned: ProvisionedRegion) -> None:
    for table in (provisioned.transactions_table, provisioned.audit_table):
        sse = describe(table)["SSEDescription"]
        assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS")
        assert sse["KMSMasterKeyArn"] == provisioned.data_key_id


def test_audit_table_matches_the_shared_schema(provisioned: ProvisionedRegion) -> None:
    table = describe(provisioned.audit_table)
    assert key_schema(table["KeySchema"]) == expected_key_schema(AUDIT)
    assert table.get("GlobalSecondaryIndexes", []) == []
    ttl = aws_client("dynamodb").describe_time_to_live(TableName=provisioned.audit_table)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": AUDIT.ttl_attribute,
    }


def test_one_rotating_key_per_data_class(provisioned: ProvisionedRegion) -> None:
    assert set(provisioned.key_ids) == set(DATA_CLASSES)
    assert len(set(provisioned.key_ids.values())) == len(DATA_CLASSES)
    for key_id in provisioned.key_ids.values():
        assert aws_client("kms").get_key_rotation_status(KeyId=key_id.rsplit("/", 1)[-1])[
            "KeyRotationEnabled"
        ]


def test_health_canary_decrypts_under_the_data_key_only(provisioned: ProvisionedRegion) -> None:
    kms.decrypt_canary(aws_client("kms"), provisioned.data_key_id, provisioned.health_canary_ciphertext)
    plaintext = aws_client("kms").decrypt(
        CiphertextBlob=base64.b64decode(provisioned.health_canary_ciphertext),
        EncryptionContext=kms.CANARY_CONTEXT,
    )["Plaintext"]
    assert plaintext == kms.CANARY_PLAINTEXT
