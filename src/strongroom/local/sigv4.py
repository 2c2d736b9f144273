"""Verify AWS Signature Version 4 on requests to the local gateway, as API Gateway's IAM auth does.

The canonical request is rebuilt with botocore's own SigV4 implementation (the one the SDKs sign
with), restricted to exactly the headers the client declared as signed; the signature, credential
scope (access key, date, Region, service) and clock skew are then checked.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)

_AUTHORIZATION_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureError(Exception):
    """Why a request's signature was refused (safe to show the caller)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


class _ExactHeadersSigV4(SigV4Auth):
    """SigV4 over precisely the headers the client listed in SignedHeaders (botocore would add
    or drop some when signing; a verifier must use what the client used)."""

    def __init__(self, credentials: ReadOnlyCredentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            headers[name] = request.headers.get(name, "")
        return headers


def _parse_amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("X-Amz-Date must look like 20260101T120000Z") from None


def _check_authorization(
    lower: Mapping[str, str], credentials: Credentials, region: str
) -> tuple[str, list[str], str]:
    """The signature, signed header names and access key from a well-formed Authorization header."""
    authorization = lower.get("authorization")
    if not authorization:
        raise SignatureError(
            "missing Authorization header: sign the request with SigV4 (service execute-api)"
        )
    match = _AUTHORIZATION_RE.match(authorization.strip())
    if match is None:
        raise SignatureError(f"Authorization is not an {ALGORITHM} signature")
    access_key, date, scope_region, service, terminator = (match["credential"].split("/") + [""] * 5)[:5]
    if access_key != credentials.access_key_id:
        raise SignatureError("the access key is not known to this gateway")
    if (scope_region, service, terminator) != (region, SERVICE, "aws4_request"):
        raise SignatureError(f"credential scope must be <date>/{region}/{SERVICE}/aws4_request")
    if lower.get("x-amz-date", "")[:8] != date:
        raise SignatureError("X-Amz-Date is missing or does not match the credential scope date")
    signed = match["signed"].split(";")
    if "host" not in signed:
        raise SignatureError("the host header must be signed")
    return match["signature"], signed, access_key


def _check_date(lower: Mapping[str, str], now: datetime) -> str:
    amz_date = lower["x-amz-date"]
    if abs(now - _parse_amz_date(amz_date)) > MAX_CLOCK_SKEW:
        raise SignatureError("the signature has expired or is from the future (clock skew over 5 minutes)")
    return amz_date


def verify(
    *,
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    now: datetime | None = None,
) -> str:
    """Return the caller's access key id if the request is correctly signed; raise SignatureError."""
    lower = {k.lower(): v for k, v in headers.items()}
    signature, signed, access_key = _check_authorization(lower, credentials, region)
    amz_date = _check_date(lower, now or datetime.now(UTC))
    declared_hash = lower.get("x-amz-content-sha256")
    if declared_hash is not None and declared_hash != hashlib.sha256(body).hexdigest():
        raise SignatureError("X-Amz-Content-SHA256 does not match the body")

    request = AWSRequest(
        method=method.upper(),
        url=f"http://{lower.get('host', '')}{raw_path}",
        data=body,
        headers={name: lower[name] for name in signed if name in lower},
    )
    request.context["timestamp"] = amz_date
    context: dict[str, Any] = request.context
    context["payload_signing_enabled"] = True
    signer = _ExactHeadersSigV4(
        ReadOnlyCredentials(access_key, credentials.secret_access_key, None), region, signed
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("the request signature does not match: check the secret key and what was signed")
    return access_key


def sign(
    *, method: str, url: str, headers: dict[str, str], body: bytes, credentials: Credentials, region: str
) -> dict[str, str]:
    """Headers with a SigV4 signature added, for clients of the local gateway (tests, tools)."""
    request = AWSRequest(method=method.upper(), url=url, data=body, headers=headers)
    SigV4Auth(
        ReadOnlyCredentials(credentials.access_key_id, credentials.secret_access_key, None), SERVICE, region
    ).add_auth(request)
    return dict(request.headers.items())
