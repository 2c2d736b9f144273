"""The served OpenAPI document describes exactly the registered operations and exactly what they
accept, and real responses fit it (docs/adr/0019-the-openapi-document-is-the-exact-contract.md)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from strongroom import constants as env
from strongroom.local.provision import ProvisionedRegion
from strongroom.runtime import api, problems
from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.money import amount_pattern
from strongroom.runtime.domain.transaction import (
    CUSTOMER_ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    REFERENCE_PATTERN,
    TRANSACTION_ID_PATTERN,
)
from strongroom.runtime.models import Transaction, TransactionPage
from strongroom.runtime.openapi import Problem, document
from strongroom.runtime.routes import SECURITY_HEADERS
from tests.functional.conftest import ApiClient, aws_client, conforms, txn_body

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
    registered = {(op.path, op.method.lower()) for op in api.OPERATIONS}
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert documented == registered
    assert registered == {
        ("/transactions", "post"),
        ("/transactions/{transaction_id}", "get"),
        ("/customers/{customer_id}/transactions", "get"),
        ("/files", "get"),
        ("/health", "get"),
        ("/health/deep", "get"),
        ("/openapi.json", "get"),
    }


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    components = spec["components"]
    assert any(True for _ in refs(spec["paths"]))
    unresolved = [
        ref
        for ref in refs(spec)
        if len(kind_name := ref.removeprefix("#/components/").split("/")) != 2
        or kind_name[1] not in components.get(kind_name[0], {})
    ]
    assert unresolved == []


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    for path, _, operation in operations(spec):
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def validator(spec: dict[str, Any], schema: str) -> Any:
    """A JSON Schema validator (ECMA-262 patterns) for one of the document's schemas."""
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}
    )


def test_create_transaction_schema_is_strict(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["CreateTransaction"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"amount", "currency", "customerId", "type", "reference"}
    amount = schema["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == amount_pattern(max(MINOR_UNITS.values()))
    assert schema["properties"]["currency"]["enum"] == sorted(MINOR_UNITS)
    assert schema["properties"]["customerId"]["pattern"] == CUSTOMER_ID_PATTERN
    assert schema["properties"]["type"]["enum"] == ["debit", "credit"]
    reference = schema["properties"]["reference"]
    assert (reference["maxLength"], reference["pattern"]) == (140, REFERENCE_PATTERN)


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


def test_each_operation_documents_its_problem_responses(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        problem_statuses = {status for status in responses if status.startswith(("4", "5"))}
        # Any request can be refused by the gateway or fail; only a resource can be missing.
        assert {"400", "403", "411", "413", "429", "500", "502", "504"} <= problem_statuses, (path, method)
        assert ("404" in problem_statuses) == ("{" in path), (path, method)
        for status in problem_statuses:
            if (operation["operationId"], status) == ("deepHealth", "503"):
                continue  # a failing check, reported as Health (below)
            assert responses[status]["content"] == {
                problems.PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }


def test_deep_health_documents_a_failing_check_as_health(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/health/deep"]["get"]["responses"]
    health = {"application/health+json": {"schema": {"$ref": "#/components/schemas/Health"}}}
    assert responses["200"]["content"] == responses["503"]["content"] == health


def test_operations_document_only_the_problems_they_can_return(spec: dict[str, Any]) -> None:
    statuses = {operation["operationId"]: set(operation["responses"]) for _, _, operation in operations(spec)}
    assert {"415", "422"} <= statuses["createTransaction"]
    for operation_id in ("health", "deepHealth", "openapi", "getTransaction", "listCustomerTransactions"):
        assert not {"415", "422"} & statuses[operation_id], operation_id
    assert "503" not in statuses["health"]
    assert "503" in statuses["getTransaction"]


def test_problem_response_descriptions_name_each_problem_type_of_that_status(spec: dict[str, Any]) -> None:
    # Several problem types share a status (400: malformed-request, idempotency-key-required, ...);
    # the documented description names each one the operation can return, and only those.
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if problems.PROBLEM_CONTENT_TYPE not in response["content"]:
                continue
            named = {p.slug for p in problems.CATALOGUE if f"({p.slug})" in response["description"]}
            assert named, (path, method, status)
            assert {p.status for p in problems.CATALOGUE if p.slug in named} == {int(status)}
    create = spec["paths"]["/transactions"]["post"]["responses"]
    assert "(idempotency-key-required)" in create["400"]["description"]
    assert "(invalid-idempotency-key)" in create["400"]["description"]


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
    conforms(Transaction, created.body)
    conforms(Transaction, client.call("GET", created.headers["Location"]).body)
    conforms(Transaction, client.create(txn_body(), key="model").body)


def test_listing_pages_match_the_model(client: ApiClient) -> None:
    for n in range(3):
        client.create(txn_body(), key=f"page-{n}")
    first = client.call("GET", "/customers/cust-0042/transactions?limit=2")
    page = conforms(TransactionPage, first.body)
    assert page["nextCursor"] is not None
    last = client.call("GET", f"/customers/cust-0042/transactions?limit=2&cursor={page['nextCursor']}")
    assert conforms(TransactionPage, last.body)["nextCursor"] is None


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


# --- the document admits exactly what the API accepts ------------------------------------------------


def parameter(spec: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in spec["paths"][path][method]["parameters"] if p["name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_path_parameters_carry_the_domains_rules(spec: dict[str, Any]) -> None:
    transaction_id = parameter(spec, "/transactions/{transaction_id}", "get", "transaction_id")
    customer_id = parameter(spec, "/customers/{customer_id}/transactions", "get", "customer_id")
    assert transaction_id["schema"]["pattern"] == TRANSACTION_ID_PATTERN
    assert customer_id["schema"]["pattern"] == CUSTOMER_ID_PATTERN


@pytest.mark.parametrize(
    "key",
    ["k", "~" * 255, "a" * 256, "with space", "tab\there", "caf\u00e9", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", ""],
)
def test_idempotency_key_is_admitted_exactly_when_the_api_accepts_it(
    client: ApiClient, spec: dict[str, Any], key: str
) -> None:
    schema = parameter(spec, "/transactions", "post", "Idempotency-Key")["schema"]
    assert schema["pattern"] == IDEMPOTENCY_KEY_PATTERN
    reply = client.create(txn_body(), key=key)
    assert jsonschema_rs.validator_for(schema).is_valid(key) == (reply.status == 201), reply.body


def test_currencies_are_the_currency_table(client: ApiClient, spec: dict[str, Any]) -> None:
    # GIVEN three capital letters that are no ISO 4217 code
    body = validator(spec, "CreateTransaction")
    kga = txn_body(currency="KGA")
    # THEN the document refuses what the API refuses
    assert not body.is_valid(kga)
    assert client.create(kga, key="kga").status == 422
    for currency in ("JPY", "EUR", "BHD", "CLF"):
        assert body.is_valid(txn_body(amount="1", currency=currency))


AMOUNTS = st.text("0123456789.", min_size=1, max_size=13) | st.from_regex(
    r"(0|[1-9][0-9]{0,9})(\.[0-9]{0,5})?", fullmatch=True
)
REFERENCES = st.text(min_size=0, max_size=142) | st.sampled_from(
    ["\u202e", "a\u200b", " ", "\U000e0001", "😀"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(currency=st.sampled_from(sorted(MINOR_UNITS)), amount=AMOUNTS, reference=REFERENCES)
@example(currency="JPY", amount="1.0", reference="rent")
@example(currency="BHD", amount="0.001", reference="rent")
@example(currency="EUR", amount="0.001", reference="rent")
@example(currency="EUR", amount="999999999.99", reference="a" * 140)
@example(currency="EUR", amount="1", reference="a" * 141)
@example(currency="EUR", amount="1", reference="\u00a0")
def test_a_body_is_schema_valid_exactly_when_the_api_creates_it(
    client: ApiClient, spec: dict[str, Any], currency: str, amount: str, reference: str
) -> None:
    body = txn_body(amount=amount, currency=currency, reference=reference)
    reply = client.create(body, key=str(uuid.uuid4()))
    assert reply.status in {201, 422}, reply.body
    assert validator(spec, "CreateTransaction").is_valid(body) == (reply.status == 201), reply.body


def test_listing_limit_is_bounded_as_the_api_bounds_it(client: ApiClient, spec: dict[str, Any]) -> None:
    limit = parameter(spec, "/customers/{customer_id}/transactions", "get", "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    for value, status in ((0, 400), (1, 200), (100, 200), (101, 400), (1000, 400)):
        reply = client.call("GET", f"/customers/cust-0042/transactions?limit={value}")
        assert reply.status == status, value


def test_listing_limit_follows_the_deployments_page_size_max(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.ENV_PAGE_SIZE_MAX, "250")
    api.configure(api.dependencies_from_environment())
    served = client.call("GET", "/openapi.json").body["paths"]["/customers/{customer_id}/transactions"]["get"]
    [limit] = [p["schema"] for p in served["parameters"] if p["name"] == "limit"]
    assert limit["maximum"] == 250
    explicit = document(page_size_max=7)["paths"]["/customers/{customer_id}/transactions"]["get"]
    assert [p["schema"]["maximum"] for p in explicit["parameters"] if p["name"] == "limit"] == [7]


# --- what the API answers is what the document describes ---------------------------------------------


def headers_conform(spec: dict[str, Any], documented: dict[str, Any], sent: dict[str, str]) -> None:
    for name, entry in documented.items():
        header = spec["components"]["headers"][name] if "$ref" in entry else entry
        if name not in sent:
            assert not header.get("required"), name
            continue
        assert jsonschema_rs.validator_for(header["schema"]).is_valid(sent[name]), (name, sent[name])


def test_every_response_documents_the_security_headers(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            refs = {name: {"$ref": f"#/components/headers/{name}"} for name in SECURITY_HEADERS}
            assert refs.items() <= response["headers"].items(), (path, method, status)


def test_created_and_replayed_transactions_send_their_documented_headers(
    client: ApiClient, spec: dict[str, Any]
) -> None:
    documented = spec["paths"]["/transactions"]["post"]["responses"]["201"]["headers"]
    assert documented["Location"]["required"] is True
    created = client.create(txn_body(), key="headers")
    replayed = client.create(txn_body(), key="headers")
    assert replayed.headers["Idempotent-Replayed"] == "true"
    for reply in (created, replayed):
        headers_conform(spec, documented, reply.headers)


def test_problems_send_their_documented_headers(client: ApiClient, spec: dict[str, Any]) -> None:
    reply = client.create(txn_body(currency="KGA"), key="kga-headers")
    documented = spec["paths"]["/transactions"]["post"]["responses"]["422"]["headers"]
    headers_conform(spec, documented, reply.headers)
    assert validator(spec, "Problem").is_valid(reply.body)


@pytest.mark.parametrize(
    ("amount", "currency"), [("500", "JPY"), ("12.3", "EUR"), ("1.2", "BHD"), ("0.0001", "CLF")]
)
def test_transactions_match_the_documented_schema_in_every_currency(
    client: ApiClient, spec: dict[str, Any], amount: str, currency: str
) -> None:
    created = client.create(txn_body(amount=amount, currency=currency), key=f"schema-{currency}")
    assert created.status == 201
    transaction = validator(spec, "Transaction")
    assert transaction.is_valid(created.body), created.body
    assert transaction.is_valid(client.call("GET", created.headers["Location"]).body)
    page = client.call("GET", "/customers/cust-0042/transactions")
    assert validator(spec, "TransactionPage").is_valid(page.body)


def test_a_transaction_with_another_spelling_of_its_amount_does_not_match(spec: dict[str, Any]) -> None:
    # The response schema is exact too: the API writes exactly the currency's decimals.
    transaction = validator(spec, "Transaction")
    good = {
        "id": "txn_" + "a" * 26,
        "customerId": "cust-0042",
        "amount": "12.30",
        "currency": "EUR",
        "type": "debit",
        "reference": "rent",
        "status": "accepted",
        "createdAt": "2026-11-23T12:00:00.001Z",
        "updatedAt": "2026-11-23T12:00:00.001Z",
    }
    assert transaction.is_valid(good)
    assert not transaction.is_valid({**good, "amount": "12.3"})
    assert not transaction.is_valid({**good, "createdAt": "2026-11-23T12:00:00Z"})


def test_health_answers_match_the_documented_schema(client: ApiClient, spec: dict[str, Any]) -> None:
    health = validator(spec, "Health")
    assert health.is_valid(client.call("GET", "/health").body)
    assert health.is_valid(client.call("GET", "/health/deep").body)


def test_a_failing_deep_health_answer_matches_the_documented_schema(
    client: ApiClient, spec: dict[str, Any], provisioned: ProvisionedRegion
) -> None:
    aws_client("dynamodb").delete_table(TableName=provisioned.transactions_table)
    reply = client.call("GET", "/health/deep")
    assert reply.status == 503
    assert "503" in spec["paths"]["/health/deep"]["get"]["responses"]
    assert validator(spec, "Health").is_valid(reply.body)
