"""The local API Gateway over real HTTP on loopback, in front of a fake function: malformed requests,
repeated headers, identities, and a function that hangs or crashes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.local import emulator
from strongroom.local.client import HttpReply, SignedClient
from strongroom.local.functions import FunctionPool
from strongroom.local.gateway import CALLER_ARN, Gateway, Principals, is_public
from strongroom.local.sigv4 import Credentials
from strongroom.runtime import problems
from strongroom.runtime.routes import SECURITY_HEADERS
from tests.functional.fake_functions import HANDLER

REGION = "eu-west-1"
STATIC = Credentials("AKIAGATEWAYTEST00001", "gateway-test-secret-key-000000000000001")
SESSION = Credentials("ASIAGATEWAYTEST00001", "gateway-test-session-secret-00000000001", "token-of-session-1")
ROLE_SESSION_ARN = "arn:aws:sts::000000000000:assumed-role/strongroom-local-caller/session-1"
ROLE_SESSION_ID = "AROAGATEWAYTESTROLE01:session-1"
FUNCTION_TIMEOUT = 2.0


@dataclass
class FakeStsIssued:
    """What the emulator's credentials route would answer: only SESSION's key, until it expires."""

    expiration: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(hours=1))
    lookups: list[str] = field(default_factory=list)

    def __call__(self, endpoint: str, access_key_id: str) -> emulator.IssuedCredentials | None:
        self.lookups.append(access_key_id)
        if access_key_id != SESSION.access_key_id:
            return None
        return emulator.IssuedCredentials(
            access_key_id=SESSION.access_key_id,
            secret_access_key=SESSION.secret_access_key,
            session_token=str(SESSION.session_token),
            expiration=self.expiration,
            assumed_role_arn=ROLE_SESSION_ARN,
            assumed_role_id=ROLE_SESSION_ID,
            account_id="000000000000",
        )


@dataclass
class Running:
    gateway: Gateway
    sts: FakeStsIssued

    @property
    def port(self) -> int:
        return int(self.gateway.server_address[1])

    def client(self, credentials: Credentials | None = STATIC) -> SignedClient:
        return SignedClient(self.gateway.url, REGION, credentials, timeout=30)


@pytest.fixture(scope="module")
def pool() -> Iterator[FunctionPool]:
    pool = FunctionPool(
        "fake", {"AWS_REGION": REGION}, concurrency=2, handler=HANDLER, timeout=FUNCTION_TIMEOUT
    )
    pool.warm()
    yield pool
    pool.close()


@pytest.fixture
def running(pool: FunctionPool) -> Iterator[Running]:
    sts = FakeStsIssued()
    gateway = Gateway(
        (emulator.LOOPBACK, 0),
        region=REGION,
        function=pool,
        principals=Principals(STATIC, "http://emulator.invalid", lookup=sts),
    )
    gateway.serve_in_background()
    yield Running(gateway, sts)
    gateway.shutdown()
    gateway.server_close()


def received(reply: HttpReply) -> dict[str, Any]:
    """The event the function received (the fake function answers with it)."""
    assert reply.status == 200, reply.body
    event: dict[str, Any] = reply.json()["event"]
    return event


def assert_problem(reply: HttpReply, type_: problems.ProblemType) -> str:
    assert reply.status == type_.status, reply.body
    assert reply.headers["Content-Type"] == problems.PROBLEM_CONTENT_TYPE
    body = reply.json()
    assert body["type"] == type_.uri
    assert body["status"] == type_.status
    return str(body["detail"])


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes; read until the gateway closes the connection."""
    with socket.create_connection((emulator.LOOPBACK, port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- malformed HTTP --------------------------------------------------------------------------------


# HTTP headers arrive as ISO-8859-1: bytes B2, B3 and B9 are "²", "³" and "¹", which str.isdigit() accepts.
@pytest.mark.parametrize("length", [b"\xb2", b"1\xb3", b"\xb9\xb2", b"12abc", b"-1", b"1, 2"])
def test_a_content_length_that_is_not_ascii_digits_is_a_400_problem(running: Running, length: bytes) -> None:
    request = b"POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n" + b"{}" * 6
    reply = raw_exchange(running.port, request)

    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    assert b"Connection: close" in rest
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["type"] == problems.MALFORMED_REQUEST.uri


def test_repeated_content_lengths_that_disagree_are_a_400_problem(running: Running) -> None:
    request = b"POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}{}"
    assert raw_exchange(running.port, request).startswith(b"HTTP/1.1 400 ")


def test_a_chunked_body_is_refused_with_411_and_never_read_as_the_next_request(running: Running) -> None:
    # GIVEN a chunked body whose bytes would parse as a second, unauthenticated request
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    request = (
        b"POST /transactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(smuggled):x}\r\n".encode()
        + smuggled
        + b"\r\n0\r\n\r\n"
    )
    reply = raw_exchange(running.port, request)

    # THEN one answer, 411 length-required, and the connection closed
    assert reply.count(b"HTTP/1.1 ") == 1, reply
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411 ")
    assert b"Connection: close" in head
    assert json.loads(body)["type"] == problems.LENGTH_REQUIRED.uri


def test_a_body_over_the_payload_limit_is_a_413_problem(running: Running) -> None:
    reply = raw_exchange(
        running.port, b"POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 413 ")


# --- signatures and identities ---------------------------------------------------------------------


def test_static_credentials_are_the_local_iam_user(running: Running) -> None:
    identity = received(running.client().request("GET", "/echo"))["requestContext"]["identity"]

    assert identity["userArn"] == CALLER_ARN
    assert identity["accountId"] == "000000000000"
    assert identity["accessKey"] == STATIC.access_key_id
    assert identity["caller"] == identity["user"]
    assert identity["caller"].startswith("AIDA")
    assert running.sts.lookups == []  # the static key never needs the emulator


def test_temporary_credentials_are_an_assumed_role_session(running: Running) -> None:
    event = received(running.client(SESSION).request("GET", "/echo"))
    identity = event["requestContext"]["identity"]

    assert identity["userArn"] == ROLE_SESSION_ARN
    assert identity["caller"] == identity["user"] == ROLE_SESSION_ID
    assert identity["accessKey"] == SESSION.access_key_id
    assert identity["accountId"] == "000000000000"
    # credentials stay in the gateway: neither the signature nor the session token reaches the function
    assert {name.lower() for name in event["headers"]}.isdisjoint({"authorization", "x-amz-security-token"})


def test_temporary_credentials_are_looked_up_once_per_key(running: Running) -> None:
    for _ in range(3):
        received(running.client(SESSION).request("GET", "/echo"))
    assert running.sts.lookups == [SESSION.access_key_id]


def test_expired_temporary_credentials_are_refused(running: Running) -> None:
    running.sts.expiration = datetime.now(UTC) - timedelta(seconds=1)
    detail = assert_problem(running.client(SESSION).request("GET", "/echo"), problems.FORBIDDEN)
    assert "expired" in detail


def test_a_temporary_key_the_emulator_did_not_issue_is_refused(running: Running) -> None:
    unknown = Credentials("ASIAUNKNOWNKEY000001", SESSION.secret_access_key, SESSION.session_token)
    detail = assert_problem(running.client(unknown).request("GET", "/echo"), problems.FORBIDDEN)
    assert "not issued by the local STS" in detail


def test_a_temporary_key_with_another_session_token_is_refused(running: Running) -> None:
    forged = Credentials(SESSION.access_key_id, SESSION.secret_access_key, "token-of-another-session")
    assert_problem(running.client(forged).request("GET", "/echo"), problems.FORBIDDEN)


def test_an_unsigned_request_is_refused_but_health_is_open(running: Running) -> None:
    assert_problem(running.client(None).request("GET", "/echo"), problems.FORBIDDEN)
    assert (
        received(running.client(None).request("GET", "/health"))["requestContext"]["identity"]["userArn"]
        is None
    )


def test_an_empty_scope_date_without_a_date_header_is_a_403_problem(running: Running) -> None:
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={STATIC.access_key_id}//{REGION}/execute-api/aws4_request, "
        f"SignedHeaders=host, Signature={'0' * 64}"
    )
    reply = running.client(None).request("GET", "/echo", headers={"Authorization": authorization})
    assert_problem(reply, problems.FORBIDDEN)


# --- headers ---------------------------------------------------------------------------------------


def test_a_repeated_signed_header_verifies_and_reaches_the_function_as_api_gateway_sends_it(
    running: Running,
) -> None:
    reply = running.client().request("GET", "/echo", headers=[("X-Tag", "first"), ("X-Tag", "second")])
    event = received(reply)

    assert event["headers"]["X-Tag"] == "second"
    assert event["multiValueHeaders"]["X-Tag"] == ["first", "second"]


# --- a function that misbehaves --------------------------------------------------------------------


def test_a_function_that_times_out_is_a_504_and_the_next_request_succeeds(running: Running) -> None:
    assert_problem(running.client().request("GET", "/hang"), problems.GATEWAY_TIMEOUT)
    received(running.client().request("GET", "/echo"))


def test_a_crashed_function_is_a_502_and_the_next_request_succeeds(running: Running) -> None:
    assert_problem(running.client().request("GET", "/crash"), problems.BAD_GATEWAY)
    received(running.client().request("GET", "/echo"))


def test_a_function_returning_garbage_is_a_502(running: Running) -> None:
    assert_problem(running.client().request("GET", "/garbage"), problems.BAD_GATEWAY)


# --- restarting on the same port -------------------------------------------------------------------


def test_the_port_can_be_bound_again_at_once_after_serving_traffic(pool: FunctionPool) -> None:
    # GIVEN a gateway that closed connections itself (Connection: close), leaving them in TIME_WAIT
    first = Gateway((emulator.LOOPBACK, 0), region=REGION, function=pool, principals=Principals(STATIC))
    port = int(first.server_address[1])
    first.serve_in_background()
    for _ in range(3):
        reply = raw_exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 ")
    first.shutdown()
    first.server_close()

    # WHEN a new gateway binds the same port at once THEN it can, and serves
    assert emulator.port_is_free(port)
    second = Gateway((emulator.LOOPBACK, port), region=REGION, function=pool, principals=Principals(STATIC))
    try:
        second.serve_in_background()
        assert raw_exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(
            b"HTTP/1.1 200 "
        )
    finally:
        second.shutdown()
        second.server_close()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])  # noqa: S104 - a listener on every address
def test_a_port_with_a_listener_is_never_free(host: str) -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the gateway's own socket
        listener.bind((host, 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not emulator.port_is_free(port)
        with pytest.raises(OSError, match="in use"):
            Gateway((emulator.LOOPBACK, port), region=REGION, function=None, principals=Principals(STATIC))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "public"),
    [
        ("GET", "/health", True),
        ("GET", "/health/deep", True),
        ("HEAD", "/health", False),
        ("POST", "/health", False),
        ("GET", "/healthz", False),
        ("GET", "/health/../transactions", False),
        ("GET", "/health/deep/x", False),
        ("GET", "/transactions/txn_x", False),
    ],
)
def test_only_a_public_operation_is_let_through_unsigned(method: str, path: str, public: bool) -> None:
    assert is_public(method, path) is public


def test_any_method_is_dispatched_and_refusals_carry_the_security_headers(running: Running) -> None:
    # GIVEN a method http.server has no handler for, sent unsigned
    reply = running.client(None).request("QUERY", "/transactions")
    # THEN it is refused as API Gateway refuses it, as problem+json with the API's security headers
    assert_problem(reply, problems.FORBIDDEN)
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers[name] == value
    # AND signed, it reaches the function
    assert running.client().request("QUERY", "/transactions").status == 200
