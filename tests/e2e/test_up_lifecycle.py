"""`strongroom up` as a user meets it: a busy port, a clean stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from strongroom.local.process import free_port_run
from tests.e2e.conftest import start_platform


def test_a_busy_port_fails_with_a_clear_message(tmp_path: Path) -> None:
    port = free_port_run()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = subprocess.run(
            [sys.executable, "-m", "strongroom", "up", "--port", str(port), "--state-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "local.json").exists()


def test_an_unknown_region_names_the_configured_ones(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "strongroom", "up", "--region", "us-east-1", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "us-east-1" in result.stderr
    assert "eu-west-1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_everything_and_removes_the_state_file(tmp_path: Path, stop_signal: int) -> None:
    platform = start_platform(tmp_path, "--port", str(free_port_run()), "--region", "eu-west-1")
    url, emulator = platform.state["regions"]["eu-west-1"]["url"], platform.state["emulator"]
    with urllib.request.urlopen(f"{url}/health", timeout=10) as reply:  # noqa: S310 - loopback
        assert reply.status == 200

    assert platform.stop(stop_signal) == 0

    assert not platform.state_file.exists()
    for address in (url, emulator):
        host, port = address.removeprefix("http://").split(":")
        with socket.socket() as probe:
            assert probe.connect_ex((host, int(port))) != 0, f"{address} still accepts connections"
    assert "stopped." in platform.log.read_text()
