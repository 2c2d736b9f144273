"""One Region's API address in local mode, which can die and come back while `strongroom up` runs.

A Region outage must look to a caller as it does on AWS: not a polite error but silence. While a
Region is down its port is held by a socket that listens and never accepts, so the kernel completes
new connections and nobody ever answers them (the caller's read times out; once the backlog is full
its connect does), and every connection that was open hangs unanswered too (``Gateway.go_down``).
Bringing the Region back closes the silent socket and starts a new gateway on the same address
(``Gateway`` reuses the address, so a restart binds at once).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from strongroom.local.gateway import Gateway

_SILENT_BACKLOG = 64


class RegionEndpoint:
    """A Region's gateway at a fixed address; :meth:`take_down` and :meth:`bring_up` toggle it."""

    def __init__(self, region: str, make_gateway: Callable[[], Gateway]) -> None:
        self.region = region
        self._make_gateway = make_gateway
        self._lock = threading.Lock()
        self._gateway: Gateway | None = None
        self._silent: socket.socket | None = None
        self._hung: list[Gateway] = []
        self.address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        if self.address is None:
            raise RuntimeError(f"{self.region} has not been started")
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def serving(self) -> bool:
        return self._gateway is not None

    def start(self) -> None:
        with self._lock:
            self._start()

    def _start(self) -> None:
        gateway = self._make_gateway()
        self.address = (str(gateway.server_address[0]), int(gateway.server_address[1]))
        gateway.serve_in_background()
        self._gateway = gateway

    def take_down(self) -> bool:
        """Kill the Region's API; False if it was already down."""
        with self._lock:
            if self._gateway is None:
                return False
            gateway, self._gateway = self._gateway, None
            gateway.go_down()
            self._hung.append(gateway)
            assert self.address is not None
            silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            silent.bind(self.address)
            silent.listen(_SILENT_BACKLOG)
            self._silent = silent
            return True

    def bring_up(self) -> bool:
        """Serve again on the same address; False if it was already serving."""
        with self._lock:
            if self._gateway is not None:
                return False
            self._close_silent()
            for gateway in self._hung:
                gateway.release()
            self._hung.clear()
            self._start()
            return True

    def _close_silent(self) -> None:
        if self._silent is not None:
            self._silent.close()  # connections waiting in its backlog are reset
            self._silent = None

    def close(self) -> None:
        with self._lock:
            self._close_silent()
            for gateway in self._hung:
                gateway.release()
            self._hung.clear()
            if self._gateway is not None:
                self._gateway.shutdown()
                self._gateway.server_close()
                self._gateway = None
