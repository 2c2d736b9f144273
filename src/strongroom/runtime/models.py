"""The API's request model (pydantic, validated on every POST) and its wire format.

Shape is checked here (types, required and unknown fields); meaning (currency minor units, bounds)
is checked by the domain, whose messages are more precise. The documented schema carries the
domain's patterns so API Gateway can reject bad requests at the edge too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strongroom.runtime.domain import FieldProblem, Transaction
from strongroom.runtime.domain.money import AMOUNT_PATTERN, CURRENCY_PATTERN
from strongroom.runtime.domain.transaction import CUSTOMER_ID_PATTERN, REFERENCE_MAX_LENGTH, timestamp_text


class CreateTransaction(BaseModel):
    """Body of POST /transactions."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, title="CreateTransaction")

    amount: str = Field(
        description="Positive decimal as a string (never a JSON number), within the currency's minor units",
        examples=["12.34"],
        json_schema_extra={"pattern": AMOUNT_PATTERN},
    )
    currency: str = Field(
        description="ISO 4217 currency code",
        examples=["EUR"],
        json_schema_extra={"pattern": CURRENCY_PATTERN},
    )
    customer_id: str = Field(
        alias="customerId", examples=["cust-0042"], json_schema_extra={"pattern": CUSTOMER_ID_PATTERN}
    )
    type: Literal["debit", "credit"]
    reference: str = Field(
        description="Free-text reference shown to the customer",
        json_schema_extra={"minLength": 1, "maxLength": REFERENCE_MAX_LENGTH},
    )


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a recognised field",
    "string_type": "must be a string",
}
_HINTS = {("amount", "string_type"): 'must be a string of decimal digits such as "12.34", not a JSON number'}
_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})


class MalformedBody(ValueError):
    """The body is not JSON, or not a JSON object."""


def problems_from(error: ValidationError) -> list[FieldProblem]:
    """Translate pydantic's errors into field problems, or raise :class:`MalformedBody`."""
    problems = []
    for e in error.errors(include_url=False, include_context=False, include_input=False):
        kind = e["type"]
        if kind == "json_invalid":
            raise MalformedBody(f"body is not valid JSON: {e['msg']}")
        field = ".".join(str(part) for part in e["loc"]) or "body"
        if kind in _NOT_AN_OBJECT and field == "body":
            raise MalformedBody("body must be a JSON object")
        problems.append(FieldProblem(field, _HINTS.get((field, kind)) or _MESSAGES.get(kind) or e["msg"]))
    return problems


def transaction_json(txn: Transaction) -> dict[str, Any]:
    """The wire format of a transaction (camelCase, amounts as exact strings)."""
    return {
        "id": txn.id,
        "customerId": txn.customer_id,
        "amount": txn.money.amount_text,
        "currency": txn.money.currency,
        "type": txn.type.value,
        "reference": txn.reference,
        "status": txn.status.value,
        "createdAt": timestamp_text(txn.created_at),
        "updatedAt": timestamp_text(txn.updated_at),
    }
