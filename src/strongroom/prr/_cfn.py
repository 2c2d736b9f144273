"""Reading L1 resources for the rules: a resource's properties as CloudFormation spells them (whether
it is a typed L1 such as ``CfnFunction`` or a raw ``CfnResource``), the other resources of its stack
or app, and references between them.

A rule that needs context reads it here. The stack's resources are read once per stack object and
kept: the packs run when the construct tree is final.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnResource, Stack
from constructs import IConstruct

_STACKS: dict[int, tuple[Stack, list[Resource]]] = {}  # id(stack) -> (the stack, kept alive; its resources)


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    logical_id: str
    properties: dict[str, Any]
    node: CfnResource
    stack: Stack


def properties(node: CfnResource) -> dict[str, Any]:
    """The resource's resolved properties, CloudFormation-cased; intrinsics stay as ``{"Ref": …}``."""
    stack = Stack.of(node)
    rendered = node._render_properties(stack.resolve(node._cfn_properties))
    resolved = stack.resolve(rendered)
    return resolved if isinstance(resolved, dict) else {}


def stack_resources(node: IConstruct) -> list[Resource]:
    """Every CloudFormation resource of ``node``'s stack."""
    stack = Stack.of(node)
    cached = _STACKS.get(id(stack))
    if cached is not None and cached[0] is stack:
        return cached[1]
    found = [
        Resource(c.cfn_resource_type, str(stack.resolve(c.logical_id)), properties(c), c, stack)
        for c in stack.node.find_all()
        if isinstance(c, CfnResource) and Stack.of(c) is stack
    ]
    _STACKS[id(stack)] = (stack, found)
    return found


def app_resources(node: IConstruct) -> Iterator[Resource]:
    """Every CloudFormation resource of every stack in ``node``'s app."""
    for construct in node.node.root.node.find_all():
        if isinstance(construct, Stack):
            yield from stack_resources(construct)


def of_type(node: IConstruct, *types: str) -> list[Resource]:
    return [r for r in stack_resources(node) if r.type in types]


def logical_id(node: CfnResource) -> str:
    return str(Stack.of(node).resolve(node.logical_id))


def referenced(value: Any) -> str | None:
    """The logical id ``value`` points at, for ``{"Ref": id}`` and ``{"Fn::GetAtt": [id, …]}``."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
        if isinstance(attribute, str):
            return attribute.split(".", 1)[0]
    return None


def mentions(value: Any, logical: str) -> bool:
    """Whether ``value`` refers to the resource ``logical`` anywhere (Ref, GetAtt, Sub)."""
    text = json.dumps(value)
    return (
        f'{{"Ref": "{logical}"}}' in text
        or f'"Fn::GetAtt": ["{logical}"' in text
        or f'"Fn::GetAtt": "{logical}.' in text
        or f"${{{logical}}}" in text
        or f"${{{logical}." in text
    )


def is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [s for s in listed(document.get("Statement")) if isinstance(s, dict)]


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
