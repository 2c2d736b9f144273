"""Compare two DynamoDB tables item by item: a restored table against the live one, or a Region's
replica against another's after an outage (docs/runbooks/reconciliation.md).

Both tables are scanned in parallel segments; items are matched on their primary key and compared
whole. The result counts what only one side has, what differs and what is identical, and keeps the
first ids of each kind for whoever investigates.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_LISTED = 50
_SEGMENTS = 4


@dataclass(frozen=True)
class Reconciliation:
    table: str
    against: str
    only_in_table: int
    only_in_against: int
    differing: int
    identical: int
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "against": self.against,
            "onlyInTable": self.only_in_table,
            "onlyInAgainst": self.only_in_against,
            "differing": self.differing,
            "identical": self.identical,
            "examples": self.examples,
        }


def _key_names(client: DynamoDBClient, table: str) -> list[str]:
    schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
    return [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"])]  # HASH, RANGE


def key_text(item: dict[str, Any], names: list[str]) -> str:
    """An item's primary key as text: what matches items across tables."""
    return "|".join(json.dumps(item[name], sort_keys=True) for name in names)


def scan_items(client: DynamoDBClient, table: str, segments: int = _SEGMENTS) -> Iterator[dict[str, Any]]:
    """Every item of ``table`` (a parallel scan, strongly consistent)."""
    found: list[list[dict[str, Any]]] = [[] for _ in range(segments)]
    errors: list[BaseException] = []

    def scan(segment: int) -> None:
        try:
            pages = client.get_paginator("scan").paginate(
                TableName=table, Segment=segment, TotalSegments=segments, ConsistentRead=True
            )
            for page in pages:
                found[segment].extend(page.get("Items", []))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(s,), daemon=True) for s in range(segments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    for items in found:
        yield from items


def table_items(client: DynamoDBClient, table: str) -> dict[str, dict[str, Any]]:
    """``table``'s items by primary key."""
    names = _key_names(client, table)
    return {key_text(item, names): item for item in scan_items(client, table)}


def compare(
    table: str, items: dict[str, dict[str, Any]], against: str, other: dict[str, dict[str, Any]]
) -> Reconciliation:
    only_in_table = sorted(items.keys() - other.keys())
    only_in_against = sorted(other.keys() - items.keys())
    both = items.keys() & other.keys()
    differing = sorted(key for key in both if items[key] != other[key])
    return Reconciliation(
        table=table,
        against=against,
        only_in_table=len(only_in_table),
        only_in_against=len(only_in_against),
        differing=len(differing),
        identical=len(both) - len(differing),
        examples={
            "onlyInTable": only_in_table[:MAX_LISTED],
            "onlyInAgainst": only_in_against[:MAX_LISTED],
            "differing": differing[:MAX_LISTED],
        },
    )


def reconcile(client: DynamoDBClient, table: str, against: str) -> Reconciliation:
    """Compare ``table`` with ``against`` (both readable with ``client``)."""
    return compare(table, table_items(client, table), against, table_items(client, against))
