"""Compliance gates run at synth: the cdk-nag packs, the accepted exceptions applied from their
registry, the resource-wildcard gate, and the report of findings and acknowledgements.

cdk-nag 3 runs as CDK policy-validation plugins: an unacknowledged error or warning fails synthesis,
and CDK writes ``validation-report.json``. Every accepted finding comes from policies/exceptions.json
(``strongroom.infra.exceptions``): ``ApplyExceptions``, an aspect, acknowledges the cdk-nag findings
(``Validations.of(resource).acknowledge``) and writes the checkov skips and cfn-lint ignores into the
resources' template metadata, each with the entry's reason; ``ExceptionGate`` fails synthesis on any
acknowledgement, skip or ignore that did not come from the registry. The resource-wildcard gate is
one more plugin: a wildcard resource that policies/resource-wildcards.json does not allow fails
synthesis, whatever cdk-nag was told (``strongroom.infra.wildcards``). Acknowledgements are written
into each template's resource metadata (``cdk_nag.rules_to_suppress``) and into
``compliance/nag-report.json`` together with their reasons and registry entries, so every exception
is on the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    App,
    AspectPriority,
    Aspects,
    CfnResource,
    IAspect,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
from constructs import IConstruct

from strongroom.infra import exceptions, wildcards
from strongroom.infra.constructs._props import flatten_reference
from strongroom.infra.exceptions import ACKNOWLEDGEABLE, CDK_NAG, CFN_LINT, CHECKOV

REPORT = Path("compliance") / "nag-report.json"
# Acknowledgements of Strongroom's own gates are refused like any other outside the registry.
GATE_NAMESPACES = ("strongroom-exceptions::", "strongroom-resource-wildcards::")  # the gates' NAMEs
PACK_TYPES: tuple[type[NagPack], ...] = (
    AwsSolutionsChecks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    HIPAASecurityChecks,
    ServerlessChecks,
)


@jsii.implements(IPolicyValidationPlugin)
class RecordedPack:
    """A nag pack whose result is kept: CDK's report omits plugins that found nothing, and a gate must
    be able to show that each pack ran, not merely that nothing was reported."""

    def __init__(self, pack: NagPack) -> None:
        self._pack = pack
        self.ran = False
        self.violations: list[dict[str, Any]] = []

    @property
    def pack(self) -> NagPack:
        return self._pack

    @property
    def name(self) -> str:
        return self._pack.read_pack_name

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        report: PolicyValidationPluginReport = self._pack.validate(context)
        self.ran = True
        self.violations = [
            {
                "rule": violation.rule_name,
                "severity": violation.severity or "unknown",
                "resources": [r.construct_path for r in violation.violating_resources],
                "description": violation.description,
            }
            for violation in report.violations
        ]
        return report


class _OwnGate:
    """What CDK asks of a validation plugin, for Strongroom's own gates: a name and their one rule."""

    NAME = ""
    RULE = ""

    @property
    def name(self) -> str:
        return self.NAME

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return [self.RULE]


@jsii.implements(IPolicyValidationPlugin)
class ResourceWildcardGate(_OwnGate):
    """Fails synthesis on every wildcard resource in an IAM or VPC-endpoint policy that the allow-list
    (policies/resource-wildcards.json) does not cover; the report names each role, policy or endpoint,
    the statement and the resource. No acknowledgement silences it. ``findings`` keeps what the last
    run found."""

    NAME = "strongroom-resource-wildcards"
    RULE = "Strongroom-ResourceWildcard"

    def __init__(self, allow_list: Path | None = None) -> None:
        self._allowed = wildcards.load_allow_list(allow_list)
        self.findings: list[wildcards.Finding] = []

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations, self.findings = [], []
        for template_path in context.template_paths:
            template = json.loads(Path(template_path).read_text())
            for finding in wildcards.findings(template, self._allowed, Path(template_path).name):
                self.findings.append(finding)
                violations.append(
                    PolicyViolation(
                        rule_name=self.RULE,
                        description=str(finding),
                        severity="fatal",  # CDK lets an acknowledgement silence errors, not fatal findings
                        fix="Name the resources, or add the statement to policies/resource-wildcards.json "
                        "with its reason and ADR.",
                        violating_resources=[
                            PolicyViolatingResource(
                                locations=[finding.location],
                                resource_logical_id=finding.logical_id,
                                template_path=template_path,
                            )
                        ],
                    )
                )
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def rule_findings(resource: CfnResource, rule: str) -> list[str] | None:
    """The findings (``Kind::value``) cdk-nag reports for ``rule`` on ``resource``, or None where they
    cannot be computed: a port of the rule's own analysis (cdk-nag's IAMNoWildcardPermissions, with
    ``flatten_reference`` for its flattenCfnReference), so that a finding pattern in the registry
    expands to the ids cdk-nag acknowledges verbatim."""
    if rule != "AwsSolutions-IAM5" or not isinstance(resource, (iam.CfnPolicy, iam.CfnManagedPolicy)):
        return None
    document = Stack.of(resource).resolve(resource.policy_document)
    found: dict[str, None] = {}  # ordered, without repeats
    for statement in _listed(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        found |= {f"Action::{a}": None for a in _listed(statement.get("Action", [])) if "*" in a}
        resources = (flatten_reference(r) for r in _listed(statement.get("Resource", [])))
        found |= {f"Resource::{r}": None for r in resources if "*" in r}
    return list(found)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@jsii.implements(IAspect)
class ApplyExceptions:
    """Applies every registry entry to each CloudFormation resource it names: its cdk-nag findings are
    acknowledged on the resource (finding patterns expanded against the resource's own findings), its
    checkov skips (``Metadata.checkov.skip``) and cfn-lint ignores (``Metadata.cfn-lint.config``) go
    into its template metadata; the reason is the entry's. With ``apply=False`` it only records where
    it would apply, so a test can compare that with what each tool finds on the untouched app."""

    def __init__(self, entries: Sequence[exceptions.Entry] | None = None, *, apply: bool = True) -> None:
        self.entries = tuple(exceptions.load() if entries is None else entries)
        self.apply = apply
        self.matched: set[tuple[str, str]] = set()  # (entry id, resource pattern) that named a resource
        self.problems: list[tuple[str, CfnResource]] = []  # (what is wrong, where)
        self._applied: list[tuple[exceptions.Applied, CfnResource]] = []
        self._visited: set[str] = set()

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource) or node.node.path in self._visited:
            return
        path, resource_type = node.node.path, node.cfn_resource_type  # each a call into jsii: once
        self._visited.add(path)
        for entry in self.entries:
            pattern = entry.pattern_for(path, resource_type)
            if pattern is None:
                continue
            self.matched.add((entry.id, pattern))
            for tool, listed in entry.rules():
                for rule in self._expanded(entry, listed, node) if tool == CDK_NAG else [listed]:
                    self._applied.append((exceptions.Applied(entry.id, tool, rule, path, listed), node))
                    if self.apply:
                        _APPLY[tool](node, rule, entry.stated_reason)

    def applied(self) -> list[exceptions.Applied]:
        """Every application, with the resource's template and logical id (final once synthesized)."""
        located = {}  # each resource's stack and logical id, looked up in jsii once
        for _, resource in self._applied:
            if resource.node.path not in located:
                stack = Stack.of(resource)
                located[resource.node.path] = (stack.template_file, str(stack.resolve(resource.logical_id)))
        return sorted(
            replace(a, template=located[a.path][0], logical_id=located[a.path][1]) for a, _ in self._applied
        )

    def _expanded(self, entry: exceptions.Entry, listed: str, resource: CfnResource) -> list[str]:
        rule, finding = exceptions.split_rule(listed)
        if finding is None:
            return [listed]
        findings = rule_findings(resource, rule)
        if findings is None:
            self.problems.append(
                (
                    f"{entry.id}: {rule} findings can be expanded on IAM policies only, not on "
                    f"{resource.cfn_resource_type} {resource.node.path}: narrow its resource patterns",
                    resource,
                )
            )
            return []
        return exceptions.expand(listed, findings)


def _acknowledge(resource: CfnResource, rule: str, reason: str) -> None:
    Validations.of(resource).acknowledge(Acknowledgment(id=rule, reason=reason))


def _skip_checkov(resource: CfnResource, check: str, reason: str) -> None:
    existing = resource.get_metadata("checkov") or {}
    skips = [s for s in existing.get("skip", []) if s["id"] != check]
    resource.add_metadata("checkov", {**existing, "skip": [*skips, {"id": check, "comment": reason}]})


def _ignore_cfn_lint(resource: CfnResource, rule: str, _reason: str) -> None:
    # cfn-lint reads only the ids; the reason is in the registry and the compliance report.
    existing = resource.get_metadata("cfn-lint") or {}
    config = existing.get("config", {})
    ignored = [r for r in config.get("ignore_checks", []) if r != rule]
    resource.add_metadata("cfn-lint", {**existing, "config": {**config, "ignore_checks": [*ignored, rule]}})


_APPLY = {CDK_NAG: _acknowledge, CHECKOV: _skip_checkov, CFN_LINT: _ignore_cfn_lint}


def template_exceptions(template: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str | None]]:
    """(tool, rule, logical id, reason) of every checkov skip and cfn-lint ignore a template carries; a
    template-wide cfn-lint ignore has no logical id, and no cfn-lint ignore has a reason."""
    for rule in template.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
        yield CFN_LINT, rule, "", None
    for logical_id, resource in template.get("Resources", {}).items():
        metadata = resource.get("Metadata", {})
        for skip in metadata.get("checkov", {}).get("skip", []):
            yield CHECKOV, skip.get("id", ""), logical_id, skip.get("comment")
        for rule in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
            yield CFN_LINT, rule, logical_id, None


@jsii.implements(IPolicyValidationPlugin)
class ExceptionGate(_OwnGate):
    """Fails synthesis on every exception that did not come from the registry (an acknowledgement of a
    cdk-nag rule or of a Strongroom gate in the construct tree, a checkov skip or cfn-lint ignore in a
    template) and on every registry entry that could not be applied. Its findings are fatal: CDK lets
    an acknowledgement silence a plugin's errors, never its fatal findings."""

    NAME = "strongroom-exceptions"
    RULE = "Strongroom-ExceptionOutsideRegistry"
    FIX = f"Remove it, and add an entry to {exceptions.REGISTRY.as_posix()} if the finding is to be accepted."

    def __init__(self, root: IConstruct, applier: ApplyExceptions) -> None:
        self._root = root
        self._applier = applier
        self.findings: list[str] = []
        self.located: list[tuple[str, str, str]] = []
        self.acknowledged: list[dict[str, str]] | None = None  # the tree's, as of the last run

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        templates = {Path(t).name: t for t in context.template_paths}
        reasons = {entry.id: entry.stated_reason for entry in self._applier.entries}
        # What the registry applied, and with which reason (a cfn-lint ignore carries none).
        applied = self._applier.applied()
        by_path = {(a.rule, a.path): reasons[a.exception] for a in applied if a.tool == CDK_NAG}
        by_id = {
            (a.tool, a.rule, a.template, a.logical_id): reasons[a.exception] if a.tool == CHECKOV else None
            for a in applied
            if a.tool != CDK_NAG
        }
        found = [(problem, _location(resource, templates)) for problem, resource in self._applier.problems]
        acknowledged = list(_acknowledged(self._root))  # reading every construct's metadata takes a while
        self.acknowledged = _listing(acknowledged)
        for construct, rule, reason in acknowledged:
            ours = _pack_of(rule) is not None or rule.startswith(GATE_NAMESPACES)
            key = (rule, construct.node.path)
            if ours and (key not in by_path or by_path[key] != reason):
                found.append(
                    (
                        f"{construct.node.path}: {rule} is acknowledged outside the registry",
                        _location(construct, templates),
                    )
                )
        for name, template_path in templates.items():
            template = json.loads(Path(template_path).read_text())
            for tool, rule, logical_id, comment in template_exceptions(template):
                skip = (tool, rule, name, logical_id)
                if skip not in by_id or by_id[skip] != comment:
                    where = f"{name} {logical_id}" if logical_id else f"{name} (the whole template)"
                    found.append(
                        (
                            f"{where}: {tool} {rule} is ignored outside the registry",
                            (template_path, logical_id),
                        )
                    )
        self.findings = [description for description, _ in found]
        # (description, template path, logical id) of each, for reports that name the resource
        self.located = [(description, template, logical_id) for description, (template, logical_id) in found]
        violations = [
            PolicyViolation(
                rule_name=self.RULE,
                description=description,
                severity="fatal",
                fix=self.FIX,
                violating_resources=[
                    PolicyViolatingResource(
                        locations=["Metadata"], template_path=template, resource_logical_id=logical_id
                    )
                ],
            )
            for description, (template, logical_id) in found
        ]
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def _location(construct: IConstruct, templates: Mapping[str, str]) -> tuple[str, str]:
    """(template path, logical id) to report a finding on ``construct`` at: its own CloudFormation
    resource or the first below it; the stack's template alone where there is none."""
    resource = next((c for c in construct.node.find_all() if isinstance(c, CfnResource)), None)
    scope = resource or construct
    try:
        stack = Stack.of(scope)
    except RuntimeError:  # the app itself: no stack, no template of its own
        return next(iter(templates.values()), ""), ""
    logical_id = str(stack.resolve(resource.logical_id)) if resource is not None else ""
    return templates.get(stack.template_file, next(iter(templates.values()), "")), logical_id


@dataclass(frozen=True, slots=True)
class Gates:
    """What ``register_packs`` put on an app: the packs (each keeps its result) and the registry's applier."""

    packs: list[RecordedPack]
    exceptions: ApplyExceptions
    gate: ExceptionGate
    wildcard: ResourceWildcardGate


def register_packs(
    app: App, entries: Sequence[exceptions.Entry] | None = None, *, extra: Sequence[RecordedPack] = ()
) -> Gates:
    """Every pack on the whole app (acknowledgements are copied into the templates by the first), the
    registry's exceptions (an aspect that runs before that copy), the gate that refuses any other
    exception, and the resource-wildcard gate; ``extra`` packs (the PRR pack, in `strongroom check`)
    run beside them."""
    applier = ApplyExceptions(entries)
    Aspects.of(app).add(applier, priority=AspectPriority.MUTATING)
    packs = [
        RecordedPack(kind(app, verbose=True, write_suppressions_to_cloud_formation=index == 0))
        for index, kind in enumerate(PACK_TYPES)
    ]
    gate = ExceptionGate(app, applier)
    wildcard = ResourceWildcardGate()
    Validations.of(app).add_plugins(*packs, *extra, wildcard, gate)
    return Gates(packs, applier, gate, wildcard)


def _acknowledged(root: IConstruct) -> Iterator[tuple[IConstruct, str, str]]:
    """(construct, rule, reason) of every acknowledgement in the construct tree."""
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY and isinstance(entry.data, dict):
                for qualified, reason in entry.data.items():
                    # cdk-nag rules are recorded as annotation ids; other plugins keep their namespace.
                    rule = (
                        qualified.split("::", 1)[1]
                        if qualified.lower().startswith("annotation::")
                        else qualified
                    )
                    yield construct, rule, str(reason)


def acknowledgements(root: IConstruct) -> list[dict[str, str]]:
    """Every acknowledgement in the construct tree: where, which rule, and why."""
    return _listing(_acknowledged(root))


def _listing(acknowledged: Iterable[tuple[IConstruct, str, str]]) -> list[dict[str, str]]:
    found = [{"path": c.node.path, "rule": rule, "reason": reason} for c, rule, reason in acknowledged]
    return sorted(found, key=lambda a: (a["path"], a["rule"]))


def _pack_of(rule: str) -> str | None:
    return next((pack for pack in ACKNOWLEDGEABLE if rule.startswith(f"{pack}-")), None)


def write_report(root: IConstruct, assembly_dir: Path, gates: Gates) -> dict[str, Any]:
    """Each pack's own result, CDK's other validation findings, every acknowledgement with its reason and
    registry entry, and where each registry entry was applied."""
    packs = gates.packs
    validation_file = assembly_dir / "validation-report.json"
    validation = json.loads(validation_file.read_text()) if validation_file.exists() else {}
    pack_names = {pack.name for pack in packs}
    other_plugins = {
        plugin["pluginName"]: [
            {"rule": v.get("ruleName"), "severity": v.get("severity"), "description": v.get("description")}
            for v in plugin.get("violations", [])
        ]
        for plugin in validation.get("pluginReports", [])
        if plugin.get("pluginName") not in pack_names
    }
    applied = gates.exceptions.applied()
    entry_of = {(a.path, a.rule): a.exception for a in applied if a.tool == CDK_NAG}
    everything = gates.gate.acknowledged if gates.gate.acknowledged is not None else acknowledgements(root)
    acknowledged = [
        {**a, "exception": entry_of.get((a["path"], a["rule"]), "")}
        for a in everything
        if _pack_of(a["rule"]) is not None
    ]
    report: dict[str, Any] = {
        "packs": {
            pack.name: {
                "ran": pack.ran,
                "errors": sum(1 for v in pack.violations for _ in v["resources"] if v["severity"] == "error"),
                "warnings": sum(
                    1 for v in pack.violations for _ in v["resources"] if v["severity"] == "warning"
                ),
                "violations": pack.violations,
                "acknowledged": sum(1 for a in acknowledged if a["rule"].startswith(f"{pack.name}-")),
            }
            for pack in packs
        },
        "otherPlugins": other_plugins,
        "acknowledgements": acknowledged,
        # Acknowledged by aws-cdk-lib itself for its own validation plugin (e.g. literal AZs).
        "otherAcknowledgements": [a for a in everything if _pack_of(a["rule"]) is None],
        "exceptions": exceptions_summary(gates.exceptions.entries, applied),
    }
    path = assembly_dir / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    return report


def exceptions_summary(
    entries: Sequence[exceptions.Entry], applied: Sequence[exceptions.Applied]
) -> dict[str, Any]:
    """The registry's part of the report: how many entries, how many findings each tool had accepted,
    the next review date, and every application."""
    return {
        "registry": exceptions.REGISTRY.as_posix(),
        "entries": len(entries),
        "applied": {tool: sum(1 for a in applied if a.tool == tool) for tool in exceptions.TOOLS},
        "nextReview": str(min(e.review_by for e in entries)) if entries else None,
        "applications": [
            {
                "exception": a.exception,
                "tool": a.tool,
                "rule": a.rule,
                "path": a.path,
                "template": a.template,
                "logicalId": a.logical_id,
            }
            for a in applied
        ],
    }
