"""Lambda packaging without Docker: locked wheels for arm64 / Python 3.13, plus the runtime's source.

The bundle is ``build/lambda/<hash>/`` where the hash covers exactly what ships: the lock file (exact
versions and wheel hashes of every runtime dependency), the runtime source files, and the install
recipe. So the CDK asset hash changes only when code or locked dependencies change, and a build is
reused across synths. Only the runtime ships (``strongroom/__init__.py``, ``constants.py``,
``py.typed``, ``runtime/**``): the runtime never imports infra, prr or local.

``python -m strongroom.infra.packaging lock`` re-resolves ``requirements/lambda.in`` for the Lambda
platform and rewrites ``requirements/lambda.lock``; ``... lambda-python`` prints the CPython 3.13 found
here (exit 1, with a note, when there is none).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom import constants as env

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

# Lambda's platform: Python 3.13 on arm64 (Graviton), manylinux wheels only — nothing compiles here.
PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--only-binary=:all:",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
)
# Part of the hash: changing how we install (or normalise, compile and zip) is a change to what ships.
RECIPE = (
    "pip install --no-deps --require-hashes --no-compile "
    + " ".join(PLATFORM_ARGS)
    + "; drop bin/ and dist-info RECORD INSTALLER REQUESTED direct_url.json"
    + "; compileall unchecked-hash serial PYTHONHASHSEED=0 -s <staging> -p /var/task"
    + "; zip sorted 1980-01-01 0644/0755 deflate-6"
)
# pip's per-install files: RECORD hashes the console scripts pip rewrote with this machine's
# interpreter path, INSTALLER/REQUESTED/direct_url.json describe the install, not the package. Lambda
# never uninstalls, so none is needed; METADATA, WHEEL, licenses and entry points stay.
PER_INSTALL_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# Console scripts (pip writes a shebang naming the build machine's interpreter); nothing on Lambda runs them.
SCRIPTS_DIRECTORY = "bin"
# Where Lambda unpacks the code: the bytecode's recorded source paths are made to point there, not at
# the build's temporary directory.
LAMBDA_TASK_ROOT = "/var/task"
# The earliest time a zip entry can hold. Fixed rather than SOURCE_DATE_EPOCH: the asset hash names the
# zip's bytes, and an environment variable that changed the bytes without changing the name would let
# two different zips pass for one.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
ZIP_COMPRESSION_LEVEL = 6
BOM_SUFFIX = ".cdx.json"
BUNDLE_MANIFEST = "strongroom-bundle.json"  # in every bundle: its hash, recipe and files
RUNTIME_PATTERNS = (
    "strongroom/__init__.py",
    "strongroom/constants.py",
    "strongroom/py.typed",
    "strongroom/delivery_hooks.py",  # the release hooks' handler (docs/adr/0039)
    "strongroom/runtime/**/*.py",
)

Installer = Callable[[Path, Path], None]
# Lambda's code directory is read-only, so bytecode not shipped is recompiled on every cold start
# (measured under 3.13: ~0.87 s instead of ~0.32 s for the API). Bytecode must come from the runtime's exact
# CPython minor version, so it is compiled by a CPython 3.13 found on this machine; where there is
# none, the bundle ships sources only and a note says so (docs/adr/0014-lambda-packaging-without-docker.md).
LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_PYTHON = f"python{LAMBDA_PYTHON_VERSION}"
ENV_LAMBDA_PYTHON = env.ENV_LAMBDA_PYTHON
# Lambda's build has the GIL: a free-threaded 3.13 would load other native wheels (cp313t).
_PROBE = (
    "import sys, sysconfig, platform; print(platform.python_implementation(), "
    f"'%d.%d' % sys.version_info[:2] == {LAMBDA_PYTHON_VERSION!r} "
    "and not sysconfig.get_config_var('Py_GIL_DISABLED'))"
)


def _output(command: Sequence[str]) -> str | None:
    """A short command's stdout, or None when it cannot run or fails."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            list(command), capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def is_lambda_python(interpreter: str | Path) -> bool:
    """Probed, not trusted by name: a version manager's shim may stand for nothing."""
    return (_output([str(interpreter), "-c", _PROBE]) or "").split() == ["CPython", "True"]


def _version_key(path: Path) -> tuple[int, ...]:
    # pyenv's versions/3.13.N/bin/python3.13: the newest patch release first
    return tuple(int(part) if part.isdigit() else -1 for part in path.parents[1].name.split("."))


def _candidates() -> Iterator[Path]:
    """Where a CPython 3.13 may be, cheapest first; each is looked for only if the previous ones fail."""
    on_path = shutil.which(LAMBDA_PYTHON)
    if on_path:
        yield Path(on_path)
    pyenv = shutil.which("pyenv")
    root = _output([pyenv, "root"]) if pyenv else None
    if root:
        found = Path(root).glob(f"versions/{LAMBDA_PYTHON_VERSION}.*/bin/{LAMBDA_PYTHON}")
        yield from sorted(found, key=_version_key, reverse=True)
    uv = shutil.which("uv")
    answer = _output([uv, "python", "find", LAMBDA_PYTHON_VERSION]) if uv else None
    if answer:
        yield Path(answer)


@functools.cache
def find_lambda_python() -> Path | None:
    """A working CPython 3.13 (Lambda's runtime): $STRONGROOM_LAMBDA_PYTHON if set, else the first of
    python3.13 on PATH, pyenv's versions, uv's `python find`. None, with a note on stderr, if none."""
    explicit = os.environ.get(ENV_LAMBDA_PYTHON)
    if explicit:
        if is_lambda_python(explicit):
            return Path(explicit)
        _note(
            f"{ENV_LAMBDA_PYTHON}={explicit} is not a working CPython {LAMBDA_PYTHON_VERSION}; "
            "point it at one, or unset it to search PATH, pyenv and uv"
        )
        return None
    for candidate in _candidates():
        if is_lambda_python(candidate):
            return candidate
    _note(
        f"no CPython {LAMBDA_PYTHON_VERSION} found ({LAMBDA_PYTHON} on PATH, pyenv, uv); "
        f"set {ENV_LAMBDA_PYTHON} to one (without it, Lambda's bytecode and 3.13 runs are skipped)"
    )
    return None


def _note(text: str) -> None:
    print(f"strongroom: note: {text}", file=sys.stderr)


def bytecode_compiler() -> Path | None:
    """The interpreter the bundle's bytecode is compiled with: Lambda's CPython 3.13, when found."""
    return find_lambda_python()


def compile_bytecode(interpreter: Path, directory: Path) -> None:
    """Compile ``directory`` so that the same sources give the same ``.pyc`` bytes on any machine.

    unchecked-hash (PEP 552): no source mtime inside, and valid whatever the timestamps after unzipping
    in Lambda. ``-s``/``-p``: the recorded source path is Lambda's ``/var/task/...``, not this build's
    temporary directory. One process, in compileall's sorted order, with a fixed hash seed: marshal's
    output depends on which strings the compiler has already interned and on set iteration order, so a
    process pool (``-j0``), which hands files to workers in no fixed order, would not be reproducible.
    """
    command = [
        str(interpreter),
        "-m",
        "compileall",
        "-qq",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(directory),
        "-p",
        LAMBDA_TASK_ROOT,
        str(directory),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    environment.pop("PYTHONPYCACHEPREFIX", None)  # the .pyc files must land beside their sources
    subprocess.run(command, check=True, env=environment)  # noqa: S603 - fixed argv, no shell


def drop_per_install_files(directory: Path) -> None:
    """Remove what pip writes about this install rather than about the packages (see PER_INSTALL_FILES)."""
    shutil.rmtree(directory / SCRIPTS_DIRECTORY, ignore_errors=True)
    for dist_info in directory.glob("*.dist-info"):
        for name in PER_INSTALL_FILES:
            (dist_info / name).unlink(missing_ok=True)


def write_zip(directory: Path, archive: Path) -> None:
    """Zip ``directory`` deterministically: sorted entries with relative paths, directories included,
    fixed timestamps and modes, one compression level. Same tree in, same bytes out."""
    entries = sorted(
        (path.relative_to(directory).as_posix() + ("/" if path.is_dir() else ""), path)
        for path in directory.rglob("*")
    )
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix: the modes below are what Lambda's unzip applies
            if path.is_dir():
                info.external_attr = (0o040000 | DIRECTORY_MODE) << 16 | 0x10  # MS-DOS directory flag
                zipped.writestr(info, b"")
                continue
            info.external_attr = (0o100000 | FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, path.read_bytes(), compresslevel=ZIP_COMPRESSION_LEVEL)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_PIP_INSTALL = (sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")


def pip_install(lock_file: Path, target: Path) -> None:
    """Install exactly the locked wheels for the Lambda platform into ``target`` (pip's cache is reused)."""
    command = [
        *_PIP_INSTALL,
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        *PLATFORM_ARGS,
        "--target",
        str(target),
        "-r",
        str(lock_file),
    ]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell, our own interpreter


def repository_root() -> Path:
    """The checkout this package runs from (``src/strongroom/infra/packaging.py`` → repo)."""
    return Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class BundleArchive:
    """What a build hands to the deploy and to signing: the zip, its SHA-256 and its SBOM."""

    zip: Path
    sha256: str
    sbom: Path
    asset_hash: str


@dataclass(frozen=True)
class LockedPackage:
    name: str  # normalised as PEP 503 does: what pip and a purl call it
    version: str
    sha256: str


_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)\s+--hash=sha256:(?P<sha>[0-9a-f]{64})$"
)


def normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(lock_file: Path) -> list[LockedPackage]:
    """The lock's pins (one ``name==version --hash=sha256:...`` a line, as ``write_lock`` writes them)."""
    packages = []
    for number, raw in enumerate(lock_file.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"{lock_file}:{number}: not an exact pin with one sha256: {line!r}")
        packages.append(LockedPackage(normalise_name(match["name"]), match["version"], match["sha"]))
    return sorted(packages, key=lambda p: p.name)


def project_version(source_root: Path) -> str:
    """The version of the tree being bundled: its ``pyproject.toml`` (a rollback bundles an older tree
    than the one running), else the installed package's."""
    pyproject = source_root.parent / "pyproject.toml"
    if pyproject.is_file():
        version = tomllib.loads(pyproject.read_text()).get("project", {}).get("version")
        if isinstance(version, str):
            return version
    from importlib import metadata  # noqa: PLC0415 - only when the tree has no pyproject.toml

    try:
        return metadata.version("strongroom")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def sbom(lock_file: Path, version: str, zip_sha256: str) -> str:
    """The bundle's CycloneDX 1.6 SBOM as JSON: ``strongroom`` (the zip, by its SHA-256) as the root
    component, every locked package with its version, purl and wheel SHA-256, and the root's
    dependency on each. No timestamp and a serial number derived from the zip: the SBOM is as
    reproducible as what it describes. Validated against the schema the library ships before it is
    written: an SBOM a scanner would refuse fails the build instead."""
    # The infra extra's, imported here: the benchmark builds its site without it.
    from uuid import NAMESPACE_URL, uuid5  # noqa: PLC0415

    from cyclonedx.model import HashAlgorithm, HashType  # noqa: PLC0415
    from cyclonedx.model.bom import Bom, BomMetaData  # noqa: PLC0415
    from cyclonedx.model.component import Component, ComponentType  # noqa: PLC0415
    from cyclonedx.output.json import JsonV1Dot6  # noqa: PLC0415
    from cyclonedx.schema import SchemaVersion  # noqa: PLC0415
    from cyclonedx.validation.json import JsonStrictValidator  # noqa: PLC0415
    from packageurl import PackageURL  # noqa: PLC0415

    def component(name: str, version: str, sha256: str, kind: ComponentType) -> Component:
        purl = PackageURL(type="pypi", name=name, version=version)
        return Component(
            type=kind,
            name=name,
            version=version,
            purl=purl,
            bom_ref=purl.to_string(),
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha256)],
        )

    root = component("strongroom", version, zip_sha256, ComponentType.APPLICATION)
    dependencies = [
        component(p.name, p.version, p.sha256, ComponentType.LIBRARY) for p in read_lock(lock_file)
    ]
    bom = Bom(
        serial_number=uuid5(NAMESPACE_URL, f"urn:strongroom:lambda-bundle:sha256:{zip_sha256}"),
        metadata=BomMetaData(component=root),
        components=dependencies,
    )
    bom.metadata.timestamp = None  # type: ignore[assignment]  # optional in the schema; not reproducible
    bom.register_dependency(root, dependencies)
    text: str = JsonV1Dot6(bom).output_as_string(indent=1)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise ValueError(f"the bundle's SBOM does not validate against CycloneDX 1.6: {error}")
    return text + "\n"


@dataclass(frozen=True)
class LambdaBundle:
    source_root: Path  # the directory holding the ``strongroom`` package (``src/``)
    lock_file: Path
    build_root: Path
    install: Installer = field(default=pip_install)
    compiler: Path | None = field(default_factory=bytecode_compiler)
    recipe: str = RECIPE  # how ``install`` installs; another installer (the benchmark's) names its own

    @classmethod
    def for_repository(cls, root: Path | None = None) -> LambdaBundle:
        root = root or repository_root()
        return cls(
            source_root=root / "src",
            lock_file=root / "requirements" / "lambda.lock",
            build_root=root / "build" / "lambda",
        )

    def files(self) -> list[str]:
        """The runtime's source files, relative to ``source_root``, in a stable order."""
        found = {
            path.relative_to(self.source_root).as_posix()
            for pattern in RUNTIME_PATTERNS
            for path in self.source_root.glob(pattern)
            if path.is_file() and "__pycache__" not in path.parts
        }
        return sorted(found)

    def asset_hash(self) -> str:
        digest = hashlib.sha256()
        digest.update(self.recipe.encode())
        digest.update(b"\0bytecode\0" + (b"cpython-3.13" if self.compiler else b"none"))
        digest.update(b"\0lock\0" + self.lock_file.read_bytes())
        for name in self.files():
            digest.update(b"\0file\0" + name.encode() + b"\0" + (self.source_root / name).read_bytes())
        return digest.hexdigest()

    def code(self) -> lambda_.Code:
        """A new asset for one stack (CDK binds an asset to a single stack), built at most once.

        The asset is our reproducible zip, uploaded as it is (CDK zips a directory itself, with the
        files' own modes, at publish time: bytes nobody could hash, sign or describe beforehand). Every
        function of every stack names the same zip by the same custom hash, so the assembly stages it
        once (``cdk.out/asset.<hash>.zip``)."""
        # Imported here: the interpreter finder and the build serve the benchmark too, without CDK.
        from aws_cdk import AssetHashType  # noqa: PLC0415
        from aws_cdk import aws_lambda as lambda_  # noqa: PLC0415

        return lambda_.Code.from_asset(
            str(self.archive().zip), asset_hash=self.asset_hash(), asset_hash_type=AssetHashType.CUSTOM
        )

    def archive(self) -> BundleArchive:
        """Return ``build_root/<hash>.zip`` and its SBOM ``<hash>.cdx.json``, building what is missing.

        Both are written to a temporary name and renamed, so a file named by its hash is complete."""
        directory = self.build()
        archive = self.build_root / f"{directory.name}.zip"
        bom = self.build_root / f"{directory.name}{BOM_SUFFIX}"
        if not archive.is_file():
            partial = archive.with_name(f".{archive.name}.{os.getpid()}")
            try:
                write_zip(directory, partial)
                os.replace(partial, archive)
            finally:
                partial.unlink(missing_ok=True)
        digest = sha256_file(archive)
        if not bom.is_file():
            partial = bom.with_name(f".{bom.name}.{os.getpid()}")
            try:
                partial.write_text(sbom(self.lock_file, project_version(self.source_root), digest))
                os.replace(partial, bom)
            finally:
                partial.unlink(missing_ok=True)
        return BundleArchive(zip=archive, sha256=digest, sbom=bom, asset_hash=directory.name)

    def build(self) -> Path:
        """Return ``build_root/<hash>``, building it first unless a previous build left it complete."""
        asset_hash = self.asset_hash()
        target = self.build_root / asset_hash
        if target.is_dir():
            return target
        self.build_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{asset_hash[:12]}-", dir=self.build_root))
        try:
            self.install(self.lock_file, staging)
            drop_per_install_files(staging)
            for name in self.files():
                destination = staging / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.source_root / name, destination)
            if self.compiler:
                compile_bytecode(self.compiler, staging)
            manifest = {
                "hash": asset_hash,
                "recipe": self.recipe,
                "bytecode": bool(self.compiler),
                "files": self.files(),
            }
            (staging / BUNDLE_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
            os.replace(staging, target)  # atomic: a directory named by its hash is always complete
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def write_lock(requirements_in: Path, lock_file: Path) -> list[str]:
    """Resolve ``requirements_in`` for the Lambda platform and write exact pins with wheel hashes."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            *_PIP_INSTALL,
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            *PLATFORM_ARGS,
            "--target",
            str(Path(scratch) / "target"),
            "-r",
            str(requirements_in),
        ]
        subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell, our own interpreter
        resolved = json.loads(report.read_text())["install"]
    lines = []
    for item in sorted(resolved, key=lambda i: i["metadata"]["name"].lower()):
        archive = item["download_info"]["archive_info"]
        sha256 = archive.get("hashes", {}).get("sha256") or archive["hash"].split("=", 1)[1]
        lines.append(f"{item['metadata']['name']}=={item['metadata']['version']} --hash=sha256:{sha256}")
    header = [
        "# Exact runtime dependencies of the Lambda bundle (arm64, CPython 3.13), with wheel hashes.",
        f"# Generated from {requirements_in.name} by `python -m strongroom.infra.packaging lock`; "
        "do not edit.",
    ]
    lock_file.write_text("\n".join(header + lines) + "\n")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m strongroom.infra.packaging", description="The Lambda bundle: build, lock, find 3.13."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the bundle's zip and SBOM; print their paths and hash")
    build.add_argument("--out", type=Path, help="where to build (default build/lambda in this checkout)")
    build.add_argument("--json", action="store_true", help="print zip, sha256, sbom, assetHash as JSON")
    commands.add_parser("lock", help="re-resolve requirements/lambda.in into requirements/lambda.lock")
    # for the Makefile: one way to find Lambda's Python, this one
    commands.add_parser("lambda-python", help="print the CPython 3.13 found here (exit 1 if none)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command == "lambda-python":
        found = find_lambda_python()
        if found:
            print(found)
        return 0 if found else 1
    root = repository_root()
    if args.command == "build":
        bundle = LambdaBundle.for_repository(root)
        if args.out is not None:
            bundle = LambdaBundle(bundle.source_root, bundle.lock_file, args.out.resolve())
        built = bundle.archive()
        if args.json:
            document = {
                "zip": str(built.zip),
                "sha256": built.sha256,
                "sbom": str(built.sbom),
                "assetHash": built.asset_hash,
                "bytecode": bundle.compiler is not None,
            }
            print(json.dumps(document, indent=1))
        else:
            print(f"zip: {built.zip}\nsha256: {built.sha256}\nsbom: {built.sbom}")
        return 0
    pins = write_lock(root / "requirements" / "lambda.in", root / "requirements" / "lambda.lock")
    print(f"wrote {len(pins)} pins to requirements/lambda.lock")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
