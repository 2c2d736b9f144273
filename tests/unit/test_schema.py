"""Table schemas and the CreateTable requests built from them (shared by local mode and CDK)."""

from __future__ import annotations

from strongroom.local.provision import create_table_request
from strongroom.runtime.adapters.schema import AUDIT, CUSTOMER_INDEX, TRANSACTIONS

KEY_ARN = "arn:aws:kms:eu-west-1:000000000000:key/k"


def test_transactions_schema() -> None:
    assert TRANSACTIONS.partition_key.name == "pk"
    assert TRANSACTIONS.sort_key is None
    assert TRANSACTIONS.ttl_attribute is None  # MRSC tables cannot use TTL
    assert [(i.name, i.partition_key.name, i.sort_key and i.sort_key.name) for i in TRANSACTIONS.indexes] == [
        (CUSTOMER_INDEX, "customerId", "createdAtId")
    ]
    assert TRANSACTIONS.stream == "NEW_AND_OLD_IMAGES"
    assert TRANSACTIONS.attribute_definitions() == {"pk": "S", "customerId": "S", "createdAtId": "S"}


def test_audit_schema() -> None:
    assert AUDIT.attribute_definitions() == {"pk": "S", "sk": "S"}
    assert AUDIT.ttl_attribute == "expiresAt"


def test_transactions_create_table_request() -> None:
    request = create_table_request("t", TRANSACTIONS, KEY_ARN)
    assert request["TableName"] == "t"
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert request["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert request["SSESpecification"] == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN}
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert request["GlobalSecondaryIndexes"] == [
        {
            "IndexName": CUSTOMER_INDEX,
            "KeySchema": [
                {"AttributeName": "customerId", "KeyType": "HASH"},
                {"AttributeName": "createdAtId", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert sorted(d["AttributeName"] for d in request["AttributeDefinitions"]) == [
        "createdAtId",
        "customerId",
        "pk",
    ]


def test_audit_create_table_request_has_a_sort_key_no_index_and_the_replication_stream() -> None:
    request = create_table_request("a", AUDIT, KEY_ARN)
    assert request["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert "GlobalSecondaryIndexes" not in request
    # MREC global tables replicate through the stream, so it is part of the one definition
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
