"""A CloudFormation template as CloudFormation reads it before creating anything: it must parse,
every reference must name something, and no resources may depend on each other in a cycle. What
fails here is a blocking finding of `strongroom check` (docs/adr/0038-strongroom-check.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from strongroom.prr import gates
from strongroom.prr.findings import BLOCKING, T_TEMPLATE, Finding

_SUB_NAME = re.compile(r"\$\{(?!!)([^}]+)\}")
_PSEUDO = re.compile(r"^AWS::[A-Za-z]+$")


def read_template(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The template (JSON or YAML with CloudFormation's short tags), or why it cannot be read."""
    # Tooling only: cfn-lint reads CloudFormation's YAML tags.
    from cfnlint.decode import decode  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        template, matches = decode(str(path))
    except Exception as error:  # cfn-lint's decoder raises for what it cannot even start on
        return None, f"{type(error).__name__}: {error}"
    if matches:
        return None, "; ".join(str(m.message) for m in matches[:3])
    if not isinstance(template, dict):
        return None, "the document is not a mapping"
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        return None, "the template has no Resources"
    return dict(template), None


def references(value: Any) -> Iterator[str]:
    """Every logical id ``value`` points at: Ref, Fn::GetAtt and the names inside Fn::Sub."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((name, argument),) = value.items()
            function = _FUNCTIONS.get(name)
            if function is not None:
                yield from function(argument)
                return
        for nested in value.values():
            yield from references(nested)
    elif isinstance(value, list):
        for nested in value:
            yield from references(nested)


def _ref(argument: Any) -> Iterator[str]:
    if isinstance(argument, str):
        yield argument


def _get_att(argument: Any) -> Iterator[str]:
    target = argument[0] if isinstance(argument, list) and argument else argument
    if isinstance(target, str):  # [resource, attribute], or YAML's short "Resource.Attribute"
        yield target.split(".", 1)[0]


def _sub(argument: Any) -> Iterator[str]:
    text, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
    own = set(variables) if isinstance(variables, dict) else set()
    if isinstance(text, str):
        heads = (found.split(".", 1)[0].strip() for found in _SUB_NAME.findall(text))
        yield from (head for head in heads if head not in own)
    yield from references(variables)


_FUNCTIONS = {"Ref": _ref, "Fn::GetAtt": _get_att, "Fn::Sub": _sub}


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    listed = resource.get("DependsOn", [])
    return [listed] if isinstance(listed, str) else [d for d in listed if isinstance(d, str)]


MAX_RESOURCES = 500  # CloudFormation's quota of resources per template


def structure_findings(name: str, template: Mapping[str, Any]) -> list[Finding]:
    """References to nothing, and dependency cycles: what CloudFormation refuses before creating a
    thing. A cycle is reported once, naming every resource in it. A template over CloudFormation's
    resource quota is refused as such, and its references are not walked (an input, not a template)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    if len(resources) > MAX_RESOURCES:
        return [
            Finding(gates.TEMPLATE_REJECTED, T_TEMPLATE, BLOCKING,
                    f"{len(resources)} resources: CloudFormation accepts at most {MAX_RESOURCES} in one "
                    "template; split it into stacks", name)
        ]  # fmt: skip
    known = set(resources) | set(template.get("Parameters", {}) or {})
    findings: list[Finding] = []
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            findings.append(
                Finding(gates.TEMPLATE_UNREADABLE, T_TEMPLATE, BLOCKING,
                        f"{logical_id} is not a resource (a mapping with a Type)", name, logical_id)
            )  # fmt: skip
            continue
        targets = [*references(resource.get("Properties", {})), *_depends_on(resource)]
        graph[logical_id] = {t for t in targets if t in resources}
        for target in dict.fromkeys(targets):
            if target not in known and not _PSEUDO.match(target):
                findings.append(
                    Finding(gates.TEMPLATE_DANGLING_REFERENCE, T_TEMPLATE, BLOCKING,
                            f"{logical_id} refers to {target}, which is neither a resource nor a parameter "
                            "of this template", name, logical_id)
                )  # fmt: skip
    for component in cycles(graph):
        cycle = cycle_path(component, graph)
        findings.append(
            Finding(gates.TEMPLATE_CIRCULAR_DEPENDENCY, T_TEMPLATE, BLOCKING,
                    "circular dependency: " + " -> ".join([*cycle, cycle[0]])
                    + " (CloudFormation refuses the template; break the cycle, e.g. with a separate "
                    "policy or attachment resource)", name, cycle[0])
        )  # fmt: skip
    return findings


def cycle_path(component: Sequence[str], graph: Mapping[str, set[str]]) -> list[str]:
    """One cycle through the component's first member, in dependency order (a breadth-first search
    back to it inside the component)."""
    start, members = component[0], set(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return list(reversed(path))
                if child in members and child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    return list(component)  # pragma: no cover - a component always has a cycle through each member


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every group of resources that depend on each other in a cycle, each group sorted. A template
    has hundreds of resources at most, so reachability from every node is cheap and plain."""
    reach = {node: _reachable(graph, node) for node in graph}
    found: list[list[str]] = []
    seen: set[str] = set()
    for node in sorted(graph):
        if node in seen or node not in reach[node]:
            continue
        component = sorted(other for other in reach[node] if node in reach.get(other, set()))
        seen.update(component)
        found.append(component)
    return found


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    """Every node reachable from ``start`` in one step or more (``start`` itself only via a cycle)."""
    reached: set[str] = set()
    frontier = list(graph.get(start, ()))
    while frontier:
        node = frontier.pop()
        if node not in reached:
            reached.add(node)
            frontier.extend(graph.get(node, ()))
    return reached
