"""The CI/CD workflows (.github/, docs/adr/0040-ci-cd-workflows.md) are checked here rather than on
GitHub, where a mistake shows only when a run fails, or never: a deploy job that no longer waits for the
tests would run happily. actionlint and zizmor (wheels of the dev extra, run offline) judge the files;
the rest asserts what this project decided: every action pinned by commit, least privilege, egress
blocked from the first step, OIDC only where AWS is reached, and a job graph in which nothing signs or
deploys unless `make test` and `strongroom check` passed, in the order primary, verify, secondary,
verify, global routing, drill, release."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML, through cfn-lint; no stubs installed

from strongroom.config import load_config

REPO = Path(__file__).resolve().parents[3]
GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
BIN = Path(sys.executable).parent  # the dev extra's console scripts sit beside the interpreter

SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^v\d+\.\d+\.\d+$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
STATUS_FUNCTIONS = re.compile(r"\b(always|failure|cancelled)\(\)")

# Jobs of deploy.yml that reach AWS, in the order they must run: each needs the one before.
AWS_JOBS = (
    "sign",
    "deploy-primary",
    "verify-primary",
    "deploy-secondary",
    "verify-secondary",
    "deploy-global",
    "drill",
)
GATES = frozenset({"test", "readiness"})
# Write scopes a job may hold, and which jobs may hold them.
WRITE_SCOPES = {
    "security-events": {"ci.yml:readiness", "codeql.yml:analyze"},  # SARIF to code scanning
    "id-token": {f"deploy.yml:{job}" for job in AWS_JOBS},  # OIDC to the environment's role
    "contents": {"deploy.yml:release"},  # the tag and the release
}


@cache
def workflow(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def jobs(name: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = workflow(name)["jobs"]
    return found


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def closure(name: str, job_id: str) -> set[str]:
    """Every job that must have succeeded before ``job_id`` starts (its transitive ``needs``)."""
    graph = jobs(name)
    seen: set[str] = set()
    pending = list(needs(graph[job_id]))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(needs(graph[current]))
    return seen


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.get("steps", []))


def uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]) for step in job.get("steps", []) if "uses" in step]


def all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOWS:
        for job_id, job in jobs(path.name).items():
            yield path.name, job_id, job


def test_the_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} == {"ci.yml", "deploy.yml", "codeql.yml"}
    assert (GITHUB / "dependabot.yml").is_file()


def test_actionlint_finds_nothing() -> None:
    # With shellcheck on every run: script; pyflakes is not installed, so it is off rather than optional.
    result = subprocess.run(
        [BIN / "actionlint", "-no-color", "-shellcheck", BIN / "shellcheck", "-pyflakes=", *WORKFLOWS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    # Offline: the audits that ask GitHub (impostor commits, known-vulnerable actions) run on GitHub's
    # side as code scanning would; everything decidable from the files runs here.
    result = subprocess.run(
        [BIN / "zizmor", "--offline", "--no-progress", "--format", "json", str(GITHUB)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    remote = 0
    for path in [*WORKFLOWS, *ACTIONS]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = USES_LINE.match(line)
            if match is None:
                continue
            ref, comment = match["ref"], match["comment"]
            if ref.startswith(("./", "$/")):  # this repository's own action, at the workflow's commit
                continue
            remote += 1
            where = f"{path.relative_to(REPO)}:{number}: {line.strip()}"
            assert SHA_PIN.match(ref), f"not pinned to a 40-hex commit: {where}"
            assert comment, f"no `# vX.Y.Z` comment: {where}"
            assert VERSION_COMMENT.match(comment), f"no `# vX.Y.Z` comment: {where}"
    assert remote > 20


def test_permissions_are_least_privilege() -> None:
    for path in WORKFLOWS:
        assert "write-all" not in path.read_text(), path.name
        assert workflow(path.name)["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"
    for name, job_id, job in all_jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}:{job_id} declares no permissions of its own"
        for scope, level in permissions.items():
            assert level in {"read", "write", "none"}, f"{name}:{job_id} {scope}: {level}"
            if level == "write":
                assert f"{name}:{job_id}" in WRITE_SCOPES.get(scope, set()), f"{name}:{job_id} {scope}: write"


def test_every_job_first_hardens_the_runner_and_blocks_egress() -> None:
    for name, job_id, job in all_jobs():
        first = job["steps"][0]
        assert str(first.get("uses", "")).startswith("step-security/harden-runner@"), f"{name}:{job_id}"
        settings = first["with"]
        assert settings["egress-policy"] == "block", f"{name}:{job_id}"
        endpoints = settings["allowed-endpoints"].split()
        assert endpoints, f"{name}:{job_id}"
        for endpoint in endpoints:
            host, _, port = endpoint.rpartition(":")
            assert port in {"80", "443"}, f"{name}:{job_id}: {endpoint}"
            # A wildcard names one service's subdomains, never a whole provider.
            assert host.count(".") >= 3 or not host.startswith("*"), f"{name}:{job_id}: {endpoint}"


def test_ci_gates_readiness_on_the_tests_and_reports_it() -> None:
    ci = jobs("ci.yml")
    assert "make test" in runs(ci["test"])
    assert needs(ci["readiness"]) == {"test"}
    readiness = ci["readiness"]
    assert "strongroom check --format md,html,json,sarif --out build/check" in runs(readiness)
    # NO-GO fails the job: nothing may swallow the exit status.
    assert not any(step.get("continue-on-error") for step in readiness["steps"])
    assert "|| true" not in runs(readiness)
    sarif = next(s for s in readiness["steps"] if "codeql-action/upload-sarif@" in str(s.get("uses")))
    assert sarif["with"] == {"sarif_file": "build/check/report.sarif", "category": "strongroom-check"}
    artifact = next(s for s in readiness["steps"] if "upload-artifact@" in str(s.get("uses")))
    assert "build/check/report.html" in artifact["with"]["path"]
    for step in (sarif, artifact):  # kept on NO-GO too
        assert step["if"].startswith("${{ !cancelled()")


def test_ci_runs_the_audits_and_the_api_security_scan() -> None:
    ci = jobs("ci.yml")
    assert "pip-audit" in runs(ci["dependency-audit"])
    assert "requirements/lambda.lock" in runs(ci["dependency-audit"])
    assert "bandit -c pyproject.toml -r src" in runs(ci["bandit"])
    scan = runs(ci["api-security-scan"])
    assert "strongroom up --state-dir .strongroom" in scan
    # The same bounded scan as tests/e2e/test_api_contract_scan.py: fixed examples, the default seed.
    assert "python -m tests.e2e.contract_scan --state-dir .strongroom --examples 25" in scan
    assert "--seed" not in scan


def test_codeql_runs_the_extended_security_queries() -> None:
    codeql = workflow("codeql.yml")
    assert {"push", "pull_request", "schedule"} <= set(codeql["on"])
    steps = jobs("codeql.yml")["analyze"]["steps"]
    init = next(s for s in steps if "codeql-action/init@" in str(s.get("uses")))
    assert init["with"]["languages"] == "python"
    config = yaml.safe_load((REPO / init["with"]["config-file"]).read_text())
    assert {"uses": "security-extended"} in config["queries"]


def test_dependabot_watches_python_and_the_actions() -> None:
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    watched = {(update["package-ecosystem"], update["directory"]) for update in config["updates"]}
    assert {("pip", "/"), ("pip", "/requirements"), ("github-actions", "/")} <= watched
    assert all(update["schedule"]["interval"] == "weekly" for update in config["updates"])


def test_nothing_signs_or_deploys_before_the_tests_and_the_readiness_check_pass() -> None:
    graph = jobs("deploy.yml")
    assert "make test" in runs(graph["test"])
    assert needs(graph["readiness"]) >= {"test"}
    assert re.search(r"strongroom check\b", runs(graph["readiness"]))
    reaching_aws = {
        job_id
        for job_id, job in graph.items()
        if job.get("permissions", {}).get("id-token") == "write"
        or re.search(r"strongroom (deploy|rollback|drill)|aws signer", runs(job))
    }
    assert reaching_aws == set(AWS_JOBS)
    for job_id in {*AWS_JOBS, "build", "release"}:
        assert closure("deploy.yml", job_id) >= GATES, f"{job_id} can run before the tests and the check"
    # A failed or skipped need stops a job unless its own condition asks for status functions.
    for job_id, job in graph.items():
        assert not STATUS_FUNCTIONS.search(str(job.get("if", ""))), f"{job_id}: {job['if']}"
        for step in job["steps"]:
            assert not step.get("continue-on-error"), f"{job_id}: {step}"


def test_the_deploy_runs_primary_verify_secondary_verify_global_drill_release() -> None:
    order = [*AWS_JOBS[1:], "release"]
    for before, after in itertools.pairwise(order):
        assert before in needs(jobs("deploy.yml")[after]), f"{after} must need {before}"
    assert closure("deploy.yml", "deploy-primary") >= {"build", "sign"}
    graph = jobs("deploy.yml")
    assert '--region "$PRIMARY_REGION"' in runs(graph["deploy-primary"])
    assert '--region "$SECONDARY_REGION"' in runs(graph["deploy-secondary"])
    assert '--region us-east-1 --signed-bundle "$SIGNED_BUNDLES"' in runs(graph["deploy-global"])
    assert "strongroom drill region-outage --target aws" in runs(graph["drill"])
    assert "gh release create" in runs(graph["release"])
    # The Regions the workflow names are the configured primary and secondary.
    config = load_config({})
    env = workflow("deploy.yml")["env"]
    assert [env["PRIMARY_REGION"], env["SECONDARY_REGION"]] == [r.name for r in config.regions]


def test_a_version_input_redeploys_that_release() -> None:
    dispatch = workflow("deploy.yml")["on"]["workflow_dispatch"]["inputs"]
    assert dispatch["version"]["type"] == "string"
    assert dispatch["environment"]["options"] == ["staging", "production"]
    graph = jobs("deploy.yml")
    rollback = next(s for s in graph["resolve"]["steps"] if s.get("if") == "${{ inputs.version != '' }}")
    assert rollback["with"]["ref"] == "refs/tags/${{ inputs.version }}"
    # Every later job builds, tests and deploys the commit resolve checked out: the tag's, on rollback.
    for job_id, job in graph.items():
        checkouts = [s for s in job["steps"] if "actions/checkout@" in str(s.get("uses"))]
        if job_id != "resolve":
            assert all(s["with"]["ref"] == "${{ needs.resolve.outputs.sha }}" for s in checkouts), job_id
    # A redeploy makes no new release.
    assert graph["release"]["if"] == "${{ needs.resolve.outputs.redeploy == 'false' }}"


@pytest.mark.parametrize("name", [path.name for path in WORKFLOWS])
def test_only_jobs_that_reach_aws_get_an_oidc_token_and_each_is_bound_to_an_environment(name: str) -> None:
    for job_id, job in jobs(name).items():
        assumes_role = any("aws-actions/configure-aws-credentials@" in ref for ref in uses(job))
        has_token = job.get("permissions", {}).get("id-token") == "write"
        assert assumes_role == has_token, f"{name}:{job_id}"
        if assumes_role:
            assert job["environment"] == "${{ needs.resolve.outputs.environment }}", f"{name}:{job_id}"
            for step in job["steps"]:
                if "configure-aws-credentials@" in str(step.get("uses")):
                    assert step["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
                    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step["with"])
        else:
            assert "environment" not in job, f"{name}:{job_id}"
    assert "secrets.AWS" not in (GITHUB / "workflows" / name).read_text()
