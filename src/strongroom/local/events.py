"""API Gateway REST proxy events and Lambda contexts, as API Gateway and Lambda would build them."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from strongroom.runtime.api import OPERATIONS

ACCOUNT_ID = "000000000000"


def _resource_and_parameters(path: str) -> tuple[str, dict[str, str] | None]:
    """The API Gateway resource template for ``path`` and its decoded path parameters."""
    for op in OPERATIONS:
        template = op.path.replace("<", "{").replace(">", "}")
        parts, actual = template.strip("/").split("/"), path.strip("/").split("/")
        if len(parts) != len(actual):
            continue
        params: dict[str, str] = {}
        for want, got in zip(parts, actual, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = unquote(got)
            elif want != got:
                break
        else:
            return template, params or None
    return "/{proxy+}", {"proxy": path.lstrip("/")}


def rest_proxy_event(
    *,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    caller_arn: str | None = None,
    access_key: str | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "live",
) -> dict[str, Any]:
    path, _, query = raw_path.partition("?")
    resource, path_parameters = _resource_and_parameters(path)
    multi_query = {k: v for k, v in parse_qs(query, keep_blank_values=True).items()}
    try:
        text, is_base64 = body.decode(), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": unquote(path),
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": stage,
            "identity": {
                "accessKey": access_key,
                "accountId": ACCOUNT_ID if caller_arn else None,
                "caller": access_key,
                "sourceIp": source_ip,
                "userArn": caller_arn,
                "userAgent": headers.get("user-agent"),
                "user": access_key,
            },
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64,
    }


@dataclass
class LocalLambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    region: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def response_headers(response: dict[str, Any]) -> list[tuple[str, str]]:
    """A Lambda proxy response's headers, single- and multi-valued, as API Gateway would send them."""
    pairs = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        pairs += [(name, str(v)) for v in values]
    return pairs
