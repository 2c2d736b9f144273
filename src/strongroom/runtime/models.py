"""The API's wire format, defined once: the request model (pydantic, validated on every POST) and
the response bodies (typed dicts: building one costs nothing, and the OpenAPI document derives their
schemas from these same definitions).

Shape is checked here (types, required and unknown fields); meaning (currency minor units, bounds)
is checked by the domain, whose messages are more precise. The documented schemas carry the domain's
rules exactly, derived from its constants and tables: a body is schema-valid if and only if the API
accepts it (docs/adr/0019-the-openapi-document-is-the-exact-contract.md). What is derived is computed
only when a schema is generated (the callables below), never on a cold start.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    NotRequired,  # pydantic needs these on Python < 3.12
)

from pydantic import BaseModel, ConfigDict, Field, ValidationError, with_config
from typing_extensions import TypedDict

from strongroom.runtime import domain
from strongroom.runtime.domain import FieldProblem
from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.money import MAX_AMOUNT, amount_pattern
from strongroom.runtime.domain.transaction import (
    CUSTOMER_ID_PATTERN,
    REFERENCE_MAX_LENGTH,
    REFERENCE_PATTERN,
    TRANSACTION_ID_PATTERN,
    timestamp_text,
)
from strongroom.runtime.health import REASONS

if TYPE_CHECKING:
    from collections.abc import Callable

# A JSON schema being generated, which a json_schema_extra callable completes in place.
_JsonSchema = dict[str, Any]

# What timestamp_text() writes: ISO 8601 UTC, milliseconds, Z.
UTC_TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"


def _currency_codes(schema: _JsonSchema) -> None:
    schema["enum"] = sorted(MINOR_UNITS)


def _reference(schema: _JsonSchema) -> None:
    schema.update(minLength=1, maxLength=REFERENCE_MAX_LENGTH, pattern=REFERENCE_PATTERN)


def _any_amount(schema: _JsonSchema) -> None:
    schema["pattern"] = amount_pattern(max(MINOR_UNITS.values()))


def _timestamp(schema: _JsonSchema) -> None:
    schema.update(format="date-time", pattern=UTC_TIMESTAMP_PATTERN)


def _amount_by_currency(*, canonical: bool) -> Callable[[_JsonSchema], None]:
    """The currency decides how many decimals the amount may have (exactly how many, if ``canonical``):
    one alternative per number of minor units, so that the schema is exact, in JSON Schema draft 4 too."""

    def add(schema: _JsonSchema) -> None:
        groups: dict[int, list[str]] = {}
        for code, units in sorted(MINOR_UNITS.items()):
            groups.setdefault(units, []).append(code)
        schema["oneOf"] = [
            {
                "description": f"currencies with {units} decimal places",
                "properties": {
                    "currency": {"enum": codes},
                    "amount": {"pattern": amount_pattern(units, canonical=canonical)},
                },
            }
            for units, codes in sorted(groups.items())
        ]

    return add


class CreateTransaction(BaseModel):
    """Body of POST /transactions."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        title="CreateTransaction",
        json_schema_extra=_amount_by_currency(canonical=False),
    )

    amount: str = Field(
        description=(
            f"Positive decimal as a string (never a JSON number), below {MAX_AMOUNT:,}, with at most as "
            "many decimals as the currency has minor units"
        ),
        examples=["12.34"],
        json_schema_extra=_any_amount,
    )
    currency: str = Field(
        description="ISO 4217 currency code with minor units",
        examples=["EUR"],
        json_schema_extra=_currency_codes,
    )
    customer_id: str = Field(
        alias="customerId", examples=["cust-0042"], json_schema_extra={"pattern": CUSTOMER_ID_PATTERN}
    )
    type: Literal["debit", "credit"]
    reference: str = Field(
        description=(
            "Free-text reference shown to the customer: a visible character, and no control, format or "
            "line-separator characters"
        ),
        json_schema_extra=_reference,
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


_UTC_TIME = "ISO 8601 UTC with milliseconds"


@with_config(ConfigDict(extra="forbid", json_schema_extra=_amount_by_currency(canonical=True)))
class Transaction(TypedDict):
    """A transaction as the API returns it (camelCase, amounts as exact strings with exactly the
    currency's decimals)."""

    id: Annotated[str, Field(json_schema_extra={"pattern": TRANSACTION_ID_PATTERN})]
    customerId: Annotated[str, Field(json_schema_extra={"pattern": CUSTOMER_ID_PATTERN})]
    amount: Annotated[str, Field(json_schema_extra=_any_amount)]
    currency: Annotated[str, Field(json_schema_extra=_currency_codes)]
    type: Literal["debit", "credit"]
    reference: Annotated[str, Field(json_schema_extra=_reference)]
    status: Literal["accepted", "settled", "rejected", "reversed"]
    createdAt: Annotated[str, Field(description=_UTC_TIME, json_schema_extra=_timestamp)]
    updatedAt: Annotated[str, Field(description=_UTC_TIME, json_schema_extra=_timestamp)]


@with_config(ConfigDict(extra="forbid"))
class TransactionPage(TypedDict):
    items: list[Transaction]
    nextCursor: Annotated[str | None, Field(description="Pass back as ?cursor= for the next page")]


@with_config(ConfigDict(extra="forbid"))
class FileCounts(TypedDict):
    read: Annotated[int, Field(ge=0, description="Rows read so far")]
    created: Annotated[int, Field(ge=0, description="Rows that created a transaction")]
    replayed: Annotated[int, Field(ge=0, description="Rows whose transaction already existed")]
    rejected: Annotated[
        int, Field(ge=0, description="Rows refused, each with its reason in the rejects object")
    ]


@with_config(ConfigDict(extra="forbid"))
class File(TypedDict):
    """An uploaded file and how its ingestion went (its latest version)."""

    key: Annotated[str, Field(description="The object key, under incoming/")]
    size: Annotated[int, Field(ge=0, description="Bytes")]
    lastModified: Annotated[str, Field(description=_UTC_TIME, json_schema_extra=_timestamp)]
    status: Literal["pending", "in-progress", "completed", "failed"]
    counts: NotRequired[FileCounts]
    rejects: NotRequired[Annotated[str, Field(description="The key of the rejected rows' JSON Lines object")]]


@with_config(ConfigDict(extra="forbid"))
class FilePage(TypedDict):
    items: list[File]
    nextCursor: Annotated[str | None, Field(description="Pass back as ?cursor= for the next page")]


@with_config(ConfigDict(extra="forbid"))
class HealthCheck(TypedDict):
    status: Literal["pass", "fail"]
    latencyMs: float
    reason: NotRequired[
        Annotated[str, Field(description="Why the check failed", json_schema_extra={"enum": list(REASONS)})]
    ]


@with_config(ConfigDict(extra="forbid"))
class Health(TypedDict):
    status: Literal["pass", "fail"]
    region: str
    version: Annotated[
        str, Field(min_length=1, description="The semantic version of the release that answered")
    ]
    checks: NotRequired[dict[str, HealthCheck]]
    checkedAt: NotRequired[
        Annotated[
            str, Field(description=_UTC_TIME + ": when the checks last ran", json_schema_extra=_timestamp)
        ]
    ]
    ageSeconds: NotRequired[
        Annotated[float, Field(description="How old the shared result is; it is refreshed once per interval")]
    ]


def transaction_json(txn: domain.Transaction) -> Transaction:
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
