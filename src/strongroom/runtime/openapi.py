"""The OpenAPI 3.1 document, generated from the registered operations and the pydantic models.

Imported only when /openapi.json is requested (or by tooling), so its models cost no cold start.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from strongroom import __version__
from strongroom.runtime import problems
from strongroom.runtime.models import CreateTransaction


class Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str
    customer_id: str = Field(alias="customerId")
    amount: str
    currency: str
    type: Literal["debit", "credit"]
    reference: str
    status: Literal["accepted", "settled", "rejected", "reversed"]
    created_at: str = Field(alias="createdAt", description="ISO 8601 UTC")
    updated_at: str = Field(alias="updatedAt", description="ISO 8601 UTC")


class TransactionPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Transaction]
    next_cursor: str | None = Field(alias="nextCursor", description="Pass back as ?cursor= for the next page")


class HealthCheck(BaseModel):
    status: Literal["pass", "fail"]
    latency_ms: float = Field(alias="latencyMs")
    reason: str | None = None


class Health(BaseModel):
    status: Literal["pass", "fail"]
    region: str
    checks: dict[str, HealthCheck] | None = None


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


MODELS: dict[str, type[BaseModel]] = {
    "CreateTransaction": CreateTransaction,
    "Transaction": Transaction,
    "TransactionPage": TransactionPage,
    "Health": Health,
    "Problem": Problem,
}
_MODES: dict[str, Literal["validation", "serialization"]] = {"CreateTransaction": "validation"}

_PARAMETERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "in": "header",
        "required": True,
        "description": "Client-chosen key; a retry with the same key and body returns the original",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "limit": {
        "in": "query",
        "required": False,
        "description": "Page size (default 20); the maximum is the deployment's page_size_max (default 100)",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20},
    },
    "cursor": {"in": "query", "required": False, "schema": {"type": "string"}},
}


def _problem_responses(operation_status: int) -> dict[str, Any]:
    ref = {"content": {problems.PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    titles: dict[int, list[str]] = {}
    for t in problems.CATALOGUE:
        if t.status != operation_status:
            titles.setdefault(t.status, []).append(f"{t.title} ({t.slug})")
    return {
        str(status): {"description": "; or ".join(each), **ref} for status, each in sorted(titles.items())
    }


@cache
def document() -> dict[str, Any]:
    from strongroom.runtime.api import OPERATIONS  # noqa: PLC0415 - the API imports this module lazily

    _, schemas = models_json_schema(
        [(model, _MODES.get(name, "serialization")) for name, model in MODELS.items()],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path = op.path.replace("<", "{").replace(">", "}")
        parameters = [
            {"name": name[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{\w+\}", path)
        ] + [{"name": name, **_PARAMETERS[name]} for name in (*op.headers, *op.query)]
        content_type = "application/health+json" if op.response == "Health" else "application/json"
        response_schema = (
            {"type": "object"}
            if op.response == "OpenAPI"
            else {"$ref": f"#/components/schemas/{op.response}"}
        )
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "parameters": parameters,
            "responses": {
                str(op.status): {
                    "description": "Success",
                    "content": {content_type: {"schema": response_schema}},
                },
                **_problem_responses(op.status),
            },
            "security": [{"sigv4": []}] if op.authorized else [],
        }
        if op.request:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.request}"}}},
            }
        paths.setdefault(path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Strongroom transactions API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        },
    }
