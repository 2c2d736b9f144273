""".strongroom/local.json holds the local secret key: it is the owner's alone from the moment it exists."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from strongroom.local.up import StateFile

DOCUMENT = {"credentials": {"accessKeyId": "AKIALOCAL", "secretAccessKey": "the-local-secret"}}


@contextmanager
def _state_file(directory: Path, document: dict[str, object]) -> Iterator[Path]:
    """As `strongroom up` does: written at start, rewritten on changes, removed at stop."""
    state = StateFile(directory, document)
    state.write()
    try:
        yield state.path
    finally:
        state.remove()


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)  # a umask that would let any new file be world-readable and writable
    yield
    os.umask(previous)


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Record chmod calls without applying them: a mode fixed after writing comes too late, since the
    secret was already on disk, readable, in between."""
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: calls.append(args))
    return calls


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_the_state_file_is_created_owner_only_whatever_the_umask(
    tmp_path: Path, no_chmod: list[object]
) -> None:
    with _state_file(tmp_path, DOCUMENT) as path:
        assert mode(path) == 0o600
        assert json.loads(path.read_text()) == DOCUMENT
        assert not path.with_suffix(".tmp").exists()
    assert not path.exists()  # removed when the platform stops


@pytest.mark.usefixtures("permissive_umask", "no_chmod")
def test_a_leftover_temporary_file_someone_holds_open_never_receives_the_secret(tmp_path: Path) -> None:
    # GIVEN a world-readable temporary file left by a crashed run, which another process holds open
    leftover = tmp_path / "local.tmp"
    leftover.write_text("stale")
    leftover.chmod(0o644)
    with leftover.open() as reader, _state_file(tmp_path, DOCUMENT) as path:
        # THEN the new file is the owner's alone, and the old handle never sees the secret
        assert mode(path) == 0o600
        reader.seek(0)
        assert reader.read() == "stale"


@pytest.mark.usefixtures("permissive_umask", "no_chmod")
def test_a_rewrite_on_a_health_change_stays_owner_only_and_whole(tmp_path: Path) -> None:
    state = StateFile(tmp_path, {**DOCUMENT, "regions": {"eu-west-1": {"health": {"healthy": True}}}})
    state.write()
    state.document["regions"]["eu-west-1"]["health"]["healthy"] = False
    state.write()
    assert mode(state.path) == 0o600
    assert json.loads(state.path.read_text())["regions"]["eu-west-1"]["health"]["healthy"] is False
    state.remove()
    assert not state.path.exists()
