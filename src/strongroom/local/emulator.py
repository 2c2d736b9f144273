"""The embedded AWS: moto's server on loopback, in its own process, one endpoint for every Region.

moto's backends are not thread-safe, while DynamoDB's conditional writes are atomic per item; the
server is therefore run with requests serialised, which makes a conditional PutItem atomic here too.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from strongroom.errors import UserError

LOOPBACK = "127.0.0.1"


class EmulatorError(UserError):
    pass


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _serialised(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    lock = threading.Lock()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return wsgi


def serve(port: int, host: str = LOOPBACK) -> None:
    """Run moto's server in this process until it is terminated."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: PLC0415
    from werkzeug.serving import run_simple  # noqa: PLC0415

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, _serialised(app), threaded=True, use_reloader=False, use_debugger=False)


@dataclass
class Emulator:
    """A running emulator process; use as a context manager or call :meth:`stop`."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start(port: int | None = None, *, timeout: float = 30.0) -> Emulator:
    """Start the emulator on ``port`` (a free one if None) and wait until it answers."""
    port = port or free_port()
    if not port_is_free(port):
        raise EmulatorError(f"emulator port {port} on {LOOPBACK} is already in use")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "strongroom.local.emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C goes to `up`, which stops the emulator last
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "false"},
    )
    endpoint = f"http://{LOOPBACK}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"emulator exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback http
                return Emulator(endpoint, process)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    process.kill()
    raise EmulatorError(f"emulator did not answer on {endpoint} within {timeout:.0f}s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.port)


if __name__ == "__main__":
    main()
