"""RFC 9457 problem details: every error the API returns, each with a stable ``type`` URI.

The catalogue below is the contract; docs/problems.md is generated from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE_URI = "https://strongroom.dev/problems/"


@dataclass(frozen=True, slots=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return PROBLEM_BASE_URI + self.slug


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
