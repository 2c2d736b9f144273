"""StrongroomClient's routing, without I/O: a scripted transport stands in for two Regions, a fake
clock for time. Which answers fail over and which are final, that every attempt is signed for the
Region it goes to, the idempotency key, Retry-After, the breaker across calls and the deadline."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials

from strongroom.client import (
    AllRegionsUnavailable,
    ApiProblem,
    BackoffSettings,
    BreakerSettings,
    BreakerState,
    CallRecord,
    Outcome,
    StrongroomClient,
)
from strongroom.client.transport import HttpResponse, TransportFailure

WEST, CENTRAL = "eu-west-1", "eu-central-1"
ENDPOINTS = {WEST: "https://west.example.com/prod", CENTRAL: "https://central.example.com/prod"}
HOSTS = {"west.example.com": WEST, "central.example.com": CENTRAL}
CREDENTIALS = Credentials("AKIAUNITCLIENT000001", "unit-client-secret-000000000000000000001")
TIMEOUT = "timeout"  # a scripted step: the attempt uses up its whole read timeout, then times out


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Sent:
    region: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    connect_timeout: float
    read_timeout: float
    at: float

    @property
    def credential_scope(self) -> list[str]:
        match = re.search(r"Credential=([^,]+)", self.headers["authorization"])
        assert match, self.headers["authorization"]
        return match.group(1).split("/")

    @property
    def signed_headers(self) -> list[str]:
        match = re.search(r"SignedHeaders=([^,]+)", self.headers["authorization"])
        assert match
        return match.group(1).split(";")


Step = HttpResponse | TransportFailure | str


@dataclass
class ScriptedTransport:
    """Answers each Region from its script, then with ``default``; records what was sent."""

    clock: FakeClock
    scripts: dict[str, list[Step]] = field(default_factory=dict)
    default: Callable[[Sent], Step] | None = None
    sent: list[Sent] = field(default_factory=list)

    def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> HttpResponse:
        region = HOSTS[url.split("/")[2]]
        request = Sent(
            region,
            method,
            url,
            {k.lower(): v for k, v in headers},
            body,
            connect_timeout,
            read_timeout,
            self.clock.now,
        )
        self.sent.append(request)
        script = self.scripts.get(region, [])
        step: Step = script.pop(0) if script else (self.default or created)(request)
        if step == TIMEOUT:
            self.clock.now += read_timeout
            raise TransportFailure(Outcome.TIMEOUT, f"no answer within {read_timeout:g} s")
        if isinstance(step, TransportFailure):
            raise step
        assert isinstance(step, HttpResponse)
        return step

    def close(self) -> None:
        pass

    def regions(self) -> list[str]:
        return [s.region for s in self.sent]


def transaction_document(body: bytes = b"{}", **overrides: Any) -> dict[str, Any]:
    fields = json.loads(body or b"{}")
    document = {
        "id": "txn_AAAAAAAAAAAAAAAAAAAAAAAAAA",
        "customerId": fields.get("customerId", "cust-1"),
        "amount": fields.get("amount", "12.30"),
        "currency": fields.get("currency", "EUR"),
        "type": fields.get("type", "debit"),
        "reference": fields.get("reference", "rent"),
        "status": "accepted",
        "createdAt": "2026-11-23T12:00:00.000Z",
        "updatedAt": "2026-11-23T12:00:00.000Z",
    }
    document.update(overrides)
    return document


def created(request: Sent | None = None, *, replayed: bool = False) -> HttpResponse:
    headers = {"content-type": "application/json"}
    if replayed:
        headers["idempotent-replayed"] = "true"
    body = transaction_document(request.body if request else b"")
    return HttpResponse(201, headers, json.dumps(body).encode())


def problem(status: int, slug: str, **headers: str) -> HttpResponse:
    document = {"type": f"urn:strongroom:problem:{slug}", "title": slug, "status": status, "detail": slug}
    return HttpResponse(
        status,
        {"content-type": "application/problem+json", **{k.lower(): v for k, v in headers.items()}},
        json.dumps(document).encode(),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transport(clock: FakeClock) -> ScriptedTransport:
    return ScriptedTransport(clock)


def make_client(
    transport: ScriptedTransport, clock: FakeClock, credentials: Any = CREDENTIALS, **options: Any
) -> StrongroomClient:
    settings: dict[str, Any] = {
        "connect_timeout": 1.0,
        "read_timeout": 4.0,
        "deadline": 12.0,
        "breaker": BreakerSettings(failure_threshold=3, cool_down_seconds=15.0),
        "backoff": BackoffSettings(base_seconds=0.1, cap_seconds=2.0),
        "random": lambda: 0.5,
        **options,
    }
    return StrongroomClient(
        ENDPOINTS, credentials, transport=transport, clock=clock, sleep=clock.sleep, **settings
    )


def create(client: StrongroomClient, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "amount": Decimal("12.30"),
        "currency": "EUR",
        "customer_id": "cust-1",
        "type": "debit",
        "reference": "rent",
    }
    arguments.update(overrides)
    return client.create_transaction(**arguments)


# --- which answers fail over -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_5xx_or_429_is_retried_in_the_other_region_with_the_same_key(
    transport: ScriptedTransport, clock: FakeClock, status: int
) -> None:
    transport.scripts[WEST] = [problem(status, "unavailable")]
    result = create(make_client(transport, clock), idempotency_key="pay-42")
    assert (result.region, transport.regions()) == (CENTRAL, [WEST, CENTRAL])
    assert [s.headers["idempotency-key"] for s in transport.sent] == ["pay-42", "pay-42"]
    assert transport.sent[0].body == transport.sent[1].body
    assert [(a.region, a.status) for a in result.attempts] == [(WEST, status), (CENTRAL, 201)]
    assert result.attempts[-1].outcome is Outcome.SUCCESS


@pytest.mark.parametrize(
    "failure",
    [
        TransportFailure(Outcome.CONNECTION_FAILED, "connection refused"),
        TransportFailure(Outcome.INVALID_RESPONSE, "not an HTTP response"),
        TIMEOUT,
        HttpResponse(201, {}, b"<html>captive portal</html>"),
        HttpResponse(200, {}, b'{"not": "a transaction"}'),
        HttpResponse(302, {"location": "https://elsewhere.example.com/"}, b""),
    ],
    ids=["refused", "garbage", "timeout", "2xx-not-json", "2xx-wrong-shape", "redirect"],
)
def test_no_usable_answer_is_retried_in_the_other_region(
    transport: ScriptedTransport, clock: FakeClock, failure: Step
) -> None:
    transport.scripts[WEST] = [failure]
    result = create(make_client(transport, clock))
    assert result.region == CENTRAL
    assert result.attempts[0].outcome in {
        Outcome.CONNECTION_FAILED,
        Outcome.INVALID_RESPONSE,
        Outcome.TIMEOUT,
    }


@pytest.mark.parametrize(
    ("status", "slug"),
    [
        (400, "malformed-request"),
        (403, "forbidden"),
        (404, "not-found"),
        (409, "conflict"),
        (413, "payload-too-large"),
        (422, "idempotency-key-reused"),
    ],
)
def test_a_4xx_other_than_429_is_a_final_answer(
    transport: ScriptedTransport, clock: FakeClock, status: int, slug: str
) -> None:
    transport.scripts[WEST] = [problem(status, slug)]
    with pytest.raises(ApiProblem) as raised:
        create(make_client(transport, clock))
    assert transport.regions() == [WEST]
    assert (raised.value.status, raised.value.slug, raised.value.region) == (status, slug, WEST)
    assert [a.outcome for a in raised.value.attempts] == [Outcome.REJECTED]


def test_a_validation_problem_carries_its_field_errors(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    document = {
        "type": "https://docs.example.com/problems#validation-error",
        "title": "The request has invalid fields",
        "status": 422,
        "detail": "1 field(s) are invalid",
        "instance": "/transactions",
        "errors": [{"field": "amount", "message": "must have at most 2 decimals for EUR"}],
    }
    transport.scripts[WEST] = [HttpResponse(422, {}, json.dumps(document).encode())]
    with pytest.raises(ApiProblem) as raised:
        create(make_client(transport, clock), amount="1.234")
    problem_ = raised.value
    assert (problem_.slug, problem_.detail, problem_.instance) == (
        "validation-error",
        "1 field(s) are invalid",
        "/transactions",
    )
    assert [(e.field, e.message) for e in problem_.errors] == [
        ("amount", "must have at most 2 decimals for EUR")
    ]


def test_a_4xx_without_a_problem_document_is_still_a_problem(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.scripts[WEST] = [HttpResponse(403, {}, b"Forbidden by a proxy")]
    with pytest.raises(ApiProblem) as raised:
        create(make_client(transport, clock))
    assert (raised.value.status, raised.value.type, raised.value.detail) == (
        403,
        "about:blank",
        "Forbidden by a proxy",
    )


# --- signing -------------------------------------------------------------------------------------


def test_every_attempt_is_signed_for_the_region_it_is_sent_to(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.scripts[WEST] = [problem(503, "service-unavailable")]
    create(make_client(transport, clock))
    west, central = transport.sent
    assert west.credential_scope[2:] == [WEST, "execute-api", "aws4_request"]
    assert central.credential_scope[2:] == [CENTRAL, "execute-api", "aws4_request"]
    assert [west.headers["host"], central.headers["host"]] == ["west.example.com", "central.example.com"]
    for sent in (west, central):
        assert {"host", "x-amz-date", "idempotency-key", "content-type"} <= set(sent.signed_headers)
        assert sent.credential_scope[0] == CREDENTIALS.access_key
        assert sent.url.endswith("/prod/transactions")


def test_temporary_credentials_are_refreshed_and_send_their_session_token(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    refreshed: list[int] = []

    def refresh() -> dict[str, str]:
        refreshed.append(1)
        return {
            "access_key": f"ASIAREFRESHED{len(refreshed):07d}",
            "secret_key": "refreshed-secret-000000000000000000000001",
            "token": f"session-token-{len(refreshed)}",
            "expiry_time": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }

    expired = RefreshableCredentials.create_from_metadata(
        {
            "access_key": "ASIAEXPIRED000000001",
            "secret_key": "expired-secret",
            "token": "expired-token",
            "expiry_time": "2000-01-01T00:00:00+00:00",
        },
        refresh_using=refresh,
        method="unit-test",
    )
    create(make_client(transport, clock, credentials=expired))
    (sent,) = transport.sent
    assert refreshed == [1]
    assert sent.credential_scope[0] == "ASIAREFRESHED0000001"
    assert sent.headers["x-amz-security-token"] == "session-token-1"
    assert "x-amz-security-token" in sent.signed_headers


def test_credentials_are_read_afresh_for_every_attempt(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    class Rotating:
        def __init__(self) -> None:
            self.issued = 0

        def get_frozen_credentials(self) -> ReadOnlyCredentials:
            self.issued += 1
            return ReadOnlyCredentials(f"AKIAROTATING{self.issued:08d}", "secret", None)

    transport.scripts[WEST] = [problem(503, "service-unavailable")]
    create(make_client(transport, clock, credentials=Rotating()))
    assert [s.credential_scope[0] for s in transport.sent] == ["AKIAROTATING00000001", "AKIAROTATING00000002"]


# --- the idempotency key and the body ------------------------------------------------------------


def test_without_a_key_a_uuid4_is_generated_returned_and_kept_across_attempts(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.scripts[WEST] = [TIMEOUT]
    result = create(make_client(transport, clock))
    assert uuid.UUID(result.idempotency_key).version == 4
    assert {s.headers["idempotency-key"] for s in transport.sent} == {result.idempotency_key}


def test_two_creates_without_keys_get_two_keys(transport: ScriptedTransport, clock: FakeClock) -> None:
    client = make_client(transport, clock)
    assert create(client).idempotency_key != create(client).idempotency_key


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve", "line\r\nInjected: 1"])
def test_an_invalid_key_is_refused_before_anything_is_sent(
    transport: ScriptedTransport, clock: FakeClock, key: str
) -> None:
    with pytest.raises(ValueError, match="1-255 visible ASCII"):
        create(make_client(transport, clock), idempotency_key=key)
    assert transport.sent == []


def test_a_float_amount_is_refused(transport: ScriptedTransport, clock: FakeClock) -> None:
    with pytest.raises(TypeError, match="Decimal or a string"):
        create(make_client(transport, clock), amount=12.3)
    assert transport.sent == []


@pytest.mark.parametrize(
    ("amount", "sent"), [(Decimal("12.30"), "12.30"), (Decimal("1E+2"), "100"), ("0.10", "0.10")]
)
def test_amounts_are_sent_as_exact_decimal_strings(
    transport: ScriptedTransport, clock: FakeClock, amount: Decimal | str, sent: str
) -> None:
    result = create(make_client(transport, clock), amount=amount)
    assert json.loads(transport.sent[0].body)["amount"] == sent
    assert result.transaction.amount == Decimal(sent)
    assert str(result.transaction.amount) == sent  # the currency's decimals are kept


def test_the_body_is_the_api_request_and_a_replay_is_reported(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.default = lambda request: created(request, replayed=True)
    result = create(make_client(transport, clock), customer_id="cust-9", type="credit", reference="refund")
    assert json.loads(transport.sent[0].body) == {
        "amount": "12.30",
        "currency": "EUR",
        "customerId": "cust-9",
        "type": "credit",
        "reference": "refund",
    }
    assert result.replayed
    assert (result.transaction.customer_id, result.transaction.type) == ("cust-9", "credit")


# --- reads --------------------------------------------------------------------------------------


def test_reads_encode_their_path_and_query(transport: ScriptedTransport, clock: FakeClock) -> None:
    page = {"items": [transaction_document()], "nextCursor": "k1.eyJ9.tag"}
    transport.scripts[WEST] = [
        HttpResponse(200, {}, json.dumps(transaction_document()).encode()),
        HttpResponse(200, {}, json.dumps(page).encode()),
    ]
    client = make_client(transport, clock)
    transaction = client.get_transaction("txn_a/b")
    listing = client.list_customer_transactions("cust:1", limit=10, cursor="k1.eyJ9.tag")
    assert transaction.amount == Decimal("12.30")
    assert [s.url for s in transport.sent] == [
        "https://west.example.com/prod/transactions/txn_a%2Fb",
        "https://west.example.com/prod/customers/cust%3A1/transactions?limit=10&cursor=k1.eyJ9.tag",
    ]
    assert [t.id for t in listing.items] == ["txn_AAAAAAAAAAAAAAAAAAAAAAAAAA"]
    assert (listing.next_cursor, listing.region) == ("k1.eyJ9.tag", WEST)
    assert "content-type" not in transport.sent[0].headers


@pytest.mark.parametrize("identifier", ["", ".", ".."])
def test_an_identifier_that_is_no_path_segment_is_refused(
    transport: ScriptedTransport, clock: FakeClock, identifier: str
) -> None:
    with pytest.raises(ValueError, match="not a valid identifier"):
        make_client(transport, clock).get_transaction(identifier)


def test_a_read_fails_over_too(transport: ScriptedTransport, clock: FakeClock) -> None:
    transport.scripts[WEST] = [problem(502, "bad-gateway")]
    transport.scripts[CENTRAL] = [HttpResponse(200, {}, json.dumps(transaction_document()).encode())]
    make_client(transport, clock).get_transaction("txn_AAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert transport.regions() == [WEST, CENTRAL]
    assert [s.credential_scope[2] for s in transport.sent] == [WEST, CENTRAL]


# --- waiting: backoff, Retry-After, the deadline ---------------------------------------------------


def test_failing_over_to_an_untried_region_does_not_wait_but_going_back_backs_off(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.scripts[WEST] = [problem(500, "internal-error"), problem(500, "internal-error")]
    transport.scripts[CENTRAL] = [problem(500, "internal-error")]
    result = create(make_client(transport, clock, random=lambda: 0.5))
    assert transport.regions() == [WEST, CENTRAL, WEST, CENTRAL]
    # W fails at t0 (retry after 0.05), C at once and fails (retry after 0.05): W at t0+0.05,
    # fails again (its second retry: up to 0.2, here 0.1), C already due at t0+0.05
    assert [round(s.at - 5000.0, 3) for s in transport.sent] == [0.0, 0.0, 0.05, 0.05]
    assert clock.slept == [pytest.approx(0.05)]
    assert result.region == CENTRAL


def test_retry_after_is_respected_within_the_deadline(transport: ScriptedTransport, clock: FakeClock) -> None:
    transport.scripts[WEST] = [problem(429, "too-many-requests", **{"Retry-After": "3"})]
    result = create(make_client(transport, clock), region=WEST)
    assert transport.regions() == [WEST, WEST]
    assert clock.slept == [3.0]  # Retry-After (3 s) outweighs the backoff (at most 0.1 s)
    assert result.attempts[0].detail == "too-many-requests, Retry-After 3"


def test_a_retry_after_beyond_the_deadline_ends_the_call_at_once(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.default = lambda _: problem(503, "service-unavailable", **{"Retry-After": "60"})
    with pytest.raises(AllRegionsUnavailable) as raised:
        create(make_client(transport, clock), idempotency_key="pay-7")
    assert transport.regions() == [WEST, CENTRAL]
    assert clock.slept == []
    assert raised.value.last_failures == {
        WEST: "503 service-unavailable, Retry-After 60",
        CENTRAL: "503 service-unavailable, Retry-After 60",
    }
    assert "retry later with the same Idempotency-Key 'pay-7'" in str(raised.value)


def test_retry_after_on_other_statuses_is_ignored(transport: ScriptedTransport, clock: FakeClock) -> None:
    transport.scripts[WEST] = [problem(500, "internal-error", **{"Retry-After": "60"})]
    create(make_client(transport, clock), region=WEST)
    assert transport.regions() == [WEST, WEST]
    assert clock.slept == [pytest.approx(0.05)]


def test_the_deadline_caps_every_timeout_and_ends_the_call(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.default = lambda _: TIMEOUT
    client = make_client(transport, clock, deadline=10.0, read_timeout=4.0, connect_timeout=1.0)
    with pytest.raises(AllRegionsUnavailable) as raised:
        create(client)
    start = 5000.0
    assert clock.now - start <= 10.0
    for sent in transport.sent:
        remaining = start + 10.0 - sent.at
        assert sent.read_timeout == min(4.0, remaining)
        assert sent.connect_timeout == min(1.0, remaining)
    assert transport.sent[-1].read_timeout < 4.0  # the last attempt had less than a full timeout left
    assert [a.outcome for a in raised.value.attempts] == [Outcome.TIMEOUT] * len(transport.sent)
    assert set(raised.value.last_failures) == {WEST, CENTRAL}


def test_a_per_call_deadline_overrides_the_clients(transport: ScriptedTransport, clock: FakeClock) -> None:
    transport.default = lambda _: TIMEOUT
    with pytest.raises(AllRegionsUnavailable) as raised:
        create(make_client(transport, clock, deadline=60.0), deadline=5.0)
    assert clock.now - 5000.0 <= 5.0
    assert raised.value.deadline == 5.0
    assert [s.read_timeout for s in transport.sent] == [4.0, 1.0]


# --- the breaker across calls --------------------------------------------------------------------


def test_an_open_breaker_sends_calls_straight_to_the_other_region_until_its_trial(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    client = make_client(transport, clock)
    transport.scripts[WEST] = [TransportFailure(Outcome.CONNECTION_FAILED, "connection refused")] * 3
    for _ in range(3):
        assert create(client).region == CENTRAL
    assert client.breaker_states() == {WEST: BreakerState.OPEN, CENTRAL: BreakerState.CLOSED}

    # WHEN the next call comes before the cool-down ends
    transport.sent.clear()
    clock.now += 14.0
    result = create(client)
    # THEN it does not try the open Region at all
    assert transport.regions() == [CENTRAL]
    assert [a.region for a in result.attempts] == [CENTRAL]

    # WHEN the cool-down has passed, the preferred Region gets one trial, which succeeds
    transport.sent.clear()
    clock.now += 1.0
    assert client.breaker_states()[WEST] is BreakerState.HALF_OPEN
    assert create(client).region == WEST
    assert client.breaker_states() == {WEST: BreakerState.CLOSED, CENTRAL: BreakerState.CLOSED}


def test_a_429_does_not_open_the_breaker(transport: ScriptedTransport, clock: FakeClock) -> None:
    client = make_client(transport, clock)
    transport.scripts[WEST] = [problem(429, "too-many-requests")] * 5
    for _ in range(5):
        create(client)
    assert client.breaker_states()[WEST] is BreakerState.CLOSED


def test_with_every_breaker_open_a_call_fails_at_once_naming_each_regions_last_failure(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.default = lambda _: problem(503, "service-unavailable")
    client = make_client(transport, clock, deadline=30.0)
    with pytest.raises(AllRegionsUnavailable):
        create(client)
    assert client.breaker_states() == {WEST: BreakerState.OPEN, CENTRAL: BreakerState.OPEN}
    transport.sent.clear()
    clock.slept.clear()

    with pytest.raises(AllRegionsUnavailable) as raised:
        create(client, deadline=5.0)  # the cool-down (15 s) ends after this call's deadline
    assert transport.sent == []
    assert clock.slept == []
    assert raised.value.last_failures == {
        WEST: "not tried: circuit open (last failure: 503 service-unavailable)",
        CENTRAL: "not tried: circuit open (last failure: 503 service-unavailable)",
    }


def test_a_call_waits_for_a_cool_down_that_ends_within_its_deadline(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    # GIVEN both breakers open, the preferred Region's since its last failed attempt
    transport.default = lambda _: problem(503, "service-unavailable")
    client = make_client(transport, clock, deadline=30.0)
    start = clock.now
    with pytest.raises(AllRegionsUnavailable) as raised:
        create(client)
    last_west = [a for a in raised.value.attempts if a.region == WEST][-1]
    west_ready = start + last_west.started + last_west.elapsed + 15.0
    assert clock.now < west_ready
    transport.default = None
    transport.sent.clear()
    clock.slept.clear()
    # WHEN a call comes whose deadline is after the end of that cool-down
    result = create(client, deadline=20.0)
    # THEN it waits for the trial, which goes to the preferred Region
    assert (result.region, clock.now, len(clock.slept)) == (WEST, west_ready, 1)
    assert transport.regions() == [WEST]


# --- observability and construction ----------------------------------------------------------------


def test_every_call_is_reported_to_the_observer(transport: ScriptedTransport, clock: FakeClock) -> None:
    records: list[CallRecord] = []
    client = make_client(transport, clock, on_call=records.append)
    transport.scripts[WEST] = [problem(503, "service-unavailable"), problem(404, "not-found")]
    result = create(client)
    with pytest.raises(ApiProblem):
        client.get_transaction("txn_missing")
    assert [(r.operation, r.region, type(r.error).__name__) for r in records] == [
        ("createTransaction", CENTRAL, "NoneType"),
        ("getTransaction", WEST, "ApiProblem"),
    ]
    assert records[0].idempotency_key == result.idempotency_key
    assert [(a.region, a.outcome, a.status) for a in records[0].attempts] == [
        (WEST, Outcome.SERVER_ERROR, 503),
        (CENTRAL, Outcome.SUCCESS, 201),
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.example.com/prod", "unencrypted"),
        ("ftp://api.example.com/", "not an https:// URL"),
        ("https://api.example.com/prod?stage=1", "must not hold a query"),
        ("https://user:pw@api.example.com/prod", "must not hold"),
    ],
)
def test_an_endpoint_that_is_not_https_is_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StrongroomClient({WEST: url}, CREDENTIALS)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080"])
def test_plain_http_is_accepted_on_loopback(url: str) -> None:
    assert StrongroomClient({WEST: url}, CREDENTIALS).regions == (WEST,)


def test_a_pinned_region_must_be_known(transport: ScriptedTransport, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="eu-west-1, eu-central-1"):
        make_client(transport, clock).get_transaction("txn_1", region="us-east-1")


def test_a_failure_moves_to_the_other_region_even_when_the_backoff_draws_zero(
    transport: ScriptedTransport, clock: FakeClock
) -> None:
    transport.scripts[WEST] = [problem(503, "service-unavailable")]
    result = create(make_client(transport, clock, random=lambda: 0.0))
    assert transport.regions() == [WEST, CENTRAL]
    assert result.region == CENTRAL
