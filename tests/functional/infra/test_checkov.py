"""checkov on every synthesized template: nothing fails, and every skip carries its recorded reason.

checkov pins an old boto3, so it lives in .venv-checkov (created by `make install`)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from .conftest import REPO

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def results(synthesized: Any) -> dict[str, Any]:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make install` (it creates .venv-checkov)"
    files = [arg for s in synthesized.stacks for arg in ("-f", str(synthesized.outdir / s.template))]
    completed = subprocess.run(
        [
            str(CHECKOV),
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


def test_templates_parse_and_nothing_fails(results: dict[str, Any]) -> None:
    summary = results["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 100
    assert summary["passed"] > 100
    failed = [f"{c['check_id']} {c['resource']}" for c in results["results"]["failed_checks"]]
    assert failed == []


def test_every_skip_has_a_recorded_reason(results: dict[str, Any]) -> None:
    skipped = results["results"]["skipped_checks"]
    assert skipped, "the known exceptions are skipped with reasons, not silently passed"
    for check in skipped:
        comment = check["check_result"].get("suppress_comment") or ""
        assert len(comment.split()) >= 8, (check["check_id"], check["resource"])
