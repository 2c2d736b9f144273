"""A real `strongroom up` process on loopback, shared by the e2e tests of a session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from strongroom.local.client import SignedClient
from strongroom.local.process import PlatformProcess, free_port_run, start_platform_process
from strongroom.local.sigv4 import Credentials

CREDENTIALS = Credentials("AKIAE2ETESTKEY000001", "e2e-secret-key-not-a-real-secret-000001")


@dataclass
class Platform(PlatformProcess):
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


def start_platform(tmp: Path, *args: str, environment: dict[str, str] | None = None) -> Platform:
    """`strongroom up` with the e2e credentials (so the README's environment variables work)."""
    running = start_platform_process(
        tmp,
        *args,
        environment={
            "STRONGROOM_ACCESS_KEY_ID": CREDENTIALS.access_key_id,
            "STRONGROOM_SECRET_ACCESS_KEY": CREDENTIALS.secret_access_key,
            **(environment or {}),
        },
    )
    return Platform(running.process, running.state_dir, running.state, running.log)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(tmp_path_factory.mktemp("up"), "--port", str(free_port_run()))
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
