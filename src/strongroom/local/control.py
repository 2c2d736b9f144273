"""Faults on demand while `strongroom up` runs: a Region outage, a failing data path, an isolated Region.

`strongroom fault ...` and the drills reach the running platform through a small HTTP control
endpoint on loopback (its URL and bearer token are in local.json, readable by its owner only):

- ``GET /status``: each Region's URL, whether it serves, its fault, the health checker's view, and
  the emulator's replication status (no token needed: nothing in it is secret);
- ``PUT /faults/<region>`` with ``{"fault": "region-outage" | "data-path" | "isolation"}``;
- ``DELETE /faults/<region>`` and ``DELETE /faults``: clear one Region's fault, or every fault.

What each fault does:

- ``region-outage``: the Region's API stops answering (connections hang, new ones are never
  answered; local/serving.py) and its data path stops (the emulator fails its DynamoDB requests, and
  the Region drops out of replication: local/global_tables.py);
- ``data-path``: the API and the function stay up; the Region's tables fail every request;
- ``isolation``: the Region is cut off from the other: under MRSC it is in the minority and cannot
  write; under MREC it keeps serving and replication to and from it is held.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from strongroom.errors import UserError
from strongroom.local.health_checker import HealthChecker
from strongroom.local.serving import RegionEndpoint

FAULTS = ("region-outage", "data-path", "isolation")
# Each local fault, as the emulator's data path knows it.
_EMULATOR_FAULT = {"region-outage": "outage", "data-path": "data-path", "isolation": "isolation"}


class ControlError(UserError):
    """A fault request that cannot be carried out, or a control endpoint that does not answer."""


class BadRequest(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class DataPath(Protocol):
    """The emulator's side of a fault (local/global_tables.py's client functions)."""

    def set_fault(self, endpoint: str, region: str, fault: str) -> Any: ...

    def clear_faults(self, endpoint: str, region: str | None = None) -> Any: ...

    def status(self, endpoint: str) -> dict[str, Any]: ...


class FaultController:
    """Injects and clears faults across the Regions' gateways and the emulator's data path."""

    def __init__(
        self,
        endpoints: Mapping[str, RegionEndpoint],
        emulator_endpoint: str,
        checker: HealthChecker | None = None,
        *,
        on_change: Callable[[], None] | None = None,
        data_path: DataPath | None = None,
    ) -> None:
        self._endpoints = dict(endpoints)
        self._emulator = emulator_endpoint
        if data_path is None:
            from strongroom.local import global_tables  # noqa: PLC0415 - the emulator's client functions

            data_path = global_tables
        self._data_path: DataPath = data_path
        self.checker = checker
        self.on_change = on_change
        self._faults: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def faults(self) -> dict[str, str]:
        with self._lock:
            return dict(self._faults)

    def _region(self, region: str) -> RegionEndpoint:
        try:
            return self._endpoints[region]
        except KeyError:
            served = ", ".join(self._endpoints)
            raise BadRequest(
                404, f"region {region!r} is not served here; the Regions are: {served}"
            ) from None

    def inject(self, region: str, fault: str) -> dict[str, Any]:
        endpoint = self._region(region)
        if fault not in FAULTS:
            raise BadRequest(400, f"fault must be one of: {', '.join(FAULTS)} (got {fault!r})")
        with self._lock:
            if self._faults.get(region) not in (None, fault):
                self._clear(region)
            self._data_path.set_fault(self._emulator, region, _EMULATOR_FAULT[fault])
            if fault == "region-outage":
                endpoint.take_down()
            self._faults[region] = fault
        self._changed()
        return self.region_status(region)

    def clear(self, region: str | None = None) -> dict[str, Any]:
        regions = [region] if region is not None else list(self._endpoints)
        for name in regions:
            self._region(name)
        with self._lock:
            for name in regions:
                self._clear(name)
        self._changed()
        return self.status()

    def _clear(self, region: str) -> None:
        self._data_path.clear_faults(self._emulator, region)
        self._endpoints[region].bring_up()
        self._faults.pop(region, None)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def region_status(self, region: str) -> dict[str, Any]:
        endpoint = self._endpoints[region]
        document: dict[str, Any] = {
            "url": endpoint.url,
            "serving": endpoint.serving,
            "fault": self.faults.get(region),
        }
        if self.checker is not None:
            document["health"] = self.checker.view()[region]
        return document

    def status(self) -> dict[str, Any]:
        document: dict[str, Any] = {"regions": {name: self.region_status(name) for name in self._endpoints}}
        try:
            document["replication"] = self._data_path.status(self._emulator)
        except UserError as exc:
            document["replication"] = {"error": str(exc)}
        return document


class ControlServer(ThreadingHTTPServer):
    """The control endpoint: loopback only; changes need the bearer token."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, controller: FaultController, host: str = "127.0.0.1", port: int = 0) -> None:
        self.controller = controller
        self.token = secrets.token_urlsafe(24)
        super().__init__((host, port), _ControlHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="control", daemon=True)
        thread.start()
        return thread


class _ControlHandler(BaseHTTPRequestHandler):
    server: ControlServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `strongroom up` prints what changed."""

    def _send(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode())

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= 4096:
            raise BadRequest(400, "the body must be a small JSON object")
        try:
            document = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise BadRequest(400, "the body is not JSON") from None
        if not isinstance(document, dict):
            raise BadRequest(400, 'the body must be a JSON object such as {"fault": "region-outage"}')
        return document

    def _handle(self, method: str) -> None:
        parts = [p for p in self.path.partition("?")[0].split("/") if p]
        controller = self.server.controller
        try:
            if method == "GET" and parts == ["status"]:
                self._send(200, controller.status())
                return
            if not self._authorised():
                self._send(
                    401, {"message": "missing or wrong bearer token (see control.token in local.json)"}
                )
                return
            if method == "PUT" and len(parts) == 2 and parts[0] == "faults":
                fault = self._body().get("fault")
                self._send(200, controller.inject(parts[1], str(fault)))
            elif method == "DELETE" and parts[:1] == ["faults"] and len(parts) <= 2:
                self._send(200, controller.clear(parts[1] if len(parts) == 2 else None))
            else:
                self._send(
                    404, {"message": "routes: GET /status, PUT /faults/<region>, DELETE /faults[/<region>]"}
                )
        except BadRequest as exc:
            self._send(exc.status, {"message": str(exc)})
        except UserError as exc:
            self._send(502, {"message": str(exc)})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def request(
    control: Mapping[str, str], method: str, path: str, body: Any = None, *, timeout: float = 30.0
) -> dict[str, Any]:
    """Call a running platform's control endpoint (``control`` is local.json's ``control`` object)."""
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(  # noqa: S310 - the loopback URL `strongroom up` wrote
        control["url"] + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {control['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(call, timeout=timeout) as reply:  # noqa: S310
            document: dict[str, Any] = json.loads(reply.read())
            return document
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", "")
        except ValueError:
            message = ""
        raise ControlError(message or f"the control endpoint answered {exc.code}") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise ControlError(
            f"the platform's control endpoint ({control['url']}) does not answer ({exc}); "
            "is `strongroom up` running?"
        ) from None
