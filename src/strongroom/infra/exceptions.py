"""The one registry of accepted compliance findings: policies/exceptions.json.

Each entry names the findings it accepts (cdk-nag rule ids of every pack, checkov check ids, cfn-lint
warning ids), the CloudFormation resources it applies to (construct-path patterns), the reason, the
ADR that explains it, an owner and a review-by date. ``compliance.ApplyExceptions`` applies the
registry to the construct tree at synth, and nothing else may acknowledge or skip a finding
(docs/adr/0023-one-registry-of-accepted-exceptions.md).

This module is data only (loading, validation, matching, review dates, the generated table); it imports
no CDK, so docgen and the unit tests read it cheaply.

Patterns:

- A resource pattern is a construct path: ``*`` is any part of one path segment, ``**`` any number
  of whole segments, and everything else is literal (``*/ApiFunction/Function/Resource``,
  ``*/Network/Acl/**``). It names the CloudFormation resource itself (an L1, usually ``…/Resource``);
  ``resource_types`` narrows it further.
- cdk-nag 3 acknowledges an id verbatim: no pattern. A finding-qualified id such as
  ``AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:<AWS::AccountId>:log-group:*]`` is therefore a
  pattern the applier expands against the resource's own findings. Inside the brackets everything is
  literal (``*`` is the wildcard cdk-nag reports) except ``{region}`` (any Region name) and ``{id}``
  (a logical id, as in ``<{id}>``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from strongroom.infra.packaging import repository_root

REGISTRY = Path("policies") / "exceptions.json"
PACKS = ("AwsSolutions", "NIST.800.53.R5", "PCI.DSS.321", "HIPAA.Security", "Serverless")
# Rule namespaces an entry may acknowledge: the packs synthesis runs, and the PRR pack, which
# `strongroom check` runs beside them (docs/adr/0038-strongroom-check.md).
ACKNOWLEDGEABLE = (*PACKS, "PRR")
CDK_NAG, CHECKOV, CFN_LINT = "cdk-nag", "checkov", "cfn-lint"
TOOLS = (CDK_NAG, CHECKOV, CFN_LINT)
REVIEW_HORIZON = timedelta(days=366)  # a review date at most 12 months ahead
MIN_REASON_WORDS = 8

# cdk-nag rules whose finding-qualified ids the applier can compute (compliance.rule_findings).
EXPANDABLE_RULES = frozenset({"AwsSolutions-IAM5"})
_PLACEHOLDERS = {"{region}": r"[a-z]{2}(?:-[a-z]+)+-\d+", "{id}": r"[A-Za-z][A-Za-z0-9]*"}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in _PLACEHOLDERS))
_QUALIFIED = re.compile(r"^(?P<rule>[^\[\]]+)\[(?P<finding>.+)\]$")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CHECKOV_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_CFN_LINT_ACCEPTABLE = re.compile(r"^[WI]\d{4}$")  # warnings and informational only; errors never
_ADR = re.compile(r"^docs/adr/\d{4}-[a-z0-9-]+\.md$")
_RESOURCE_TYPE = re.compile(r"^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$")
_FIELDS = {
    "id",
    "cdk_nag",
    "checkov",
    "cfn_lint",
    "resources",
    "resource_types",
    "reason",
    "adr",
    "owner",
    "review_by",
}


class RegistryError(ValueError):
    """The registry is malformed; every problem is listed, each naming the entry and the field."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{source}: fix these entries:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True, slots=True)
class Entry:
    """One accepted exception: these findings, on these resources, for this reason, until reviewed."""

    id: str
    cdk_nag: tuple[str, ...]
    checkov: tuple[str, ...]
    cfn_lint: tuple[str, ...]
    resources: tuple[str, ...]
    resource_types: tuple[str, ...]
    reason: str
    adr: str
    owner: str
    review_by: date

    def rules(self) -> Iterator[tuple[str, str]]:
        """(tool, rule id as listed) for every finding this entry accepts."""
        for tool, ids in ((CDK_NAG, self.cdk_nag), (CHECKOV, self.checkov), (CFN_LINT, self.cfn_lint)):
            for rule in ids:
                yield tool, rule

    def pattern_for(self, path: str, resource_type: str) -> str | None:
        """The first resource pattern that names the resource at ``path``, or None."""
        if self.resource_types and resource_type not in self.resource_types:
            return None
        return next((p for p in self.resources if path_regex(p).match(path)), None)

    @property
    def stated_reason(self) -> str:
        """The reason as the templates and reports carry it, naming the registry entry."""
        return f"{self.reason} [{REGISTRY.as_posix()}: {self.id}]"


@dataclass(frozen=True, slots=True, order=True)
class Applied:
    """One finding an entry was applied to: which tool and rule, on which resource."""

    exception: str
    tool: str
    rule: str  # the id the tool reports (a finding-qualified id expanded from ``listed``)
    path: str  # construct path of the CloudFormation resource
    listed: str  # the id as the registry lists it
    template: str = ""
    logical_id: str = ""


@functools.cache
def path_regex(pattern: str) -> re.Pattern[str]:
    """A construct-path pattern as a regex: ``*`` within a segment, ``**`` across whole segments."""
    segments = pattern.split("/")
    parts = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        glob = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment)
        parts.append(glob if last else f"{glob}/")
    return re.compile("".join(parts) + r"\Z")


def split_rule(rule: str) -> tuple[str, str | None]:
    """``Rule[finding]`` → (``Rule``, ``finding``); a plain rule id → (id, None)."""
    match = _QUALIFIED.match(rule)
    return (match["rule"], match["finding"]) if match else (rule, None)


@functools.cache
def finding_regex(pattern: str) -> re.Pattern[str]:
    """A finding pattern as a regex: literal except the placeholders ``{region}`` and ``{id}``."""
    parts, position = [], 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts += [re.escape(pattern[position : match.start()]), _PLACEHOLDERS[match.group()]]
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts) + r"\Z")


def expand(listed: str, findings: Iterable[str]) -> list[str]:
    """The rule ids ``listed`` acknowledges among a resource's ``findings`` (each ``Kind::value``)."""
    rule, pattern = split_rule(listed)
    if pattern is None:
        return [rule]
    regex = finding_regex(pattern)
    return [f"{rule}[{finding}]" for finding in findings if regex.match(finding)]


def parse(document: Mapping[str, Any], source: str = str(REGISTRY)) -> tuple[Entry, ...]:
    """Every entry of a registry document, each checked; all problems are raised at once."""
    entries, problems = [], []
    raw_entries = document.get("exceptions")
    if not isinstance(raw_entries, list):
        raise RegistryError(source, ["the document needs an 'exceptions' list"])
    for index, raw in enumerate(raw_entries):
        name = str(raw.get("id", f"#{index}")) if isinstance(raw, Mapping) else f"#{index}"
        found = _problems(raw) if isinstance(raw, Mapping) else ["must be an object"]
        problems += [f"{name}: {problem}" for problem in found]
        if not found:
            entries.append(_entry(raw))
    ids = [entry.id for entry in entries]
    problems += [
        f"{i}: id is used by more than one entry" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if problems:
        raise RegistryError(source, problems)
    return tuple(entries)


def load(path: Path | None = None) -> tuple[Entry, ...]:
    path = path or repository_root() / REGISTRY
    return parse(json.loads(path.read_text()), str(path))


def _strings(raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw.get(key, [])
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else [""]


def _problems(raw: Mapping[str, Any]) -> list[str]:
    problems = [f"unknown field {key!r}" for key in sorted(set(raw) - _FIELDS)]
    if not _ID.match(str(raw.get("id", ""))):
        problems.append("id must be lowercase words joined by '-'")
    cdk_nag, checkov, cfn_lint = _strings(raw, "cdk_nag"), _strings(raw, "checkov"), _strings(raw, "cfn_lint")
    if not (cdk_nag or checkov or cfn_lint):
        problems.append("lists no finding: give cdk_nag, checkov or cfn_lint ids")
    for rule in cdk_nag:
        problems += _cdk_nag_problems(rule)
    problems += [
        f"checkov: {c!r} is not a checkov check id (CKV_AWS_116)" for c in checkov if not _CHECKOV_ID.match(c)
    ]
    problems += [
        f"cfn_lint: {r!r} cannot be accepted: only warnings (Wnnnn) and informational findings (Innnn)"
        for r in cfn_lint
        if not _CFN_LINT_ACCEPTABLE.match(r)
    ]
    resources = _strings(raw, "resources")
    if not resources or any(not p or "//" in p or p.startswith("/") for p in resources):
        problems.append(
            "resources must list construct-path patterns (e.g. '*/ApiFunction/Function/Resource')"
        )
    problems += [
        f"resource_types: {t!r} is not a CloudFormation type (AWS::Service::Resource)"
        for t in _strings(raw, "resource_types")
        if not _RESOURCE_TYPE.match(t)
    ]
    if len(str(raw.get("reason", "")).split()) < MIN_REASON_WORDS:
        problems.append(f"reason must say why in at least {MIN_REASON_WORDS} words")
    if not _ADR.match(str(raw.get("adr", ""))):
        problems.append("adr must name the ADR that explains it (docs/adr/00NN-title.md)")
    if not str(raw.get("owner", "")).strip():
        problems.append("owner must name who reviews it")
    try:
        date.fromisoformat(str(raw.get("review_by")))
    except ValueError:
        problems.append("review_by must be a date (YYYY-MM-DD)")
    return problems


def _cdk_nag_problems(rule: str) -> list[str]:
    base, finding = split_rule(rule)
    if not any(base.startswith(f"{pack}-") for pack in ACKNOWLEDGEABLE):
        return [f"cdk_nag: {rule!r} names no pack ({', '.join(ACKNOWLEDGEABLE)})"]
    if finding is not None and base not in EXPANDABLE_RULES:
        return [
            f"cdk_nag: {rule!r}: finding patterns are expanded only for "
            f"{', '.join(sorted(EXPANDABLE_RULES))}; list the finding id exactly, or teach "
            "compliance.rule_findings this rule"
        ]
    if finding is not None and "::" not in finding:
        return [f"cdk_nag: {rule!r}: the finding must read Kind::value, as cdk-nag prints it"]
    return []


def _entry(raw: Mapping[str, Any]) -> Entry:
    return Entry(
        id=raw["id"],
        cdk_nag=tuple(raw.get("cdk_nag", [])),
        checkov=tuple(raw.get("checkov", [])),
        cfn_lint=tuple(raw.get("cfn_lint", [])),
        resources=tuple(raw["resources"]),
        resource_types=tuple(raw.get("resource_types", [])),
        reason=" ".join(str(raw["reason"]).split()),
        adr=raw["adr"],
        owner=raw["owner"],
        review_by=date.fromisoformat(raw["review_by"]),
    )


# --- review and use ------------------------------------------------------------------------------


def review_problems(entries: Iterable[Entry], today: date) -> list[str]:
    """Entries past their review-by date, or reviewed further ahead than the horizon allows."""
    problems = []
    for entry in entries:
        if entry.review_by < today:
            problems.append(
                f"{entry.id}: review was due on {entry.review_by} ({entry.owner}): confirm the reason still "
                f"holds and set review_by at most 12 months ahead, or remove the exception"
            )
        elif entry.review_by > today + REVIEW_HORIZON:
            problems.append(f"{entry.id}: review_by {entry.review_by} is more than 12 months ahead")
    return problems


def unused(
    entries: Iterable[Entry], applied: Iterable[Applied], matched: Iterable[tuple[str, str]]
) -> list[str]:
    """Resource patterns that named no resource, and listed ids that were applied to nothing."""
    used = {(a.exception, a.tool, a.listed) for a in applied}
    named = set(matched)
    problems = []
    for entry in entries:
        problems += [
            f"{entry.id}: resource pattern {p!r} names no resource"
            for p in entry.resources
            if (entry.id, p) not in named
        ]
        problems += [
            f"{entry.id}: {tool} {rule!r} was applied to nothing"
            for tool, rule in entry.rules()
            if (entry.id, tool, rule) not in used
        ]
    return problems


def unanswered(applied: Iterable[Applied], findings: Iterable[tuple[str, str, str]]) -> list[Applied]:
    """Applications that answer no finding: (tool, rule, construct path) the tool did not report."""
    reported = set(findings)
    return sorted(a for a in applied if (a.tool, a.rule, a.path) not in reported)


def uncovered(
    applied: Iterable[Applied], findings: Iterable[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """Findings (tool, rule, construct path) that no application covers."""
    covered = {(a.tool, a.rule, a.path) for a in applied}
    return sorted(set(findings) - covered)


# --- the table in docs/adr/0015 ------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _codes(values: Iterable[str]) -> str:
    return "<br>".join(f"`{_cell(v)}`" for v in values)


def markdown_table(entries: Sequence[Entry]) -> str:
    """Every entry: what it accepts, where, why, who reviews it and by when."""
    rows = []
    for entry in entries:
        findings = "<br>".join(
            f"{tool}: {_codes(ids)}"
            for tool, ids in ((CDK_NAG, entry.cdk_nag), (CHECKOV, entry.checkov), (CFN_LINT, entry.cfn_lint))
            if ids
        )
        where = _codes(entry.resources)
        if entry.resource_types:
            where += f"<br>({', '.join(entry.resource_types)} only)"
        adr = entry.adr.removeprefix("docs/adr/")
        rows.append(
            f"| `{entry.id}` | {findings} | {where} | {_cell(entry.reason)} | [{adr[:4]}]({adr}) "
            f"| {_cell(entry.owner)} | {entry.review_by} |"
        )
    return (
        "| Exception | Findings | Resources | Reason | ADR | Owner | Review by |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
