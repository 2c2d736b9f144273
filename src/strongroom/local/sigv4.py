"""Verify AWS Signature Version 4 on requests to the local gateway, as API Gateway's IAM auth does.

The canonical request is rebuilt with botocore's own SigV4 implementation (the one the SDKs sign
with), restricted to exactly the headers the client declared as signed; the signature, credential
scope (access key, date, Region, service), clock skew and, for temporary credentials, the session
token are then checked.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)
SECURITY_TOKEN = "x-amz-security-token"  # noqa: S105 - a header name, not a secret

_AUTHORIZATION_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)

# A request's headers: a mapping, or (name, value) pairs in arrival order when a name may repeat.
Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class SignatureError(Exception):
    """Why a request's signature was refused (safe to show the caller)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key and its secret; temporary (STS) credentials carry their session token too."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


# Finds the credentials for an access key id; raises SignatureError for a key it does not know.
CredentialLookup = Callable[[str], Credentials]


def _only(credentials: Credentials) -> CredentialLookup:
    def lookup(access_key_id: str) -> Credentials:
        if access_key_id != credentials.access_key_id:
            raise SignatureError("the access key is not known to this gateway")
        return credentials

    return lookup


class _ExactHeadersSigV4(SigV4Auth):
    """SigV4 over precisely the headers the client listed in SignedHeaders (botocore would add
    or drop some when signing; a verifier must use what the client used). A repeated header keeps
    all its values in order; botocore joins them with commas, as SigV4 canonicalisation requires."""

    def __init__(
        self, credentials: ReadOnlyCredentials, region: str, signed: list[str], values: dict[str, list[str]]
    ) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed
        self._values = values

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            for value in self._values.get(name, [""]):
                headers[name] = value  # HTTPHeaders appends: every value of a repeated header is kept
        return headers


def header_values(headers: Headers) -> dict[str, list[str]]:
    """Lower-cased header names to all their values, in arrival order."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name.lower(), []).append(value)
    return values


def _single(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    if found is None:
        return None
    if len(found) != 1:
        raise SignatureError(f"the {name} header must appear once")
    return found[0]


def _check_authorization(values: dict[str, list[str]], region: str) -> tuple[str, list[str], str, str]:
    """The signature, signed header names, access key and scope date of a well-formed Authorization."""
    authorization = _single(values, "authorization")
    if not authorization:
        raise SignatureError(
            "missing Authorization header: sign the request with SigV4 (service execute-api)"
        )
    match = _AUTHORIZATION_RE.match(authorization.strip())
    if match is None:
        raise SignatureError(f"Authorization is not an {ALGORITHM} signature")
    access_key, date, scope_region, service, terminator = (match["credential"].split("/") + [""] * 5)[:5]
    if (scope_region, service, terminator) != (region, SERVICE, "aws4_request"):
        raise SignatureError(f"credential scope must be <date>/{region}/{SERVICE}/aws4_request")
    signed = match["signed"].split(";")
    if "host" not in signed:
        raise SignatureError("the host header must be signed")
    return match["signature"], signed, access_key, date


def _check_date(values: dict[str, list[str]], scope_date: str, now: datetime) -> str:
    amz_date = _single(values, "x-amz-date")
    if not amz_date:
        raise SignatureError("missing X-Amz-Date header: SigV4 signs the request time")
    if amz_date[:8] != scope_date:
        raise SignatureError("X-Amz-Date does not match the credential scope date")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("X-Amz-Date must look like 20260101T120000Z") from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureError("the signature has expired or is from the future (clock skew over 5 minutes)")
    return amz_date


def _check_session_token(values: dict[str, list[str]], signed: list[str], credentials: Credentials) -> None:
    """Temporary credentials are only valid with their own session token, signed with the request."""
    token = _single(values, SECURITY_TOKEN)
    if credentials.session_token is None:
        if token is not None:
            raise SignatureError("X-Amz-Security-Token was sent with long-term credentials")
        return
    if token is None or SECURITY_TOKEN not in signed:
        raise SignatureError("temporary credentials need their X-Amz-Security-Token header, signed")
    if not hmac.compare_digest(token.encode(), credentials.session_token.encode()):
        raise SignatureError("the security token does not belong to this access key")


def verify(
    *,
    method: str,
    raw_path: str,
    headers: Headers,
    body: bytes,
    credentials: Credentials | CredentialLookup,
    region: str,
    now: datetime | None = None,
) -> str:
    """Return the caller's access key id if the request is correctly signed; raise SignatureError.

    ``credentials`` is the one accepted key, or a lookup from access key id to its credentials.
    """
    lookup = _only(credentials) if isinstance(credentials, Credentials) else credentials
    values = header_values(headers)
    signature, signed, access_key, scope_date = _check_authorization(values, region)
    amz_date = _check_date(values, scope_date, now or datetime.now(UTC))
    declared_hash = _single(values, "x-amz-content-sha256")
    if declared_hash is not None and declared_hash != hashlib.sha256(body).hexdigest():
        raise SignatureError("X-Amz-Content-SHA256 does not match the body")
    key = lookup(access_key)
    _check_session_token(values, signed, key)

    request = AWSRequest(
        method=method.upper(),
        url=f"http://{_single(values, 'host') or ''}{raw_path}",
        data=body,
        headers={name: ",".join(values[name]) for name in signed if name in values},
    )
    request.context["timestamp"] = amz_date
    context: dict[str, Any] = request.context
    context["payload_signing_enabled"] = True
    signer = _ExactHeadersSigV4(
        ReadOnlyCredentials(access_key, key.secret_access_key, key.session_token), region, signed, values
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("the request signature does not match: check the secret key and what was signed")
    return access_key


def sign(
    *, method: str, url: str, headers: Headers, body: bytes, credentials: Credentials, region: str
) -> list[tuple[str, str]]:
    """Headers with a SigV4 signature added, for clients of the local gateway (tests, tools).

    Temporary credentials add their X-Amz-Security-Token header, signed, as the SDKs do. A header
    given more than once (as pairs) is signed with all its values.
    """
    request = AWSRequest(method=method.upper(), url=url, data=body)
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        request.headers[name] = value  # appends: repeated headers stay repeated
    SigV4Auth(
        ReadOnlyCredentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        SERVICE,
        region,
    ).add_auth(request)
    return list(request.headers.items())
