"""The ISO 4217 minor-units table is data: it must equal the maintained dataset (package iso4217)."""

from __future__ import annotations

import re
from typing import Any

import iso4217
import pytest

from strongroom.runtime.domain.currency import MINOR_UNITS
from strongroom.runtime.domain.money import CURRENCY_PATTERN


def iso_entries() -> dict[str, str | None]:
    """Every ISO 4217 code and its minor units as the dataset spells them ("2", "N.A.", ...)."""
    table: Any = iso4217.raw_table
    return {code: entry["CcyMnrUnts"] for code, entry in table.items() if code}


def iso_exponents() -> dict[str, int]:
    """Every active ISO 4217 code that has a numeric exponent, from the maintained dataset."""
    return {code: int(units) for code, units in iso_entries().items() if units and units.isdigit()}


def test_minor_units_equal_the_iso4217_dataset() -> None:
    expected = iso_exponents()
    missing = sorted(set(expected) - set(MINOR_UNITS))
    unexpected = sorted(set(MINOR_UNITS) - set(expected))
    wrong = {
        c: (MINOR_UNITS[c], expected[c])
        for c in expected
        if c in MINOR_UNITS and MINOR_UNITS[c] != expected[c]
    }
    assert (missing, unexpected, wrong) == ([], [], {}), f"dataset published {iso4217.__published__}"


def test_codes_without_an_exponent_are_not_money() -> None:
    unitless = {code for code, units in iso_entries().items() if units == "N.A."}
    assert {"XAU", "XDR", "XTS", "XXX"} <= unitless  # the dataset still marks these N.A.
    assert unitless.isdisjoint(MINOR_UNITS)


def test_well_known_exponents() -> None:
    assert (MINOR_UNITS["JPY"], MINOR_UNITS["EUR"], MINOR_UNITS["BHD"], MINOR_UNITS["CLF"]) == (0, 2, 3, 4)


def test_every_code_matches_the_documented_currency_pattern() -> None:
    assert all(re.fullmatch(CURRENCY_PATTERN.strip("^$"), code) for code in MINOR_UNITS)


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        MINOR_UNITS["EUR"] = 3  # type: ignore[index]
