"""Reconciliation of two tables' items, by primary key (drill/reconcile.py)."""

from __future__ import annotations

from strongroom.drill.reconcile import compare, key_text


def item(pk: str, status: str = "ACCEPTED") -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "status": {"S": status}}


def by_key(*items: dict[str, dict[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    return {key_text(i, ["pk"]): i for i in items}


def test_counts_what_each_side_alone_has_what_differs_and_what_is_identical() -> None:
    restored = by_key(item("a"), item("b"), item("c"), item("d"))
    live = by_key(item("b"), item("c", "REVERSED"), item("d"), item("e"))
    result = compare("restored", restored, "live", live)
    assert (result.only_in_table, result.only_in_against, result.differing, result.identical) == (1, 1, 1, 2)
    assert result.examples == {
        "onlyInTable": [key_text(item("a"), ["pk"])],
        "onlyInAgainst": [key_text(item("e"), ["pk"])],
        "differing": [key_text(item("c"), ["pk"])],
    }
    assert result.to_json()["onlyInTable"] == 1


def test_a_composite_key_matches_on_both_parts() -> None:
    first = {"pk": {"S": "x"}, "sk": {"S": "1"}}
    second = {"pk": {"S": "x"}, "sk": {"S": "2"}}
    assert key_text(first, ["pk", "sk"]) != key_text(second, ["pk", "sk"])
