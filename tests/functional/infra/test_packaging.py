"""The Lambda bundle: what ships, and an asset hash that moves only with code or locked dependencies."""

from __future__ import annotations

import ast
import dataclasses
import json
import sys
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
    return LambdaBundle(tmp_path / "src", lock, tmp_path / "build", FakeInstaller())


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

    failing = LambdaBundle(bundle.source_root, bundle.lock_file, bundle.build_root, broken)
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


@pytest.mark.parametrize(
    ("script", "usable"),
    [
        ("exit 127", False),  # a version manager's shim with no such version behind it
        ("echo CPython False", False),  # some other Python
        ("echo CPython True", True),
    ],
)
def test_the_bytecode_compiler_is_probed_not_trusted_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, usable: bool
) -> None:
    fake = tmp_path / "python3.13"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("STRONGROOM_LAMBDA_PYTHON", str(fake))
    packaging.bytecode_compiler.cache_clear()
    try:
        assert packaging.bytecode_compiler() == (fake if usable else None)
    finally:
        packaging.bytecode_compiler.cache_clear()
