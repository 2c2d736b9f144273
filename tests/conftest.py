"""Shared test wiring. Tiers: unit (no I/O), functional (moto, fakes, CDK), e2e (HTTP on localhost)."""

from __future__ import annotations

import pytest

TIERS = ("unit", "functional", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test carries the marker of the folder it lives in, so `-m unit` selects exactly that tier."""
    for item in items:
        for tier in TIERS:
            if f"/tests/{tier}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))
