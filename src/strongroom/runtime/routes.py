"""The API's operations, declared once: what the handlers register, the OpenAPI document describes,
the local gateway routes and CDK deploys.

Importable on its own (stdlib only): tooling reads this module, never the Lambda handler module with
its import-time side effects (Powertools, logger and metrics globals, the GC freeze).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property

JSON = "application/json"
HEALTH_JSON = "application/health+json"
# Sent with every response, by the function and by API Gateway's own error responses.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Operation:
    """One method on one resource. ``path`` is the API Gateway / OpenAPI template (``/a/{id}``)."""

    method: str
    path: str
    operation_id: str
    summary: str
    status: int
    response: str
    request: str | None = None
    authorized: bool = True
    headers: tuple[str, ...] = ()
    query: tuple[str, ...] = ()

    @property
    def path_parameters(self) -> list[str]:
        return _PARAMETER.findall(self.path)

    @property
    def resolver_path(self) -> str:
        """The path in Powertools' resolver syntax (``/a/<id>``)."""
        return _PARAMETER.sub(r"<\1>", self.path)

    @property
    def content_type(self) -> str:
        return HEALTH_JSON if self.response == "Health" else JSON

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        literal_parts = _PARAMETER.split(self.path)[::2]  # text between parameters, escaped below
        return re.compile("[^/]+".join(re.escape(part) for part in literal_parts))

    def matches(self, path: str) -> bool:
        """Whether a request path (already percent-decoded) is an instance of this template."""
        return self._pattern.fullmatch(path) is not None


CREATE_TRANSACTION = Operation(
    "POST",
    "/transactions",
    operation_id="createTransaction",
    summary="Create a transaction, exactly once per Idempotency-Key",
    status=201,
    request="CreateTransaction",
    response="Transaction",
    headers=("Idempotency-Key",),
)
GET_TRANSACTION = Operation(
    "GET",
    "/transactions/{transaction_id}",
    operation_id="getTransaction",
    summary="Read one transaction",
    status=200,
    response="Transaction",
)
LIST_CUSTOMER_TRANSACTIONS = Operation(
    "GET",
    "/customers/{customer_id}/transactions",
    operation_id="listCustomerTransactions",
    summary="List a customer's transactions, newest first",
    status=200,
    response="TransactionPage",
    query=("limit", "cursor"),
)
LIST_FILES = Operation(
    "GET",
    "/files",
    operation_id="listFiles",
    summary="List the Region's uploaded files, each with its ingestion status",
    status=200,
    response="FilePage",
    query=("limit", "cursor"),
)
HEALTH = Operation(
    "GET",
    "/health",
    operation_id="health",
    summary="Shallow health",
    status=200,
    response="Health",
    authorized=False,
)
DEEP_HEALTH = Operation(
    "GET",
    "/health/deep",
    operation_id="deepHealth",
    summary="Deep health: DynamoDB canary and KMS decrypt, shared for an interval; 503 when any fails",
    status=200,
    response="Health",
    authorized=False,
)
OPENAPI = Operation(
    "GET",
    "/openapi.json",
    operation_id="openapi",
    summary="This API's OpenAPI 3 document",
    status=200,
    response="OpenAPI",
)

OPERATIONS: tuple[Operation, ...] = (
    CREATE_TRANSACTION,
    GET_TRANSACTION,
    LIST_CUSTOMER_TRANSACTIONS,
    LIST_FILES,
    HEALTH,
    DEEP_HEALTH,
    OPENAPI,
)


def deep_health_search_string(region: str) -> str:
    """What a healthy /health/deep body of ``region`` starts with: ``"status":"pass","region":"<region>"``,
    serialised as strongroom.runtime.api does (no spaces). ``"status":"pass"`` alone is not enough: each
    check in the body has a status of its own, so an unhealthy body holds it too. The Region proves the
    answer came from the Region checked. Route 53 searches the first 5,120 bytes of the body."""
    return json.dumps({"status": "pass", "region": region}, separators=(",", ":"))[1:-1]
