"""The served OpenAPI document describes exactly the registered operations, and real responses fit it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom.runtime import api, problems
from strongroom.runtime.domain.money import AMOUNT_PATTERN
from strongroom.runtime.openapi import Problem, Transaction, TransactionPage
from tests.functional.conftest import ApiClient, txn_body

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture
def spec(client: ApiClient) -> dict[str, Any]:
    reply = client.call("GET", "/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    return reply.body  # type: ignore[no-any-return]


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_document_is_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"]
    assert spec["info"]["version"]


def test_every_registered_operation_is_documented_and_nothing_else(spec: dict[str, Any]) -> None:
    registered = {(op.path.replace("<", "{").replace(">", "}"), op.method.lower()) for op in api.OPERATIONS}
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert documented == registered
    assert registered == {
        ("/transactions", "post"),
        ("/transactions/{transaction_id}", "get"),
        ("/customers/{customer_id}/transactions", "get"),
        ("/health", "get"),
        ("/health/deep", "get"),
        ("/openapi.json", "get"),
    }


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert any(True for _ in refs(spec["paths"]))
    unresolved = [ref for ref in refs(spec) if ref.removeprefix("#/components/schemas/") not in schemas]
    assert unresolved == []


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    for path, _, operation in operations(spec):
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def test_create_transaction_schema_is_strict(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["CreateTransaction"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"amount", "currency", "customerId", "type", "reference"}
    amount = schema["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == AMOUNT_PATTERN
    assert schema["properties"]["type"]["enum"] == ["debit", "credit"]
    assert schema["properties"]["reference"]["maxLength"] == 140


def test_create_documents_its_body_header_and_created_status(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/transactions"]["post"]
    assert operation["requestBody"]["required"] is True
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {"$ref": "#/components/schemas/CreateTransaction"}
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is True
    assert "201" in operation["responses"]


def test_listing_documents_limit_and_cursor(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/customers/{customer_id}/transactions"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"limit", "cursor"}


def test_each_operation_documents_problem_responses(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        problem_statuses = {status for status in responses if status.startswith(("4", "5"))}
        assert {"404", "500", "503"} <= problem_statuses, (path, method)
        for status in problem_statuses:
            content = responses[status]["content"]
            assert content == {
                problems.PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }


def test_problem_response_descriptions_cover_every_problem_type_of_that_status(spec: dict[str, Any]) -> None:
    # Several problem types share a status (400: malformed-request, idempotency-key-required, ...);
    # the documented description must not name just one of them.
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            for problem in problems.CATALOGUE:
                if str(problem.status) == status:
                    assert problem.title in response["description"], (path, method, status, problem.slug)


def test_create_documents_the_problems_it_can_return(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/transactions"]["post"]["responses"]
    assert {"400", "413", "415", "422", "500", "503"} <= set(responses)


def test_signed_operations_are_marked_and_health_is_open(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert paths["/transactions"]["post"]["security"] == [{"sigv4": []}]
    assert paths["/health"]["get"]["security"] == []
    assert paths["/health/deep"]["get"]["security"] == []
    assert "sigv4" in spec["components"]["securitySchemes"]


# --- real responses validate against the documented models -------------------------------------------


def test_created_and_fetched_transactions_match_the_model(client: ApiClient) -> None:
    created = client.create(txn_body(), key="model")
    Transaction.model_validate(created.body)
    Transaction.model_validate(client.call("GET", created.headers["Location"]).body)
    Transaction.model_validate(client.create(txn_body(), key="model").body)


def test_listing_pages_match_the_model(client: ApiClient) -> None:
    for n in range(3):
        client.create(txn_body(), key=f"page-{n}")
    first = client.call("GET", "/customers/cust-0042/transactions?limit=2")
    page = TransactionPage.model_validate(first.body)
    assert page.next_cursor is not None
    last = client.call("GET", f"/customers/cust-0042/transactions?limit=2&cursor={page.next_cursor}")
    assert TransactionPage.model_validate(last.body).next_cursor is None


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/transactions/txn_" + "a" * 26, None),
        ("POST", "/transactions", {"amount": 1}),
        ("GET", "/customers/cust-0042/transactions?limit=0", None),
    ],
)
def test_problems_match_the_model(client: ApiClient, method: str, path: str, body: Any) -> None:
    reply = client.call(method, path, body, headers={"Idempotency-Key": "p"})
    assert reply.status >= 400
    Problem.model_validate(reply.body)
