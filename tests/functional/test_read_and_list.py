"""GET /transactions/{id} and the newest-first, cursor-paged customer listing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.functional.conftest import JSON, ApiClient, assert_problem, txn_body


def create_many(
    client: ApiClient, customer: str, count: int, prefix: str | None = None
) -> list[dict[str, Any]]:
    """Create ``count`` transactions for ``customer``, oldest first (the StepClock orders them)."""
    created = []
    for n in range(count):
        reply = client.create(
            txn_body(customerId=customer, amount=f"{n + 1}.00"), key=f"{prefix or customer}-{n}"
        )
        assert reply.status == 201
        created.append(reply.body)
    return created


def list_page(client: ApiClient, customer: str, **query: str) -> Any:
    suffix = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return client.call("GET", f"/customers/{customer}/transactions" + (f"?{suffix}" if suffix else ""))


def all_pages(client: ApiClient, customer: str, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        reply = list_page(client, customer, **query)
        assert reply.status == 200, reply.body
        pages.append(reply.body["items"])
        cursor = reply.body["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the listing does not terminate"


# --- GET by id -------------------------------------------------------------------------------------


def test_get_returns_the_created_transaction(client: ApiClient) -> None:
    created = client.create(txn_body(), key="get-1")
    reply = client.call("GET", f"/transactions/{created.body['id']}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == JSON
    assert reply.body == created.body


def test_unknown_id_is_a_404_problem(client: ApiClient) -> None:
    body = assert_problem(client.call("GET", "/transactions/txn_" + "a" * 26), "not-found", 404)
    assert body["instance"] == "/transactions/txn_" + "a" * 26


@pytest.mark.parametrize(
    "transaction_id",
    [
        "nope",
        "txn_short",
        "TXN_" + "A" * 26,
        "txn_" + "1" * 26,
        "txn_" + "a" * 26 + "%0A",
        "a%20b",
        "HEALTH%23eu-west-1",  # the deep health check's canary item lives under this key
    ],
)
def test_malformed_id_is_a_404_problem(client: ApiClient, transaction_id: str) -> None:
    # GIVEN the table holds the health canary as well as transactions
    assert client.call("GET", "/health/deep").status == 200
    # THEN anything that is not a transaction id is simply not found (GET is allowed here: never a 405)
    assert_problem(client.call("GET", f"/transactions/{transaction_id}"), "not-found", 404)


# --- listing ---------------------------------------------------------------------------------------


def test_paging_yields_every_transaction_of_the_customer_once_newest_first(client: ApiClient) -> None:
    # GIVEN seven transactions for one customer, interleaved with two for another
    mine = create_many(client, "cust-a", 4)
    create_many(client, "cust-b", 2)
    mine += create_many(client, "cust-a", 3, prefix="cust-a-later")
    # WHEN the listing is read three at a time
    pages = all_pages(client, "cust-a", limit=3)
    # THEN the pages are 3, 3, 1, newest first, each transaction exactly once, and nothing of cust-b
    assert [len(page) for page in pages] == [3, 3, 1]
    listed = [item for page in pages for item in page]
    assert listed == list(reversed(mine))
    assert [item["createdAt"] for item in listed] == sorted(
        (item["createdAt"] for item in listed), reverse=True
    )


def test_other_customer_sees_only_its_own(client: ApiClient) -> None:
    create_many(client, "cust-a", 3)
    theirs = create_many(client, "cust-b", 2)
    reply = list_page(client, "cust-b")
    assert reply.body == {"items": list(reversed(theirs)), "nextCursor": None}


def test_exactly_a_full_page_has_no_next_cursor(client: ApiClient) -> None:
    create_many(client, "cust-a", 3)
    reply = list_page(client, "cust-a", limit="3")
    assert len(reply.body["items"]) == 3
    assert reply.body["nextCursor"] is None


def test_customer_without_transactions_gets_an_empty_last_page(client: ApiClient) -> None:
    assert list_page(client, "cust-nobody").body == {"items": [], "nextCursor": None}


def test_default_page_size_is_twenty(client: ApiClient) -> None:
    create_many(client, "cust-a", 21)
    reply = list_page(client, "cust-a")
    assert len(reply.body["items"]) == 20
    assert reply.body["nextCursor"] is not None


def test_cursor_for_another_customer_is_rejected(client: ApiClient) -> None:
    create_many(client, "cust-a", 4)
    create_many(client, "cust-b", 4)
    cursor = list_page(client, "cust-a", limit="2").body["nextCursor"]
    assert_problem(list_page(client, "cust-b", limit="2", cursor=cursor), "invalid-cursor", 400)


@pytest.mark.parametrize("index", [0, 10, -1])
def test_tampered_cursor_is_rejected(client: ApiClient, index: int) -> None:
    create_many(client, "cust-a", 4)
    cursor = list_page(client, "cust-a", limit="2").body["nextCursor"]
    replacement = "A" if cursor[index] != "A" else "B"
    tampered = (
        cursor[:index] + replacement + cursor[index + 1 :] if index != -1 else cursor[:-1] + replacement
    )
    assert_problem(list_page(client, "cust-a", limit="2", cursor=tampered), "invalid-cursor", 400)


@pytest.mark.parametrize("cursor", ["garbage", "a.b.c", "eyJ2IjoxfQ.AAAA", "%C3%A9.%C3%A9"])
def test_malformed_cursor_is_rejected(client: ApiClient, cursor: str) -> None:
    assert_problem(list_page(client, "cust-a", cursor=cursor), "invalid-cursor", 400)


def test_empty_cursor_means_the_first_page(client: ApiClient) -> None:
    create_many(client, "cust-a", 1)
    assert len(list_page(client, "cust-a", cursor="").body["items"]) == 1


@pytest.mark.parametrize(
    "limit",
    ["0", "101", "abc", "-1", "1.5", "", " 3", "1e2", "\u00b2", "0" * 5, "1" * 5000, "\u0661", "12\n"],
)
def test_invalid_limit_is_a_400_problem(client: ApiClient, limit: str) -> None:
    body = assert_problem(list_page(client, "cust-a", limit=limit), "invalid-parameter", 400)
    assert "limit" in body["detail"]
    assert "100" in body["detail"]


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_are_inclusive(client: ApiClient, limit: str) -> None:
    assert list_page(client, "cust-a", limit=limit).status == 200


@pytest.mark.parametrize(
    "customer",
    [
        "-leading-hyphen",
        "x" * 65,
        "caf%C3%A9",
        # shown to people: no bidirectional overrides, zero-width, separator or control characters
        "cust%E2%80%AE1",
        "cust%E2%80%8B1",
        "cust%E2%80%A8",
        "cust%00",
    ],
)
def test_invalid_customer_id_in_the_path_is_a_400_problem(client: ApiClient, customer: str) -> None:
    assert_problem(list_page(client, customer), "invalid-parameter", 400)


def test_an_encoded_path_parameter_is_decoded_once(client: ApiClient) -> None:
    create_many(client, "cust:42", 1)
    assert len(list_page(client, "cust%3A42").body["items"]) == 1
