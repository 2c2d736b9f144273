"""The table item format: what the store writes and reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from strongroom.runtime.adapters.dynamodb import from_item, to_item
from strongroom.runtime.domain import Money, Transaction, TransactionStatus, TransactionType
from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.money import parse_money

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def transactions(draw: st.DrawFn) -> Transaction:
    currency = draw(st.sampled_from(sorted(MINOR_UNITS)))
    minor = draw(st.integers(1, 10**9 - 1))
    exponent = MINOR_UNITS[currency]
    text = str(minor) if exponent == 0 else f"{minor // 10**exponent}.{minor % 10**exponent:0{exponent}d}"
    money = parse_money(text, currency)
    assert isinstance(money, Money)
    created = EPOCH + timedelta(milliseconds=draw(st.integers(0, 10**11)))
    return Transaction(
        id="txn_" + draw(st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=26, max_size=26)),
        customer_id=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)),
        money=money,
        type=draw(st.sampled_from(TransactionType)),
        reference=draw(st.text(min_size=1, max_size=140)),
        status=draw(st.sampled_from(TransactionStatus)),
        created_at=created,
        updated_at=created + timedelta(milliseconds=draw(st.integers(0, 10**6))),
        request_fingerprint=draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
    )


@given(transactions())
def test_item_round_trip(txn: Transaction) -> None:
    assert from_item(to_item(txn)) == txn


@given(transactions())
def test_item_is_all_strings_so_amounts_stay_exact(txn: Transaction) -> None:
    item = to_item(txn)
    assert all(set(value) == {"S"} for value in item.values())
    assert item["amount"]["S"] == txn.money.amount_text


@given(transactions())
def test_item_keys_serve_the_table_and_the_customer_index(txn: Transaction) -> None:
    item = to_item(txn)
    assert item["pk"]["S"] == txn.id
    assert item["customerId"]["S"] == txn.customer_id
    assert item["createdAtId"]["S"] == f"{item['createdAt']['S']}#{txn.id}"


@given(transactions(), transactions())
def test_sort_key_orders_by_creation_time(a: Transaction, b: Transaction) -> None:
    # The customer listing is newest first by createdAtId: string order must be time order.
    if a.created_at != b.created_at:
        sort_a, sort_b = to_item(a)["createdAtId"]["S"], to_item(b)["createdAtId"]["S"]
        assert (sort_a < sort_b) == (a.created_at < b.created_at)
