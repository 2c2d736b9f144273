"""The resource-wildcard gate: no IAM or VPC-endpoint policy the platform defines may name a wildcard
resource unless policies/resource-wildcards.json allows that statement (with its reason and ADR).

What counts as a wildcard resource (docs/adr/0016-network-endpoints-prefix-lists-and-dns-firewall.md):
``*``; an ARN whose partition, service, Region or account is a wildcard (it reaches beyond this
account and Region); and an ARN whose resource part names no resource, with or without its resource
type (``*/*``, ``network-interface/*``, ``log-group:*``, ``table/*``, ``arn:aws:s3:::*``). A wildcard
inside a named path (``log-group:/aws/lambda/x:*``, ``table/x/index/*``, ``<bucket ARN>/*``) narrows
to one named resource and is left to the policy's own review. ``NotResource`` in an Allow, an AWS
managed policy (whose statements a template cannot show) and a VPC endpoint without a policy (AWS's
default allows everything) are findings too, and no allow-list entry can excuse them.

Scope: identity policies (roles, users, groups, inline and managed policies) and VPC endpoint policies
in every template. Resource policies of buckets, queues, topics and keys are out of scope: there a
``*`` can only mean the resource the policy is attached to.

A pure function over a synthesized template; ``compliance.ResourceWildcardGate`` runs it at synth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.infra.constructs._props import flatten_reference
from strongroom.infra.packaging import repository_root

ALLOW_LIST = Path("policies") / "resource-wildcards.json"

_IDENTITY_POLICY_TYPES = {
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
}
_PRINCIPAL_TYPES = {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}
_RESOURCE_TYPE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9-]*[:/]")
_ONLY_WILDCARDS = re.compile(r"^[*?:/]+$")
_REFERENCE = re.compile(r"<[^<>]*>")


@dataclass(frozen=True, slots=True)
class AllowedWildcard:
    """One allow-list entry: these actions may name this wildcard when these condition keys hold."""

    actions: frozenset[str]
    resource: str  # "*" or the resource part of an ARN of this account and Region
    conditions: tuple[str, ...]
    reason: str
    adr: str

    def allows(self, actions: Sequence[str], wildcard: str, condition: Mapping[str, Any]) -> bool:
        present = {key for keys in condition.values() if isinstance(keys, Mapping) for key in keys}
        return (
            set(actions) <= self.actions
            and wildcard == self.resource
            and all(key in present for key in self.conditions)
        )


@dataclass(frozen=True, slots=True)
class Finding:
    template: str
    logical_id: str
    resource_type: str
    location: str  # where in the resource, e.g. Properties/PolicyDocument/Statement/2
    detail: str

    def __str__(self) -> str:
        return f"{self.template} {self.logical_id} ({self.resource_type}) {self.location}: {self.detail}"


def load_allow_list(path: Path | None = None) -> list[AllowedWildcard]:
    """The allow-list, each entry checked: named actions, a wildcard resource, a reason and an ADR."""
    path = path or repository_root() / ALLOW_LIST
    entries = json.loads(path.read_text())["allowed"]
    allowed, problems = [], []
    for index, entry in enumerate(entries):
        actions = entry.get("actions") or []
        reason, adr = str(entry.get("reason", "")), str(entry.get("adr", ""))
        if not actions or any("*" in action or ":" not in action for action in actions):
            problems.append(f"entry {index}: actions must be named service:Action values, got {actions}")
        if not _ONLY_WILDCARDS.match(_RESOURCE_TYPE_PREFIX.sub("", str(entry.get("resource", "")), count=1)):
            problems.append(f"entry {index}: resource {entry.get('resource')!r} is not a wildcard")
        if len(reason.strip()) < 40 or not adr.startswith("docs/adr/"):
            problems.append(f"entry {index}: needs a reason and an ADR (docs/adr/...)")
        allowed.append(
            AllowedWildcard(
                frozenset(actions),
                str(entry.get("resource")),
                tuple(entry.get("conditions", [])),
                reason,
                adr,
            )
        )
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return allowed


def wildcard_form(resource: str) -> str | None:
    """None when ``resource`` names a resource; else the wildcard as the allow-list spells it: ``*``,
    the ARN's resource part (``network-interface/*``), or the whole ARN when it reaches beyond this
    account and Region (no entry can allow that)."""
    if "*" not in resource and "?" not in resource:
        return None
    if resource == "*":
        return "*"
    if not resource.startswith("arn:"):
        return None  # a reference to one of our resources with a path below it, e.g. <Bucket.Arn>/*
    # A flattened reference (<AWS::AccountId>, <Key.Arn>) stands for one value: keep its colons out.
    parts = _REFERENCE.sub("#", resource).split(":", 5)
    if len(parts) < 6 or any(c in field for field in parts[1:5] for c in "*?"):
        return resource
    region, account, rest = parts[3], parts[4], parts[5]
    # S3 bucket and object ARNs carry no Region, account or resource type: their first segment is a name.
    identifier = _RESOURCE_TYPE_PREFIX.sub("", rest, count=1) if region or account else rest
    return rest if _ONLY_WILDCARDS.match(identifier) else None


def findings(
    template: Mapping[str, Any], allowed: Sequence[AllowedWildcard], template_name: str = ""
) -> list[Finding]:
    """Every wildcard resource in ``template`` that no entry of ``allowed`` covers."""
    found = []
    for hit in _wildcards(template):
        if hit.problem is None and any(entry.allows(*hit.request) for entry in allowed):
            continue
        detail = hit.problem or f"{hit.request[0]} on {hit.wildcard!r} is not in {ALLOW_LIST}"
        found.append(Finding(template_name, hit.logical_id, hit.resource_type, hit.location, detail))
    return found


def entries_in_use(templates: Sequence[Mapping[str, Any]], allowed: Sequence[AllowedWildcard]) -> set[int]:
    """The indexes of the allow-list entries some statement in ``templates`` relies on."""
    return {
        index
        for template in templates
        for hit in _wildcards(template)
        if hit.problem is None
        for index, entry in enumerate(allowed)
        if entry.allows(*hit.request)
    }


@dataclass(frozen=True, slots=True)
class _Hit:
    logical_id: str
    resource_type: str
    location: str
    statement: Mapping[str, Any]
    wildcard: str
    problem: str | None = None  # a finding no entry can excuse

    @property
    def request(self) -> tuple[list[str], str, Mapping[str, Any]]:
        return _listed(self.statement.get("Action", [])), self.wildcard, self.statement.get("Condition", {})


def _wildcards(template: Mapping[str, Any]) -> Iterator[_Hit]:
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type", "")
        properties = resource.get("Properties", {})
        yield from _unseen(logical_id, kind, properties)
        for location, document in _documents(kind, properties):
            for where, statement in _allow_statements(location, document):
                if "NotResource" in statement:
                    problem = "allows NotResource, which grants every resource it does not name"
                    yield _Hit(logical_id, kind, where, statement, "*", problem)
                for item in _listed(statement.get("Resource", [])):
                    wildcard = wildcard_form(flatten_reference(item))
                    if wildcard is not None:
                        yield _Hit(logical_id, kind, where, statement, wildcard)


def _unseen(logical_id: str, kind: str, properties: Mapping[str, Any]) -> Iterator[_Hit]:
    """Grants the template cannot show: AWS managed policies, and an endpoint's default policy."""
    if kind in _PRINCIPAL_TYPES:
        for index, arn in enumerate(properties.get("ManagedPolicyArns", [])):
            name = flatten_reference(arn)
            if ":iam::aws:policy/" in name:
                problem = f"attaches the AWS managed policy {name}, whose statements no template shows"
                yield _Hit(logical_id, kind, f"Properties/ManagedPolicyArns/{index}", {}, "", problem)
    if _is_endpoint(kind, properties) and properties.get("PolicyDocument") is None:
        problem = "has no policy: AWS's default allows every action on every resource through it"
        yield _Hit(logical_id, kind, "Properties", {}, "*", problem)


def _documents(kind: str, properties: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if kind in _IDENTITY_POLICY_TYPES or _is_endpoint(kind, properties):
        return [("Properties/PolicyDocument", properties.get("PolicyDocument"))]
    if kind in _PRINCIPAL_TYPES:
        return [
            (f"Properties/Policies/{index}/PolicyDocument", policy.get("PolicyDocument"))
            for index, policy in enumerate(properties.get("Policies", []))
        ]
    return []


def _is_endpoint(kind: str, properties: Mapping[str, Any]) -> bool:
    # Gateway Load Balancer endpoints take no policy.
    return kind == "AWS::EC2::VPCEndpoint" and properties.get("VpcEndpointType") != "GatewayLoadBalancer"


def _allow_statements(location: str, document: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return
    for index, statement in enumerate(_listed(document.get("Statement", []))):
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":  # a Deny grants nothing
            yield f"{location}/Statement/{statement.get('Sid', index)}", statement


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
