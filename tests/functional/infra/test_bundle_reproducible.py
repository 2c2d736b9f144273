"""The Lambda bundle is built once, with Python 3.13 bytecode, byte-for-byte reproducible from
requirements/lambda.lock, and ships with a CycloneDX SBOM beside it (docs/adr/0041).

The two real builds install the locked arm64 wheels with pip (from its cache after the first run) and
compile with the CPython 3.13 `make test` provides; without one this fails, saying how to get one:
a bundle without Lambda's bytecode is not the bundle that ships.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import pytest

from strongroom.infra import packaging
from strongroom.infra.packaging import BundleArchive, LambdaBundle, read_lock, repository_root


def _lambda_python() -> Path:
    found = packaging.find_lambda_python()
    if found is None:
        pytest.fail(
            "no CPython 3.13 to compile the bundle's bytecode with: install one (pyenv install 3.13, "
            "uv python install 3.13) or set STRONGROOM_LAMBDA_PYTHON; `make test` runs where one exists"
        )
    return found


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[BundleArchive, BundleArchive]:
    """The repository's bundle built twice from scratch, in two fresh build directories."""
    compiler = _lambda_python()
    repo = LambdaBundle.for_repository()
    builds = []
    for name in ("first", "second"):
        bundle = dataclasses.replace(repo, build_root=tmp_path_factory.mktemp(name), compiler=compiler)
        builds.append(bundle.archive())
    return builds[0], builds[1]


def test_two_fresh_builds_are_byte_for_byte_identical(
    two_builds: tuple[BundleArchive, BundleArchive],
) -> None:
    first, second = two_builds
    assert first.zip != second.zip  # two directories, two builds
    assert first.sha256 == second.sha256 == packaging.sha256_file(second.zip)
    assert first.asset_hash == second.asset_hash == LambdaBundle.for_repository().asset_hash()
    assert first.sbom.read_bytes() == second.sbom.read_bytes()


def test_the_zip_has_sorted_entries_fixed_times_and_modes_and_no_per_install_files(
    two_builds: tuple[BundleArchive, BundleArchive],
) -> None:
    with zipfile.ZipFile(two_builds[0].zip) as zipped:
        infos = zipped.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {packaging.ZIP_EPOCH}
    for info in infos:
        mode = info.external_attr >> 16
        assert mode == (0o040755 if info.is_dir() else 0o100644), info.filename
        assert not info.filename.startswith("/")
        assert ".." not in info.filename.split("/")
    assert not [n for n in names if n.startswith("bin/")]
    dropped = [n for n in names if ".dist-info/" in n and n.rsplit("/", 1)[-1] in packaging.PER_INSTALL_FILES]
    assert dropped == []
    assert "boto3-1.44.5.dist-info/METADATA" in names or any(n.endswith(".dist-info/METADATA") for n in names)


def test_the_bytecode_is_lambdas_hash_based_and_names_no_build_path(
    two_builds: tuple[BundleArchive, BundleArchive],
) -> None:
    build_dir = str(two_builds[0].zip.parent).encode()
    with zipfile.ZipFile(two_builds[0].zip) as zipped:
        compiled = [n for n in zipped.namelist() if n.endswith(".pyc")]
        assert "strongroom/runtime/__pycache__/api.cpython-313.pyc" in compiled
        assert all(".cpython-313." in n for n in compiled)
        for name in ("strongroom/runtime/__pycache__/api.cpython-313.pyc", compiled[0]):
            data = zipped.read(name)
            assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552: unchecked hash, no mtime
            assert build_dir not in data
            assert b"/var/task/" in data
        manifest = json.loads(zipped.read(packaging.BUNDLE_MANIFEST))
    assert manifest["bytecode"] is True
    assert manifest["hash"] == two_builds[0].asset_hash


def test_the_sbom_validates_and_lists_exactly_the_locked_packages(
    two_builds: tuple[BundleArchive, BundleArchive],
) -> None:
    from cyclonedx.schema import SchemaVersion  # noqa: PLC0415
    from cyclonedx.validation.json import JsonStrictValidator  # noqa: PLC0415

    text = two_builds[0].sbom.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    assert document["bomFormat"] == "CycloneDX"
    assert document["specVersion"] == "1.6"
    root = document["metadata"]["component"]
    assert (root["name"], root["version"]) == (
        "strongroom",
        packaging.project_version(repository_root() / "src"),
    )
    assert root["hashes"] == [{"alg": "SHA-256", "content": two_builds[0].sha256}]
    locked = read_lock(repository_root() / "requirements" / "lambda.lock")
    listed = {(c["name"], c["version"], c["purl"], c["hashes"][0]["content"]) for c in document["components"]}
    assert listed == {(p.name, p.version, f"pkg:pypi/{p.name}@{p.version}", p.sha256) for p in locked}
    assert len(document["components"]) == len(locked)
    (depends,) = [d for d in document["dependencies"] if d["ref"] == root["bom-ref"]]
    assert len(depends["dependsOn"]) == len(locked)


def test_the_build_command_prints_the_zip_its_hash_and_the_sbom(
    two_builds: tuple[BundleArchive, BundleArchive], capsys: pytest.CaptureFixture[str]
) -> None:
    # The first build's directory: the bundle is already there, so this only reads it
    out = two_builds[0].zip.parent
    assert packaging.main(["build", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"zip: {two_builds[0].zip}",
        f"sha256: {two_builds[0].sha256}",
        f"sbom: {two_builds[0].sbom}",
    ]
    assert packaging.main(["build", "--out", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["sha256"] == two_builds[0].sha256
    assert document["assetHash"] == two_builds[0].asset_hash


def test_a_lock_line_that_is_not_an_exact_hashed_pin_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "lambda.lock"
    lock.write_text("# header\nboto3>=1.0\n")
    with pytest.raises(ValueError, match=r"lambda.lock:2: not an exact pin"):
        read_lock(lock)
