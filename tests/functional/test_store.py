"""TransactionStore: conditional creation, MRSC conflict retries, replays, and the customer listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime.adapters.dynamodb import StoreUnavailable, TransactionStore, to_item
from strongroom.runtime.domain import (
    IdempotencyKeyReused,
    Transaction,
    new_transaction,
    parse_transaction_request,
    transaction_id_for,
)
from tests.functional.conftest import ScriptedDynamoDB, aws_client, client_error

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def txn(
    key: str = "k1", *, amount: str = "12.34", customer: str = "cust-0042", at: datetime = T0
) -> Transaction:
    request = parse_transaction_request(
        amount=amount, currency="EUR", customer_id=customer, type="debit", reference="rent"
    )
    return new_transaction(request, transaction_id=transaction_id_for("alice", key), now=at)


def conflict() -> ClientError:
    return client_error("ReplicatedWriteConflictException", message="Conflicting write in eu-central-1")


def store_over(fake: ScriptedDynamoDB, sleeps: list[float], retries: int = 3) -> TransactionStore:
    return TransactionStore(fake, "t", conflict_retries=retries, sleep=sleeps.append)  # type: ignore[arg-type]


# --- conflict retries (fake client) -----------------------------------------------------------------


def test_replicated_write_conflict_is_retried_until_the_write_succeeds() -> None:
    # GIVEN DynamoDB reports two MRSC write conflicts, then accepts the write
    sleeps: list[float] = []
    fake = ScriptedDynamoDB([conflict(), conflict()])
    # WHEN the transaction is created
    result = store_over(fake, sleeps).create(txn())
    # THEN it was written on the third attempt, after backing off twice
    assert not result.replayed
    assert result.transaction == txn()
    assert len(fake.put_requests) == 3
    assert sleeps == [0.05, 0.1]
    assert fake.items[txn().id] == to_item(txn())


def test_every_attempt_is_the_same_conditional_put() -> None:
    fake = ScriptedDynamoDB([conflict()])
    store_over(fake, []).create(txn())
    first, second = fake.put_requests
    assert first == second
    assert first["ConditionExpression"] == "attribute_not_exists(pk)"
    assert first["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert first["TableName"] == "t"


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_conflicts_beyond_the_configured_retries_are_raised(retries: int) -> None:
    sleeps: list[float] = []
    fake = ScriptedDynamoDB([conflict() for _ in range(retries + 2)])
    with pytest.raises(ClientError) as caught:
        store_over(fake, sleeps, retries=retries).create(txn())
    assert caught.value.response["Error"]["Code"] == "ReplicatedWriteConflictException"
    assert len(fake.put_requests) == retries + 1
    assert sleeps == [0.05 * 2**n for n in range(retries)]
    assert fake.items == {}


@pytest.mark.parametrize("code", ["ThrottlingException", "ValidationException", "ResourceNotFoundException"])
def test_other_errors_are_not_retried(code: str) -> None:
    sleeps: list[float] = []
    fake = ScriptedDynamoDB([client_error(code)])
    with pytest.raises(ClientError):
        store_over(fake, sleeps).create(txn())
    assert len(fake.put_requests) == 1
    assert sleeps == []


# --- replays (fake client) -------------------------------------------------------------------------


def test_condition_failure_with_the_same_request_is_a_replay_of_the_stored_original() -> None:
    original = txn(at=T0)
    retry = txn(at=T0 + timedelta(seconds=5))
    fake = ScriptedDynamoDB([client_error("ConditionalCheckFailedException", Item=to_item(original))])
    result = store_over(fake, []).create(retry)
    assert result.replayed
    assert result.transaction == original  # the stored original, not the retry's timestamps


def test_condition_failure_with_a_different_request_is_key_reuse() -> None:
    fake = ScriptedDynamoDB(
        [client_error("ConditionalCheckFailedException", Item=to_item(txn(amount="1.00")))]
    )
    with pytest.raises(IdempotencyKeyReused) as caught:
        store_over(fake, []).create(txn(amount="2.00"))
    assert caught.value.transaction_id == txn().id


def test_condition_failure_without_the_old_item_reads_it() -> None:
    original = txn()
    fake = ScriptedDynamoDB(
        [client_error("ConditionalCheckFailedException")], items={original.id: to_item(original)}
    )
    assert store_over(fake, []).create(txn(at=T0 + timedelta(seconds=1))).transaction == original


def test_condition_failure_for_an_item_that_vanished_is_unavailable() -> None:
    fake = ScriptedDynamoDB([client_error("ConditionalCheckFailedException")])
    with pytest.raises(StoreUnavailable):
        store_over(fake, []).create(txn())


# --- against moto ------------------------------------------------------------------------------------


@pytest.fixture
def store(provisioned: ProvisionedRegion) -> TransactionStore:
    return TransactionStore(aws_client("dynamodb"), provisioned.transactions_table)


def test_create_then_replay_then_reuse(store: TransactionStore) -> None:
    assert not store.create(txn()).replayed
    assert store.create(txn(at=T0 + timedelta(seconds=1))).replayed
    with pytest.raises(IdempotencyKeyReused):
        store.create(txn(amount="99.00"))
    assert store.get(txn().id) == txn()


def test_get_unknown_is_none(store: TransactionStore) -> None:
    assert store.get("txn_" + "a" * 26) is None


def test_canary_is_not_a_transaction(store: TransactionStore) -> None:
    assert store.read_canary("HEALTH#eu-west-1") is None
    assert [store.increment_canary("HEALTH#eu-west-1") for _ in range(3)] == [1, 2, 3]
    assert store.read_canary("HEALTH#eu-west-1") == 3
    assert store.get("HEALTH#eu-west-1") is None


def test_listing_pages_newest_first_to_the_end(store: TransactionStore) -> None:
    created = [store.create(txn(f"k{n}", at=T0 + timedelta(seconds=n))).transaction for n in range(5)]
    store.create(txn("other", customer="cust-other", at=T0 + timedelta(seconds=2)))
    first = store.list_for_customer("cust-0042", 2)
    second = store.list_for_customer("cust-0042", 2, first.next_position)
    third = store.list_for_customer("cust-0042", 2, second.next_position)
    assert [t.id for t in first.transactions + second.transactions + third.transactions] == [
        t.id for t in reversed(created)
    ]
    assert first.next_position is not None
    assert second.next_position is not None
    assert third.next_position is None


class Truncating:
    """A DynamoDB client whose queries stop early, as DynamoDB does at 1 MB per response: at most
    ``per_response`` items, with a LastEvaluatedKey, however large the Limit."""

    def __init__(self, real: Any, per_response: int) -> None:
        self._real = real
        self.per_response = per_response
        self.queries = 0

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries += 1
        response: dict[str, Any] = self._real.query(
            **{**request, "Limit": min(request["Limit"], self.per_response)}
        )
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize("per_response", [1, 2, 3])
def test_a_truncated_query_response_never_ends_the_listing(
    provisioned: ProvisionedRegion, per_response: int
) -> None:
    # GIVEN five transactions, and DynamoDB answering each query with fewer items than asked for
    truncating = Truncating(aws_client("dynamodb"), per_response)
    store = TransactionStore(truncating, provisioned.transactions_table)  # type: ignore[arg-type]
    created = [store.create(txn(f"k{n}", at=T0 + timedelta(seconds=n))).transaction for n in range(5)]
    # WHEN the customer lists them, four to a page
    first = store.list_for_customer("cust-0042", 4)
    second = store.list_for_customer("cust-0042", 4, first.next_position)
    # THEN the first page is full and says more follow, and nothing is lost or repeated
    assert len(first.transactions) == 4
    assert first.next_position is not None
    assert [t.id for t in first.transactions + second.transactions] == [t.id for t in reversed(created)]
    assert second.next_position is None
    assert truncating.queries > 2
