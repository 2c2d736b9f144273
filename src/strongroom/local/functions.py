"""Lambda execution environments for local mode: worker processes that each import the real handler.

Like Lambda, each environment handles one request at a time and keeps its module state between
requests (the handler module is imported once, at the environment's start: the cold start);
concurrency is the number of environments. Environments are separate processes, so the handler's
module-level state is never shared between concurrent requests.

An environment that does not answer within the function timeout is killed, as Lambda ends a timed-out
invocation's environment; one that dies (a crash, ``os._exit``, a kill) is dropped. Either way the
next request starts a fresh environment, so one bad request never takes the function down.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from strongroom import constants as env
from strongroom.local.events import LocalLambdaContext

DEFAULT_HANDLER = "strongroom.runtime.api:handler"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Waiting for a free environment is bounded by API Gateway's integration timeout (29 s), as a
# request that waits that long behind busy environments would time out in AWS too.
QUEUE_TIMEOUT_SECONDS = 29.0
# Starting an environment (process spawn + the handler module's imports) on a loaded machine.
INIT_TIMEOUT_SECONDS = 60.0

_READY, _OK, _ERROR = "ready", "ok", "error"


class FunctionError(Exception):
    """The invocation failed: the handler raised, its environment died, or it could not start."""


class FunctionTimeout(FunctionError):
    """No answer within the function timeout (or no environment came free in time)."""


def _load_handler(spec: str) -> Callable[[dict[str, Any], Any], Any]:
    module_name, _, attribute = spec.partition(":")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module_name), attribute)
    return handler


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run_environment(
    connection: Connection, environment: dict[str, str], function_name: str, handler_spec: str, timeout: float
) -> None:
    """An execution environment's process: import the handler once, then answer events one by one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns shutdown; Ctrl-C must not kill workers
    environment = dict(environment)
    log = environment.pop(env.ENV_LOCAL_FUNCTION_LOG, None)
    if log:  # the function's stdout and stderr (its structured logs) go to a file instead
        descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
    os.environ.update(environment)
    region = environment.get("AWS_REGION", "")
    try:
        handler = _load_handler(handler_spec)  # the cold start happens here, as in Lambda
    except Exception as exc:
        traceback.print_exc()
        connection.send((_ERROR, _describe(exc)))
        return
    connection.send((_READY, None))
    while True:
        try:
            event = connection.recv()
        except EOFError:  # the pool closed its end: shut down
            return
        try:
            reply = (_OK, handler(event, LocalLambdaContext(function_name, region, timeout_seconds=timeout)))
        except Exception as exc:  # Lambda logs an unhandled error and keeps the environment
            traceback.print_exc()
            reply = (_ERROR, _describe(exc))
        connection.send(reply)


@dataclass(eq=False)
class _Environment:
    process: BaseProcess
    connection: Connection

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()

    def stop(self) -> None:
        """Let an idle environment exit on its own (its output is flushed), else kill it."""
        self.connection.close()  # the environment reads EOF and returns
        self.process.join(timeout=2)
        self.kill()


class FunctionPool:
    """A function's execution environments; :meth:`invoke` blocks until one has handled the event.

    ``handler`` is ``"module:attribute"``, imported in each environment (tests point it at their own).
    """

    def __init__(
        self,
        function_name: str,
        environment: dict[str, str],
        concurrency: int = 4,
        *,
        handler: str = DEFAULT_HANDLER,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.function_name = function_name
        self.concurrency = concurrency
        self.handler = handler
        self.timeout = timeout
        self._environment = dict(environment)
        self._context = multiprocessing.get_context("spawn")
        self._changed = threading.Condition()
        self._idle: list[_Environment] = []
        self._all: set[_Environment] = set()
        self._starting = 0
        self._closed = False

    def warm(self) -> None:
        """Start one environment now, so the first request does not pay the cold start."""
        self._release(self._acquire(time.monotonic() + INIT_TIMEOUT_SECONDS))

    def invoke(self, event: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """The handler's result; raises FunctionTimeout or FunctionError as Lambda would fail."""
        environment = self._acquire(time.monotonic() + QUEUE_TIMEOUT_SECONDS)
        try:
            status, payload = self._exchange(environment, event, self.timeout if timeout is None else timeout)
        except BaseException:
            self._discard(environment)
            raise
        self._release(environment)
        if status != _OK:
            raise FunctionError(f"the function raised {payload}")
        if not isinstance(payload, dict):
            raise FunctionError(f"the function returned {type(payload).__name__}, not a response object")
        return payload

    def close(self) -> None:
        with self._changed:
            self._closed = True
            environments = list(self._all)
            self._changed.notify_all()
        for environment in environments:
            environment.stop()
            self._discard(environment)

    def _exchange(self, environment: _Environment, event: dict[str, Any], timeout: float) -> tuple[str, Any]:
        try:
            environment.connection.send(event)
            if not environment.connection.poll(timeout):
                raise FunctionTimeout(f"the function did not answer within {timeout:g} s")
            reply: tuple[str, Any] = environment.connection.recv()
        except (EOFError, OSError):
            raise FunctionError(
                f"the execution environment exited (code {environment.process.exitcode})"
            ) from None
        return reply

    def _acquire(self, deadline: float) -> _Environment:
        """An idle environment, else a new one while under the concurrency, else wait for one."""
        with self._changed:
            while True:
                if self._closed:
                    raise FunctionError("the function is shut down")
                if (environment := self._live_idle_environment()) is not None:
                    return environment
                if len(self._all) + self._starting < self.concurrency:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FunctionTimeout(f"all {self.concurrency} execution environments stayed busy")
                self._changed.wait(remaining)
        try:
            return self._start()
        finally:
            with self._changed:
                self._starting -= 1
                self._changed.notify()

    def _live_idle_environment(self) -> _Environment | None:
        """The most recently used idle environment (the warmest); one that died idle is dropped."""
        while self._idle:
            environment = self._idle.pop()
            if environment.process.is_alive():
                return environment
            self._all.discard(environment)  # killed while idle: never hand it a request
            environment.connection.close()
        return None

    def _start(self) -> _Environment:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_run_environment,
            args=(theirs, self._environment, self.function_name, self.handler, self.timeout),
            name=f"{self.function_name}-environment",
            daemon=True,
        )
        process.start()
        theirs.close()
        environment = _Environment(process, ours)
        with self._changed:
            self._all.add(environment)
        try:
            if not ours.poll(INIT_TIMEOUT_SECONDS):
                raise FunctionTimeout(f"the environment did not start within {INIT_TIMEOUT_SECONDS:g} s")
            status, detail = ours.recv()
            if status != _READY:
                raise FunctionError(f"the handler {self.handler} failed to load: {detail}")
        except EOFError:
            self._discard(environment)
            raise FunctionError(f"the environment exited while starting (code {process.exitcode})") from None
        except BaseException:
            self._discard(environment)
            raise
        return environment

    def _release(self, environment: _Environment) -> None:
        with self._changed:
            if not self._closed:
                self._idle.append(environment)
                self._changed.notify()
                return
        self._discard(environment)

    def _discard(self, environment: _Environment) -> None:
        environment.kill()
        with self._changed:
            self._all.discard(environment)
            if environment in self._idle:
                self._idle.remove(environment)
            self._changed.notify()
