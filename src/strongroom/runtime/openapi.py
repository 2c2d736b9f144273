"""The OpenAPI 3.1 document, generated from the declared operations (routes.py), the wire format
(models.py) and the domain's rules: the exact contract, so that a request is schema-valid if and only
if the API accepts it, and every answer the API gives is documented (status, media type, body and
headers). docs/adr/0019-the-openapi-document-is-the-exact-contract.md says how, and where a schema
cannot say it all.

Imported only when /openapi.json is requested (or by tooling), so building schemas costs no cold start.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from strongroom import __version__
from strongroom.runtime import problems as p
from strongroom.runtime.domain.transaction import (
    CUSTOMER_ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    TRANSACTION_ID_PATTERN,
)
from strongroom.runtime.models import CreateTransaction, FilePage, Health, Transaction, TransactionPage
from strongroom.runtime.routes import GET_TRANSACTION, OPERATIONS, SECURITY_HEADERS, Operation
from strongroom.runtime.settings import RuntimeSettings


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


MODELS: dict[str, Any] = {
    "CreateTransaction": CreateTransaction,
    "Transaction": Transaction,
    "TransactionPage": TransactionPage,
    "FilePage": FilePage,
    "Health": Health,
    "Problem": Problem,
}
_MODES: dict[str, Literal["validation", "serialization"]] = {"CreateTransaction": "validation"}
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(RuntimeSettings)}

# The rule each path parameter must follow: the handler refuses (or cannot find) anything else.
_PATH_PATTERNS = {"transaction_id": TRANSACTION_ID_PATTERN, "customer_id": CUSTOMER_ID_PATTERN}
_CURSOR_DESCRIPTION = (
    "Opaque: pass back a nextCursor of this listing exactly as it was returned. Anything else is refused "
    "(400 invalid-cursor); an empty value is no cursor"
)

# Problems a request can meet whatever operation it names: the gateway's own refusals (signature,
# framing, size, WAF, throttling) and failures, and the function's last resort.
_ANY_OPERATION = (
    p.MALFORMED_REQUEST,
    p.FORBIDDEN,
    p.LENGTH_REQUIRED,
    p.PAYLOAD_TOO_LARGE,
    p.TOO_MANY_REQUESTS,
    p.INTERNAL_ERROR,
    p.BAD_GATEWAY,
    p.GATEWAY_TIMEOUT,
)
# What each handler answers itself (runtime/api.py). A path parameter that is not one path segment
# names no resource, hence not-found wherever there is one.
_HANDLER_PROBLEMS: dict[str, tuple[p.ProblemType, ...]] = {
    "createTransaction": (
        p.IDEMPOTENCY_KEY_REQUIRED,
        p.INVALID_IDEMPOTENCY_KEY,
        p.UNSUPPORTED_MEDIA_TYPE,
        p.VALIDATION_ERROR,
        p.IDEMPOTENCY_KEY_REUSED,
        p.SERVICE_UNAVAILABLE,
    ),
    "getTransaction": (p.NOT_FOUND, p.SERVICE_UNAVAILABLE),
    "listCustomerTransactions": (p.NOT_FOUND, p.INVALID_PARAMETER, p.INVALID_CURSOR, p.SERVICE_UNAVAILABLE),
    "listFiles": (p.INVALID_PARAMETER, p.INVALID_CURSOR, p.SERVICE_UNAVAILABLE),
    "health": (),
    "deepHealth": (),
    "openapi": (),
}
# A success answer other than the operation's own: deep health reports a failing check with 503.
_OTHER_ANSWERS: dict[str, dict[int, str]] = {"deepHealth": {503: "A check failed (the body says which)"}}

_SECURITY_HEADER_REFS = {name: {"$ref": f"#/components/headers/{name}"} for name in SECURITY_HEADERS}
_RETRY_AFTER = {
    "description": "Seconds to wait before retrying with the same request (and Idempotency-Key)",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
_SUCCESS_HEADERS: dict[str, dict[str, Any]] = {
    "createTransaction": {
        "Location": {
            "description": "Where the transaction can be read",
            "required": True,
            "schema": {
                "type": "string",
                "pattern": "^" + GET_TRANSACTION.path.partition("{")[0] + TRANSACTION_ID_PATTERN.lstrip("^"),
            },
        },
        "Idempotent-Replayed": {
            "description": "Present on a retry: an earlier request with this key created the transaction",
            "required": False,
            "schema": {"type": "string", "enum": ["true"]},
        },
    }
}


def _parameters(page_size_max: int) -> dict[str, dict[str, Any]]:
    page_size_default = min(int(_DEFAULTS["page_size_default"]), page_size_max)
    return {
        "Idempotency-Key": {
            "in": "header",
            "required": True,
            "description": (
                "Client-chosen key, 1-255 visible ASCII characters (a UUID is a good choice); a retry "
                "with the same key and body returns the original"
            ),
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": IDEMPOTENCY_KEY_PATTERN,
            },
        },
        "limit": {
            "in": "query",
            "required": False,
            "description": f"Page size, 1-{page_size_max} (this deployment's page_size_max)",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": page_size_max,
                "default": page_size_default,
            },
        },
        "cursor": {
            "in": "query",
            "required": False,
            "description": _CURSOR_DESCRIPTION,
            "schema": {"type": "string"},
        },
    }


def _problem_responses(op: Operation) -> dict[str, Any]:
    content = {p.PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    titles: dict[int, list[str]] = {}
    for problem in (*_ANY_OPERATION, *_HANDLER_PROBLEMS[op.operation_id]):
        titles.setdefault(problem.status, []).append(f"{problem.title} ({problem.slug})")
    responses: dict[str, Any] = {}
    for status, each in sorted(titles.items()):
        headers: dict[str, Any] = dict(_SECURITY_HEADER_REFS)
        if status == p.SERVICE_UNAVAILABLE.status:
            headers["Retry-After"] = _RETRY_AFTER
        responses[str(status)] = {"description": "; or ".join(each), "headers": headers, "content": content}
    return responses


def _answers(op: Operation) -> dict[str, Any]:
    """Every response of ``op``: its success, any other answer it gives, and its problems."""
    schema = (
        {"type": "object", "required": ["openapi", "info", "paths"]}
        if op.response == "OpenAPI"
        else {"$ref": f"#/components/schemas/{op.response}"}
    )
    content = {op.content_type: {"schema": schema}}
    success = {
        str(op.status): {
            "description": "Success",
            "headers": {**_SECURITY_HEADER_REFS, **_SUCCESS_HEADERS.get(op.operation_id, {})},
            "content": content,
        }
    }
    others = {
        str(status): {"description": description, "headers": dict(_SECURITY_HEADER_REFS), "content": content}
        for status, description in _OTHER_ANSWERS.get(op.operation_id, {}).items()
    }
    return {**success, **_problem_responses(op), **others}


@cache
def document(page_size_max: int = _DEFAULTS["page_size_max"]) -> dict[str, Any]:
    """The API's OpenAPI document for a deployment whose listing pages hold at most ``page_size_max``
    (the function passes its own setting; tooling that only needs the schemas, the default)."""
    _, schemas = TypeAdapter.json_schemas(
        [(name, _MODES.get(name, "serialization"), TypeAdapter(model)) for name, model in MODELS.items()],
        ref_template="#/components/schemas/{model}",
    )
    declared = _parameters(page_size_max)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": _PATH_PATTERNS[name]},
            }
            for name in op.path_parameters
        ] + [{"name": name, **declared[name]} for name in (*op.headers, *op.query)]
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "parameters": parameters,
            "responses": _answers(op),
            "security": [{"sigv4": []}] if op.authorized else [],
        }
        if op.request:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.request}"}}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Strongroom transactions API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "headers": {
                name: {"required": True, "schema": {"type": "string", "enum": [value]}}
                for name, value in SECURITY_HEADERS.items()
            },
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
