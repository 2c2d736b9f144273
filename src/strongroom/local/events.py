"""API Gateway REST proxy events and Lambda contexts, as API Gateway and Lambda would build them."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from strongroom.local.emulator import ACCOUNT_ID
from strongroom.runtime.routes import OPERATIONS


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """Who signed the request, as API Gateway puts it in ``requestContext.identity`` (IAM auth).

    An IAM user: ``user_arn`` is ``arn:aws:iam::ACCOUNT:user/NAME`` and ``caller``/``user`` its user
    id (``AIDA…``). An assumed role: ``user_arn`` is ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``
    and ``caller``/``user`` are ``ROLE_ID:SESSION`` (``AROA…:SESSION``).
    """

    user_arn: str
    caller: str
    user: str
    access_key: str | None = None
    account_id: str = ACCOUNT_ID

    @classmethod
    def iam_user(cls, user_arn: str, access_key: str | None = None) -> CallerIdentity:
        """An IAM user, with a stable user id derived from its ARN (IAM's own ids are random)."""
        user_id = iam_user_id(user_arn)
        parts = user_arn.split(":")
        account_id = parts[4] if len(parts) > 5 and parts[4] else ACCOUNT_ID
        return cls(user_arn, user_id, user_id, access_key, account_id)


def iam_user_id(user_arn: str) -> str:
    """An ``AIDA…`` id of IAM's shape (21 characters, base32 alphabet), the same on every run."""
    digest = base64.b32encode(hashlib.sha256(user_arn.encode()).digest()).decode()
    return "AIDA" + digest[:17]


def _resource_and_parameters(path: str) -> tuple[str, dict[str, str] | None]:
    """The API Gateway resource template for the raw (percent-encoded) ``path`` and its decoded path
    parameters. Segments are split before decoding, so an encoded ``/`` stays inside its parameter."""
    for op in OPERATIONS:
        template = op.path
        parts, actual = template.strip("/").split("/"), path.strip("/").split("/")
        if len(parts) != len(actual):
            continue
        params: dict[str, str] = {}
        for want, got in zip(parts, actual, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = unquote(got)
            elif want != unquote(got):
                break
        else:
            return template, params or None
    return "/{proxy+}", {"proxy": unquote(path.lstrip("/"))}


def _multi_valued(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Every value of every header, in arrival order; names compare case-insensitively and keep the
    spelling they first arrived with."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    spelling: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(spelling.setdefault(name.lower(), name), []).append(value)
    return values


def _identity(identity: CallerIdentity | None, source_ip: str, user_agent: str | None) -> dict[str, Any]:
    return {
        "accessKey": identity.access_key if identity else None,
        "accountId": identity.account_id if identity else None,
        "caller": identity.caller if identity else None,
        "sourceIp": source_ip,
        "userArn": identity.user_arn if identity else None,
        "userAgent": user_agent,
        "user": identity.user if identity else None,
    }


def rest_proxy_event(
    *,
    method: str,
    raw_path: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    region: str,
    identity: CallerIdentity | None = None,
    caller_arn: str | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "live",
) -> dict[str, Any]:
    """The REST proxy event API Gateway would send for this request.

    ``headers`` may be (name, value) pairs: a repeated header reaches ``multiValueHeaders`` with all
    its values and ``headers`` with its last, as API Gateway does. ``identity`` is who signed the
    request (None: an unauthenticated route); ``caller_arn`` is shorthand for an IAM user with that
    ARN (tests, benchmarks).
    """
    if caller_arn is not None:
        if identity is not None:
            raise TypeError("pass identity or caller_arn, not both")
        identity = CallerIdentity.iam_user(caller_arn)
    path, _, query = raw_path.partition("?")
    resource, path_parameters = _resource_and_parameters(path)
    multi_query = {k: v for k, v in parse_qs(query, keep_blank_values=True).items()}
    multi_headers = _multi_valued(headers)
    single_headers = {name: values[-1] for name, values in multi_headers.items()}
    lower = {name.lower(): value for name, value in single_headers.items()}
    try:
        text, is_base64 = body.decode(), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        # As API Gateway REST sends it: the path as received, still percent-encoded; path
        # parameters decoded (docs/adr/0003).
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lower.get("host", "localhost"),
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
            "identity": _identity(identity, source_ip, lower.get("user-agent")),
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
