"""`strongroom bench`: works from an installed package, imports the benchmarks only when asked, and says
what to install when the local extra is missing. The benchmarks themselves are run, not tested: no
timing is asserted anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import strongroom
from strongroom import cli
from strongroom.bench import api as bench

PACKAGE = Path(strongroom.__file__).resolve().parent


def install_like_a_wheel(site: Path) -> None:
    """What a wheel of this project holds: the package's modules and its package data (py.typed), nothing
    from the checkout around it."""
    for source in [*PACKAGE.rglob("*.py"), PACKAGE / "py.typed"]:
        if "__pycache__" in source.parts:
            continue
        target = site / "strongroom" / source.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def test_bench_resolves_from_an_installed_package_outside_the_checkout(tmp_path: Path) -> None:
    # GIVEN the package installed apart from any checkout (the venv's editable install points at the
    # checkout, so it cannot show this), run from a directory that is not the checkout
    site = tmp_path / "site"
    install_like_a_wheel(site)
    environment = {**os.environ, "PYTHONPATH": str(site)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, *args]
        return subprocess.run(
            command, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
        )

    assert run("-c", "import strongroom; print(strongroom.__file__)").stdout.startswith(str(site))

    # WHEN the bench command is asked for its help
    done = run("-m", "strongroom", "bench", "api", "--help")

    # THEN the benchmark module answers, from the installed package
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: strongroom bench api")


def test_bench_without_the_local_extra_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # as if the local extra were not installed

    assert cli.main(["bench", "api", "--help"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.strip() == (
        "strongroom bench: error: bench needs the local extra (moto is missing): "
        "pip install 'strongroom[local]'"
    )


def test_the_cli_imports_neither_the_benchmarks_nor_local_mode() -> None:
    heavy = ("strongroom.bench", "strongroom.local", "moto")
    script = f"import sys, strongroom.cli; print(sorted(m for m in sys.modules if m.startswith({heavy})))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the 3.13 cold start's set-up (what runs, not how fast) -------------------------------------


def test_the_lock_is_read_as_exact_versions_without_the_arm64_hashes(tmp_path: Path) -> None:
    lock = tmp_path / "lambda.lock"
    lock.write_text(
        "# header\n"
        "boto3==1.44.5 --hash=sha256:aaaa\n"
        "\n"
        "pydantic_core==2.50.4 --hash=sha256:bbbb --hash=sha256:cccc\n"
    )
    assert bench.locked_pins(lock) == ["boto3==1.44.5", "pydantic_core==2.50.4"]


def test_the_3_13_cold_start_is_skipped_with_the_reason_when_there_is_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = tmp_path / "python3.13"
    python.write_text("#!/bin/sh\necho CPython True\n")
    python.chmod(0o755)
    monkeypatch.setenv("STRONGROOM_LAMBDA_PYTHON", str(python))
    bench.packaging.find_lambda_python.cache_clear()
    try:
        skipped = bench.lambda_runtime(None, tmp_path / "cache")
    finally:
        bench.packaging.find_lambda_python.cache_clear()

    assert skipped == "skipped: no lock file (not in a checkout); pass --lock requirements/lambda.lock"
    assert not (tmp_path / "cache").exists()


def test_the_3_13_children_import_only_from_the_site_and_write_no_bytecode(tmp_path: Path) -> None:
    target = bench.ColdStartTarget("http://127.0.0.1:1", "table", "key", "canary", "secret")
    runtime = bench.Runtime(
        "3.13",
        tmp_path / "python3.13",
        tmp_path,
        {"PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
    )

    environment = bench.child_environment(target, runtime)

    assert environment["LAMBDA_TASK_ROOT"] == environment["PYTHONPATH"] == str(tmp_path)
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    host = bench.child_environment(target, bench.host_runtime())
    assert not [name for name in host if name.startswith("PYTHON")]
