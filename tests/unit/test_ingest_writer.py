"""The ingest writer's write-behind: bounded calls in flight, every call landed before the block
returns, and a failure raised only after every other call has finished."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from strongroom.runtime.adapters.ingest_store import Retrier, TransactionBatchWriter

TABLE = "transactions"


def items(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"pk": {"S": f"txn-{n}"}} for n in range(start, start + count)]


class SlowTable:
    """BatchWriteItem that takes a while, remembers what it wrote and how many calls overlapped."""

    def __init__(self, delay: float = 0.02, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.written: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.finished_calls = 0
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            keys = [r["PutRequest"]["Item"]["pk"]["S"] for r in RequestItems[TABLE]]
            if self.fail_on in keys:
                raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "BatchWriteItem")
            with self._lock:
                self.written += keys
            return {}
        finally:
            with self._lock:
                self.in_flight -= 1
                self.finished_calls += 1


def writer(table: SlowTable, in_flight: int) -> TransactionBatchWriter:
    return TransactionBatchWriter(table, TABLE, Retrier(sleep=lambda _: None), in_flight=in_flight)  # type: ignore[arg-type]


def test_outside_the_block_put_all_writes_before_it_returns() -> None:
    table = SlowTable(delay=0)
    writer(table, in_flight=4).put_all(items(60))
    assert len(table.written) == 60
    assert table.most_in_flight == 1


def test_inside_the_block_put_all_returns_before_its_writes_land_and_the_block_waits_for_them() -> None:
    table = SlowTable(delay=0.05)
    w = writer(table, in_flight=4)
    with w.write_behind():
        w.put_all(items(100))  # four calls, sent at once
        assert len(table.written) < 100
    assert sorted(table.written) == sorted(i["pk"]["S"] for i in items(100))


def test_no_more_calls_are_outstanding_than_allowed() -> None:
    table = SlowTable(delay=0.01)
    w = writer(table, in_flight=3)
    with w.write_behind():
        for batch in range(10):
            w.put_all(items(100, start=batch * 100))
    assert table.most_in_flight == 3
    assert len(table.written) == 1000


def test_one_in_flight_is_the_synchronous_writer() -> None:
    table = SlowTable(delay=0.01)
    w = writer(table, in_flight=1)
    with w.write_behind():
        w.put_all(items(50))
        assert len(table.written) == 50


def test_a_failed_write_is_raised_when_the_block_ends_after_every_other_write_finished() -> None:
    table = SlowTable(delay=0.02, fail_on="txn-30")
    w = writer(table, in_flight=4)
    with pytest.raises(ClientError), w.write_behind():
        w.put_all(items(100))
    assert table.in_flight == 0
    assert table.finished_calls == 4
    assert "txn-30" not in table.written
    assert len(table.written) == 75


def test_an_error_in_the_block_waits_for_the_writes_it_sent_and_keeps_its_own_error() -> None:
    table = SlowTable(delay=0.05, fail_on="txn-10")
    w = writer(table, in_flight=4)

    def read_on_and_fail() -> None:
        with w.write_behind():
            w.put_all(items(100))
            raise KeyError("the caller's")

    with pytest.raises(KeyError, match="the caller's"):
        read_on_and_fail()
    assert table.in_flight == 0
    assert table.finished_calls == 4
