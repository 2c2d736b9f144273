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

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
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
# Part of the hash: changing how we install is a change to what ships.
RECIPE = "pip install --no-deps --require-hashes --no-compile " + " ".join(PLATFORM_ARGS)
RUNTIME_PATTERNS = (
    "strongroom/__init__.py",
    "strongroom/constants.py",
    "strongroom/py.typed",
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
    # unchecked-hash: valid whatever the files' timestamps are after unzipping in Lambda
    command = [str(interpreter), "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*command, str(directory)], check=True)  # noqa: S603 - fixed argv, no shell


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
        """A new asset for one stack (CDK binds an asset to a single stack), built at most once."""
        # Imported here: the interpreter finder and the build serve the benchmark too, without CDK.
        from aws_cdk import AssetHashType  # noqa: PLC0415
        from aws_cdk import aws_lambda as lambda_  # noqa: PLC0415

        return lambda_.Code.from_asset(
            str(self.build()), asset_hash=self.asset_hash(), asset_hash_type=AssetHashType.CUSTOM
        )

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
            (staging / "strongroom-bundle.json").write_text(json.dumps(manifest, indent=1))
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
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["lambda-python"]:  # for the Makefile: one way to find Lambda's Python, this one
        found = find_lambda_python()
        if found:
            print(found)
        return 0 if found else 1
    if args != ["lock"]:
        print("usage: python -m strongroom.infra.packaging lock | lambda-python", file=sys.stderr)
        return 2
    root = repository_root()
    pins = write_lock(root / "requirements" / "lambda.in", root / "requirements" / "lambda.lock")
    print(f"wrote {len(pins)} pins to requirements/lambda.lock")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
