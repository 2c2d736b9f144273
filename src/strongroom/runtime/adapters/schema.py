"""Key schemas, indexes and streams of Strongroom's tables: the one definition that both the local
emulator's provisioning and the CDK constructs are built from (so local and cloud cannot drift)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from strongroom.runtime.domain.transaction import TRANSACTION_ID_PREFIX, is_transaction_id

AttributeType = Literal["S", "N", "B"]
StreamView = Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True, slots=True)
class IndexSchema:
    name: str
    partition_key: Key
    sort_key: Key | None = None


@dataclass(frozen=True, slots=True)
class TableSchema:
    partition_key: Key
    sort_key: Key | None = None
    indexes: tuple[IndexSchema, ...] = field(default_factory=tuple)
    stream: StreamView | None = None
    ttl_attribute: str | None = None

    def attribute_definitions(self) -> dict[str, AttributeType]:
        """Every key attribute of the table and its indexes, with its type."""
        keys = [self.partition_key, self.sort_key]
        for index in self.indexes:
            keys += [index.partition_key, index.sort_key]
        return {k.name: k.type for k in keys if k is not None}


CUSTOMER_INDEX = "byCustomer"

# Money: one item per transaction (MRSC forbids TTL, LSIs and TransactWriteItems). The stream feeds
# the outbox publisher; the GSI serves the newest-first customer listing.
TRANSACTIONS = TableSchema(
    partition_key=Key("pk"),
    indexes=(IndexSchema(CUSTOMER_INDEX, Key("customerId"), Key("createdAtId")),),
    stream="NEW_AND_OLD_IMAGES",
)

# The transactions table also holds one deep-health canary item per Region (runtime/health.py),
# whose key never looks like a transaction id. Consumers of the table's change stream select
# transactions with this Lambda event filter (so canary changes never even invoke them) and check
# each record with :func:`is_transaction_record` as well.
TRANSACTION_RECORDS_FILTER: dict[str, Any] = {
    "dynamodb": {"Keys": {"pk": {"S": [{"prefix": TRANSACTION_ID_PREFIX}]}}}
}


def is_transaction_record(record: dict[str, Any]) -> bool:
    """Whether a DynamoDB stream record of the transactions table is about a transaction."""
    key = record.get("dynamodb", {}).get("Keys", {}).get("pk", {}).get("S")
    return isinstance(key, str) and is_transaction_id(key)


# Audit events: eventual (MREC) and expiring. MREC replicates through the table's stream, so the
# stream is part of the definition (and of local provisioning) rather than a cloud-only extra.
AUDIT = TableSchema(
    partition_key=Key("pk"), sort_key=Key("sk"), ttl_attribute="expiresAt", stream="NEW_AND_OLD_IMAGES"
)
