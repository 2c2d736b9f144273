"""Rejected requests: problem+json with the right stable type and status, and nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from strongroom.local.provision import ProvisionedRegion
from tests.functional.conftest import ApiClient, Reply, assert_problem, error_fields, table_items, txn_body

KEY = {"Idempotency-Key": "bad-request-key"}


Rejected = Callable[[Reply, str, int], dict[str, Any]]


@pytest.fixture
def rejected(provisioned: ProvisionedRegion) -> Rejected:
    """Assert a reply is the given problem and that the request left nothing in the table."""

    def check(reply: Reply, slug: str, status: int) -> dict[str, Any]:
        body = assert_problem(reply, slug, status)
        assert table_items(provisioned) == [], "a rejected request wrote to the table"
        return body

    return check


def post(client: ApiClient, raw: bytes, **kwargs: object) -> Reply:
    return client.call("POST", "/transactions", raw=raw, headers=KEY, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"amount": "1",}', b"", b"{'a': 1}"])
def test_invalid_json_is_malformed_request(client: ApiClient, rejected: Rejected, raw: bytes) -> None:
    body = rejected(post(client, raw), "malformed-request", 400)
    assert "JSON" in body["detail"]


@pytest.mark.parametrize("raw", [b"[]", json.dumps([txn_body()]).encode(), b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_is_malformed_request(
    client: ApiClient, rejected: Rejected, raw: bytes
) -> None:
    body = rejected(post(client, raw), "malformed-request", 400)
    assert "JSON object" in body["detail"]


def test_body_that_is_not_utf8_is_malformed_request(client: ApiClient, rejected: Rejected) -> None:
    rejected(post(client, b'{"amount": "\xff\xfe"}'), "malformed-request", 400)


def test_oversized_body_is_payload_too_large(client: ApiClient, rejected: Rejected) -> None:
    raw = json.dumps(txn_body(reference="x" * 9000)).encode()
    body = rejected(post(client, raw), "payload-too-large", 413)
    assert body["limit"] == 8192
    assert str(len(raw)) in body["detail"]


def test_body_size_is_counted_in_bytes_not_characters(client: ApiClient, rejected: Rejected) -> None:
    raw = json.dumps(txn_body(reference="€" * 2800), ensure_ascii=False).encode()
    assert len(raw.decode()) < 8192 < len(raw)
    rejected(post(client, raw), "payload-too-large", 413)


def test_one_byte_over_the_limit_is_payload_too_large(client: ApiClient, rejected: Rejected) -> None:
    text = json.dumps(txn_body())
    raw = (text + " " * (8193 - len(text))).encode()
    rejected(post(client, raw), "payload-too-large", 413)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_wrong_content_type_is_unsupported_media_type(
    client: ApiClient, rejected: Rejected, content_type: str
) -> None:
    reply = post(client, json.dumps(txn_body()).encode(), content_type=content_type)
    body = rejected(reply, "unsupported-media-type", 415)
    assert content_type in body["detail"]


def test_missing_content_type_is_unsupported_media_type(client: ApiClient, rejected: Rejected) -> None:
    rejected(post(client, json.dumps(txn_body()).encode(), content_type=None), "unsupported-media-type", 415)


def test_float_amount_is_a_validation_error_on_amount(client: ApiClient, rejected: Rejected) -> None:
    reply = client.create(txn_body(amount=12.34), key="float")
    body = rejected(reply, "validation-error", 422)
    assert body["errors"] == [
        {
            "field": "amount",
            "message": 'must be a string of decimal digits such as "12.34", not a JSON number',
        }
    ]


@pytest.mark.parametrize(("amount", "currency"), [("1.234", "EUR"), ("1.5", "JPY"), ("1.2345", "BHD")])
def test_too_many_decimals_for_the_currency_is_a_validation_error(
    client: ApiClient, rejected: Rejected, amount: str, currency: str
) -> None:
    body = rejected(
        client.create(txn_body(amount=amount, currency=currency), key="dp"), "validation-error", 422
    )
    [error] = body["errors"]
    assert error["field"] == "amount"
    assert currency in error["message"]


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "1000000000.00", "1e3", " 1.00", "1.00\n"])
def test_amount_out_of_range_or_not_plain_is_a_validation_error(
    client: ApiClient, rejected: Rejected, amount: str
) -> None:
    body = rejected(client.create(txn_body(amount=amount), key="range"), "validation-error", 422)
    assert error_fields_of(body) == {"amount"}


def error_fields_of(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"]}


def test_unknown_field_is_a_validation_error_naming_it(client: ApiClient, rejected: Rejected) -> None:
    reply = client.create({**txn_body(), "memo": "hi"}, key="extra")
    rejected(reply, "validation-error", 422)
    assert error_fields(reply) == {"memo"}


def test_missing_fields_are_each_listed(client: ApiClient, rejected: Rejected) -> None:
    reply = client.create({"amount": "1.00"}, key="missing")
    body = rejected(reply, "validation-error", 422)
    assert error_fields(reply) == {"currency", "customerId", "type", "reference"}
    assert all(e["message"] == "is required" for e in body["errors"])
    assert body["detail"] == "4 field(s) are invalid"


def test_domain_problems_are_all_reported_together(client: ApiClient, rejected: Rejected) -> None:
    reply = client.create(
        txn_body(amount="0", currency="XXX", customerId="-x", type="debit", reference=" "), key="many"
    )
    rejected(reply, "validation-error", 422)
    assert error_fields(reply) == {"amount", "currency", "customerId", "reference"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "eur"),
        ("customerId", "has space"),
        ("type", "refund"),
        ("reference", "a\u0000b"),
        # shown to people: no bidirectional overrides, zero-width or separator characters
        ("customerId", "cust\u202e1"),
        ("customerId", "cust\u200b1"),
        ("reference", "rent \u202egnp.exe"),
        ("reference", "rent\u200b"),
        ("reference", "zero\u2060width"),
        ("reference", "line\u2028separator"),
        ("reference", "paragraph\u2029separator"),
        ("reference", "bom\ufeff"),
        ("reference", "tag\U000e0041"),
        ("reference", "\u00a0\u3000"),
    ],
)
def test_each_invalid_field_is_a_validation_error(
    client: ApiClient, rejected: Rejected, field: str, value: str
) -> None:
    reply = client.create(txn_body(**{field: value}), key="field")
    rejected(reply, "validation-error", 422)
    assert error_fields(reply) == {field}


def test_missing_idempotency_key(client: ApiClient, rejected: Rejected) -> None:
    reply = client.call("POST", "/transactions", txn_body())
    body = rejected(reply, "idempotency-key-required", 400)
    assert "Idempotency-Key" in body["title"]
    assert "required" in body["detail"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_invalid_idempotency_key(client: ApiClient, rejected: Rejected, key: str) -> None:
    reply = client.call("POST", "/transactions", txn_body(), headers={"Idempotency-Key": key})
    rejected(reply, "invalid-idempotency-key", 400)


@pytest.mark.parametrize("path", ["/", "/nope", "/transactions/txn_x/refunds", "/customers", "/customers/c1"])
def test_unknown_route_is_not_found(client: ApiClient, rejected: Rejected, path: str) -> None:
    body = rejected(client.call("GET", path), "not-found", 404)
    assert body["instance"] == path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/transactions"),
        ("DELETE", "/transactions"),
        ("PUT", "/transactions/txn_" + "a" * 26),
        ("DELETE", "/transactions/txn_" + "a" * 26),
        ("POST", "/customers/c1/transactions"),
        ("POST", "/health"),
    ],
)
def test_wrong_method_is_method_not_allowed(
    client: ApiClient, rejected: Rejected, method: str, path: str
) -> None:
    body = rejected(client.call(method, path, txn_body(), headers=KEY), "method-not-allowed", 405)
    assert method in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/transactions", "POST"), ("PUT", "/transactions/txn_" + "a" * 26, "GET")],
)
def test_method_not_allowed_says_which_methods_are(
    client: ApiClient, method: str, path: str, allowed: str
) -> None:
    # RFC 9110 section 15.5.6: a 405 response MUST carry an Allow header.
    reply = client.call(method, path)
    assert reply.status == 405
    assert reply.headers.get("Allow") == allowed


def test_rejections_carry_the_security_headers(client: ApiClient) -> None:
    reply = client.create(txn_body(amount=1), key="headers")
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")
    assert reply.headers["X-Correlation-Id"]


def test_a_lone_surrogate_escape_is_a_malformed_body(client: ApiClient, rejected: Rejected) -> None:
    # The published reference pattern leaves surrogates out because no valid body can carry one.
    raw = json.dumps(txn_body()).replace('"rent"', '"re\\ud800nt"').encode()
    reply = client.call("POST", "/transactions", raw=raw, headers={"Idempotency-Key": "surrogate"})
    rejected(reply, "malformed-request", 400)
