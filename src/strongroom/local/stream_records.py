"""Reading a table's DynamoDB stream the way Lambda's event source mapping delivers it, for the outbox
publisher's tests and benchmark against moto or the local emulator.

:class:`StreamTail` follows every shard of a table's stream in one Region with GetShardIterator and
GetRecords, and returns records in the shape a Lambda event carries them (``eventSourceARN`` added,
``ApproximateCreationDateTime`` in epoch seconds), so they can be passed to
``strongroom.runtime.publisher.publish`` as a Lambda invocation would. It is not the local poller that
will run the publisher under `strongroom up`: there is no checkpointing, batching window or retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class StreamTail:
    """Every record of one table's stream in one Region, read from the start, then only new ones."""

    def __init__(self, dynamodb: Any, streams: Any, table: str) -> None:
        self._streams = streams
        self._arn: str = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self._iterators: dict[str, str | None] = {}

    @property
    def stream_arn(self) -> str:
        return self._arn

    def _discover(self) -> None:
        request: dict[str, Any] = {"StreamArn": self._arn}
        while True:
            description = self._streams.describe_stream(**request)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in self._iterators:
                    self._iterators[shard_id] = self._streams.get_shard_iterator(
                        StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            request["ExclusiveStartShardId"] = last

    def read(self) -> list[dict[str, Any]]:
        """The records added since the last read, in each shard's order."""
        self._discover()
        records: list[dict[str, Any]] = []
        for shard_id, start in self._iterators.items():
            position = start
            while position:
                response = self._streams.get_records(ShardIterator=position, Limit=1000)
                batch = response.get("Records", [])
                records += [lambda_shaped(r, self._arn) for r in batch]
                position = response.get("NextShardIterator")
                if not batch:
                    break
            self._iterators[shard_id] = position
        return records


def lambda_shaped(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda's event source mapping delivers it."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": data, "eventSourceARN": stream_arn}
