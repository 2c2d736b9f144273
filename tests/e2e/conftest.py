"""A real `strongroom up` process on loopback, shared by the e2e tests of a session."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from strongroom.local.client import SignedClient
from strongroom.local.emulator import port_is_free
from strongroom.local.sigv4 import Credentials

CREDENTIALS = Credentials("AKIAE2ETESTKEY000001", "e2e-secret-key-not-a-real-secret-000001")


def free_port_pair() -> int:
    for _ in range(200):
        port = random.randint(20000, 40000)
        if port_is_free(port) and port_is_free(port + 1):
            return port
    raise RuntimeError("no two consecutive free ports on loopback")


@dataclass
class Platform:
    process: subprocess.Popen[str]
    state_dir: Path
    state: dict[str, Any]
    log: Path

    @property
    def state_file(self) -> Path:
        return self.state_dir / "local.json"

    def client(self, region: str = "eu-west-1") -> SignedClient:
        return SignedClient(self.state["regions"][region]["url"], region, CREDENTIALS)

    def dynamodb(self, region: str = "eu-west-1") -> Any:
        return boto3.client(
            "dynamodb",
            region_name=region,
            endpoint_url=self.state["emulator"],
            aws_access_key_id="e2e",
            aws_secret_access_key="e2e",
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_platform(tmp: Path, *args: str) -> Platform:
    state_dir, log = tmp / "state", tmp / "up.log"
    environment = {
        **os.environ,
        "STRONGROOM_STATE_DIR": str(state_dir),
        "STRONGROOM_ACCESS_KEY_ID": CREDENTIALS.access_key_id,
        "STRONGROOM_SECRET_ACCESS_KEY": CREDENTIALS.secret_access_key,
    }
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "up", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
            text=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"strongroom up exited with {process.returncode}:\n{log.read_text()}")
        if (state_dir / "local.json").exists():
            return Platform(process, state_dir, json.loads((state_dir / "local.json").read_text()), log)
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"strongroom up did not become ready:\n{log.read_text()}")


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(tmp_path_factory.mktemp("up"), "--port", str(free_port_pair()))
    yield running
    running.stop()


@pytest.fixture
def api(platform: Platform) -> SignedClient:
    return platform.client()


def txn_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "amount": "12.34",
        "currency": "EUR",
        "customerId": "cust-e2e",
        "type": "debit",
        "reference": "rent",
    }
    body.update(overrides)
    return body
