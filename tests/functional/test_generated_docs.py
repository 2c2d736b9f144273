"""Checked-in documentation that describes code must equal what the code generates."""

from __future__ import annotations

import pytest

from strongroom import docgen


@pytest.mark.parametrize("name", sorted(docgen.GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    current = (docgen.DOCS / name).read_text()
    assert current == docgen.GENERATED[name](), f"docs/{name} is stale: run `python -m strongroom.docgen`"
