"""The request model's shape checks and their translation into field problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.runtime.domain import FieldProblem, new_transaction, parse_transaction_request
from strongroom.runtime.models import CreateTransaction, MalformedBody, problems_from, transaction_json

BODY: dict[str, Any] = {
    "amount": "12.34",
    "currency": "EUR",
    "customerId": "cust-0042",
    "type": "debit",
    "reference": "rent",
}


def validation_error(raw: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        CreateTransaction.model_validate_json(raw)
    return caught.value


def problems(body: Any) -> dict[str, str]:
    return {p.field: p.message for p in problems_from(validation_error(json.dumps(body)))}


def test_valid_body_is_parsed_with_the_camel_case_alias() -> None:
    fields = CreateTransaction.model_validate_json(json.dumps(BODY))
    assert (fields.amount, fields.currency, fields.customer_id, fields.type, fields.reference) == (
        "12.34",
        "EUR",
        "cust-0042",
        "debit",
        "rent",
    )


@pytest.mark.parametrize("number", [12.34, 12, 0])
def test_numeric_amount_gets_a_hint_to_send_a_string(number: float) -> None:
    found = problems({**BODY, "amount": number})
    assert set(found) == {"amount"}
    assert "string" in found["amount"]
    assert '"12.34"' in found["amount"]
    assert "not a JSON number" in found["amount"]


def test_unknown_field_is_named() -> None:
    assert problems({**BODY, "memo": "x"}) == {"memo": "is not a recognised field"}


def test_python_spelling_of_customer_id_is_not_accepted() -> None:
    body = {k: v for k, v in BODY.items() if k != "customerId"} | {"customer_id": "cust-0042"}
    assert problems(body) == {"customerId": "is required", "customer_id": "is not a recognised field"}


def test_every_missing_field_is_listed() -> None:
    assert problems({}) == {name: "is required" for name in BODY}


@pytest.mark.parametrize("field", ["currency", "customerId", "reference"])
def test_non_string_fields_must_be_strings(field: str) -> None:
    assert problems({**BODY, field: 7}) == {field: "must be a string"}


def test_type_outside_the_enumeration_is_a_field_problem() -> None:
    found = problems({**BODY, "type": "refund"})
    assert set(found) == {"type"}
    assert "debit" in found["type"]


def test_all_shape_problems_are_reported_together() -> None:
    found = problems({"amount": 1.5, "currency": "EUR", "extra": True})
    assert set(found) == {"amount", "customerId", "type", "reference", "extra"}


@pytest.mark.parametrize("raw", ["{", "", "not json", '{"amount": "1",}', "{'amount': '1'}"])
def test_invalid_json_is_a_malformed_body(raw: str) -> None:
    with pytest.raises(MalformedBody, match="not valid JSON"):
        problems_from(validation_error(raw))


@pytest.mark.parametrize("raw", ["[]", "[{}]", '"text"', "42", "null", "true"])
def test_non_object_json_is_a_malformed_body(raw: str) -> None:
    with pytest.raises(MalformedBody, match="must be a JSON object"):
        problems_from(validation_error(raw))


def test_problems_are_field_problems() -> None:
    found = problems_from(validation_error("{}"))
    assert all(isinstance(p, FieldProblem) for p in found)


def test_transaction_wire_format() -> None:
    request = parse_transaction_request(
        amount="12.3", currency="EUR", customer_id="cust-0042", type="credit", reference="rent"
    )
    txn = new_transaction(request, transaction_id="txn_x", now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert transaction_json(txn) == {
        "id": "txn_x",
        "customerId": "cust-0042",
        "amount": "12.30",
        "currency": "EUR",
        "type": "credit",
        "reference": "rent",
        "status": "accepted",
        "createdAt": "2026-11-23T12:00:00.000Z",
        "updatedAt": "2026-11-23T12:00:00.000Z",
    }
