"""`strongroom deploy --dry-run` and `strongroom rollback --dry-run`: the plan, read from the assembly
`strongroom synth` writes, in docs/adr/0010's order (docs/adr/0041). Nothing here deploys; `cdk diff`
runs only with credentials, and there are none here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from strongroom import cli, deploy
from strongroom.config import load_config
from strongroom.deploy import DeployError, Options, Request, StackInfo

PRIMARY, SECONDARY = "eu-west-1", "eu-central-1"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """boto3 finds nothing: no variables, no files, no instance metadata to wait for."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)


@pytest.fixture(scope="module")
def assembly(synthesized: Any) -> Path:
    path: Path = synthesized.outdir
    return path


def _phase(kind: str) -> str:
    return "backup" if kind in {"backup", "artifacts"} else kind


def _dry_run_json(assembly: Path, **options: Any) -> dict[str, Any]:
    printed: list[str] = []
    request = Request(dry_run=True, json=True, assembly=assembly, **options)
    assert deploy.run(request, out=printed.append) == 0
    (text,) = printed
    document: dict[str, Any] = json.loads(text)
    return document


def test_the_default_plan_follows_adr_0010(assembly: Path) -> None:
    config = load_config()
    plan = deploy.make_plan(assembly, config)
    kinds = [step.kind for step in plan.steps]
    # Consecutive steps of one kind collapsed; a Region's artifacts stack, if the app has one, goes with
    # the backup vaults (both per Region, before the data stack)
    phases = [k for i, k in enumerate(kinds) if i == 0 or _phase(k) != _phase(kinds[i - 1])]
    assert [_phase(k) for k in phases] == [
        "keys",
        "backup",
        "data",
        "platform-primary",
        "verify",
        "platform",
        "verify",
        "routing",
        "compliance",
    ]
    # keys, backups (and any per-Region stack such as artifacts) before the data stack
    assert all(kinds.index("data") > i for i, k in enumerate(kinds) if k in {"keys", "backup", "artifacts"})
    assert [s.stack for s in plan.steps if s.kind == "platform-primary"] == [f"strongroom-{PRIMARY}"]
    verify_primary = kinds.index("verify")
    assert plan.steps[verify_primary].stack == f"strongroom-{PRIMARY}"
    assert plan.steps[verify_primary - 1].kind == "platform-primary"
    assert plan.steps[verify_primary + 1].stack == f"strongroom-{SECONDARY}"
    routing = next(s for s in plan.steps if s.kind == "routing")
    assert routing.region == "us-east-1"
    # every stack the assembly holds is deployed, once, and each after all it depends on
    deployed = [s.stack for s in plan.steps if s.action == "deploy"]
    assert sorted(deployed) == sorted(s.name for s in deploy.read_assembly(assembly, config))
    for step in plan.steps:
        assert all(deployed.index(d) < deployed.index(step.stack) for d in step.dependsOn)
    assert [s.number for s in plan.steps] == list(range(1, len(plan.steps) + 1))


def test_each_platform_stack_gets_its_regions_stream_arn_from_describe_table(assembly: Path) -> None:
    config = load_config()
    plan = deploy.make_plan(assembly, config)
    table = config.names.transactions_table
    for region in (PRIMARY, SECONDARY):
        (step,) = [s for s in plan.steps if s.action == "deploy" and s.stack == f"strongroom-{region}"]
        assert step.parameters["TransactionsStreamArn"] == {
            "source": f"dynamodb:DescribeTable({table}, region={region}).Table.LatestStreamArn"
        }
    others = [s for s in plan.steps if s.action == "deploy" and not s.kind.startswith("platform")]
    assert all("TransactionsStreamArn" not in s.parameters for s in others)


def test_the_verification_reads_each_platform_stacks_api_url(assembly: Path) -> None:
    plan = deploy.make_plan(assembly, load_config())
    verifies = [s for s in plan.steps if s.action == "verify"]
    assert [v.stack for v in verifies] == [f"strongroom-{PRIMARY}", f"strongroom-{SECONDARY}"]
    assert verifies[0].url == f"<strongroom-{PRIMARY}.ApiUrl>/health/deep"
    assert verifies[0].expect == {"status": 200, "body": {"status": "pass"}}


@pytest.mark.usefixtures("no_credentials")
def test_the_json_plan_without_credentials_says_the_diff_was_skipped(assembly: Path) -> None:
    document = _dry_run_json(assembly)
    assert set(document) == {
        "root",
        "assembly",
        "primaryRegion",
        "regions",
        "steps",
        "skipped",
        "context",
        "code",
        "credentials",
        "diff",
        "release",
        "warnings",
    }
    assert document["credentials"] is False
    assert document["diff"] == deploy.NO_CREDENTIALS == "no AWS credentials: diff skipped"
    assert document["release"] is None
    assert document["primaryRegion"] == PRIMARY
    assert set(document["regions"]) == {PRIMARY, SECONDARY, "us-east-1"}
    step_keys = {
        "number",
        "action",
        "stack",
        "region",
        "kind",
        "dependsOn",
        "parameters",
        "url",
        "expect",
        "diff",
    }
    assert all(set(step) == step_keys and step["diff"] is None for step in document["steps"])
    # the functions' code: the one reproducible zip in the assembly
    assert document["code"]["zips"] == 1
    assert len(document["code"]["sha256"]) == 64


@pytest.mark.usefixtures("no_credentials")
def test_the_text_plan_without_credentials_says_so(assembly: Path) -> None:
    printed: list[str] = []
    assert deploy.run(Request(dry_run=True, assembly=assembly), out=printed.append) == 0
    assert "diff: no AWS credentials: diff skipped" in printed[0]
    assert f"verify  strongroom-{PRIMARY}" in printed[0]


@pytest.mark.usefixtures("no_credentials")
def test_a_real_deploy_without_credentials_is_refused_with_the_fix(assembly: Path) -> None:
    with pytest.raises(DeployError, match="no AWS credentials: a deploy needs them"):
        deploy.run(Request(assembly=assembly), out=print)


@pytest.mark.usefixtures("no_credentials")
def test_the_signed_bundle_is_passed_as_context_and_named_in_the_plan(assembly: Path) -> None:
    uri = json.dumps({PRIMARY: "s3://artifacts/bundle.zip@v1"})
    document = _dry_run_json(assembly, signed_bundle=uri)
    assert document["context"] == {"strongroom:signed-bundle": uri}
    assert document["code"] == {"signedBundle": uri}


def test_regions_restrict_the_plan_and_an_unknown_region_is_refused(assembly: Path) -> None:
    config = load_config()
    plan = deploy.make_plan(assembly, config, Options(regions=(SECONDARY,)))
    assert {s.region for s in plan.steps} == {SECONDARY}
    assert {s["stack"] for s in plan.skipped} >= {f"strongroom-{PRIMARY}", "strongroom-routing"}
    with pytest.raises(DeployError, match="us-west-2: the app has no stack there"):
        deploy.make_plan(assembly, config, Options(regions=("us-west-2",)))


def test_a_stack_the_app_adds_is_placed_by_its_dependencies() -> None:
    config = load_config()

    def stack(name: str, region: str, kind: str, *deps: str) -> StackInfo:
        return StackInfo(name, region, kind, deps, {}, ())

    stacks = [
        stack("compliance", PRIMARY, "compliance"),
        stack("platform-b", SECONDARY, "platform", "data"),
        stack("new-after-primary", PRIMARY, "other", "platform-a"),
        stack("platform-a", PRIMARY, "platform-primary", "data"),
        stack("data", PRIMARY, "data", "keys"),
        stack("new-early", SECONDARY, "other"),
        stack("keys", PRIMARY, "keys"),
    ]
    names = [s.name for s in deploy.order(stacks, config)]
    assert names == [
        "keys",
        "new-early",
        "data",
        "platform-a",
        "new-after-primary",
        "platform-b",
        "compliance",
    ]
    with pytest.raises(DeployError, match="cycle"):
        deploy.order([stack("a", PRIMARY, "keys", "b"), stack("b", PRIMARY, "keys", "a")], config)


def test_a_missing_cdk_cli_says_to_run_make_install(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="run `make install`"):
        deploy.Cdk(tmp_path, tmp_path).check()


# --- releases -----------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    git = shutil.which("git") or "git"
    done = subprocess.run([git, "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def released(tmp_path: Path) -> tuple[Path, str]:
    """A repository with one release, v0.1.0, and a later commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "dev")
    (repo / "VERSION").write_text("0.1.0\n")
    _git(repo, "add", "VERSION")
    _git(repo, "commit", "-q", "-m", "release")
    _git(repo, "tag", "v0.1.0")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "VERSION").write_text("0.2.0-dev\n")
    _git(repo, "commit", "-q", "-am", "later")
    _git(repo, "tag", "not-a-release")
    return repo, commit


def test_a_release_resolves_to_its_tag_and_commit(released: tuple[Path, str]) -> None:
    repo, commit = released
    for spelling in ("0.1.0", "v0.1.0"):
        release = deploy.resolve_release(repo, spelling)
        assert (release.version, release.tag, release.commit) == ("0.1.0", "v0.1.0", commit)


def test_an_unknown_release_is_refused_naming_the_release_tags(released: tuple[Path, str]) -> None:
    repo, _ = released
    with pytest.raises(DeployError, match=r"no release tag v9\.9\.9 .*; release tags: v0\.1\.0$"):
        deploy.resolve_release(repo, "9.9.9")
    with pytest.raises(DeployError, match="not a version"):
        deploy.resolve_release(repo, "latest")


def test_rollback_to_an_unknown_release_exits_2_without_a_traceback(
    released: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = released
    monkeypatch.setattr(deploy, "repository_root", lambda: repo)
    assert cli.main(["rollback", "--to", "9.9.9", "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert (
        error.strip() == f"strongroom rollback: error: no release tag v9.9.9 in {repo}; release tags: v0.1.0"
    )


@pytest.mark.usefixtures("no_credentials")
def test_rollback_dry_run_plans_the_tags_own_tree_in_a_worktree_it_removes(
    released: tuple[Path, str], assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commit = released
    seen: dict[str, Any] = {}

    def synth(self: deploy.Cdk, target: Path, context: dict[str, str]) -> None:
        # Stands in for `cdk synth` in the release's tree: the tree is the tag's, and gets an assembly
        seen["tree"], seen["version"] = self.tree, (self.tree / "VERSION").read_text()
        seen["pythonpath"] = self.environment()["PYTHONPATH"]
        shutil.copytree(assembly, target)

    monkeypatch.setattr(deploy.Cdk, "check", lambda self: None)
    monkeypatch.setattr(deploy.Cdk, "synth", synth)
    printed: list[str] = []
    request = Request(dry_run=True, json=True, version="0.1.0")
    assert deploy.run(request, repository=repo, out=printed.append) == 0

    document = json.loads(printed[0])
    assert document["release"] == {"version": "0.1.0", "tag": "v0.1.0", "commit": commit}
    assert document["root"] == str(seen["tree"]) != str(repo)
    assert seen["version"] == "0.1.0\n"  # the tag's files, not the later commit's
    assert seen["pythonpath"].split(":")[0] == str(seen["tree"] / "src")
    assert [s["kind"] for s in document["steps"]][:2] == ["keys", "keys"]
    assert not Path(seen["tree"]).exists()
    assert _git(repo, "worktree", "list").count("\n") == 0  # only the main worktree is left
