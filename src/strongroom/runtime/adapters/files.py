"""The Region's uploaded files for GET /files: the ingest bucket's uploads, each with its ingestion
status from the audit table (runtime/adapters/ingest_store.py writes one record per object version).

Clients are passed in. Only keys under :data:`INGEST_PREFIX` are listed: rejects and checkpoints
are the platform's own objects, not uploads (and the API function may list nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from strongroom.runtime.domain.transaction import timestamp_text

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Uploads land here; only objects under it start ingestion (S3 notifications filter on it).
INGEST_PREFIX = "incoming/"
NOT_INGESTED = "pending"  # no audit record yet: the file is queued, or its notification is lost
VERSION_PREFIX = "VERSION#"  # the sort key of a file version's audit record (adapters/ingest_store.py)


def file_partition(bucket: str, key: str) -> str:
    """The audit table's partition of one object key: every version's record, and its content claim."""
    return f"FILE#{bucket}/{key}"


@dataclass(frozen=True, slots=True)
class FileEntry:
    key: str
    size: int
    last_modified: datetime
    status: str
    counts: dict[str, int] | None
    rejects: str | None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key": self.key,
            "size": self.size,
            "lastModified": timestamp_text(self.last_modified),
            "status": self.status,
        }
        if self.counts is not None:
            body["counts"] = self.counts
        if self.rejects:
            body["rejects"] = self.rejects
        return body


def _count(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


class FileCatalog:
    def __init__(self, s3: Any, dynamodb: DynamoDBClient, bucket: str, audit_table: str) -> None:
        self._s3 = s3
        self._dynamodb = dynamodb
        self._bucket = bucket
        self._audit_table = audit_table

    def page(self, limit: int, token: str | None) -> tuple[list[FileEntry], str | None]:
        """Up to ``limit`` uploads in key order from ``token`` (S3's continuation token), and the next."""
        request: dict[str, Any] = {"Bucket": self._bucket, "Prefix": INGEST_PREFIX, "MaxKeys": limit}
        if token:
            request["ContinuationToken"] = token
        answer = self._s3.list_objects_v2(**request)
        entries = [self._entry(o) for o in answer.get("Contents", [])]
        return entries, answer.get("NextContinuationToken") if answer.get("IsTruncated") else None

    def _entry(self, listed: dict[str, Any]) -> FileEntry:
        key = str(listed["Key"])
        latest = self._latest_audit(key)
        if latest is None:
            return FileEntry(key, int(listed["Size"]), listed["LastModified"], NOT_INGESTED, None, None)
        counts = {
            "read": _count(latest, "rowsRead"),
            "created": _count(latest, "created"),
            "replayed": _count(latest, "replayed"),
            "rejected": _count(latest, "rejected"),
        }
        rejects = latest.get("rejectsKey", {}).get("S") if counts["rejected"] else None
        status = latest.get("status", {}).get("S", NOT_INGESTED)
        return FileEntry(key, int(listed["Size"]), listed["LastModified"], status, counts, rejects)

    def _latest_audit(self, key: str) -> dict[str, Any] | None:
        """The audit record of the object's most recently started version (strongly consistent)."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._audit_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :version)",
            "ExpressionAttributeValues": {
                ":pk": {"S": file_partition(self._bucket, key)},
                ":version": {"S": VERSION_PREFIX},
            },
            "ConsistentRead": True,
        }
        while True:
            answer = self._dynamodb.query(**request)
            items += answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        if not items:
            return None
        return max(items, key=lambda item: item.get("startedAt", {}).get("S", ""))
