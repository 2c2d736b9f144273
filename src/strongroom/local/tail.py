"""`strongroom tail --region R`: print a running platform's event stream (the outbox's Kinesis stream).

Each record is one JSON line: the event as published, with the stream's partition key and sequence
number beside it. It follows the stream until interrupted (``--no-follow`` prints what is there and
stops).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from strongroom.errors import UserError
from strongroom.local.client import emulator_client, read_state


class TailError(UserError):
    pass


def records(kinesis: Any, stream: str, *, follow: bool, poll: float = 0.5) -> Iterator[dict[str, Any]]:
    """Every record of ``stream`` from its start, shard by shard; with ``follow``, then new ones."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    iterators = {
        s["ShardId"]: kinesis.get_shard_iterator(
            StreamName=stream, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for s in shards
    }
    while iterators:
        found = False
        for shard, iterator in list(iterators.items()):
            answer = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            iterators[shard] = answer.get("NextShardIterator") or iterator
            for record in answer.get("Records", []):
                found = True
                try:
                    event: Any = json.loads(record["Data"])
                except ValueError:
                    event = record["Data"].decode(errors="replace")
                yield {
                    "partitionKey": record["PartitionKey"],
                    "sequenceNumber": record["SequenceNumber"],
                    "event": event,
                }
        if not found:
            if not follow:
                return
            time.sleep(poll)


def tail(
    region: str, *, follow: bool, state_dir: str | None = None, out: Callable[[str], None] = print
) -> int:
    state = read_state(state_dir)
    regions = state.get("regions", {})
    if region not in regions:
        raise TailError(f"--region {region} is not served by this platform; it serves: {', '.join(regions)}")
    stream = regions[region].get("eventStream")
    if not stream:
        raise TailError("this platform has no event stream: restart it with the current `strongroom up`")
    kinesis = emulator_client(state, "kinesis", region)
    try:
        for record in records(kinesis, stream, follow=follow):
            out(json.dumps(record, sort_keys=True))
    except KeyboardInterrupt:
        return 0
    return 0
