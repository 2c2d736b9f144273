"""Checked-in documentation that describes code must equal what the code generates."""

from __future__ import annotations

import pytest

from strongroom import docgen


@pytest.mark.parametrize("name", sorted(docgen.GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    current = (docgen.DOCS / name).read_text()
    assert current == docgen.GENERATED[name](current), (
        f"docs/{name} is stale: run `python -m strongroom.docgen`"
    )


def test_a_generated_section_replaces_only_what_is_between_its_markers() -> None:
    splice = docgen.section("table", lambda: "| new |")
    document = (
        "# Title\n\n<!-- begin generated: table -->\n| old |\n<!-- end generated: table -->\n\nAfter.\n"
    )
    assert splice(document) == (
        "# Title\n\n<!-- begin generated: table -->\n\n| new |\n<!-- end generated: table -->\n\nAfter.\n"
    )
    assert splice(splice(document)) == splice(document)
    with pytest.raises(ValueError, match="no section 'table'"):
        splice("# Title\n")
