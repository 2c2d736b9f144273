"""The local API Gateway: HTTP on loopback → SigV4 check → REST proxy event → the function → HTTP.

Every route but /health* requires a valid SigV4 signature for the local credentials, as IAM
authorization does on the deployed API. Refusals and gateway failures are problem+json.
"""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from strongroom.local.events import response_headers, rest_proxy_event
from strongroom.local.functions import FunctionPool
from strongroom.local.sigv4 import Credentials, SignatureError, verify
from strongroom.runtime import problems

# API Gateway's payload limit; the function applies the API's own, smaller limit.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
UNAUTHENTICATED_PREFIX = "/health"
CALLER_ARN = "arn:aws:iam::000000000000:user/{access_key}"


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(
        self, address: tuple[str, int], *, region: str, function: FunctionPool, credentials: Credentials
    ) -> None:
        self.region = region
        self.function = function
        self.credentials = credentials
        super().__init__(address, _GatewayHandler)

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
        self._reply(type_.status, [("Content-Type", problems.PROBLEM_CONTENT_TYPE)], body)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.isdigit() or int(length) > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._problem(
                problems.PAYLOAD_TOO_LARGE, f"request bodies are limited to {MAX_PAYLOAD_BYTES} bytes"
            )
            return None
        return self.rfile.read(int(length))

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        headers = {name: value for name, value in self.headers.items()}
        access_key: str | None = None
        if not self.path.startswith(UNAUTHENTICATED_PREFIX):
            try:
                access_key = verify(
                    method=self.command,
                    raw_path=self.path,
                    headers=headers,
                    body=body,
                    credentials=self.server.credentials,
                    region=self.server.region,
                )
            except SignatureError as exc:
                self._problem(problems.FORBIDDEN, str(exc))
                return
        event = rest_proxy_event(
            method=self.command,
            raw_path=self.path,
            headers={k: v for k, v in headers.items() if k.lower() != "authorization"},
            body=body,
            region=self.server.region,
            caller_arn=CALLER_ARN.format(access_key=access_key) if access_key else None,
            access_key=access_key,
            source_ip=self.client_address[0],
        )
        try:
            response = self.server.function.invoke(event)
            status = int(response["statusCode"])
            text = response.get("body") or ""
            payload = base64.b64decode(text) if response.get("isBase64Encoded") else text.encode()
        except Exception:  # the function crashed or returned garbage: API Gateway answers 502
            self._problem(problems.BAD_GATEWAY, "the function failed or returned an invalid response")
            return
        self._reply(status, response_headers(response), payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch
