from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from strongroom.config import Consistency
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.store import TransactionStore, cloud_stream
from strongroom.runtime.adapters.schema import AUDIT, TRANSACTIONS, Key, TableSchema

from .conftest import resources, stack_template

REMOTE_KEY = "arn:aws:kms:eu-central-1:111111111111:alias/strongroom/data"


def _store(stack: Stack, consistency: Consistency = "strong", **overrides: Any) -> TransactionStore:
    props: dict[str, Any] = {
        "transactions_table_name": "strongroom-transactions",
        "audit_table_name": "strongroom-audit",
        "regions": ["eu-west-1", "eu-central-1"],
        "consistency": consistency,
        "witness_region": "eu-west-2" if consistency == "strong" else None,
        "table_key": kms.Key(stack, "DataKey"),
        "replica_key_arns": {"eu-central-1": REMOTE_KEY},
        **overrides,
    }
    return TransactionStore(stack, "Store", **props)


def _table(template: Template, name: str) -> dict[str, Any]:
    (table,) = [
        t["Properties"]
        for t in resources(template, "AWS::DynamoDB::GlobalTable").values()
        if t["Properties"]["TableName"] == name
    ]
    return table


@pytest.fixture(scope="module")
def strong() -> Template:
    return stack_template(_store)


@pytest.fixture(scope="module")
def eventual() -> Template:
    return stack_template(lambda stack: _store(stack, "eventual"))


def test_strong_consistency_is_mrsc_with_two_replicas_and_a_witness(strong: Template) -> None:
    table = _table(strong, "strongroom-transactions")
    assert table["MultiRegionConsistency"] == "STRONG"
    assert table["GlobalTableWitnesses"] == [{"Region": "eu-west-2"}]
    assert sorted(r["Region"] for r in table["Replicas"]) == ["eu-central-1", "eu-west-1"]
    assert "TimeToLiveSpecification" not in table


def test_eventual_consistency_is_mrec_without_witness(eventual: Template) -> None:
    table = _table(eventual, "strongroom-transactions")
    assert table["MultiRegionConsistency"] == "EVENTUAL"
    assert "GlobalTableWitnesses" not in table
    assert len(table["Replicas"]) == 2


@pytest.mark.parametrize("name", ["strongroom-transactions", "strongroom-audit"])
def test_every_replica_has_its_own_key_pitr_deletion_protection_and_insights(
    strong: Template, name: str
) -> None:
    table = _table(strong, name)
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    keys = {r["Region"]: r["SSESpecification"]["KMSMasterKeyId"] for r in table["Replicas"]}
    assert keys["eu-central-1"] == REMOTE_KEY
    assert keys["eu-west-1"]["Fn::GetAtt"][0].startswith("DataKey")
    for replica in table["Replicas"]:
        assert replica["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 35,
        }
        assert replica["DeletionProtectionEnabled"] is True
        assert replica["ContributorInsightsSpecification"] == {"Enabled": True}


def test_transactions_table_follows_the_schema(strong: Template) -> None:
    table = _table(strong, "strongroom-transactions")
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byCustomer"
    assert index["KeySchema"] == [
        {"AttributeName": "customerId", "KeyType": "HASH"},
        {"AttributeName": "createdAtId", "KeyType": "RANGE"},
    ]
    assert table["StreamSpecification"] == {"StreamViewType": TRANSACTIONS.stream}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_audit_table_is_mrec_and_expires_items(strong: Template) -> None:
    table = _table(strong, "strongroom-audit")
    assert table["MultiRegionConsistency"] == "EVENTUAL"
    assert table["TimeToLiveSpecification"] == {"AttributeName": AUDIT.ttl_attribute, "Enabled": True}
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_tables_are_retained(strong: Template) -> None:
    for table in resources(strong, "AWS::DynamoDB::GlobalTable").values():
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_replication_needs_a_stream_only_under_mrec() -> None:
    no_stream = TableSchema(partition_key=Key("pk"))
    assert cloud_stream(no_stream, 2, "eventual") == "NEW_AND_OLD_IMAGES"
    assert cloud_stream(no_stream, 1, "eventual") is None
    assert cloud_stream(no_stream, 2, "strong") is None
    assert cloud_stream(TRANSACTIONS, 2, "strong") == "NEW_AND_OLD_IMAGES"


def test_invalid_props_fail_once_with_every_problem() -> None:
    def build(stack: Stack) -> None:
        _store(
            stack,
            regions=["eu-west-1", "eu-central-1", "us-east-1"],
            witness_region="eu-central-1",
            replica_key_arns={"ap-south-1": REMOTE_KEY},
            transactions_schema=TableSchema(partition_key=Key("pk"), ttl_attribute="expiresAt"),
            transactions_props={"deletion_protection": False},
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)

    problems = error.value.problems
    assert any("no data key for replica eu-central-1" in p for p in problems)
    assert any("no data key for replica us-east-1" in p for p in problems)
    assert any("ap-south-1 is not a replica Region" in p for p in problems)
    assert any("needs two replica Regions, got 3" in p for p in problems)
    assert any("witness_region eu-central-1 is also a replica Region" in p for p in problems)
    assert any("cannot expire items" in p for p in problems)
    assert any("transactions_props.deletion_protection" in p for p in problems)
    assert len(problems) == 7
