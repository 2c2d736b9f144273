"""The local API Gateway: HTTP on loopback → SigV4 check → REST proxy event → the function → HTTP.

Every request but those to a public operation (routes.py: GET /health, GET /health/deep) requires a
valid SigV4 signature, as IAM authorization does on the deployed
API: by the static local credentials (an IAM user), or by temporary credentials the emulator's STS
issued by AssumeRole (an assumed-role session). Refusals and gateway failures are problem+json.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from strongroom.local import emulator
from strongroom.local.events import CallerIdentity, response_headers, rest_proxy_event
from strongroom.local.functions import FunctionPool, FunctionTimeout
from strongroom.local.sigv4 import Credentials, SignatureError, verify
from strongroom.runtime import problems
from strongroom.runtime.routes import OPERATIONS, SECURITY_HEADERS

# API Gateway's payload limit; the function applies the API's own, smaller limit.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# The IAM user the static local credentials belong to: one stable principal, whatever the key.
CALLER_ARN = f"arn:aws:iam::{emulator.ACCOUNT_ID}:user/local-caller"
TEMPORARY_KEY_PREFIX = "ASIA"  # STS-issued access keys; long-term IAM user keys start AKIA
# Credentials are checked here and are not the function's business (nor its logs').
_NOT_FORWARDED = frozenset({"authorization", "x-amz-security-token"})
_CONTENT_LENGTH = re.compile(
    r"[0-9]{1,19}"
)  # ASCII digits only: str.isdigit() admits superscripts and full-width digits


def is_public(method: str, path: str) -> bool:
    """Whether API Gateway would let this request through unsigned: only a public operation's exact
    method and path. Anything else, an unknown path included, needs IAM authorization."""
    return any(op.method == method and not op.authorized and op.matches(path) for op in OPERATIONS)


class Principals:
    """Who an access key belongs to, and its secret: the static local credentials (an IAM user), or
    temporary credentials the emulator's STS issued (a role session), looked up in the emulator once
    and kept until they expire."""

    def __init__(
        self,
        static: Credentials,
        emulator_endpoint: str | None = None,
        *,
        lookup: Callable[[str, str], emulator.IssuedCredentials | None] = emulator.issued_credentials,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._static = static
        self._static_identity = CallerIdentity.iam_user(CALLER_ARN, static.access_key_id)
        self._endpoint = emulator_endpoint
        self._lookup = lookup
        self._clock = clock
        self._sessions: dict[str, tuple[Credentials, CallerIdentity, datetime]] = {}
        self._lock = threading.Lock()

    def credentials(self, access_key_id: str) -> Credentials:
        """The key's credentials (a sigv4 CredentialLookup); raises SignatureError for an unknown key."""
        return self._resolve(access_key_id)[0]

    def identity(self, access_key_id: str) -> CallerIdentity:
        return self._resolve(access_key_id)[1]

    def _resolve(self, access_key_id: str) -> tuple[Credentials, CallerIdentity]:
        if access_key_id == self._static.access_key_id:
            return self._static, self._static_identity
        if self._endpoint is None or not access_key_id.startswith(TEMPORARY_KEY_PREFIX):
            raise SignatureError("the access key is not known to this gateway")
        with self._lock:
            session = self._sessions.get(access_key_id)
        if session is None:
            session = self._fetch(self._endpoint, access_key_id)
            with self._lock:
                self._sessions[access_key_id] = session
        credentials, identity, expiration = session
        if self._clock() >= expiration:
            with self._lock:
                self._sessions.pop(access_key_id, None)
            raise SignatureError("the temporary credentials have expired: assume the role again")
        return credentials, identity

    def _fetch(self, endpoint: str, access_key_id: str) -> tuple[Credentials, CallerIdentity, datetime]:
        try:
            issued = self._lookup(endpoint, access_key_id)
        except emulator.EmulatorError as exc:
            raise SignatureError(f"temporary credentials cannot be checked now ({exc})") from None
        if issued is None:
            raise SignatureError(
                "the temporary access key was not issued by the local STS for an existing role: "
                "assume the caller role (callerRole in local.json) with the emulator's STS"
            )
        credentials = Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token)
        identity = CallerIdentity(
            user_arn=issued.assumed_role_arn,
            caller=issued.assumed_role_id,
            user=issued.assumed_role_id,
            access_key=issued.access_key_id,
            account_id=issued.account_id,
        )
        return credentials, identity, issued.expiration


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    # Connections the gateway closed sit in TIME_WAIT on its port; without SO_REUSEADDR a restart
    # could not bind for a minute. On Linux it never lets a second listener share the port.
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when a burst outruns the accept loop
    # (50 concurrent clients on a loaded machine did); API Gateway does not refuse a burst like that.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], *, region: str, function: FunctionPool, principals: Principals
    ) -> None:
        self.region = region
        self.function = function
        self.principals = principals
        # Set when the Region goes down: every open connection stops answering (a dead Region's
        # connections hang until the caller gives up) until released by the Region's return.
        self.down = threading.Event()
        self._released = threading.Event()
        super().__init__(address, _GatewayHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller that hung up (a timed-out client, a drill's failover) is not an error to print."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def go_down(self) -> None:
        """Stop answering, as a Region that dies does: nothing new is accepted and every open
        connection, idle or mid-request, hangs without an answer. :meth:`release` closes them."""
        self.down.set()
        self.shutdown()
        self.server_close()

    def release(self) -> None:
        """Let the hung connections' threads close them (when the Region comes back)."""
        self._released.set()

    def hang(self, connection: socket.socket) -> None:
        """Hold ``connection`` unanswered until the Region comes back, then reset it."""
        self._released.wait()
        with contextlib.suppress(OSError):  # the caller may have given up and closed it already
            connection.shutdown(socket.SHUT_RDWR)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=f"gateway-{self.region}", daemon=True)
        thread.start()
        return thread


class _GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"
    server_version = "strongroom-local-gateway"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs come from the function's structured logs; keep the terminal readable."""

    def _problem(self, type_: problems.ProblemType, detail: str) -> None:
        body = problems.Problem(type_, detail).to_json(self.path.partition("?")[0]).encode()
        # API Gateway's own error responses carry the API's security headers too (infra/constructs/api.py).
        headers = [("Content-Type", problems.PROBLEM_CONTENT_TYPE), *SECURITY_HEADERS.items()]
        self._reply(type_.status, headers, body)

    def _refuse_and_close(self, type_: problems.ProblemType, detail: str) -> None:
        """Answer, then close: the unread body would otherwise be parsed as the next request."""
        self.close_connection = True
        self._problem(type_, detail)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        if self.server.down.is_set():
            return  # the answer is lost with the Region
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        """The request body, or None once the request has been refused (or the client went away)."""
        if "Transfer-Encoding" in self.headers:  # API Gateway REST needs a length; so does this gateway
            self._refuse_and_close(
                problems.LENGTH_REQUIRED, "send the body with a Content-Length header, not Transfer-Encoding"
            )
            return None
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        if len(set(lengths)) != 1 or not _CONTENT_LENGTH.fullmatch(lengths[0].strip()):
            self._refuse_and_close(
                problems.MALFORMED_REQUEST, "Content-Length must be one number of bytes in ASCII digits"
            )
            return None
        length = int(lengths[0])
        if length > MAX_PAYLOAD_BYTES:
            self._refuse_and_close(
                problems.PAYLOAD_TOO_LARGE, f"request bodies are limited to {MAX_PAYLOAD_BYTES} bytes"
            )
            return None
        body = self.rfile.read(length)
        if len(body) != length:  # the client closed the connection mid-body: nobody to answer
            self.close_connection = True
            return None
        return body

    def _authenticate(self, headers: list[tuple[str, str]], body: bytes) -> CallerIdentity | None:
        """Who signed the request, or None once it has been refused with 403."""
        principals = self.server.principals
        try:
            access_key = verify(
                method=self.command,
                raw_path=self.path,
                headers=headers,
                body=body,
                credentials=principals.credentials,
                region=self.server.region,
            )
            return principals.identity(access_key)
        except SignatureError as exc:
            self._problem(problems.FORBIDDEN, str(exc))
            return None

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if self.server.down.is_set():  # the Region died while this connection was open
            self.close_connection = True
            self.server.hang(self.connection)

    def _dispatch(self) -> None:
        if self.server.down.is_set():
            return  # handle_one_request hangs the connection: no answer from a dead Region
        body = self._read_body()
        if body is None:
            return
        headers = list(self.headers.items())  # every value of a repeated header, in arrival order
        identity: CallerIdentity | None = None
        if not is_public(self.command, self.path.partition("?")[0]):
            identity = self._authenticate(headers, body)
            if identity is None:
                return
        event = rest_proxy_event(
            method=self.command,
            raw_path=self.path,
            headers=[(name, value) for name, value in headers if name.lower() not in _NOT_FORWARDED],
            body=body,
            region=self.server.region,
            identity=identity,
            source_ip=self.client_address[0],
        )
        self._invoke(event)

    def _invoke(self, event: dict[str, Any]) -> None:
        try:
            response = self.server.function.invoke(event)
            status = int(response["statusCode"])
            text = response.get("body") or ""
            payload = base64.b64decode(text) if response.get("isBase64Encoded") else text.encode()
        except FunctionTimeout:  # API Gateway gives up on a slow integration with 504
            self._problem(problems.GATEWAY_TIMEOUT, "the function did not answer within its timeout")
            return
        except Exception:  # the function crashed or returned garbage: API Gateway answers 502
            self._problem(problems.BAD_GATEWAY, "the function failed or returned an invalid response")
            return
        self._reply(status, response_headers(response), payload)

    def __getattr__(self, name: str) -> Any:
        """Every method is dispatched (``do_QUERY`` too), as API Gateway receives any method: unsigned
        it is refused (403), signed the function answers (405 with Allow, or 404)."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)
