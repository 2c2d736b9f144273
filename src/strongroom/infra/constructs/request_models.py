"""The API's request models for API Gateway: OpenAPI 3.1 schemas converted to JSON Schema draft 4.

API Gateway validates bodies against draft-4 models; the runtime's OpenAPI document speaks JSON Schema
2020-12. The models are not written twice: :func:`draft4` converts them at synth
(docs/adr/0012-api-gateway-request-models-as-draft-4.md). Pure Python: no CDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DRAFT4 = "http://json-schema.org/draft-04/schema#"
# JSON Schema draft 4 vocabulary that API Gateway models accept; anything else is dropped.
DRAFT4_KEYWORDS = frozenset(
    {
        "$schema",
        "title",
        "description",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "format",
        "default",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    }
)
# Keywords whose value holds subschemas: a map of them, a list of them, or one.
SCHEMA_MAPS = frozenset({"properties"})
SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
SCHEMA_ITEMS = frozenset({"items", "not", "additionalProperties"})


def draft4(schema: Mapping[str, Any], *, root: bool = True) -> dict[str, Any]:
    """Convert an OpenAPI 3.1 (JSON Schema 2020-12) schema to the draft 4 API Gateway accepts.

    ``const`` becomes a one-value ``enum``; numeric ``exclusiveMinimum``/``exclusiveMaximum`` become a
    bound plus the draft-4 boolean; annotations draft 4 lacks (``examples``, ``$comment``,
    ``deprecated``, ``readOnly``…) are dropped. ``$ref`` is not supported: models are inlined.
    """
    if "$ref" in schema:
        raise ValueError(f"$ref {schema['$ref']!r} cannot be converted; inline the schema")
    result: dict[str, Any] = {"$schema": DRAFT4} if root else {}
    for key, value in schema.items():
        if key == "const":
            result["enum"] = [value]
        elif key in {"exclusiveMinimum", "exclusiveMaximum"} and not isinstance(value, bool):
            result["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            result[key] = True
        elif key in DRAFT4_KEYWORDS and key != "$schema":
            result[key] = _draft4_value(key, value)
    return result


def _draft4_value(key: str, value: Any) -> Any:
    if key in SCHEMA_MAPS:
        return {name: draft4(sub, root=False) for name, sub in value.items()}
    if key in SCHEMA_LISTS:
        return [draft4(sub, root=False) for sub in value]
    if key in SCHEMA_ITEMS and isinstance(value, Mapping):
        return draft4(value, root=False)
    return value
