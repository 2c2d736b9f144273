"""StrongroomClient over real HTTP against two fake Regions on loopback.

Each fake Region is a threading http.server that checks the SigV4 signature for its own Region (with
the local gateway's verifier) and answers from a script: 201, 503, 429, 422, no answer at all, or a
closed connection. The client's clock and sleep are fake, so backoff and cool-downs take no real
time; only the read-timeout case waits, for its short real socket timeout.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.credentials import Credentials as BotocoreCredentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strongroom.client import (
    AllRegionsUnavailable,
    ApiProblem,
    BackoffSettings,
    BreakerSettings,
    BreakerState,
    CreateResult,
    Outcome,
    StrongroomClient,
)
from strongroom.local.sigv4 import Credentials, SignatureError, verify

WEST, CENTRAL = "eu-west-1", "eu-central-1"
KEY = Credentials("AKIAFUNCCLIENT000001", "functional-client-secret-00000000000001")
READ_TIMEOUT = 0.3  # real seconds: only the "no answer" cases wait for it


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


HANG = "hang"  # read the request, never answer (until the test ends)
CLOSE = "close"  # read the request, close the connection without a word
Action = Reply | str


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


class FakeRegion(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, region: str) -> None:
        super().__init__(("127.0.0.1", 0), _FakeRegionHandler)
        self.region = region
        self.script: list[Action] = []
        self.default: Action = Reply(201)
        self.received: list[Received] = []
        self.released = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_action(self) -> Action:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def keys(self) -> list[str]:
        return [r.headers["idempotency-key"] for r in self.received]


def created_body(request: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        "id": "txn_" + key.upper().replace("-", "")[:26].ljust(26, "A"),
        **request,
        "status": "accepted",
        "createdAt": "2026-11-23T12:00:00.000Z",
        "updatedAt": "2026-11-23T12:00:00.000Z",
    }


class _FakeRegionHandler(BaseHTTPRequestHandler):
    server: FakeRegion
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            verify(
                method=self.command,
                raw_path=self.path,
                headers=list(self.headers.items()),
                body=body,
                credentials=KEY,
                region=self.server.region,
            )
        except SignatureError as exc:
            self._answer(403, {"type": "urn:strongroom:problem:forbidden", "status": 403, "detail": str(exc)})
            return
        self.server.received.append(Received(self.command, self.path, headers, body, self.client_address[1]))
        action = self.server.next_action()
        if action == HANG:
            self.server.released.wait(10)
            self.close_connection = True
            return
        if action == CLOSE:
            self.close_connection = True
            return
        assert isinstance(action, Reply)
        if action.body is None and action.status == 201:
            self._answer(201, created_body(json.loads(body), headers["idempotency-key"]), action.headers)
        else:
            self._answer(action.status, action.body or {}, action.headers)

    do_GET = do_POST


@dataclass
class Regions:
    west: FakeRegion
    central: FakeRegion
    clock: FakeClock = field(default_factory=FakeClock)
    clients: list[StrongroomClient] = field(default_factory=list)

    def client(self, **options: Any) -> StrongroomClient:
        settings: dict[str, Any] = {
            "connect_timeout": 1.0,
            "read_timeout": READ_TIMEOUT,
            "deadline": 12.0,
            "breaker": BreakerSettings(failure_threshold=3, cool_down_seconds=15.0),
            "backoff": BackoffSettings(base_seconds=0.1, cap_seconds=2.0),
            "clock": self.clock,
            "sleep": self.clock.sleep,
            **options,
        }
        endpoints = settings.pop("endpoints", {WEST: self.west.url, CENTRAL: self.central.url})
        client = StrongroomClient(
            endpoints, BotocoreCredentials(KEY.access_key_id, KEY.secret_access_key), **settings
        )
        self.clients.append(client)
        return client


def serve(region: str) -> FakeRegion:
    server = FakeRegion(region)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


@pytest.fixture
def regions() -> Iterator[Regions]:
    west, central = serve(WEST), serve(CENTRAL)
    running = Regions(west, central)
    yield running
    for client in running.clients:
        client.close()
    for server in (west, central):
        server.released.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused, as to a Region that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create(client: StrongroomClient, **overrides: Any) -> CreateResult:
    arguments: dict[str, Any] = {
        "amount": Decimal("12.34"),
        "currency": "EUR",
        "customer_id": "cust-1",
        "type": "debit",
        "reference": "rent",
    }
    arguments.update(overrides)
    return client.create_transaction(**arguments)


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (Reply(503, {"type": "urn:strongroom:problem:service-unavailable"}), Outcome.SERVER_ERROR),
        (Reply(429, {"type": "urn:strongroom:problem:too-many-requests"}), Outcome.THROTTLED),
        (HANG, Outcome.TIMEOUT),
        (CLOSE, Outcome.CONNECTION_FAILED),
    ],
    ids=["503", "429", "timeout", "closed-connection"],
)
def test_a_failed_region_is_replaced_by_the_other_with_the_same_idempotency_key(
    regions: Regions, failure: Action, outcome: Outcome
) -> None:
    # GIVEN eu-west-1 fails the request in one way
    regions.west.script = [failure]
    # WHEN a transaction is created
    result = create(regions.client())
    # THEN eu-central-1 answered, to the same key, signed for eu-central-1 (or it would have refused)
    assert (result.region, result.replayed) == (CENTRAL, False)
    assert regions.west.keys() == regions.central.keys() == [result.idempotency_key]
    assert regions.west.received[0].body == regions.central.received[0].body
    assert [(a.region, a.outcome) for a in result.attempts] == [(WEST, outcome), (CENTRAL, Outcome.SUCCESS)]
    assert result.transaction.amount == Decimal("12.34")


def test_a_region_that_refuses_connections_is_replaced_by_the_other(regions: Regions) -> None:
    client = regions.client(
        endpoints={WEST: f"http://127.0.0.1:{closed_port()}", CENTRAL: regions.central.url}
    )
    result = create(client, idempotency_key="pay-refused-1")
    assert result.region == CENTRAL
    assert result.attempts[0].detail == "connection refused"
    assert regions.central.keys() == ["pay-refused-1"]


def test_a_retry_of_a_create_is_reported_as_a_replay(regions: Regions) -> None:
    regions.west.script = [Reply(503)]
    regions.central.script = [Reply(201, headers=(("Idempotent-Replayed", "true"),))]
    result = create(regions.client())
    assert (result.region, result.replayed) == (CENTRAL, True)


def test_a_422_is_a_final_answer_and_is_not_sent_to_the_other_region(regions: Regions) -> None:
    regions.west.script = [
        Reply(
            422,
            {
                "type": "urn:strongroom:problem:idempotency-key-reused",
                "title": "The Idempotency-Key was already used with a different request",
                "status": 422,
                "detail": "this Idempotency-Key created a different transaction; use a new key",
            },
        )
    ]
    with pytest.raises(ApiProblem) as raised:
        create(regions.client(), idempotency_key="pay-used")
    assert (raised.value.status, raised.value.slug, raised.value.region) == (
        422,
        "idempotency-key-reused",
        WEST,
    )
    assert regions.central.received == []


def test_a_request_signed_for_one_region_is_refused_by_the_other(regions: Regions) -> None:
    # The reason this client exists: the signature names its Region (eu-central-1's server is
    # listed here as eu-west-1, so the client signs for eu-west-1 and sends it to eu-central-1).
    client = regions.client(endpoints={WEST: regions.central.url})
    with pytest.raises(ApiProblem) as raised:
        create(client)
    assert raised.value.status == 403
    assert "credential scope must be <date>/eu-central-1/execute-api" in raised.value.detail


def test_with_both_regions_down_the_call_fails_within_its_deadline_naming_both(regions: Regions) -> None:
    regions.west.default = Reply(503, {"type": "urn:strongroom:problem:service-unavailable"})
    regions.central.default = CLOSE
    client = regions.client(deadline=6.0)
    start = regions.clock.now
    with pytest.raises(AllRegionsUnavailable) as raised:
        create(client, idempotency_key="pay-down-1")
    assert regions.clock.now - start <= 6.0
    assert raised.value.last_failures[WEST] == "503 service-unavailable"
    assert raised.value.last_failures[CENTRAL].startswith("connection closed before a full answer")
    assert set(regions.west.keys() + regions.central.keys()) == {"pay-down-1"}
    assert len(raised.value.attempts) == len(regions.west.received) + len(regions.central.received)
    assert client.breaker_states() == {WEST: BreakerState.OPEN, CENTRAL: BreakerState.OPEN}


def test_the_breaker_opens_after_three_failures_and_then_calls_go_straight_to_the_other_region(
    regions: Regions,
) -> None:
    client = regions.client()
    regions.west.script = [Reply(503)] * 3
    for _ in range(3):
        assert create(client).region == CENTRAL
    assert client.breaker_states()[WEST] is BreakerState.OPEN
    west_calls = len(regions.west.received)

    result = create(client)

    assert len(regions.west.received) == west_calls  # eu-west-1 was not even tried
    assert [a.region for a in result.attempts] == [CENTRAL]


def test_after_the_cool_down_one_trial_request_closes_the_breaker(regions: Regions) -> None:
    client = regions.client()
    regions.west.script = [CLOSE] * 3
    for _ in range(3):
        create(client)
    assert client.breaker_states()[WEST] is BreakerState.OPEN

    # WHEN the cool-down has passed and eu-west-1 has recovered
    regions.clock.now += 15.0
    assert client.breaker_states()[WEST] is BreakerState.HALF_OPEN
    result = create(client)

    # THEN the trial went to eu-west-1, succeeded, and closed its breaker
    assert [a.region for a in result.attempts] == [WEST]
    assert client.breaker_states()[WEST] is BreakerState.CLOSED


def test_a_failed_trial_keeps_the_region_out_for_another_cool_down(regions: Regions) -> None:
    client = regions.client()
    regions.west.default = Reply(503)
    for _ in range(3):
        create(client)
    regions.clock.now += 15.0
    result = create(client)  # the trial fails; the call still succeeds in eu-central-1
    assert [a.region for a in result.attempts] == [WEST, CENTRAL]
    assert client.breaker_states()[WEST] is BreakerState.OPEN


def test_retry_after_is_waited_for_before_going_back_to_a_pinned_region(regions: Regions) -> None:
    regions.west.script = [Reply(429, {}, (("Retry-After", "2"),))]
    result = create(regions.client(), region=WEST)
    assert [a.outcome for a in result.attempts] == [Outcome.THROTTLED, Outcome.SUCCESS]
    assert regions.clock.slept == [2.0]
    assert regions.central.received == []


def test_connections_are_kept_alive_and_a_stale_one_is_replaced(regions: Regions) -> None:
    client = regions.client()
    create(client)
    create(client)
    first, second = regions.west.received
    assert first.client_port == second.client_port  # one connection, kept alive

    # WHEN the server drops the idle connection (as a load balancer does after its idle timeout)
    regions.west.script = [CLOSE]
    result = create(client)

    # THEN the client resends once on a new connection: the same Region, one attempt
    assert [a.region for a in result.attempts] == [WEST]
    assert regions.west.received[-1].client_port != first.client_port
    assert len(set(regions.west.keys()[-2:])) == 1


def test_a_read_with_a_query_is_signed_for_each_region_and_fails_over(regions: Regions) -> None:
    regions.west.script = [Reply(502, {"type": "urn:strongroom:problem:bad-gateway"})]
    regions.central.script = [Reply(200, {"items": [], "nextCursor": None})]
    page = regions.client().list_customer_transactions("cust:1", limit=2, cursor="k1.eyJ9.tag")
    assert (page.items, page.next_cursor, page.region) == ((), None, CENTRAL)
    # both verified the signature for their own Region, over the encoded path and the query
    assert [r.path for r in regions.west.received + regions.central.received] == [
        "/customers/cust%3A1/transactions?limit=2&cursor=k1.eyJ9.tag"
    ] * 2


LOOPBACK = ipaddress.ip_address("127.0.0.1")


def self_signed_loopback_certificate(directory: Any) -> tuple[str, str, str]:
    """A certificate for 127.0.0.1 that no trust store holds: (cert file, key file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake region")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file), pem


@pytest.fixture
def tls_west(regions: Regions, tmp_path: Any) -> str:
    """eu-west-1 served over https with a self-signed certificate; returns its PEM."""
    cert_file, key_file, pem = self_signed_loopback_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    regions.west.socket = context.wrap_socket(regions.west.socket, server_side=True)
    return pem


def test_tls_is_verified_and_an_untrusted_certificate_fails_over(regions: Regions, tls_west: str) -> None:
    https_west = regions.west.url.replace("http://", "https://")
    client = regions.client(endpoints={WEST: https_west, CENTRAL: regions.central.url})
    result = create(client)
    assert result.region == CENTRAL
    assert result.attempts[0].outcome is Outcome.CONNECTION_FAILED
    assert result.attempts[0].detail.startswith("TLS certificate not trusted")
    assert regions.west.received == []


def test_an_https_region_is_reached_when_its_certificate_is_trusted(regions: Regions, tls_west: str) -> None:
    https_west = regions.west.url.replace("http://", "https://")
    trusting = ssl.create_default_context(cadata=tls_west)
    client = regions.client(endpoints={WEST: https_west, CENTRAL: regions.central.url}, ssl_context=trusting)
    result = create(client)
    assert result.region == WEST
    assert [r.headers["host"] for r in regions.west.received] == [https_west.removeprefix("https://")]


def test_proxy_variables_are_not_consulted(regions: Regions, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN proxy variables pointing at a closed port (any request sent there would fail)
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # WHEN a call is made THEN it goes straight to the endpoint
    result = create(regions.client())
    assert [a.region for a in result.attempts] == [WEST]
    assert len(regions.west.received) == 1
