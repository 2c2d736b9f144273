"""cfn-lint on every synthesized template: no errors; each warning accepted in policies/cfn-lint.json."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO

ACCEPTED = REPO / "policies" / "cfn-lint.json"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"  # installed with the `infra` extra


@pytest.fixture(scope="module")
def findings(synthesized: Any) -> list[dict[str, Any]]:
    templates = sorted(str(synthesized.outdir / s.template) for s in synthesized.stacks)
    completed = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode in {0, 2, 4, 6, 8, 10, 12, 14}, completed.stderr  # bit flags, not a crash
    loaded: list[dict[str, Any]] = json.loads(completed.stdout or "[]")
    return loaded


def _logical_id(finding: dict[str, Any]) -> str:
    path = finding["Location"].get("Path") or []
    return str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""


def _accepts(entry: dict[str, Any], finding: dict[str, Any]) -> bool:
    if finding["Rule"]["Id"] != entry["rule"]:
        return False
    patterns = entry.get("resources")
    return patterns is None or any(fnmatch.fnmatch(_logical_id(finding), p) for p in patterns)


def test_no_errors(findings: list[dict[str, Any]]) -> None:
    errors = [f"{f['Rule']['Id']} {f['Filename']}: {f['Message']}" for f in findings if f["Level"] == "Error"]
    assert errors == []


def test_every_warning_is_accepted_with_a_reason_and_every_acceptance_is_used(
    findings: list[dict[str, Any]],
) -> None:
    accepted = json.loads(ACCEPTED.read_text())["accepted"]
    for entry in accepted:
        assert entry["rule"].startswith(("W", "I")), f"errors cannot be accepted: {entry['rule']}"
        assert len(entry["reason"].split()) >= 8, entry
    unexplained = [
        f"{f['Rule']['Id']} {_logical_id(f)}: {f['Message']}"
        for f in findings
        if not any(_accepts(entry, f) for entry in accepted)
    ]
    assert unexplained == []
    unused = [entry["rule"] for entry in accepted if not any(_accepts(entry, f) for f in findings)]
    assert unused == [], "remove acceptances that no longer match a finding"
