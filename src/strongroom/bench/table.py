"""The table every benchmark prints: a metric, its value, the goal and whether it was met."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    metric: str
    value: str
    goal: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(rows: Sequence[Row]) -> str:
    """A Markdown table, each column as wide as its widest cell."""
    cells = [("metric", "value", "goal", "verdict"), *((r.metric, r.value, r.goal, r.verdict) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])
