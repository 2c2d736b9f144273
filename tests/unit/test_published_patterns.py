"""The patterns the OpenAPI document publishes decide exactly as the domain does: the amount per
currency (money.amount_pattern), the reference (transaction.REFERENCE_PATTERN) and the timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.money import Money, amount_pattern, money_problems, parse_money
from strongroom.runtime.domain.transaction import (
    REFERENCE_PATTERN,
    _is_valid_reference,
    timestamp_text,
)
from strongroom.runtime.models import UTC_TIMESTAMP_PATTERN

# One currency per number of minor units: the rule depends on nothing else about the currency.
BY_MINOR_UNITS = {
    units: min(c for c, u in MINOR_UNITS.items() if u == units) for units in set(MINOR_UNITS.values())
}
AMOUNT_LIKE = st.text("0123456789.", max_size=14) | st.from_regex(
    r"(0|[1-9][0-9]{0,9})(\.[0-9]{0,5})?", fullmatch=True
)
BOUNDARIES = [
    "0", "0.0", "0.00", "0.000", "0.0000", "0.1", "0.01", "0.001", "0.0001", "0.00001", "1", "1.", ".5",
    "01", "1.5", "1.50", "1.505", "1.5055", "1.50550", "999999999", "999999999.9999", "1000000000",
    "1000000000.00", "9999999999",
]  # fmt: skip


def schema_admits(pattern: str, text: str) -> bool:
    """As a JSON Schema validator reads ``pattern`` (ECMA-262 semantics, Rust's engine)."""
    return jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid(text)


@pytest.mark.parametrize(("units", "currency"), sorted(BY_MINOR_UNITS.items()))
@pytest.mark.parametrize("amount", BOUNDARIES)
def test_amount_pattern_admits_exactly_the_amounts_the_domain_accepts_at_the_boundaries(
    units: int, currency: str, amount: str
) -> None:
    accepted = money_problems(amount, currency) == []
    assert (re.fullmatch(amount_pattern(units), amount) is not None) == accepted
    assert schema_admits(amount_pattern(units), amount) == accepted


@given(currency=st.sampled_from(sorted(MINOR_UNITS)), amount=AMOUNT_LIKE)
@example(currency="JPY", amount="1.0")
@example(currency="BHD", amount="0.0005")
@example(currency="EUR", amount="12.34\n")
def test_amount_pattern_admits_exactly_the_amounts_the_domain_accepts(currency: str, amount: str) -> None:
    pattern = amount_pattern(MINOR_UNITS[currency])
    assert schema_admits(pattern, amount) == (money_problems(amount, currency) == [])


@given(currency=st.sampled_from(sorted(MINOR_UNITS)), amount=AMOUNT_LIKE)
@example(currency="EUR", amount="12.3")
def test_canonical_amount_pattern_admits_exactly_what_the_api_writes(currency: str, amount: str) -> None:
    money = parse_money(amount, currency)
    canonical = amount_pattern(MINOR_UNITS[currency], canonical=True)
    if isinstance(money, Money):
        assert schema_admits(canonical, money.amount_text)
    assert schema_admits(canonical, amount) == (isinstance(money, Money) and money.amount_text == amount)


def test_the_widest_amount_pattern_admits_an_amount_in_any_currency() -> None:
    widest = amount_pattern(max(MINOR_UNITS.values()))
    for units in BY_MINOR_UNITS:
        assert all(schema_admits(widest, a) for a in BOUNDARIES if schema_admits(amount_pattern(units), a))


# --- the reference -----------------------------------------------------------------------------------

ASTRAL_SAMPLES = [*range(0x10000, 0x110000, 251), 0x110BC, 0x110BD, 0x110BE, 0x110CD, 0x1342F, 0x13430,
                  0x1343F, 0x13440, 0x1BCA0, 0x1BCA3, 0x1BCA4, 0x1D172, 0x1D173, 0x1D17A, 0x1D17B, 0xE0000,
                  0xE0001, 0xE0002, 0xE001F, 0xE0020, 0xE007F, 0xE0080, 0xEFFFF, 0xF0000, 0xFFFFD, 0xFFFFE,
                  0xFFFFF, 0x100000, 0x10FFFD, 0x10FFFE, 0x10FFFF]  # fmt: skip
TEXT_CODE_POINTS = [cp for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF] + ASTRAL_SAMPLES


def test_published_reference_pattern_decides_as_the_rule_on_every_character() -> None:
    published = re.compile(REFERENCE_PATTERN)
    differ = [
        hex(cp)
        for cp in TEXT_CODE_POINTS
        for text in (chr(cp), "a" + chr(cp))
        if (_is_valid_reference(text) is None) != (published.fullmatch(text) is not None)
    ]
    assert differ == []


def test_published_reference_pattern_is_read_alike_by_a_json_schema_validator() -> None:
    # A Rust engine refuses surrogates and Python's \U escape: the published form has neither.
    pattern = REFERENCE_PATTERN
    assert not any(0xD800 <= ord(c) <= 0xDFFF or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in pattern)
    samples = ["rent", "a", " a ", "😀", "\u00a0", " ", "a\u202eb", "a\u200b", "a\U000e0001", "a\U0010fffd",
               "a\U000110bd", "a\n", "\t", "a\u00ad", "日本", "a\ufeff"]  # fmt: skip
    for text in samples:
        assert schema_admits(pattern, text) == (_is_valid_reference(text) is None), ascii(text)


# --- timestamps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 23, 12, 0, 0, 999999, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 1000, tzinfo=timezone(timedelta(hours=-5))),
        datetime(9999, 12, 30, 0, 0, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_timestamps_match_the_documented_pattern(moment: datetime) -> None:
    assert schema_admits(UTC_TIMESTAMP_PATTERN, timestamp_text(moment))
