"""A Region's API dying and coming back on its own address (local/serving.py), the checker's probe
against it, and the control endpoint that drives faults (local/control.py), over loopback HTTP."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom.local import emulator
from strongroom.local.control import ControlServer, FaultController
from strongroom.local.functions import FunctionPool
from strongroom.local.gateway import Gateway, Principals
from strongroom.local.health_checker import probe
from strongroom.local.serving import RegionEndpoint
from strongroom.local.sigv4 import Credentials
from strongroom.runtime.routes import deep_health_search_string
from tests.functional.fake_functions import HANDLER

REGION = "eu-west-1"
STATIC = Credentials("AKIAOUTAGETEST000001", "outage-test-secret-key-0000000000000001")
REQUEST = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[FunctionPool]:
    pool = FunctionPool("fake", {"AWS_REGION": REGION}, concurrency=2, handler=HANDLER, timeout=5)
    pool.warm()
    yield pool
    pool.close()


@pytest.fixture
def endpoint(pool: FunctionPool) -> Iterator[RegionEndpoint]:
    port = emulator.free_port()
    made = RegionEndpoint(
        REGION,
        lambda: Gateway(
            (emulator.LOOPBACK, port), region=REGION, function=pool, principals=Principals(STATIC)
        ),
    )
    made.start()
    yield made
    made.close()


def exchange(connection: socket.socket, request: bytes = REQUEST) -> bytes:
    """Send ``request`` and read one whole answer (headers, then Content-Length bytes of body)."""
    connection.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = connection.recv(65536)
        if not chunk:
            return answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def connect(endpoint: RegionEndpoint, timeout: float = 1.0) -> socket.socket:
    assert endpoint.address is not None
    return socket.create_connection(endpoint.address, timeout=timeout)


def test_a_region_that_goes_down_leaves_callers_without_an_answer(endpoint: RegionEndpoint) -> None:
    # GIVEN a kept-alive connection that was served
    kept = connect(endpoint)
    assert exchange(kept).startswith(b"HTTP/1.1 200")
    # WHEN the Region goes down
    assert endpoint.take_down()
    assert not endpoint.serving
    # THEN a new connection is accepted by the kernel but never answered (not refused)
    fresh = connect(endpoint, timeout=0.5)
    with pytest.raises(TimeoutError):
        exchange(fresh)
    # AND the connection that was open hangs too
    with pytest.raises(TimeoutError):
        exchange(kept)
    assert probe(endpoint.url + "/health", 0.5, "any") == "timeout"
    fresh.close()
    kept.close()


def test_a_region_that_comes_back_serves_on_the_same_address(endpoint: RegionEndpoint) -> None:
    url = endpoint.url
    kept = connect(endpoint, timeout=5)
    assert exchange(kept).startswith(b"HTTP/1.1 200")
    endpoint.take_down()
    kept.sendall(REQUEST)  # sent into the dead Region
    assert endpoint.bring_up()
    assert not endpoint.bring_up()  # already serving
    # THEN the hung connection is closed rather than answered late
    try:
        late = kept.recv(65536)
    except ConnectionResetError:
        late = b""
    assert late == b""  # closed or reset, never answered late: either ends the caller's wait
    kept.close()
    assert endpoint.url == url
    with urllib.request.urlopen(url + "/health", timeout=5) as reply:  # noqa: S310 - loopback
        assert reply.status == 200


def test_the_probe_needs_the_search_string(endpoint: RegionEndpoint) -> None:
    # The fake function answers 200 with the event it received: no deep-health document in it.
    assert probe(endpoint.url + "/health", 2.0, deep_health_search_string(REGION)) == "string-not-found"
    assert probe(endpoint.url + "/health", 2.0, search='"httpMethod": "GET"') is None


class FakeDataPath:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def set_fault(self, endpoint: str, region: str, fault: str) -> None:
        self.calls.append(("set", region, fault))

    def clear_faults(self, endpoint: str, region: str | None = None) -> None:
        self.calls.append(("clear", str(region)))

    def status(self, endpoint: str) -> dict[str, Any]:
        return {"consistency": "strong"}


def call(
    server: ControlServer, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        server.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def control(endpoint: RegionEndpoint) -> Iterator[tuple[ControlServer, FakeDataPath]]:
    data_path = FakeDataPath()
    server = ControlServer(
        FaultController({REGION: endpoint}, "http://emulator.invalid", data_path=data_path)
    )
    server.serve_in_background()
    yield server, data_path
    server.shutdown()
    server.server_close()


def test_faults_need_the_token_and_name_what_is_wrong(control: tuple[ControlServer, FakeDataPath]) -> None:
    server, data_path = control
    assert call(server, "PUT", f"/faults/{REGION}", {"fault": "region-outage"})[0] == 401
    assert call(server, "PUT", f"/faults/{REGION}", {"fault": "region-outage"}, token="wrong")[0] == 401
    status, body = call(server, "PUT", f"/faults/{REGION}", {"fault": "meteor"}, token=server.token)
    assert status == 400
    assert "region-outage, data-path, isolation" in body["message"]
    status, body = call(server, "PUT", "/faults/mars-east-1", {"fault": "data-path"}, token=server.token)
    assert status == 404
    assert REGION in body["message"]
    assert data_path.calls == []


def test_an_outage_takes_the_api_and_the_data_path_down_and_clear_brings_both_back(
    control: tuple[ControlServer, FakeDataPath], endpoint: RegionEndpoint
) -> None:
    server, data_path = control
    status, body = call(server, "PUT", f"/faults/{REGION}", {"fault": "region-outage"}, token=server.token)
    assert status == 200
    assert body["fault"] == "region-outage"
    assert body["serving"] is False
    assert data_path.calls == [("set", REGION, "outage")]
    assert call(server, "GET", "/status")[1]["regions"][REGION]["serving"] is False  # no token needed
    status, body = call(server, "DELETE", "/faults", token=server.token)
    assert status == 200
    assert body["regions"][REGION] == {"url": endpoint.url, "serving": True, "fault": None}
    assert data_path.calls[-1] == ("clear", REGION)
    assert probe(endpoint.url + "/health", 2.0, search="httpMethod") is None


def test_a_data_path_fault_leaves_the_api_up(
    control: tuple[ControlServer, FakeDataPath], endpoint: RegionEndpoint
) -> None:
    server, data_path = control
    status, body = call(server, "PUT", f"/faults/{REGION}", {"fault": "data-path"}, token=server.token)
    assert status == 200
    assert body["serving"] is True
    assert data_path.calls == [("set", REGION, "data-path")]
