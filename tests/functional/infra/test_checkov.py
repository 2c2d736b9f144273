"""checkov on every synthesized template: nothing fails, every skip is a policies/exceptions.json entry
with its reason, and on the app without the registry each skip answers a failure and every failure
has a skip.

checkov pins an old boto3, so it lives in .venv-checkov (created by `make install`)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from strongroom.infra import exceptions
from strongroom.infra.compliance import REPORT
from strongroom.infra.exceptions import CHECKOV

from .conftest import REPO, RawBuild

CHECKOV_BIN = REPO / ".venv-checkov" / "bin" / "checkov"


def run_checkov(templates: Sequence[Path]) -> dict[str, Any]:
    assert CHECKOV_BIN.exists(), f"{CHECKOV_BIN} is missing: run `make install` (it creates .venv-checkov)"
    files = [arg for template in templates for arg in ("-f", str(template))]
    completed = subprocess.run(
        [
            str(CHECKOV_BIN),
            *files,
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
            "--skip-download",  # offline: no guideline download from the vendor's API
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert completed.stdout, completed.stderr
    loaded: dict[str, Any] = json.loads(completed.stdout)
    return loaded


def _where(check: dict[str, Any]) -> tuple[str, str]:
    """(template file name, logical id) of a checkov result (its resource reads Type.LogicalId)."""
    return Path(check["file_path"]).name, check["resource"].split(".", 1)[1]


@pytest.fixture(scope="module")
def results(synthesized: Any) -> dict[str, Any]:
    return run_checkov([synthesized.outdir / s.template for s in synthesized.stacks])


@pytest.fixture(scope="module")
def raw_results(raw_build: RawBuild) -> dict[str, Any]:
    return run_checkov(raw_build.templates())


def test_templates_parse_and_nothing_fails(results: dict[str, Any]) -> None:
    summary = results["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 100
    assert summary["passed"] > 100
    failed = [f"{c['check_id']} {c['resource']}" for c in results["results"]["failed_checks"]]
    assert failed == []


def test_every_skip_is_a_registry_entry_with_its_reason(synthesized: Any, results: dict[str, Any]) -> None:
    skipped = results["results"]["skipped_checks"]
    assert skipped, "the known exceptions are skipped with reasons, not silently passed"
    reasons = {entry.stated_reason for entry in exceptions.load()}
    for check in skipped:
        assert check["check_result"].get("suppress_comment") in reasons, (
            check["check_id"],
            check["resource"],
        )
    report = json.loads((synthesized.outdir / REPORT).read_text())
    registered = {
        (a["rule"], a["template"], a["logicalId"])
        for a in report["exceptions"]["applications"]
        if a["tool"] == CHECKOV
    }
    assert {(c["check_id"], *_where(c)) for c in skipped} == registered


def test_every_checkov_exception_answers_a_failure_and_every_failure_has_one(
    raw_build: RawBuild, raw_results: dict[str, Any]
) -> None:
    """On the app without the registry: a skip that would skip nothing is stale, and a failure without
    a skip fails the gate above."""
    paths = raw_build.construct_paths()
    failures = {(CHECKOV, c["check_id"], paths[_where(c)]) for c in raw_results["results"]["failed_checks"]}
    assert raw_results["results"]["skipped_checks"] == []
    assert failures, "without the registry, checkov must report the failures it answers"
    applied = [a for a in raw_build.exceptions.applied() if a.tool == CHECKOV]
    assert exceptions.unanswered(applied, failures) == []
    assert exceptions.uncovered(applied, failures) == []
