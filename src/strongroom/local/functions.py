"""Lambda execution environments for local mode: worker processes that each import the real handler.

Like Lambda, each environment handles one request at a time and keeps its module state between
requests; concurrency is the number of environments. Environments are separate processes, so the
handler's module-level state is never shared between concurrent requests.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from strongroom.local.events import LocalLambdaContext

_handler: Any = None
_function_name = "strongroom-api"
_region = ""


def _start_environment(environment: dict[str, str], function_name: str) -> None:
    global _handler, _function_name, _region  # noqa: PLW0603 - per-process Lambda environment state
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns shutdown; Ctrl-C must not kill workers
    os.environ.update(environment)
    _function_name, _region = function_name, environment["AWS_REGION"]
    from strongroom.runtime import api  # noqa: PLC0415 - the cold start happens here, as in Lambda

    _handler = api.handler


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = _handler(event, LocalLambdaContext(_function_name, _region))
    return result


def _ready() -> bool:
    return _handler is not None


class FunctionPool:
    """A function's execution environments; :meth:`invoke` blocks until one has handled the event."""

    def __init__(self, function_name: str, environment: dict[str, str], concurrency: int = 4) -> None:
        self.function_name = function_name
        self._executor = ProcessPoolExecutor(
            max_workers=concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_environment,
            initargs=(environment, function_name),
        )

    def warm(self) -> None:
        """Start one environment now, so the first request does not pay the process start."""
        self._executor.submit(_ready).result(timeout=60)

    def invoke(self, event: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        return self._executor.submit(_invoke, event).result(timeout=timeout)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
