"""The rule packs of `strongroom check`: the five cdk-nag packs Strongroom's synthesis runs, the
PRR pack and Strongroom's own gates, on the Strongroom app or on templates loaded with CfnInclude
(docs/adr/0038-strongroom-check.md)."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.prr import gates
from strongroom.prr.findings import (
    ERROR,
    FAILED,
    RAN,
    T_CDK_NAG,
    T_PRR,
    T_TEMPLATE,
    WARNING,
    Acknowledgement,
    Finding,
    Input,
    ToolRun,
)
from strongroom.prr.template import _depends_on, references

INCLUDED = "Resources"  # the CfnInclude's id: a template's resource is <template stem>/Resources/<id>


@dataclass(slots=True)
class PackRun:
    findings: list[Finding]
    tools: list[ToolRun]
    outputs: dict[str, Path]  # input name -> the template the packs judged (with exceptions applied)
    applied: list[Any]
    stack_ids: dict[str, str]  # input name -> its stack id (resource paths: <stack id>/Resources/<id>)


def _stack_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9-]", "-", Path(name).stem).strip("-") or "template"
    if not base[0].isalpha():
        base = f"T-{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _include(app: Any, stack_id: str, path: Path, template: Mapping[str, Any]) -> tuple[list[str], str]:
    """Load ``path`` into a new stack, typed where CfnInclude can type it: a resource it refuses is
    loaded raw (dehydrated) and the load retried. Returns the raw resources and the last refusal."""
    from aws_cdk import Stack  # noqa: PLC0415
    from aws_cdk import cloudformation_include as cfn_include  # noqa: PLC0415

    dehydrated: list[str] = []
    resources = list(template.get("Resources", {}))
    refusal = ""
    for _ in range(len(resources) + 1):
        stack = Stack(app, stack_id)
        try:
            cfn_include.CfnInclude(
                stack,
                INCLUDED,
                template_file=str(path),
                allow_cyclical_references=True,
                preserve_logical_ids=True,
                dehydrated_resources=dehydrated or None,
            )
        except RuntimeError as error:
            app.node.try_remove_child(stack_id)
            refusal = str(error).splitlines()[0]
            culprits = _culprits(refusal, template, set(dehydrated))
            if not culprits:
                raise
            dehydrated += culprits
            continue
        return dehydrated, refusal
    raise RuntimeError(refusal)


def _culprits(message: str, template: Mapping[str, Any], done: set[str]) -> list[str]:
    """The resources a CfnInclude refusal is about: named in the message, or referring to the
    logical id the message says is missing."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    named = re.search(rf"/{INCLUDED}/([A-Za-z0-9]+)", message)
    if named and named.group(1) in resources and named.group(1) not in done:
        return [named.group(1)]
    missing = re.search(r"logical ID: '([^']+)'", message)
    if missing:
        return [
            logical_id
            for logical_id, resource in resources.items()
            if logical_id not in done
            and isinstance(resource, dict)
            and missing.group(1) in {*references(resource.get("Properties", {})), *_depends_on(resource)}
        ]
    return []


def run_packs(
    inputs: Sequence[Input],
    entries: Sequence[Any],
    outdir: Path,
    *,
    strongroom_config: Any | None = None,
    source: str = "",
) -> PackRun:
    """The five cdk-nag packs, the PRR pack and Strongroom's gates on the Strongroom app (when
    ``strongroom_config`` is given) or on the templates, with ``entries`` (read from ``source``) as the
    accepted exceptions."""
    from strongroom.infra.compliance import RecordedPack, register_packs  # noqa: PLC0415
    from strongroom.prr.pack import ProductionReadinessChecks  # noqa: PLC0415

    started = time.perf_counter()
    app, policy, stacks, findings = _app(inputs, outdir, strongroom_config)
    prr = RecordedPack(ProductionReadinessChecks(app, verbose=True, policy=policy))
    registered = register_packs(app, entries, extra=[prr])
    with _quiet():
        with contextlib.suppress(RuntimeError):  # a failed validation is what is being measured
            app.synth()
        located, outputs = _locate(app, stacks, outdir)

    def where(path: str) -> tuple[str, str]:
        stack_name, logical_id = located.get(path, ("", path.rsplit("/", 1)[-1]))
        return stacks.get(stack_name, f"{stack_name}.template.json" if stack_name else ""), logical_id

    for pack in [*registered.packs, prr]:
        tool = T_PRR if pack is prr else T_CDK_NAG
        for violation in pack.violations:
            severity = {"error": ERROR, "warning": WARNING}.get(violation["severity"], ERROR)
            message = violation.get("description", "") or _rule_text(violation["rule"])
            for path in violation["resources"]:
                findings.append(Finding(violation["rule"], tool, severity, message, *where(path), path))
    for description, template_path, logical_id in registered.gate.located:
        template = Path(template_path).name
        template = stacks.get(template.removesuffix(".template.json"), template)
        findings.append(
            Finding(gates.EXCEPTION_OUTSIDE_REGISTRY, T_TEMPLATE, ERROR, description, template, logical_id)
        )
    for wildcard in registered.wildcard.findings:
        template = stacks.get(wildcard.template.removesuffix(".template.json"), wildcard.template)
        findings.append(
            Finding(gates.RESOURCE_WILDCARD, T_TEMPLATE, ERROR, str(wildcard), template, wildcard.logical_id)
        )
    applied = registered.exceptions.applied()
    by_id = {entry.id: entry for entry in entries}
    for a in (a for a in applied if a.tool == "cdk-nag"):
        entry = by_id[a.exception]
        tool = T_PRR if a.rule.startswith("PRR-") else T_CDK_NAG
        acknowledged = Acknowledgement(entry.stated_reason, entry.id, source, str(entry.review_by))
        findings.append(
            Finding(a.rule, tool, ERROR, _rule_text(a.rule), *where(a.path), a.path, acknowledged)
        )
    seconds = round(time.perf_counter() - started, 2)
    ran = sum(1 for p in registered.packs if p.ran)
    tools = [
        ToolRun(
            T_CDK_NAG,
            RAN if ran == len(registered.packs) else FAILED,
            f"{ran} of {len(registered.packs)} packs ran",
            seconds,
        ),
        ToolRun(
            T_PRR,
            RAN if prr.ran else FAILED,
            f"the PRR pack ({len(prr.violations)} rules with findings)",
            0.0,
        ),
    ]
    return PackRun(findings, tools, outputs, applied, {name: sid for sid, name in stacks.items()})


def _app(
    inputs: Sequence[Input], outdir: Path, strongroom_config: Any | None
) -> tuple[Any, Any, dict[str, str], list[Finding]]:
    """The app to judge, the policy it is judged by, each template's stack (stack id -> input name) and
    the findings of loading them: Strongroom's own app, or one stack per template."""
    from aws_cdk import App  # noqa: PLC0415

    from strongroom.prr.policy import DEFAULT, Policy  # noqa: PLC0415

    if strongroom_config is not None:
        from strongroom.infra.app import build_app  # noqa: PLC0415

        return (
            build_app(strongroom_config, outdir=str(outdir), compliance=False),
            Policy.of(strongroom_config),
            {},
            [],
        )
    app = App(outdir=str(outdir))
    stacks: dict[str, str] = {}
    findings: list[Finding] = []
    taken: set[str] = set()
    for item in (i for i in inputs if i.template is not None):
        assert item.template is not None
        stack_id = _stack_id(item.name, taken)
        try:
            raw, refusal = _include(app, stack_id, item.path, item.template)
        except RuntimeError as error:
            reason = f"the rule packs could not load the template: {str(error).splitlines()[0]}"
            findings.append(Finding(gates.RESOURCE_NOT_JUDGED, T_TEMPLATE, ERROR, reason, item.name))
            continue
        stacks[stack_id] = item.name
        findings += [
            Finding(gates.RESOURCE_NOT_JUDGED, T_TEMPLATE, ERROR,
                    f"{logical_id} could not be typed for the rule packs ({refusal}); the packs did not "
                    "judge it", item.name, logical_id)
            for logical_id in raw
        ]  # fmt: skip
    return app, DEFAULT, stacks, findings


def _locate(
    app: Any, stacks: Mapping[str, str], outdir: Path
) -> tuple[dict[str, tuple[str, str]], dict[str, Path]]:
    """Where each construct path is, (stack name, logical id), and each input's judged template."""
    from aws_cdk import CfnResource, Stack  # noqa: PLC0415

    located: dict[str, tuple[str, str]] = {}
    for construct in app.node.find_all():
        if isinstance(construct, CfnResource):
            stack = Stack.of(construct)
            located[construct.node.path] = (stack.stack_name, str(stack.resolve(construct.logical_id)))
    outputs: dict[str, Path] = {}
    for construct in app.node.children:
        if isinstance(construct, Stack):
            name = stacks.get(construct.node.id, f"{construct.stack_name}.template.json")
            outputs[name] = outdir / construct.template_file
    return located, outputs


@contextlib.contextmanager
def _quiet(settle_seconds: float = 0.3) -> Iterator[None]:
    """CDK prints every validation finding as it synthesizes; jsii relays the kernel's output from a
    thread of its own onto this process's stdout and stderr. The report is the place for findings, so
    that output is swallowed, after giving the relay a moment to pass on what is still in the pipe."""
    saved = sys.stdout, sys.stderr
    sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sys.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        yield
        time.sleep(settle_seconds)
    finally:
        sys.stdout, sys.stderr = saved


def _rule_text(rule: str) -> str:
    from strongroom.prr.pack import RULES  # noqa: PLC0415

    known = RULES.get(rule)
    return known.description if known else rule
