"""Key schemas, indexes and streams of Strongroom's tables: the one definition that both the local
emulator's provisioning and the CDK constructs are built from (so local and cloud cannot drift)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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

# Audit events: eventual (MREC) and expiring. MREC replicates through the table's stream, so the
# stream is part of the definition (and of local provisioning) rather than a cloud-only extra.
AUDIT = TableSchema(
    partition_key=Key("pk"), sort_key=Key("sk"), ttl_attribute="expiresAt", stream="NEW_AND_OLD_IMAGES"
)
