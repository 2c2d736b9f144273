"""Table schemas and the CreateTable requests built from them (shared by local mode and CDK)."""

from __future__ import annotations

from typing import Any

from strongroom.local.provision import create_table_request
from strongroom.runtime.adapters.schema import (
    AUDIT,
    CUSTOMER_INDEX,
    TRANSACTION_RECORDS_FILTER,
    TRANSACTIONS,
    is_transaction_record,
)
from strongroom.runtime.domain import transaction_id_for

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


def stream_record(pk: str, event: str = "MODIFY") -> dict[str, Any]:
    """A DynamoDB stream record of the transactions table, as Lambda receives it."""
    return {"eventName": event, "dynamodb": {"Keys": {"pk": {"S": pk}}, "SequenceNumber": "1"}}


def test_canary_records_are_never_selected_as_transactions() -> None:
    canary = stream_record("HEALTH#eu-west-1")
    txn = stream_record(transaction_id_for("arn:aws:iam::000000000000:role/payments", "k1"), "INSERT")
    assert not is_transaction_record(canary)
    assert is_transaction_record(txn)
    assert not is_transaction_record({"dynamodb": {}})


def test_the_stream_filter_selects_what_the_predicate_selects() -> None:
    prefix = TRANSACTION_RECORDS_FILTER["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"]
    txn_id = transaction_id_for("arn:aws:iam::000000000000:role/payments", "k1")
    for pk in ("HEALTH#eu-west-1", "HEALTH#eu-central-1", txn_id):
        assert pk.startswith(prefix) is is_transaction_record(stream_record(pk))
