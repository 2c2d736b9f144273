"""cfn-lint and checkov as `strongroom check` runs them (checkov from its own environment), and the
pytest JUnit reports that judge the controls' named tests (docs/adr/0038-strongroom-check.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from strongroom.prr.findings import (
    BLOCKING,
    ERROR,
    FAILED,
    INFO,
    MISSING,
    RAN,
    T_CFN_LINT,
    T_CHECKOV,
    WARNING,
    Acknowledgement,
    Finding,
    ToolRun,
)


def cfn_lint_binary() -> Path | None:
    found = Path(sys.executable).parent / "cfn-lint"
    return found if found.exists() else None


def checkov_binary() -> Path | None:
    from strongroom.infra.packaging import repository_root  # noqa: PLC0415

    override = os.environ.get("STRONGROOM_CHECKOV")
    found = Path(override) if override else repository_root() / ".venv-checkov" / "bin" / "checkov"
    return found if found.exists() else None


def run_cfn_lint(templates: Mapping[str, Path], binary: Path | None) -> tuple[list[Finding], ToolRun]:
    if binary is None or not templates:
        return [], ToolRun(T_CFN_LINT, MISSING if binary is None else RAN,
                           "cfn-lint is not installed: its rules were not run" if binary is None
                           else "nothing to lint")  # fmt: skip
    started = time.perf_counter()
    by_path = {str(path): name for name, path in templates.items()}
    done = subprocess.run(  # noqa: S603 - our own environment's tool, file arguments only
        [str(binary), "--format", "json", "--", *by_path],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.perf_counter() - started, 2)
    try:
        results = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return [], ToolRun(T_CFN_LINT, FAILED, f"cfn-lint failed: {done.stderr.strip()[:300]}", seconds)
    findings = []
    for result in results:
        rule = result["Rule"]["Id"]
        path = result["Location"].get("Path") or []
        logical_id = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
        severity = {"E": BLOCKING, "W": WARNING}.get(rule[:1], INFO)
        findings.append(
            Finding(rule, T_CFN_LINT, severity, result["Message"],
                    by_path.get(result["Filename"], Path(result["Filename"]).name), logical_id)
        )  # fmt: skip
    # cfn-lint is this environment's own (beside this interpreter): its version is in its metadata.
    return findings, ToolRun(T_CFN_LINT, RAN, f"cfn-lint {metadata.version('cfn-lint')}", seconds)


def run_checkov(
    templates: Mapping[str, Path], binary: Path | None, *, framework: str = "cloudformation"
) -> tuple[list[Finding], ToolRun]:
    if binary is None or not templates:
        return [], ToolRun(T_CHECKOV, MISSING if binary is None else RAN,
                           "checkov is not installed (make install creates .venv-checkov): its checks were "
                           "not run" if binary is None else "nothing to scan")  # fmt: skip
    started = time.perf_counter()
    by_path = {str(path.resolve()): name for name, path in templates.items()}
    files = [argument for path in by_path for argument in ("-f", path)]
    done = subprocess.run(  # noqa: S603 - our own environment's tool, file arguments only
        # Not --quiet: it drops the skipped checks, which carry the accepted exceptions' reasons.
        [str(binary), *files, "--framework", framework, "--output", "json", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )  # fmt: skip
    seconds = round(time.perf_counter() - started, 2)
    try:
        loaded = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return [], ToolRun(T_CHECKOV, FAILED, f"checkov failed: {done.stderr.strip()[:300]}", seconds)
    reports = loaded if isinstance(loaded, list) else [loaded]
    findings = []
    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        for outcome in ("failed_checks", "skipped_checks"):
            for check in results.get(outcome, []):
                file = str(Path(check.get("file_abs_path") or check.get("file_path", "")).resolve())
                name = by_path.get(file) or next(
                    (n for p, n in by_path.items() if p.endswith(check.get("file_path", "").lstrip("/"))),
                    file,
                )
                resource = str(check.get("resource", ""))
                logical_id = resource.split(".", 1)[1] if "." in resource else resource
                skipped = outcome == "skipped_checks"
                comment = (check.get("check_result", {}) or {}).get("suppress_comment") or ""
                findings.append(
                    Finding(check["check_id"], T_CHECKOV, ERROR, check.get("check_name", ""), name,
                            logical_id, resource,
                            Acknowledgement(comment, "", "template metadata") if skipped else None)
                )  # fmt: skip
    # checkov names its version in each report's summary: no second start of checkov to ask it.
    versions = {r.get("summary", {}).get("checkov_version") for r in reports if isinstance(r, dict)} - {None}
    detail = f"checkov {', '.join(sorted(versions))}" if versions else "checkov"
    return findings, ToolRun(T_CHECKOV, RAN, detail, seconds)


# --- tests, from a JUnit report -----------------------------------------------------------------


def junit_results(paths: Iterable[Path]) -> dict[str, bool]:
    """``path::function`` -> passed, from pytest's JUnit XML reports (parametrised cases all pass)."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415 - our own test reports

    outcome: dict[str, bool] = {}
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314
            classname, name = case.get("classname", ""), case.get("name", "")
            module = classname.replace(".", "/") + ".py"
            function = name.split("[", 1)[0]
            passed = not any(child.tag in {"failure", "error", "skipped"} for child in case)
            key = f"{module}::{function}"
            outcome[key] = outcome.get(key, True) and passed
    return outcome
