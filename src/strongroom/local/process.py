"""Run `strongroom up` as a separate process and wait until it is serving (tests, benchmarks)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom import constants as env
from strongroom.local.client import STATE_FILE
from strongroom.local.emulator import port_is_free


def free_port_run(count: int = 2) -> int:
    """The first of ``count`` consecutive free loopback ports (one per Region)."""
    for _ in range(200):
        port = random.randint(20000, 40000)  # noqa: S311 - choosing a port, not a secret
        if all(port_is_free(port + i) for i in range(count)):
            return port
    raise RuntimeError(f"no {count} consecutive free ports on loopback")


@dataclass
class PlatformProcess:
    process: subprocess.Popen[bytes]
    state_dir: Path
    state: dict[str, Any]
    log: Path

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_platform_process(
    workdir: Path, *args: str, environment: dict[str, str] | None = None, timeout: float = 90
) -> PlatformProcess:
    """Start `strongroom up ARGS` with its state and log under ``workdir``; return once it serves."""
    state_dir, log = workdir / "state", workdir / "up.log"
    workdir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "strongroom", "up", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(environment or {}), env.ENV_LOCAL_STATE_DIR: str(state_dir)},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"strongroom up exited with {process.returncode}:\n{log.read_text()}")
        if (state_dir / STATE_FILE).exists():
            return PlatformProcess(process, state_dir, json.loads((state_dir / STATE_FILE).read_text()), log)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"strongroom up did not start within {timeout:.0f}s:\n{log.read_text()}")
