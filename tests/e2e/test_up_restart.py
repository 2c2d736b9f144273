"""`strongroom up` comes back on the same ports at once after serving traffic (a Region's restart)."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path

from strongroom.local.process import free_port_run
from tests.e2e.conftest import Platform, start_platform, txn_body


def serve_some_traffic(platform: Platform) -> None:
    """Requests the gateway closes itself (Connection: close), so its side of each sits in TIME_WAIT."""
    url = platform.state["regions"]["eu-west-1"]["url"]
    for _ in range(3):
        with urllib.request.urlopen(f"{url}/health", timeout=10) as reply:  # noqa: S310 - loopback
            assert reply.status == 200
    reply = platform.client().request(
        "POST",
        "/transactions",
        txn_body(),
        headers={"Idempotency-Key": f"restart-{uuid.uuid4()}", "Connection": "close"},
    )
    assert reply.status == 201, reply.body


def test_the_platform_restarts_on_the_same_port_right_after_serving(tmp_path: Path) -> None:
    port = str(free_port_run(1))
    first = start_platform(tmp_path / "first", "--port", port, "--region", "eu-west-1")
    try:
        serve_some_traffic(first)
    finally:
        assert first.stop() == 0

    # WHEN it is started again at once on the same port THEN it starts and serves
    second = start_platform(tmp_path / "second", "--port", port, "--region", "eu-west-1")
    try:
        assert second.state["regions"]["eu-west-1"]["url"] == first.state["regions"]["eu-west-1"]["url"]
        serve_some_traffic(second)
    finally:
        assert second.stop() == 0
