"""RFC 9457 problem details: every error the API returns, each with a stable ``type`` URI.

The catalogue below is the contract; docs/problems.md is generated from it. A type URI is a base
plus the slug. The default base is a URN, which nothing dereferences, so no one can serve pages to
clients that follow it; an operator may point the base at their own copy of docs/problems.md
(docs/adr/0017-problem-type-uris-that-cannot-be-hijacked.md).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from strongroom import constants as env

PROBLEM_CONTENT_TYPE = "application/problem+json"
DEFAULT_PROBLEM_TYPE_BASE = "urn:strongroom:problem:"
PROBLEM_TYPE_BASE_EXAMPLE = "https://docs.example.com/problems#"

# Characters a base may hold: URI characters that are also literal text in JSON and in API Gateway's
# response templates (VTL), so the base can be written into both unescaped. No $, quotes, backslash.
_BASE_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#@!&()*+,;=%]+")
_TAG_PREFIX = re.compile(  # RFC 4151: tag:<DNS name or email address>,<date>:
    r"tag:(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[^@,:/]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    r",\d{4}(?:-\d{2}(?:-\d{2})?)?:"
)
_URN_PREFIX = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:")  # RFC 8141 namespace id
_HTTPS_PREFIX = re.compile(r"https://[A-Za-z0-9.-]+(?::\d+)?/")


def checked_problem_type_base(raw: str) -> str:
    """``raw`` if it can prefix every slug: an absolute https:, tag: or urn: URI ending in / # or :.

    Raises ValueError saying what is wrong and what a valid base looks like.
    """
    base = raw.strip()
    hint = f"e.g. {PROBLEM_TYPE_BASE_EXAMPLE} or tag:example.com,2026:problems:"
    if not _BASE_CHARACTERS.fullmatch(base):
        raise ValueError(f"{raw!r} is not a URI without spaces, quotes, $ or backslashes; {hint}")
    scheme = base.partition(":")[0]
    if scheme not in {"https", "tag", "urn"}:
        raise ValueError(f"{raw!r} must be an absolute https:, tag: or urn: URI (lowercase scheme); {hint}")
    prefix = {"https": _HTTPS_PREFIX, "tag": _TAG_PREFIX, "urn": _URN_PREFIX}[scheme]
    if not prefix.match(base):
        raise ValueError(f"{raw!r} is not a well-formed {scheme}: URI; {hint}")
    if base[-1] not in "/#:":
        raise ValueError(f"{raw!r} must end in '/', '#' or ':' so that each slug follows it; {hint}")
    if "#" in base[:-1]:
        raise ValueError(f"{raw!r} may hold '#' only as its last character; {hint}")
    return base


_base: str | None = None


def set_problem_type_base(base: str | None) -> None:
    """Use ``base`` for every type URI from now on; ``None`` goes back to the environment or default."""
    global _base  # noqa: PLW0603 - one base per process, like the environment it stands in for
    _base = None if base is None else checked_problem_type_base(base)


def problem_type_base() -> str:
    """The base every type URI starts with: :func:`set_problem_type_base`, else the environment
    variable, else the default. Read at first use, so a process needs no set-up call."""
    global _base  # noqa: PLW0603
    if _base is None:
        raw = os.environ.get(env.ENV_PROBLEM_TYPE_BASE)
        try:
            _base = checked_problem_type_base(raw) if raw else DEFAULT_PROBLEM_TYPE_BASE
        except ValueError as exc:
            raise ValueError(f"{env.ENV_PROBLEM_TYPE_BASE}: {exc}") from None
    return _base


@dataclass(frozen=True, slots=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return problem_type_base() + self.slug

    def uri_under(self, base: str) -> str:
        """The type URI under an explicit base (CDK writes the configured one into the templates)."""
        return base + self.slug


MALFORMED_REQUEST = ProblemType("malformed-request", "The request body is not a JSON object", 400)
IDEMPOTENCY_KEY_REQUIRED = ProblemType(
    "idempotency-key-required", "An Idempotency-Key header is required", 400
)
INVALID_IDEMPOTENCY_KEY = ProblemType("invalid-idempotency-key", "The Idempotency-Key header is invalid", 400)
INVALID_PARAMETER = ProblemType("invalid-parameter", "A path or query parameter is invalid", 400)
INVALID_CURSOR = ProblemType("invalid-cursor", "The pagination cursor is not valid for this listing", 400)
FORBIDDEN = ProblemType("forbidden", "The request signature is missing or invalid", 403)
NOT_FOUND = ProblemType("not-found", "The resource does not exist", 404)
METHOD_NOT_ALLOWED = ProblemType("method-not-allowed", "The method is not allowed on this resource", 405)
LENGTH_REQUIRED = ProblemType("length-required", "The request body needs a Content-Length header", 411)
PAYLOAD_TOO_LARGE = ProblemType("payload-too-large", "The request body is too large", 413)
UNSUPPORTED_MEDIA_TYPE = ProblemType(
    "unsupported-media-type", "The request body must be application/json", 415
)
VALIDATION_ERROR = ProblemType("validation-error", "The request has invalid fields", 422)
IDEMPOTENCY_KEY_REUSED = ProblemType(
    "idempotency-key-reused", "The Idempotency-Key was already used with a different request", 422
)
TOO_MANY_REQUESTS = ProblemType("too-many-requests", "Too many requests; retry later", 429)
INTERNAL_ERROR = ProblemType("internal-error", "The server failed to handle the request", 500)
BAD_GATEWAY = ProblemType("bad-gateway", "The function returned an invalid response", 502)
SERVICE_UNAVAILABLE = ProblemType("service-unavailable", "A dependency is unavailable; retry later", 503)
GATEWAY_TIMEOUT = ProblemType("gateway-timeout", "The function did not answer in time; retry later", 504)

CATALOGUE: tuple[ProblemType, ...] = (
    MALFORMED_REQUEST,
    IDEMPOTENCY_KEY_REQUIRED,
    INVALID_IDEMPOTENCY_KEY,
    INVALID_PARAMETER,
    INVALID_CURSOR,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    LENGTH_REQUIRED,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_ERROR,
    IDEMPOTENCY_KEY_REUSED,
    TOO_MANY_REQUESTS,
    INTERNAL_ERROR,
    BAD_GATEWAY,
    SERVICE_UNAVAILABLE,
    GATEWAY_TIMEOUT,
)


class Problem(Exception):
    """Raised anywhere in a handler; turned into a problem+json response in one place."""

    def __init__(
        self,
        type: ProblemType,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.type = type
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}  # HTTP headers the problem requires (Allow, Retry-After)
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": self.type.uri,
            "title": self.type.title,
            "status": self.type.status,
            "detail": self.detail,
        }
        if instance:
            document["instance"] = instance
        if self.errors:
            document["errors"] = self.errors
        document.update(self.extra)
        return document

    def to_json(self, instance: str | None = None) -> str:
        return json.dumps(self.body(instance), ensure_ascii=False, separators=(",", ":"))
