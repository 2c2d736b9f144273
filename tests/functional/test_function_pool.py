"""Local execution environments: warm starts, and a stuck or crashed environment is replaced."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from strongroom.local.functions import FunctionError, FunctionPool, FunctionTimeout
from tests.functional.fake_functions import HANDLER

TIMEOUT = 2.0


def event(path: str) -> dict[str, Any]:
    return {"path": path, "httpMethod": "GET"}


def answer(pool: FunctionPool, path: str = "/echo") -> dict[str, Any]:
    response = pool.invoke(event(path))
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def pool() -> Iterator[FunctionPool]:
    pool = FunctionPool("fake", {"AWS_REGION": "eu-west-1"}, concurrency=1, handler=HANDLER, timeout=TIMEOUT)
    pool.warm()
    yield pool
    pool.close()


def test_an_environment_imports_the_handler_once_and_stays_warm(pool: FunctionPool) -> None:
    first, second = answer(pool), answer(pool)
    assert (first["pid"], first["loaded"]) == (second["pid"], second["loaded"])
    assert 0 < first["remainingMs"] <= TIMEOUT * 1000  # the context carries the function timeout


def test_a_stuck_environment_times_out_is_killed_and_replaced(pool: FunctionPool) -> None:
    stuck = answer(pool)["pid"]
    started = time.monotonic()

    with pytest.raises(FunctionTimeout):
        pool.invoke(event("/hang"))

    assert time.monotonic() - started < TIMEOUT + 5
    assert not is_running(stuck)
    assert answer(pool)["pid"] != stuck  # the next request gets a fresh environment


def test_a_crashed_environment_is_replaced(pool: FunctionPool) -> None:
    crashed = answer(pool)["pid"]

    with pytest.raises(FunctionError):
        pool.invoke(event("/crash"))

    assert answer(pool)["pid"] != crashed


def test_an_environment_killed_while_idle_is_not_handed_a_request(pool: FunctionPool) -> None:
    killed = answer(pool)["pid"]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_running(killed) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the kernel has delivered the kill

    assert answer(pool)["pid"] != killed


def test_a_handler_error_fails_the_invocation_but_keeps_the_environment(pool: FunctionPool) -> None:
    before = answer(pool)["pid"]

    with pytest.raises(FunctionError, match="RuntimeError: the handler failed"):
        pool.invoke(event("/raise"))
    with pytest.raises(FunctionError, match="not a response object"):
        pool.invoke(event("/garbage"))

    assert answer(pool)["pid"] == before


def test_concurrency_is_the_number_of_environments() -> None:
    pool = FunctionPool("fake", {"AWS_REGION": "eu-west-1"}, concurrency=2, handler=HANDLER, timeout=TIMEOUT)
    try:
        with ThreadPoolExecutor(max_workers=6) as threads:
            pids = {reply["pid"] for reply in threads.map(lambda _: answer(pool), range(12))}
        assert 1 <= len(pids) <= 2
    finally:
        pool.close()
    assert not any(is_running(pid) for pid in pids)  # close() stops every environment


def test_a_handler_that_cannot_be_imported_fails_clearly() -> None:
    pool = FunctionPool("fake", {}, concurrency=1, handler="tests.functional.no_such_module:handler")
    try:
        with pytest.raises(FunctionError, match="failed to load"):
            pool.invoke(event("/echo"))
    finally:
        pool.close()
