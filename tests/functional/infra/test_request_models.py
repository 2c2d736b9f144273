"""The OpenAPI 3.1 → JSON Schema draft 4 converter behind API Gateway's request models
(docs/adr/0012-api-gateway-request-models-as-draft-4.md). Pure Python: no CDK."""

from __future__ import annotations

import pytest

from strongroom.infra.constructs.request_models import DRAFT4, draft4


def test_draft4_drops_what_draft4_lacks_and_converts_what_it_can() -> None:
    converted = draft4(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "kind": {"const": "debit", "examples": ["debit"]},
                "amount": {"type": "number", "exclusiveMinimum": 0, "deprecated": True},
                "tags": {"type": "array", "items": {"type": "string", "examples": ["x"]}},
            },
            "additionalProperties": False,
        }
    )
    assert converted == {
        "$schema": DRAFT4,
        "type": "object",
        "properties": {
            "kind": {"enum": ["debit"]},
            "amount": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }


def test_draft4_refuses_references() -> None:
    with pytest.raises(ValueError, match=r"\$ref"):
        draft4({"properties": {"x": {"$ref": "#/components/schemas/X"}}})
