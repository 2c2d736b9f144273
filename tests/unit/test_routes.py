"""The declarative route table: paths, parameters and matching."""

from __future__ import annotations

import pytest

from strongroom.runtime.routes import OPENAPI, OPERATIONS, Operation


def test_a_literal_dot_in_a_template_matches_only_a_dot() -> None:
    assert OPENAPI.matches("/openapi.json")
    assert not OPENAPI.matches("/openapiXjson")


def test_parameters_match_one_segment_only() -> None:
    op = Operation("GET", "/customers/{customer_id}/transactions", "x", "x", 200, "TransactionPage")
    assert op.path_parameters == ["customer_id"]
    assert op.resolver_path == "/customers/<customer_id>/transactions"
    assert op.matches("/customers/c1/transactions")
    assert not op.matches("/customers/c1/x/transactions")
    assert not op.matches("/customers//transactions")


@pytest.mark.parametrize("special", ["+", "(", "[", "*", "?", "|", "^", "$"])
def test_regex_characters_in_a_template_are_literal(special: str) -> None:
    op = Operation("GET", f"/a{special}b/{{id}}", "x", "x", 200, "Health")
    assert op.matches(f"/a{special}b/1")
    assert not op.matches("/ab/1")


def test_operation_ids_and_method_paths_are_unique() -> None:
    assert len({op.operation_id for op in OPERATIONS}) == len(OPERATIONS)
    assert len({(op.method, op.path) for op in OPERATIONS}) == len(OPERATIONS)
