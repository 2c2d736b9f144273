"""Money: exact amounts as strings, the currency's minor units enforced, and nothing else accepted."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from strongroom.runtime.domain import FieldProblem, Money, parse_money
from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.money import AMOUNT_PATTERN, MAX_AMOUNT, money_problems

CURRENCIES = sorted(MINOR_UNITS)


def amount_text(whole: int, fraction: str) -> str:
    return f"{whole}.{fraction}" if fraction else str(whole)


@st.composite
def valid_amounts(draw: st.DrawFn) -> tuple[str, str]:
    """(amount, currency): any positive amount below the maximum within the currency's decimals."""
    currency = draw(st.sampled_from(CURRENCIES))
    decimals = draw(st.integers(0, MINOR_UNITS[currency]))
    whole = draw(st.integers(0, int(MAX_AMOUNT) - 1))
    fraction = draw(st.text("0123456789", min_size=decimals, max_size=decimals))
    amount = amount_text(whole, fraction)
    assume(Decimal(amount) > 0)
    return amount, currency


def accepted(amount: object, currency: object) -> Money:
    result = parse_money(amount, currency)
    assert isinstance(result, Money), result
    return result


def rejected(amount: object, currency: object) -> list[FieldProblem]:
    result = parse_money(amount, currency)
    assert isinstance(result, list), f"{amount!r} {currency!r} was accepted as {result}"
    assert result, "a rejection must say why"
    return result


def messages(problems: list[FieldProblem], field: str = "amount") -> str:
    return " | ".join(p.message for p in problems if p.field == field)


# --- properties ------------------------------------------------------------------------------------


@given(valid_amounts())
def test_valid_amount_parses_to_exactly_the_currencys_decimals(case: tuple[str, str]) -> None:
    amount, currency = case
    money = accepted(amount, currency)
    exponent = MINOR_UNITS[currency]
    whole, _, fraction = money.amount_text.partition(".")
    assert len(fraction) == exponent
    assert ("." in money.amount_text) == (exponent > 0)
    assert whole == str(int(Decimal(amount)))
    assert Decimal(money.amount_text) == Decimal(amount)
    assert money.currency == currency
    assert str(money) == f"{money.amount_text} {currency}"


@given(valid_amounts())
def test_amount_text_round_trips(case: tuple[str, str]) -> None:
    money = accepted(*case)
    assert accepted(money.amount_text, money.currency) == money


@given(valid_amounts())
def test_minor_units_is_the_exact_integer_count_of_the_smallest_unit(case: tuple[str, str]) -> None:
    amount, currency = case
    money = accepted(amount, currency)
    assert money.minor_units == int(money.amount_text.replace(".", ""))
    assert Decimal(money.minor_units) == Decimal(amount) * 10 ** MINOR_UNITS[currency]


@given(valid_amounts())
def test_documented_amount_pattern_admits_every_amount_the_domain_accepts(case: tuple[str, str]) -> None:
    # The schema carries AMOUNT_PATTERN so API Gateway can reject at the edge; it must never reject
    # an amount the domain would accept.
    assert re.fullmatch(AMOUNT_PATTERN.strip("^$"), case[0])


@given(
    currency=st.sampled_from(CURRENCIES),
    whole=st.integers(0, int(MAX_AMOUNT) - 1),
    extra=st.integers(1, 4),
    data=st.data(),
)
def test_more_decimals_than_the_currency_allows_is_rejected_naming_the_currency(
    currency: str, whole: int, extra: int, data: st.DataObject
) -> None:
    decimals = MINOR_UNITS[currency] + extra
    fraction = data.draw(st.text("0123456789", min_size=decimals, max_size=decimals))
    problems = rejected(amount_text(whole, fraction), currency)
    assert currency in messages(problems)
    assert f"{MINOR_UNITS[currency]} decimal places" in messages(problems)


@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.decimals(allow_nan=False),
        st.booleans(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=2),
    )
)
def test_non_string_amounts_are_rejected(amount: object) -> None:
    problems = rejected(amount, "EUR")
    assert "string" in messages(problems)


JUNK = "0123456789.-+eE_, \n\t\u0660\u00b2"
PLAIN = st.from_regex(r"(0|[1-9][0-9]{0,6})(\.[0-9]{1,2})?", fullmatch=True)
AFFIX = st.sampled_from(["", " ", "\n", "\t", "\r\n", "+", "-", "0", "e2", ".0"])


def domain_should_accept_eur(amount: str) -> bool:
    """The rule, restated: plain ASCII digits, at most two decimals, strictly between 0 and the maximum."""
    plain = re.fullmatch(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?", amount, flags=re.ASCII) is not None
    return plain and Decimal(0) < Decimal(amount) < MAX_AMOUNT


@given(st.text(alphabet=JUNK, max_size=14))
@example("1\n")
def test_amount_like_text_is_accepted_exactly_when_plain(amount: str) -> None:
    assert isinstance(parse_money(amount, "EUR"), Money) == domain_should_accept_eur(amount)


@settings(max_examples=300)
@given(prefix=AFFIX, plain=PLAIN, suffix=AFFIX)
@example(prefix="", plain="12.34", suffix="\n")
def test_plain_amount_with_anything_around_it_is_rejected(prefix: str, plain: str, suffix: str) -> None:
    amount = prefix + plain + suffix
    assert isinstance(parse_money(amount, "EUR"), Money) == domain_should_accept_eur(amount)


# --- examples --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("500", "JPY", "500"),
        ("12.3", "EUR", "12.30"),
        ("12", "EUR", "12.00"),
        ("0.01", "EUR", "0.01"),
        ("1.234", "BHD", "1.234"),
        ("1.2", "BHD", "1.200"),
        ("0.0001", "CLF", "0.0001"),
        ("999999999.99", "EUR", "999999999.99"),
    ],
)
def test_accepted_examples_are_quantized_to_the_currency(amount: str, currency: str, expected: str) -> None:
    assert accepted(amount, currency).amount_text == expected


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.5", "JPY"), ("1.0", "JPY"), ("1.234", "EUR"), ("1.2345", "BHD"), ("0.00001", "CLF")],
)
def test_too_many_decimals_examples(amount: str, currency: str) -> None:
    problems = rejected(amount, currency)
    assert [p.field for p in problems] == ["amount"]
    assert currency in messages(problems)


@pytest.mark.parametrize("amount", ["0", "0.00", "0.0", "-1.00", "-0.01"])
def test_zero_and_negative_amounts_are_rejected(amount: str) -> None:
    assert rejected(amount, "EUR")


@pytest.mark.parametrize("amount", ["1000000000", "1000000000.00", "1000000000.01", "99999999999"])
def test_amounts_at_or_above_the_maximum_are_rejected(amount: str) -> None:
    problems = rejected(amount, "EUR")
    assert "less than 1,000,000,000" in messages(problems)


@pytest.mark.parametrize(
    "amount",
    [
        " 12.34",
        "12.34 ",
        "12.34\n",
        "12.34\r\n",
        "\t12.34",
        "+12.34",
        "1e3",
        "1E3",
        "1_000",
        "1,00",
        ".5",
        "5.",
        "01.00",
        "00",
        "\u0661\u0662",  # Arabic-Indic digits: Decimal() would take them
        "\uff11\uff12",  # full-width digits
        "NaN",
        "Infinity",
        "",
    ],
)
def test_anything_but_plain_decimal_text_is_rejected(amount: str) -> None:
    problems = rejected(amount, "EUR")
    assert [p.field for p in problems] == ["amount"]


@pytest.mark.parametrize("currency", ["eur", "EURO", "XAU", "XXX", "ABC", "", None, 978])
def test_unknown_or_unitless_currency_is_rejected(currency: object) -> None:
    problems = rejected("12.34", currency)
    assert [p.field for p in problems] == ["currency"]
    assert "ISO 4217" in messages(problems, "currency")


def test_every_problem_with_amount_and_currency_is_reported_together() -> None:
    problems = money_problems(12.34, "eur")
    assert {p.field for p in problems} == {"amount", "currency"}


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("0.29", "EUR", 29), ("1.10", "EUR", 110), ("500", "JPY", 500), ("1.234", "BHD", 1234)],
)
def test_minor_units_examples_are_exact(amount: str, currency: str, minor: int) -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point.
    assert accepted(amount, currency).minor_units == minor
