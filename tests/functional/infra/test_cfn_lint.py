"""cfn-lint on every synthesized template: nothing at all (errors are never accepted; the warnings
policies/exceptions.json accepts are ignored in the resources' metadata), and on the app without the
registry each accepted warning answers a finding and every finding has one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from strongroom.infra import exceptions
from strongroom.infra.exceptions import CFN_LINT

from .conftest import RawBuild

CFN_LINT_BIN = Path(sys.executable).parent / "cfn-lint"  # installed with the `infra` extra


def run_cfn_lint(templates: Sequence[Path]) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [str(CFN_LINT_BIN), "--format", "json", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode in {0, 2, 4, 6, 8, 10, 12, 14}, completed.stderr  # bit flags, not a crash
    loaded: list[dict[str, Any]] = json.loads(completed.stdout or "[]")
    return loaded


def _where(finding: dict[str, Any]) -> tuple[str, str]:
    """(template file name, logical id) of a finding; a template-wide finding has no logical id."""
    path = finding["Location"].get("Path") or []
    logical_id = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
    return Path(finding["Filename"]).name, logical_id


def _describe(finding: dict[str, Any]) -> str:
    return f"{finding['Rule']['Id']} {' '.join(_where(finding))}: {finding['Message']}"


@pytest.fixture(scope="module")
def findings(synthesized: Any) -> list[dict[str, Any]]:
    return run_cfn_lint(sorted(synthesized.outdir / s.template for s in synthesized.stacks))


@pytest.fixture(scope="module")
def raw_findings(raw_build: RawBuild) -> list[dict[str, Any]]:
    return run_cfn_lint(raw_build.templates())


def test_nothing_is_reported(findings: list[dict[str, Any]]) -> None:
    assert [_describe(f) for f in findings] == []


def test_no_errors_even_without_the_registry(raw_findings: list[dict[str, Any]]) -> None:
    assert [_describe(f) for f in raw_findings if f["Level"] == "Error"] == []


def test_every_cfn_lint_exception_answers_a_warning_and_every_warning_has_one(
    raw_build: RawBuild, raw_findings: list[dict[str, Any]]
) -> None:
    """On the app without the registry: an ignore that would ignore nothing is stale, and a warning
    without one is reported by the real run above."""
    paths = raw_build.construct_paths()
    reported = {(CFN_LINT, f["Rule"]["Id"], paths.get(_where(f), " ".join(_where(f)))) for f in raw_findings}
    assert reported, "without the registry, cfn-lint must report the warnings it answers"
    applied = [a for a in raw_build.exceptions.applied() if a.tool == CFN_LINT]
    assert exceptions.unanswered(applied, reported) == []
    assert exceptions.uncovered(applied, reported) == []
