"""The Lambda bundle: what ships, and an asset hash that moves only with code or locked dependencies."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.infra import packaging
from strongroom.infra.packaging import LambdaBundle, repository_root

RUNTIME_FILES = {
    "strongroom/__init__.py": "VERSION = 1\n",
    "strongroom/constants.py": "X = 1\n",
    "strongroom/py.typed": "",
    "strongroom/runtime/__init__.py": "",
    "strongroom/runtime/api.py": "def handler(event, context):\n    return {}\n",
    "strongroom/runtime/adapters/schema.py": "TABLE = 'x'\n",
}
NOT_SHIPPED = {
    "strongroom/infra/app.py": "import aws_cdk\n",
    "strongroom/local/emulator.py": "import moto\n",
    "strongroom/prr/pack.py": "",
    "strongroom/cli.py": "",
    "strongroom/runtime/__pycache__/api.cpython-311.pyc": "bytecode",
}


class FakeInstaller:
    """Stands in for pip: records calls and drops a marker where the wheels would go."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, lock_file: Path, target: Path) -> None:
        self.calls += 1
        (target / "dependency").mkdir(parents=True)
        (target / "dependency" / "__init__.py").write_text(lock_file.read_text())


@pytest.fixture
def bundle(tmp_path: Path) -> LambdaBundle:
    for name, text in {**RUNTIME_FILES, **NOT_SHIPPED}.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    lock = tmp_path / "lambda.lock"
    lock.write_text("boto3==1.0 --hash=sha256:aaaa\n")
    # No compiler unless a test gives one: whether this machine has a CPython 3.13 must not matter here.
    return LambdaBundle(tmp_path / "src", lock, tmp_path / "build", FakeInstaller(), compiler=None)


def test_only_the_runtime_ships(bundle: LambdaBundle) -> None:
    assert bundle.files() == sorted(RUNTIME_FILES)


def test_hash_is_stable_across_two_builds_and_the_second_reuses_the_first(bundle: LambdaBundle) -> None:
    first = bundle.build()
    second = bundle.build()

    assert first == second == bundle.build_root / bundle.asset_hash()
    assert isinstance(bundle.install, FakeInstaller)
    assert bundle.install.calls == 1
    shipped = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert shipped == sorted([*RUNTIME_FILES, "dependency/__init__.py", "strongroom-bundle.json"])


def test_hash_changes_when_a_runtime_source_file_changes(bundle: LambdaBundle) -> None:
    before = bundle.asset_hash()
    (bundle.source_root / "strongroom/runtime/api.py").write_text(
        "def handler(event, context):\n    return 1\n"
    )
    assert bundle.asset_hash() != before


def test_hash_changes_when_a_runtime_file_is_added(bundle: LambdaBundle) -> None:
    before = bundle.asset_hash()
    (bundle.source_root / "strongroom/runtime/publisher.py").write_text("")
    assert bundle.asset_hash() != before


def test_hash_changes_when_the_lock_changes(bundle: LambdaBundle) -> None:
    before = bundle.asset_hash()
    bundle.lock_file.write_text("boto3==1.1 --hash=sha256:bbbb\n")
    assert bundle.asset_hash() != before


def test_hash_ignores_code_that_does_not_ship(bundle: LambdaBundle) -> None:
    before = bundle.asset_hash()
    (bundle.source_root / "strongroom/infra/app.py").write_text("import aws_cdk  # changed\n")
    (bundle.source_root / "strongroom/runtime/__pycache__/api.cpython-311.pyc").write_text("other")
    assert bundle.asset_hash() == before


def test_a_failed_install_leaves_no_build_behind(bundle: LambdaBundle, tmp_path: Path) -> None:
    def broken(lock_file: Path, target: Path) -> None:
        raise OSError("no network")

    failing = dataclasses.replace(bundle, install=broken)
    with pytest.raises(OSError, match="no network"):
        failing.build()
    assert not (bundle.build_root / bundle.asset_hash()).exists()
    assert list(bundle.build_root.iterdir()) == []


def test_the_repository_bundle_is_the_runtime_and_the_runtime_imports_nothing_else() -> None:
    repo = LambdaBundle.for_repository()
    files = repo.files()
    assert "strongroom/runtime/api.py" in files
    assert "strongroom/constants.py" in files
    assert all(f.startswith("strongroom/runtime/") or f.count("/") == 1 for f in files)
    forbidden = (
        "strongroom.infra",
        "strongroom.prr",
        "strongroom.local",
        "strongroom.cli",
        "strongroom.config",
    )
    for name in files:
        if not name.endswith(".py"):
            continue
        tree = ast.parse((repo.source_root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(forbidden), f"{name} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(forbidden), f"{name} imports {alias.name}"


def test_the_lock_pins_exact_versions_with_hashes() -> None:
    lock = repository_root() / "requirements" / "lambda.lock"
    pins = [line for line in lock.read_text().splitlines() if line and not line.startswith("#")]
    assert pins
    for pin in pins:
        requirement, _, digest = pin.partition(" --hash=sha256:")
        assert "==" in requirement
        assert len(digest) == 64
    names = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    assert {"boto3", "aws-lambda-powertools", "pydantic", "aws-xray-sdk"} <= names


def test_bytecode_is_compiled_when_a_compiler_is_given_and_changes_the_hash(bundle: LambdaBundle) -> None:
    # GIVEN the same sources, with and without an interpreter to compile bytecode with (this
    # machine's Python stands in for Lambda's python3.13: the mechanism is what is under test)
    def install(lock_file: Path, target: Path) -> None:
        (target / "dependency").mkdir(parents=True)
        (target / "dependency" / "__init__.py").write_text("PINS = 1\n")

    compiled = dataclasses.replace(bundle, compiler=Path(sys.executable), install=install)
    plain = dataclasses.replace(bundle, compiler=None, install=install)

    # THEN what ships differs, and so does the asset hash
    assert compiled.asset_hash() != plain.asset_hash()
    built = compiled.build()
    assert list(built.rglob("*.pyc"))
    assert json.loads((built / "strongroom-bundle.json").read_text())["bytecode"] is True
    assert not list(plain.build().rglob("*.pyc"))


def test_the_recipe_is_part_of_the_hash(bundle: LambdaBundle) -> None:
    # The benchmark builds its x86_64 site with another installer; its builds must not pass for the bundle's.
    assert dataclasses.replace(bundle, recipe="another installer").asset_hash() != bundle.asset_hash()


def test_the_bundle_bytecode_is_valid_whatever_the_timestamps(tmp_path: Path) -> None:
    # GIVEN a module compiled as the bundle is compiled
    (tmp_path / "module.py").write_text("X = 1\n")
    packaging.compile_bytecode(Path(sys.executable), tmp_path)

    # THEN its .pyc is hash-based and unchecked (PEP 552 flags 0b01): Lambda never compares it with the
    # source, so unzipping with new timestamps costs no recompilation (which a read-only dir would repeat)
    (pyc,) = (tmp_path / "__pycache__").glob("module.*.pyc")
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01


def test_packaging_imports_without_cdk() -> None:
    # The benchmark (which needs no infra extras) finds Lambda's Python and builds its site through it.
    script = "import sys; sys.modules['aws_cdk'] = None; import strongroom.infra.packaging"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- finding Lambda's CPython 3.13 ----------------------------------------------------------------


@pytest.fixture
def finder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A fresh search over a PATH that holds only what the test puts in the returned directory."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    monkeypatch.delenv("STRONGROOM_LAMBDA_PYTHON", raising=False)
    packaging.find_lambda_python.cache_clear()
    yield path
    packaging.find_lambda_python.cache_clear()


def executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


WORKING = "echo CPython True"


@pytest.mark.parametrize(
    ("script", "usable"),
    [
        ("exit 127", False),  # a version manager's shim with no such version behind it
        ("echo CPython False", False),  # some other Python
        (WORKING, True),
    ],
)
def test_the_bytecode_compiler_is_probed_not_trusted_by_name(
    finder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    script: str,
    usable: bool,
) -> None:
    fake = executable(finder.parent / "explicit" / "python3.13", script)
    executable(finder / "python3.13", WORKING)  # explicit wins: no silent fallback to another one
    monkeypatch.setenv("STRONGROOM_LAMBDA_PYTHON", str(fake))

    assert packaging.bytecode_compiler() == (fake if usable else None)
    assert ("STRONGROOM_LAMBDA_PYTHON" in capsys.readouterr().err) is not usable


def test_pyenv_versions_are_searched_newest_first_behind_a_broken_shim(finder: Path, tmp_path: Path) -> None:
    # GIVEN this machine's layout: python3.13 on PATH is pyenv's shim, which fails without a selected version
    executable(finder / "python3.13", "exit 127")
    root = tmp_path / "pyenv"
    executable(finder / "pyenv", f'[ "$1" = root ] && echo {root}')
    executable(root / "versions/3.13.2/bin/python3.13", WORKING)
    newest_working = executable(root / "versions/3.13.10/bin/python3.13", WORKING)
    executable(root / "versions/3.13.11/bin/python3.13", "exit 1")  # a broken build is skipped
    executable(root / "versions/3.12.9/bin/python3.12", WORKING)

    assert packaging.find_lambda_python() == newest_working


def test_uv_is_asked_when_neither_path_nor_pyenv_has_one(finder: Path, tmp_path: Path) -> None:
    found = executable(tmp_path / "uv-python/bin/python3.13", WORKING)
    executable(finder / "uv", f'[ "$*" = "python find 3.13" ] && echo {found}')

    assert packaging.find_lambda_python() == found


def test_without_a_3_13_a_note_says_so_and_what_to_do(
    finder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert packaging.find_lambda_python() is None
    note = capsys.readouterr().err
    assert "no CPython 3.13 found" in note
    assert "set STRONGROOM_LAMBDA_PYTHON" in note
    assert len(note.strip().splitlines()) == 1


def test_the_makefile_asks_the_same_finder(finder: Path, tmp_path: Path) -> None:
    # `make test` runs the runtime tests under the interpreter this prints (exit 1: skip, with a note)
    found = executable(tmp_path / "python3.13", WORKING)
    for environment, code, out in (({}, 1, ""), ({"STRONGROOM_LAMBDA_PYTHON": str(found)}, 0, f"{found}\n")):
        command = [sys.executable, "-m", "strongroom.infra.packaging", "lambda-python"]
        env = {"PATH": str(finder), **environment}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert (done.returncode, done.stdout) == (code, out), done.stderr
