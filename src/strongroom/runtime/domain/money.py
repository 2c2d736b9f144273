"""Money: an exact positive Decimal amount in an ISO 4217 currency whose minor units are enforced."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.errors import FieldProblem

# Plain decimal notation only: no sign, exponent, whitespace, separators or leading zeros.
AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# Exclusive upper bound, in major units, for any single transaction.
MAX_AMOUNT = Decimal("1000000000")

_AMOUNT_RE = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")


def amount_pattern(minor_units: int, *, canonical: bool = False) -> str:
    """The rule :func:`money_problems` applies to an amount in a currency with ``minor_units`` decimals,
    as a regular expression to publish: plain decimal, at most that many decimals, above zero and below
    MAX_AMOUNT. ``canonical``: the one spelling :attr:`Money.amount_text` gives, with exactly that many.

    Written for every regex dialect a schema may meet (ECMA-262, Rust, Java, Python): no lookaround.
    """
    whole_digits = len(str(int(MAX_AMOUNT))) - 1  # MAX_AMOUNT is a power of ten: 10**9 -> 9 digits
    above_one = f"[1-9][0-9]{{0,{whole_digits - 1}}}"
    if minor_units == 0:
        return f"^{above_one}$"
    fraction = f"[0-9]{{{minor_units}}}" if canonical else f"[0-9]{{1,{minor_units}}}"
    # Below one, some decimal must be non-zero: the first non-zero one is at position k.
    below_one = "|".join(
        "0" * k + "[1-9]" + _digits(minor_units - 1 - k, exact=canonical) for k in range(minor_units)
    )
    whole = rf"{above_one}\.{fraction}" if canonical else rf"{above_one}(?:\.{fraction})?"
    return rf"^(?:{whole}|0\.(?:{below_one}))$"


def _digits(count: int, *, exact: bool) -> str:
    if count == 0:
        return ""
    return f"[0-9]{{{count}}}" if exact else f"[0-9]{{0,{count}}}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount quantized to its currency's minor units (EUR 12.30, JPY 500, BHD 1.250)."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount_text} {self.currency}"

    @property
    def amount_text(self) -> str:
        """The canonical decimal string: exactly the currency's number of decimals."""
        return f"{self.amount:f}"

    @property
    def minor_units(self) -> int:
        """The amount as an integer count of the currency's smallest unit (cents, yen, fils)."""
        return int(self.amount.scaleb(MINOR_UNITS[self.currency]))


def money_problems(amount: object, currency: object) -> list[FieldProblem]:
    """Every reason ``amount`` and ``currency`` do not make valid Money (empty when they do)."""
    problems: list[FieldProblem] = []
    exponent = MINOR_UNITS.get(currency) if isinstance(currency, str) else None
    if exponent is None:
        problems.append(
            FieldProblem("currency", f"{currency!r} is not an ISO 4217 currency code with minor units")
        )
    if not isinstance(amount, str):
        problems.append(
            FieldProblem("amount", 'must be a string of decimal digits such as "12.34", not a number')
        )
        return problems
    match = _AMOUNT_RE.fullmatch(amount)
    if match is None:
        problems.append(
            FieldProblem(
                "amount", f'{amount!r} is not a plain decimal such as "12.34" (no sign, exponent or spaces)'
            )
        )
        return problems
    value = Decimal(amount)
    decimals = len(match.group(2) or ".") - 1
    if exponent is not None and decimals > exponent:
        problems.append(
            FieldProblem("amount", f"{currency} has {exponent} decimal places; {amount!r} has {decimals}")
        )
    if value <= 0:
        problems.append(FieldProblem("amount", "must be greater than zero"))
    elif value >= MAX_AMOUNT:
        problems.append(FieldProblem("amount", f"must be less than {MAX_AMOUNT:,}"))
    return problems


def parse_money(amount: object, currency: object) -> Money | list[FieldProblem]:
    """Money, or the list of problems that prevent it."""
    problems = money_problems(amount, currency)
    if problems:
        return problems
    assert isinstance(amount, str)
    assert isinstance(currency, str)
    exponent = MINOR_UNITS[currency]
    return Money(Decimal(amount).quantize(Decimal(1).scaleb(-exponent)), currency)
