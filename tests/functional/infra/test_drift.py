"""No drift between local and cloud: the emulator's CreateTable requests and the synthesized global
tables come from the same schemas and must agree on everything the application can observe."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.config import load_config
from strongroom.infra.constructs.store import cloud_stream
from strongroom.local.provision import create_table_request
from strongroom.runtime.adapters.schema import AUDIT, TRANSACTIONS, TableSchema

CONFIG = load_config(environ={})
KEY = "arn:aws:kms:eu-west-1:000000000000:key/local"


@pytest.fixture(scope="module")
def cloud_tables(synthesized: Any) -> dict[str, dict[str, Any]]:
    template = synthesized.template("strongroom-data-eu-west-1")
    return {
        r["Properties"]["TableName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::GlobalTable"
    }


def _key_schema(entries: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(e["AttributeName"], e["KeyType"]) for e in entries]


CASES = [
    (CONFIG.names.transactions_table, TRANSACTIONS, CONFIG.consistency),
    (CONFIG.names.audit_table, AUDIT, "eventual"),
]


@pytest.mark.parametrize(("name", "schema", "consistency"), CASES, ids=["transactions", "audit"])
def test_local_and_cloud_tables_agree(
    cloud_tables: dict[str, dict[str, Any]], name: str, schema: TableSchema, consistency: str
) -> None:
    local = create_table_request(name, schema, KEY)
    cloud = cloud_tables[name]

    assert cloud["TableName"] == local["TableName"]
    assert cloud["BillingMode"] == local["BillingMode"]
    assert _key_schema(cloud["KeySchema"]) == _key_schema(local["KeySchema"])
    assert sorted(map(tuple, (a.values() for a in cloud["AttributeDefinitions"]))) == sorted(
        map(tuple, (a.values() for a in local["AttributeDefinitions"]))
    )
    cloud_indexes = {
        i["IndexName"]: (_key_schema(i["KeySchema"]), i["Projection"])
        for i in cloud.get("GlobalSecondaryIndexes", [])
    }
    local_indexes = {
        i["IndexName"]: (_key_schema(i["KeySchema"]), i["Projection"])
        for i in local.get("GlobalSecondaryIndexes", [])
    }
    assert cloud_indexes == local_indexes
    assert cloud["SSESpecification"]["SSEType"] == local["SSESpecification"]["SSEType"] == "KMS"
    ttl = cloud.get("TimeToLiveSpecification")
    assert (ttl["AttributeName"] if ttl else None) == schema.ttl_attribute


@pytest.mark.parametrize(("name", "schema", "consistency"), CASES, ids=["transactions", "audit"])
def test_streams_agree(
    cloud_tables: dict[str, dict[str, Any]], name: str, schema: TableSchema, consistency: Any
) -> None:
    local = create_table_request(name, schema, KEY).get("StreamSpecification", {}).get("StreamViewType")
    cloud = cloud_tables[name].get("StreamSpecification", {}).get("StreamViewType")
    replicas = len(cloud_tables[name]["Replicas"])

    assert local == cloud == schema.stream
    # and the definition itself satisfies what the cloud demands (MREC replicates through a stream)
    assert cloud_stream(schema, replicas, consistency) == schema.stream
