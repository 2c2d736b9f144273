"""``strongroom check``: the production-readiness review of Strongroom itself or of anyone's
CloudFormation (or a Terraform plan), judged control by control (docs/adr/0038-strongroom-check.md).

What runs, for each input:

1. **The template itself** (``template``): it must parse, and its references must resolve without a
   cycle. What CloudFormation would refuse is a *blocking* finding, never a crash.
2. **The rule packs** (``cdk-nag``, ``prr``): the five cdk-nag packs Strongroom's synthesis runs and
   the PRR pack, on the CDK app itself or on each template loaded with ``CfnInclude``. A resource
   ``CfnInclude`` cannot type (a required property missing, a reference to nothing) is loaded raw,
   and said so: the packs judge typed L1 resources.
3. **cfn-lint** and **checkov** (from its own environment), on what the packs saw, so the accepted
   exceptions written into template metadata are honoured the same way for every tool.

Accepted exceptions come from policies/exceptions.json (for Strongroom) or ``--exceptions FILE`` (the
same format); an entry past its review-by date is not applied, and is a finding of its own. Every
finding is merged into the controls of prr/controls.yaml that name its rule; one that no control
names is kept and listed as unmapped. The verdict is ``NO-GO`` when a blocking finding exists, a
mandatory control fails, or a mandatory control could not be judged because a tool was missing or
failed (or, for Strongroom itself, because it has no automated check).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from strongroom.prr import attestations, gates
from strongroom.prr.attestations import ATTESTATIONS
from strongroom.prr.findings import (
    BLOCKING,
    CDK_APP,
    CLOUDFORMATION,
    ERROR,
    RAN,
    T_ATTESTATION,
    T_CFN_LINT,
    T_CHECKOV,
    T_TEMPLATE,
    T_TESTS,
    TERRAFORM_PLAN,
    WARNING,
    Acknowledgement,
    CheckError,
    Finding,
    Input,
    ToolRun,
)
from strongroom.prr.packs import INCLUDED, PackRun, run_packs
from strongroom.prr.template import read_template, structure_findings
from strongroom.prr.tools import cfn_lint_binary, checkov_binary, junit_results, run_cfn_lint, run_checkov
from strongroom.prr.verdict import build_report, terraform_not_judgeable

__all__ = ["CheckError", "check", "execute"]


def usable_exceptions(entries: Sequence[Any], source: str, today: date) -> tuple[list[Any], list[Finding]]:
    """The entries that apply, and a finding for each past its review-by date (not applied)."""
    usable, findings = [], []
    for entry in entries:
        if entry.review_by < today:
            findings.append(
                Finding(gates.EXCEPTION_EXPIRED, T_TEMPLATE, ERROR,
                        f"exception {entry.id} in {source} was due for review on {entry.review_by} "
                        f"({entry.owner}); it is not applied until it is reviewed", source, "", entry.id)
            )  # fmt: skip
        else:
            usable.append(entry)
    return usable, findings


def registry_acknowledged(
    found: Sequence[Finding], applied: Sequence[Any], entries: Sequence[Any], source: str
) -> list[Finding]:
    """Strongroom's own templates carry the registry's checkov skips and cfn-lint ignores (synthesis
    refuses any other): a skipped checkov finding is acknowledged with its entry, and each cfn-lint
    ignore (which cfn-lint does not report at all) is listed as an acknowledged finding."""
    by_id = {e.id: e for e in entries}
    entry_of = {(a.tool, a.rule, Path(a.template).name, a.logical_id): by_id[a.exception] for a in applied}
    out = []
    for finding in found:
        if finding.acknowledged is not None:
            entry = entry_of.get(
                (finding.tool, finding.rule, Path(finding.template).name, finding.logical_id)
            )
            finding.acknowledged = (
                Acknowledgement(entry.stated_reason, entry.id, source, str(entry.review_by))
                if entry is not None
                else None  # a skip the registry did not write: the exception gate reports it too
            )
        out.append(finding)
    for a in applied:
        if a.tool == "cfn-lint":
            entry = by_id[a.exception]
            out.append(
                Finding(a.rule, T_CFN_LINT, WARNING, "accepted cfn-lint warning (ignored in the resource's "
                        "metadata)", Path(a.template).name, a.logical_id, a.path,
                        Acknowledgement(entry.stated_reason, entry.id, source, str(entry.review_by)))
            )  # fmt: skip
    return out


def acknowledge_by_entries(
    found: Sequence[Finding],
    inputs: Sequence[Input],
    entries: Sequence[Any],
    stack_ids: Mapping[str, str],
    source: str,
) -> list[Finding]:
    """Another team's templates: a checkov or cfn-lint finding is acknowledged only by an entry of
    the exceptions file naming its rule and resource (``<template stem>/Resources/<logical id>``); a
    skip the template wrote for itself counts for nothing (the exception gate reports it)."""
    types = {
        (i.name, logical_id): str(resource.get("Type", ""))
        for i in inputs
        if i.template is not None
        for logical_id, resource in i.template.get("Resources", {}).items()
        if isinstance(resource, dict)
    }
    out = []
    for finding in found:
        finding.acknowledged = None
        path = (
            f"{stack_ids.get(finding.template, Path(finding.template).stem)}/{INCLUDED}/{finding.logical_id}"
        )
        resource_type = types.get((finding.template, finding.logical_id), "")
        for entry in entries:
            listed = entry.checkov if finding.tool == T_CHECKOV else entry.cfn_lint
            if finding.rule in listed and entry.pattern_for(path, resource_type) is not None:
                finding.acknowledged = Acknowledgement(
                    entry.stated_reason, entry.id, source, str(entry.review_by)
                )
                break
        out.append(finding)
    return out


Binaries = tuple[Path | None, Path | None]  # (cfn-lint, checkov); None where not installed


def check(
    templates: Sequence[Path] = (),
    *,
    terraform_plans: Sequence[Path] = (),
    exceptions_file: Path | None = None,
    attestations_file: Path | None = None,
    junit: Sequence[Path] = (),
    workdir: Path | None = None,
    today: date | None = None,
    binaries: Binaries | None = None,
) -> dict[str, Any]:
    """Run the review and return report.json's document. Every input is checked before any tool
    starts, so a wrong path fails at once with a CheckError naming it."""
    from strongroom import __version__  # noqa: PLC0415
    from strongroom.prr import controls as matrix  # noqa: PLC0415

    today = today or datetime.now(UTC).date()
    controls = matrix.load()
    inputs, findings, read = read_inputs(templates, terraform_plans)
    self_check = not inputs
    entries, expired, source = load_exceptions(exceptions_file, self_check=self_check, today=today)
    attested, stale = load_attestations(attestations_file, controls, self_check=self_check, today=today)
    tests = read_junit(junit)
    with contextlib.ExitStack() as stack:
        work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="strongroom-check-")))
        found, tools = run_tools(
            inputs, entries, source, work, binaries or (cfn_lint_binary(), checkov_binary())
        )
    tools = [read, *tools]
    if junit:
        tools.append(ToolRun(T_TESTS, RAN, f"{len(junit)} JUnit report(s)"))
    only_plans = bool(terraform_plans) and not templates
    return build_report(
        controls,
        inputs,
        [*findings, *expired, *stale, *found],
        tools,
        tests,
        self_check=self_check,
        not_judgeable=terraform_not_judgeable(controls) if only_plans else None,
        attested=attested,
        version=__version__,
    )


def read_junit(junit: Sequence[Path]) -> dict[str, bool] | None:
    """The tests' outcomes from pytest's JUnit reports, read before any tool runs (None without any)."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415 - our own test reports

    for path in junit:
        if not path.is_file():
            raise CheckError(f"--junit {path}: no such file (pytest --junitxml=FILE writes one)")
        try:
            ET.parse(path)  # noqa: S314
        except ET.ParseError as error:
            raise CheckError(f"--junit {path}: not a JUnit XML report ({error})") from None
    return junit_results(junit) if junit else None


def load_attestations(
    attestations_file: Path | None, controls: Sequence[Any], *, self_check: bool, today: date
) -> tuple[dict[str, str], list[Finding]]:
    """Each attested control's state (valid or expired) and a finding per expired one: from
    prr/attestations.yaml for Strongroom, from ``--attestations`` for templates."""
    from strongroom.infra.packaging import repository_root  # noqa: PLC0415

    needing = {c.id: c.attestation for c in controls if c.attestation}
    if attestations_file is not None and not attestations_file.is_file():
        raise CheckError(f"--attestations {attestations_file}: no such file")
    path = attestations_file or (repository_root() / ATTESTATIONS if self_check else None)
    if path is None:
        return {}, []
    states = attestations.states(attestations.load(path, needing), today)
    stale = [
        Finding(gates.ATTESTATION_EXPIRED, T_ATTESTATION, ERROR,
                f"the attestation of {control} ({found.evidence}, by {found.attested_by}) expired on "
                f"{found.valid_until}: attest it again", str(path.name), "", control)
        for control, (state, found) in states.items()
        if state == attestations.EXPIRED
    ]  # fmt: skip
    return {control: state for control, (state, _) in states.items()}, stale


def read_inputs(
    templates: Sequence[Path], terraform_plans: Sequence[Path]
) -> tuple[list[Input], list[Finding], ToolRun]:
    """Each template read and its structure checked (what CloudFormation would refuse is a blocking
    finding), each plan read; a file that does not exist is a CheckError."""
    started = time.perf_counter()
    inputs: list[Input] = []
    findings: list[Finding] = []
    for path in templates:
        if not path.is_file():
            raise CheckError(f"--template {path}: no such file")
        template, problem = read_template(path)
        resources = len((template or {}).get("Resources", {}))
        inputs.append(Input(path.name, CLOUDFORMATION, path, template, resources))
        if template is None:
            reason = f"the template cannot be read: {problem}"
            findings.append(Finding(gates.TEMPLATE_UNREADABLE, T_TEMPLATE, BLOCKING, reason, path.name))
        else:
            findings += structure_findings(path.name, template)
    for plan in terraform_plans:
        if not plan.is_file():
            raise CheckError(f"--terraform-plan {plan}: no such file")
        inputs.append(Input(plan.name, TERRAFORM_PLAN, plan, None, _plan_resources(plan)))
    seconds = round(time.perf_counter() - started, 2)
    return inputs, findings, ToolRun(T_TEMPLATE, RAN, "parse, references and cycles", seconds)


def load_exceptions(
    exceptions_file: Path | None, *, self_check: bool, today: date
) -> tuple[list[Any], list[Finding], str]:
    """The accepted exceptions: the registry for Strongroom, ``--exceptions`` for templates (none
    without it); an entry past its review date is left out and becomes a finding."""
    from strongroom.infra import exceptions  # noqa: PLC0415

    source = str(exceptions_file) if exceptions_file else exceptions.REGISTRY.as_posix()
    if exceptions_file is not None and not exceptions_file.is_file():
        raise CheckError(f"--exceptions {exceptions_file}: no such file")
    if exceptions_file is None and not self_check:
        return [], [], source
    try:
        entries = exceptions.load(exceptions_file)
    except (ValueError, KeyError, TypeError) as error:
        raise CheckError(f"{source}: not a valid exceptions registry: {error}") from None
    usable, expired = usable_exceptions(list(entries), source, today)
    return usable, expired, source


def run_tools(
    inputs: list[Input], entries: Sequence[Any], source: str, work: Path, binaries: Binaries
) -> tuple[list[Finding], list[ToolRun]]:
    """The packs in this process while cfn-lint and checkov run beside them: on another team's
    templates as given, on Strongroom's once synthesized (they carry the registry's skips, and are
    added to ``inputs``)."""
    cfn_lint_bin, checkov_bin = binaries
    self_check = not inputs
    given_inputs = list(inputs)
    findings: list[Finding] = []
    tools: list[ToolRun] = []
    with ThreadPoolExecutor(3) as pool:
        plans = [i for i in inputs if i.kind == TERRAFORM_PLAN]
        futures = [
            pool.submit(run_checkov, {p.name: p.path}, checkov_bin, framework="terraform_plan") for p in plans
        ]
        given = {i.name: i.path for i in inputs if i.kind == CLOUDFORMATION}
        if given:
            futures += [
                pool.submit(run_cfn_lint, given, cfn_lint_bin),
                pool.submit(run_checkov, given, checkov_bin),
            ]
        packs: PackRun | None = None
        if self_check or any(i.template is not None for i in inputs):
            packs = run_packs(
                inputs, entries, work / "assembly", strongroom_config=_own_config(self_check), source=source
            )
            findings += packs.findings
            tools += packs.tools
        if self_check and packs is not None:
            outputs = {n: p for n, p in packs.outputs.items() if p.exists()}
            for name, path in outputs.items():
                template = json.loads(path.read_text())
                inputs.append(Input(name, CDK_APP, path, template, len(template.get("Resources", {}))))
            futures += [
                pool.submit(run_cfn_lint, outputs, cfn_lint_bin),
                pool.submit(run_checkov, outputs, checkov_bin),
            ]
        tool_findings: list[Finding] = []
        for future in futures:
            found, run_ = future.result()
            tool_findings += found
            tools.append(run_)
    if self_check and packs is not None:
        findings += registry_acknowledged(tool_findings, packs.applied, entries, source)
    else:
        stack_ids = packs.stack_ids if packs is not None else {}
        findings += acknowledge_by_entries(tool_findings, given_inputs, entries, stack_ids, source)
    return findings, tools


def _own_config(self_check: bool) -> Any | None:
    if not self_check:
        return None
    from strongroom.config import load_config  # noqa: PLC0415

    return load_config()


NOT_A_PLAN = "not a Terraform plan in JSON (make one with terraform show -json plan.out)"


def _plan_resources(plan: Path) -> int:
    try:
        document = json.loads(plan.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckError(
            f"--terraform-plan {plan}: not a Terraform plan in JSON (terraform show -json): {error}"
        ) from None
    if not isinstance(document, dict):
        raise CheckError(f"--terraform-plan {plan}: not a Terraform plan in JSON (terraform show -json)")
    return len(document.get("resource_changes", []) or [])


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - the CLI calls run()
    return run(list(argv or []))


def run(argv: Sequence[str]) -> int:
    import argparse  # noqa: PLC0415

    from strongroom.prr import render  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="strongroom check", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return execute(args, render)


def add_arguments(parser: Any) -> None:
    add = parser.add_argument
    add(
        "--template",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a CloudFormation template (YAML or JSON) to review; repeat for more. "
        "Without any, Strongroom itself is synthesized and reviewed",
    )
    add(
        "--terraform-plan",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a Terraform plan as JSON (terraform show -json plan.out), judged by checkov",
    )
    add(
        "--format",
        default="md,html,json",
        metavar="LIST",
        help=f"report formats, comma-separated: {', '.join(FORMATS)} (default md,html,json)",
    )
    add("--out", type=Path, default=Path("build") / "check", metavar="DIR", help="where the reports go")
    add(
        "--exceptions",
        type=Path,
        metavar="FILE",
        help="accepted exceptions for the templates, in policies/exceptions.json's format",
    )
    add(
        "--junit",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="pytest JUnit XML report(s): judges the controls' named tests",
    )
    add(
        "--attestations",
        type=Path,
        metavar="FILE",
        help="the organization's attestations (prr/attestations.yaml's format; Strongroom's by default)",
    )
    add("--account", default="000000000000", help="account id for the ASFF findings")
    add("--region", default="us-east-1", help="Region for the ASFF findings")


def execute(args: Any, render: Any) -> int:
    formats = [f.strip() for f in str(args.format).split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise CheckError(f"--format: unknown {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    started = time.perf_counter()
    report = check(
        args.template,
        terraform_plans=args.terraform_plan,
        exceptions_file=args.exceptions,
        attestations_file=args.attestations,
        junit=args.junit,
    )
    report["seconds"] = round(time.perf_counter() - started, 1)
    written = render.write(report, formats, args.out, account_id=args.account, region=args.region)
    summary = report["summary"]
    counts = ", ".join(f"{n} {s}" for s, n in summary["controls"].items())
    print(
        f"{report['verdict']}: {counts}; {summary['findings']} findings ({summary['acknowledged']} "
        f"acknowledged, {summary['blocking']} blocking) in {report['seconds']} s"
    )
    for reason in report["verdictReasons"]:
        print(f"  - {reason}")
    for tool in report["tools"]:
        if tool["status"] != RAN:
            print(f"  ! {tool['name']}: {tool['status']}: {tool['detail']}")
    for path in written:
        print(f"  wrote {path}")
    return 0 if report["verdict"] == "GO" else 1


FORMATS = ("md", "html", "json", "sarif", "asff")
