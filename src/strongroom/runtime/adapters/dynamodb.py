"""The transactions table: exactly-once creation by conditional PutItem, reads, and the customer listing.

The boto3 client is passed in. Items are written with the low-level client (no resource layer: it
costs cold-start time and turns every number into a float-unsafe Decimal dance we do not need).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from strongroom.runtime.adapters.schema import CUSTOMER_INDEX
from strongroom.runtime.domain import (
    IdempotencyKeyReused,
    Money,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from strongroom.runtime.domain.transaction import timestamp_text

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

# MRSC: a write that races a write to the same item in the other Region fails with this; retry it.
_REPLICATED_WRITE_CONFLICT = "ReplicatedWriteConflictException"
_CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"


class StoreUnavailable(RuntimeError):
    """DynamoDB could not be reached or kept refusing; the caller should retry later."""


@dataclass(frozen=True, slots=True)
class CreateResult:
    transaction: Transaction
    replayed: bool


@dataclass(frozen=True, slots=True)
class Page:
    transactions: list[Transaction]
    next_position: dict[str, str] | None


def to_item(txn: Transaction) -> Item:
    created = timestamp_text(txn.created_at)
    return {
        "pk": {"S": txn.id},
        "id": {"S": txn.id},
        "customerId": {"S": txn.customer_id},
        "createdAtId": {"S": f"{created}#{txn.id}"},
        "amount": {"S": txn.money.amount_text},
        "currency": {"S": txn.money.currency},
        "type": {"S": txn.type.value},
        "reference": {"S": txn.reference},
        "status": {"S": txn.status.value},
        "createdAt": {"S": created},
        "updatedAt": {"S": timestamp_text(txn.updated_at)},
        "requestFingerprint": {"S": txn.request_fingerprint},
    }


def from_item(item: Item) -> Transaction:
    def s(name: str) -> str:
        return str(item[name]["S"])

    return Transaction(
        id=s("id"),
        customer_id=s("customerId"),
        money=Money(Decimal(s("amount")), s("currency")),
        type=TransactionType(s("type")),
        reference=s("reference"),
        status=TransactionStatus(s("status")),
        created_at=datetime.fromisoformat(s("createdAt")),
        updated_at=datetime.fromisoformat(s("updatedAt")),
        request_fingerprint=s("requestFingerprint"),
    )


class TransactionStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        conflict_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._conflict_retries = conflict_retries
        self._sleep = sleep

    def create(self, txn: Transaction) -> CreateResult:
        """Create ``txn`` unless its id (derived from the idempotency key) exists: one PutItem, no races.

        An existing item made from the same request is a replay; from a different one, a key reuse.
        """
        for attempt in range(self._conflict_retries + 1):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(txn),
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return CreateResult(txn, replayed=False)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == _CONDITIONAL_CHECK_FAILED:
                    existing: Item | None = exc.response.get("Item")  # type: ignore[assignment]
                    return self._replay(txn, existing)
                if code == _REPLICATED_WRITE_CONFLICT and attempt < self._conflict_retries:
                    self._sleep(0.05 * 2**attempt)
                    continue
                raise
        raise StoreUnavailable(
            "replicated write conflicts persisted"
        )  # pragma: no cover - loop always returns

    def _replay(self, txn: Transaction, existing_item: Item | None) -> CreateResult:
        existing = from_item(existing_item) if existing_item else self.get(txn.id)
        if existing is None:  # deleted between our write and read: vanishingly rare; let the client retry
            raise StoreUnavailable(f"transaction {txn.id} changed while it was being created")
        if existing.request_fingerprint != txn.request_fingerprint:
            raise IdempotencyKeyReused(existing.id)
        return CreateResult(existing, replayed=True)

    def get(self, transaction_id: str) -> Transaction | None:
        response = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": transaction_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item and "customerId" in item else None

    def list_for_customer(self, customer_id: str, limit: int, after: dict[str, str] | None = None) -> Page:
        """Newest first. ``after`` is a previous page's ``next_position``; the last page has none.

        One item more than asked for is read, so a page is only followed by a cursor when more exist.
        DynamoDB may stop a query early (1 MB per response) with fewer items and a LastEvaluatedKey:
        the query then continues from that key, so a truncated response never ends the listing.
        """
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": CUSTOMER_INDEX,
            "KeyConditionExpression": "customerId = :c",
            "ExpressionAttributeValues": {":c": {"S": customer_id}},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {
                "pk": {"S": after["id"]},
                "customerId": {"S": customer_id},
                "createdAtId": {"S": after["sort"]},
            }
        items: list[Item] = []
        while True:
            response = self._client.query(**request)
            items += response.get("Items", [])
            resume = response.get("LastEvaluatedKey")
            if len(items) > limit or not resume:
                break
            request["ExclusiveStartKey"] = resume
            request["Limit"] = limit + 1 - len(items)
        page, more = items[:limit], len(items) > limit
        position = {"id": page[-1]["pk"]["S"], "sort": page[-1]["createdAtId"]["S"]} if more else None
        return Page([from_item(item) for item in page], position)

    def increment_canary(self, key: str) -> int:
        """The deep health check's write: one counter item per Region, outside the customer index (no
        customerId). Returns the value this write produced; concurrent writers only make it larger."""
        response = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD probes :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["probes"]["N"])

    def read_canary(self, key: str) -> int | None:
        response = self._client.get_item(TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True)
        item = response.get("Item")
        return int(item["probes"]["N"]) if item and "probes" in item else None
