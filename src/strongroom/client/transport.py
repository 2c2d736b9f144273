"""HTTP for the client: http.client from the standard library, one pool of kept-alive connections per
endpoint, separate connect and read timeouts, TLS verified for https.

No proxy is consulted (http.client reads no HTTP(S)_PROXY variables), so a request goes where its
endpoint says and nowhere else. Plain http is accepted only for loopback endpoints (local mode).
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from strongroom.client.policy import Outcome

MAX_RESPONSE_BYTES = 1 << 20  # a page of 100 transactions is ~40 KB; more is not this API


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class TransportFailure(Exception):
    """An attempt that got no HTTP answer: a timeout, a refused, reset or closed connection, TLS
    failure, or bytes that are not an HTTP response."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class Transport(Protocol):
    """Sends one request and returns the answer, or raises TransportFailure."""

    def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> HttpResponse: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Region's base URL, checked: ``scheme://host[:port][/base path]``."""

    scheme: str
    host: str
    port: int
    base_path: str  # '' or '/stage', no trailing slash

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError(f"{url!r} is not an https:// URL such as https://api.example.com/prod")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{url!r} must not hold a query, a fragment or user info")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(
                f"{url!r} sends requests unencrypted: use https (plain http is for loopback only)"
            )
        return cls(
            parts.scheme,
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            parts.path.rstrip("/"),
        )

    @property
    def origin(self) -> str:
        default = self.port == (443 if self.scheme == "https" else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")

    def url(self, path_and_query: str) -> str:
        return self.origin + self.base_path + path_and_query


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Raised when a kept-alive connection was closed by the server while idle: retried once, fresh.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpTransport:
    """Keeps idle connections per origin for reuse; safe to share between threads (a connection
    serves one request at a time). ``ssl_context`` defaults to the system's trust store with
    hostname checks."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_idle_per_origin: int = 4) -> None:
        self._ssl_context = ssl_context  # the default one is built at the first https connection
        self._max_idle = max_idle_per_origin
        self._idle: dict[str, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> HttpResponse:
        parts = urlsplit(url)
        endpoint = Endpoint.parse(f"{parts.scheme}://{parts.netloc}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        exchange = functools.partial(
            self._exchange,
            endpoint=endpoint,
            method=method,
            target=target,
            headers=headers,
            body=body,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        connection, reused = self._checkout(endpoint)
        try:
            try:
                return exchange(connection)
            except _STALE:
                if not reused:
                    raise
            connection.close()  # the server closed it while idle: once more on a new connection
            connection = self._new_connection(endpoint)
            return exchange(connection)
        except TimeoutError:
            connection.close()
            raise TransportFailure(Outcome.TIMEOUT, f"no answer within {read_timeout:g} s") from None
        except (http.client.RemoteDisconnected, http.client.IncompleteRead) as exc:
            connection.close()
            raise TransportFailure(
                Outcome.CONNECTION_FAILED, f"connection closed before a full answer ({exc!r})"
            ) from None
        except http.client.HTTPException as exc:
            connection.close()
            raise TransportFailure(Outcome.INVALID_RESPONSE, f"not an HTTP response ({exc!r})") from None
        except OSError as exc:  # refused, reset, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            connection.close()
            raise TransportFailure(Outcome.CONNECTION_FAILED, _describe(exc)) from None

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        *,
        endpoint: Endpoint,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        connect_timeout: float,
        read_timeout: float,
    ) -> HttpResponse:
        if connection.sock is None:
            connection.timeout = connect_timeout
            try:
                connection.connect()
            except TimeoutError:
                connection.close()
                raise TransportFailure(
                    Outcome.TIMEOUT, f"no connection within {connect_timeout:g} s"
                ) from None
        assert connection.sock is not None
        connection.sock.settimeout(read_timeout)  # every later wait for bytes, per socket operation
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method in {"POST", "PUT", "PATCH"}:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE_BYTES + 1)
        if len(data) > MAX_RESPONSE_BYTES:
            connection.close()
            raise http.client.HTTPException(f"response larger than {MAX_RESPONSE_BYTES} bytes")
        if not response.isclosed():
            response.read()  # nothing left, but http.client needs it read to reuse the connection
        answer = HttpResponse(
            response.status, {name.lower(): value for name, value in response.getheaders()}, data
        )
        if response.will_close:
            connection.close()
        else:
            self._checkin(endpoint, connection)
        return answer

    def _new_connection(self, endpoint: Endpoint) -> http.client.HTTPConnection:
        if endpoint.scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            return http.client.HTTPSConnection(endpoint.host, endpoint.port, context=self._ssl_context)
        return http.client.HTTPConnection(endpoint.host, endpoint.port)

    def _checkout(self, endpoint: Endpoint) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(endpoint.origin)
            if idle:
                return idle.pop(), True
        return self._new_connection(endpoint), False

    def _checkin(self, endpoint: Endpoint, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(endpoint.origin, [])
            if len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection (connections in use close when their request ends)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()


def _describe(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"connection failed ({exc.strerror or exc!r})"
