"""The embedded AWS: moto's server on loopback, in its own process, one endpoint for every Region.

moto's backends are not thread-safe, while DynamoDB's conditional writes are atomic per item; the
server is therefore run with requests serialised, which makes a conditional PutItem atomic here too.

Besides AWS's own APIs it answers one local route, ``/strongroom-local/credentials/<access key id>``:
the secret, session token and role of temporary credentials its STS issued, so the local gateway can
verify requests signed with them (in AWS, IAM does this internally).

Inside the lock, src/strongroom/local/global_tables.py makes the Regions' tables behave as global
tables once `strongroom up` configures them (MRSC as one logical table, MREC replication with a lag),
injects faults on the data path, and answers RestoreTableToPointInTime for real; its replicator
thread takes the same lock, so replication and requests never interleave.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from strongroom.errors import UserError

LOOPBACK = "127.0.0.1"
ACCOUNT_ID = "000000000000"  # the local AWS account: every emulated resource and identity is in it
CREDENTIALS_ROUTE = "/strongroom-local/credentials/"
_ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1"})  # who may use the local routes


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


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """Temporary credentials the emulator's STS issued by AssumeRole, and whose session they are."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    assumed_role_arn: str  # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    assumed_role_id: str  # ROLE_ID:SESSION (AROA…:SESSION)
    account_id: str


def issued_by_moto(access_key_id: str, account_id: str = ACCOUNT_ID) -> dict[str, str] | None:
    """Look ``access_key_id`` up in moto's STS, in this process; None unless moto issued it by
    AssumeRole of a role that exists in IAM (a session of a role that was never created is refused)."""
    from moto.iam.exceptions import NotFoundException  # noqa: PLC0415 - only the emulator process has moto
    from moto.iam.models import iam_backends  # noqa: PLC0415
    from moto.sts.models import sts_backends  # noqa: PLC0415

    assumed = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key_id)
    if assumed is None:
        return None
    try:
        role = iam_backends[account_id]["aws"].get_role_by_arn(assumed.role_arn)
    except NotFoundException:  # moto's STS lets anyone assume a role that was never created
        return None
    return {
        "accessKeyId": assumed.access_key_id,
        "secretAccessKey": assumed.secret_access_key,
        "sessionToken": assumed.session_token,
        "expiration": assumed.expiration.replace(tzinfo=UTC).isoformat(),  # moto keeps naive UTC
        "assumedRoleArn": assumed.arn,
        "assumedRoleId": f"{role.id}:{assumed.session_name}",
        "accountId": account_id,
    }


def with_local_routes(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """moto's app, plus the credentials route (answered to loopback clients only)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith(CREDENTIALS_ROUTE):
            return app(environ, start_response)
        access_key_id = path.removeprefix(CREDENTIALS_ROUTE)
        if environ.get("REMOTE_ADDR") not in LOOPBACK_CLIENTS:
            status, document = "403 Forbidden", {"message": "loopback clients only"}
        elif _ACCESS_KEY_ID.fullmatch(access_key_id) and (found := issued_by_moto(access_key_id)):
            status, document = "200 OK", found
        else:
            status, document = "404 Not Found", {"message": "no temporary credentials with that access key"}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(document).encode()]

    return wsgi


def issued_credentials(endpoint: str, access_key_id: str, timeout: float = 5.0) -> IssuedCredentials | None:
    """The temporary credentials the emulator at ``endpoint`` issued with this key; None if none."""
    if not _ACCESS_KEY_ID.fullmatch(access_key_id):
        return None
    url = endpoint + CREDENTIALS_ROUTE + quote(access_key_id, safe="")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - loopback http
            document = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise EmulatorError(f"the emulator refused the credentials lookup ({exc.code})") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise EmulatorError(f"the emulator did not answer the credentials lookup: {exc}") from None
    return IssuedCredentials(
        access_key_id=document["accessKeyId"],
        secret_access_key=document["secretAccessKey"],
        session_token=document["sessionToken"],
        expiration=datetime.fromisoformat(document["expiration"]),
        assumed_role_arn=document["assumedRoleArn"],
        assumed_role_id=document["assumedRoleId"],
        account_id=document["accountId"],
    )


def _serialised(app: Callable[..., Iterable[bytes]], lock: threading.Lock) -> Callable[..., Iterable[bytes]]:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return wsgi


def application() -> Callable[..., Iterable[bytes]]:
    """The emulator's WSGI app: moto's, with global tables, faults and a real point-in-time restore
    (inside the lock), plus the local credentials route, requests serialised."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: PLC0415

    from strongroom.local import moto_fixes  # noqa: PLC0415 - moto is in the emulator's process only
    from strongroom.local.global_tables import GlobalTables  # noqa: PLC0415 - it imports this module

    moto_fixes.apply()
    lock = threading.Lock()
    global_tables = GlobalTables(lock)
    moto_app = DomainDispatcherApplication(create_backend_app)
    return _serialised(with_local_routes(global_tables.middleware(moto_app)), lock)


def serve(port: int, host: str = LOOPBACK) -> None:
    """Run moto's server in this process until it is terminated."""
    from werkzeug.serving import run_simple  # noqa: PLC0415

    run_simple(host, port, application(), threaded=True, use_reloader=False, use_debugger=False)


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
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "false", "MOTO_ACCOUNT_ID": ACCOUNT_ID},
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
