"""StrongroomClient: calls the API in the preferred healthy Region and fails over to the others.

Each request is signed for the Region it is sent to (a SigV4 signature names its Region, so a request
signed for one Region is refused by another); a failed attempt moves to the next Region with the same
Idempotency-Key, which the API turns into a replay, never a second transaction
(docs/adr/0024-client-driven-routing-for-sigv4-callers.md, docs/adr/0002).
"""

from __future__ import annotations

import json
import random as _random
import re
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote, urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from strongroom.client.policy import (
    STATUSES_WITH_RETRY_AFTER,
    BackoffSettings,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    Clock,
    Outcome,
    Random,
    outcome_of_status,
    parse_retry_after,
)
from strongroom.client.results import (
    AllRegionsUnavailable,
    ApiProblem,
    Attempt,
    CallRecord,
    CreateResult,
    Page,
    StrongroomClientError,
    Transaction,
    TransactionType,
)
from strongroom.client.transport import Endpoint, HttpResponse, HttpTransport, Transport, TransportFailure

SERVICE = "execute-api"
USER_AGENT = "strongroom-client/0.1"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # the API's rule: 1-255 visible ASCII characters
T = TypeVar("T")


class CredentialSource(Protocol):
    """Any botocore credentials: static ``Credentials``, ``RefreshableCredentials`` (assumed roles,
    instance and container roles, SSO), or anything else that can freeze a consistent set."""

    def get_frozen_credentials(self) -> ReadOnlyCredentials: ...


@dataclass(frozen=True, slots=True)
class _Request:
    operation: str
    method: str
    path_and_query: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Success:
    region: str
    response: HttpResponse
    attempts: tuple[Attempt, ...]


class _Call:
    """The state of one call across its attempts: when each Region may be tried again, and the last
    thing that went wrong in each."""

    def __init__(self, regions: list[str], start: float, deadline: float) -> None:
        self.regions = regions
        self.start = start
        self.deadline = deadline
        self.deadline_at = start + deadline
        self.attempts: list[Attempt] = []
        self.retry_at = dict.fromkeys(regions, float("-inf"))  # backoff and Retry-After, per Region
        self.tries = dict.fromkeys(regions, 0)
        self.last_failures: dict[str, str] = {}


class StrongroomClient:
    """A client of the Strongroom API for callers that sign with SigV4 (IAM).

    ``endpoints`` maps each Region to its API's base URL (``https://…/prod``), in order of preference.
    ``credentials`` are botocore credentials (default: botocore's own chain: environment, profile,
    SSO, container or instance role). Each attempt's connect and read timeouts are capped by what is
    left of the call's ``deadline`` (seconds); ``breaker`` and ``backoff`` set the per-Region circuit
    breaker and the full-jitter backoff. ``clock`` (monotonic seconds), ``sleep`` and ``random`` are
    injectable for tests; ``on_call`` receives a CallRecord after every call (it must not raise).

    Safe to share between threads: breakers are shared, every call keeps its own attempts.
    """

    def __init__(
        self,
        endpoints: Mapping[str, str],
        credentials: CredentialSource | None = None,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        deadline: float = 12.0,
        breaker: BreakerSettings | None = None,
        backoff: BackoffSettings | None = None,
        transport: Transport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Random = _random.random,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("endpoints needs at least one Region, e.g. {'eu-west-1': 'https://…/prod'}")
        if min(connect_timeout, read_timeout, deadline) <= 0:
            raise ValueError("connect_timeout, read_timeout and deadline must be positive seconds")
        self._endpoints = {region: Endpoint.parse(url) for region, url in endpoints.items()}
        self._credentials = credentials if credentials is not None else _default_credentials()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.backoff = backoff or BackoffSettings()
        self._transport = transport or HttpTransport(ssl_context)
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._on_call = on_call
        settings = breaker or BreakerSettings()
        self._breakers = {region: CircuitBreaker(settings, clock) for region in self._endpoints}

    @property
    def regions(self) -> tuple[str, ...]:
        """The Regions, in order of preference."""
        return tuple(self._endpoints)

    def breaker_states(self) -> dict[str, BreakerState]:
        """Each Region's circuit breaker state, in order of preference."""
        return {region: breaker.state for region, breaker in self._breakers.items()}

    def close(self) -> None:
        """Close kept-alive connections."""
        self._transport.close()

    def __enter__(self) -> StrongroomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the API's operations (strongroom.runtime.routes) ---------------------------------------

    def create_transaction(
        self,
        *,
        amount: Decimal | str,
        currency: str,
        customer_id: str,
        type: TransactionType,
        reference: str,
        idempotency_key: str | None = None,
        region: str | None = None,
        deadline: float | None = None,
    ) -> CreateResult:
        """Create a transaction exactly once per ``idempotency_key`` (a new UUID4 if None; returned in
        the result: keep it with the business operation and pass it again to retry). ``amount`` is a
        Decimal or a decimal string, never a float. ``region`` pins the call to one Region."""
        key = str(uuid.uuid4()) if idempotency_key is None else _checked_key(idempotency_key)
        body = {
            "amount": _amount_text(amount),
            "currency": currency,
            "customerId": customer_id,
            "type": type,
            "reference": reference,
        }
        request = _Request(
            "createTransaction",
            "POST",
            "/transactions",
            json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            (("Content-Type", "application/json"), ("Idempotency-Key", key)),
        )
        success, transaction = self._run(request, Transaction.from_json, region, deadline, key)
        return CreateResult(
            transaction=transaction,
            replayed=success.response.headers.get("idempotent-replayed", "").lower() == "true",
            region=success.region,
            idempotency_key=key,
            attempts=success.attempts,
        )

    def get_transaction(
        self, transaction_id: str, *, region: str | None = None, deadline: float | None = None
    ) -> Transaction:
        """Read one transaction; ApiProblem with slug ``not-found`` if there is none."""
        request = _Request("getTransaction", "GET", f"/transactions/{_segment(transaction_id)}", b"", ())
        return self._run(request, Transaction.from_json, region, deadline)[1]

    def list_customer_transactions(
        self,
        customer_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        region: str | None = None,
        deadline: float | None = None,
    ) -> Page:
        """One page of a customer's transactions, newest first; pass ``page.next_cursor`` back as
        ``cursor`` for the next (in any Region)."""
        query = {
            name: value
            for name, value in (("limit", None if limit is None else str(limit)), ("cursor", cursor))
            if value is not None
        }
        path = f"/customers/{_segment(customer_id)}/transactions"
        if query:
            path += "?" + urlencode(query, quote_via=quote)
        request = _Request("listCustomerTransactions", "GET", path, b"", ())
        success, (items, next_cursor) = self._run(request, _page_parts, region, deadline)
        return Page(items, next_cursor, success.region, success.attempts)

    # --- routing ------------------------------------------------------------------------------------

    def _run(
        self,
        request: _Request,
        parse: Callable[[Any], T],
        region: str | None,
        deadline: float | None,
        key: str | None = None,
    ) -> tuple[_Success, T]:
        if region is not None and region not in self._endpoints:
            raise ValueError(f"region {region!r} is not one of this client's: {', '.join(self._endpoints)}")
        budget = self.deadline if deadline is None else deadline
        if budget <= 0:
            raise ValueError("deadline must be positive seconds")
        call = _Call([region] if region else list(self._endpoints), self._clock(), budget)
        try:
            success, value = self._route(request, parse, call, key)
        except StrongroomClientError as exc:
            answered = exc.region if isinstance(exc, ApiProblem) else None
            self._observe(CallRecord(request.operation, tuple(call.attempts), answered, exc, key))
            raise
        self._observe(CallRecord(request.operation, success.attempts, success.region, None, key))
        return success, value

    def _route(
        self, request: _Request, parse: Callable[[Any], T], call: _Call, key: str | None
    ) -> tuple[_Success, T]:
        while True:
            now = self._clock()
            region, ready = self._next_region(call, now)
            if ready >= call.deadline_at:
                break
            if ready > now:
                self._sleep(ready - now)
                now = self._clock()
                if now >= call.deadline_at:
                    break
            breaker = self._breakers[region]
            if not breaker.acquire():  # another caller took the half-open trial meanwhile
                continue
            result = self._attempt(region, request, parse, call, now)
            if result is not None:
                return result
        raise AllRegionsUnavailable(
            last_failures={r: self._last_failure(call, r) for r in call.regions},
            attempts=tuple(call.attempts),
            deadline=call.deadline,
            idempotency_key=key,
        )

    def _next_region(self, call: _Call, now: float) -> tuple[str, float]:
        """The Region that can be tried soonest (backoff, Retry-After and its breaker permitting);
        among those ready now, the one tried least in this call, then the most preferred."""
        ready = {
            region: max(now, call.retry_at[region], self._breakers[region].ready_at())
            for region in call.regions
        }
        region = min(call.regions, key=lambda r: (ready[r], call.tries[r]))
        return region, ready[region]

    def _last_failure(self, call: _Call, region: str) -> str:
        if region in call.last_failures:
            return call.last_failures[region]
        breaker = self._breakers[region]
        return f"not tried: circuit {breaker.state.value} (last failure: {breaker.last_failure or 'none'})"

    def _attempt(
        self, region: str, request: _Request, parse: Callable[[Any], T], call: _Call, now: float
    ) -> tuple[_Success, T] | None:
        """One attempt in ``region`` (its breaker already acquired): the result, None to go on, or an
        ApiProblem raised for a final answer."""
        breaker = self._breakers[region]
        remaining = call.deadline_at - now
        try:
            outcome, response, value, detail = self._exchange(region, request, parse, remaining)
        except BaseException:
            breaker.release()  # not the Region's doing (credentials, a bug, an interrupt)
            raise
        ended = self._clock()
        status = response.status if response is not None else None
        attempt = Attempt(region, outcome, status, now - call.start, ended - now, detail)
        call.attempts.append(attempt)
        if outcome.counts_against_region:
            breaker.record_failure(attempt.describe())
        else:
            breaker.record_success()
        if outcome is Outcome.SUCCESS:
            assert response is not None
            return _Success(region, response, tuple(call.attempts)), cast(T, value)
        if outcome is Outcome.REJECTED:
            assert response is not None
            raise ApiProblem.from_response(
                response.status, response.body, region=region, attempts=tuple(call.attempts)
            )
        call.last_failures[region] = attempt.describe()
        call.tries[region] += 1
        wait = self.backoff.delay(call.tries[region] - 1, self._random)
        if response is not None and response.status in STATUSES_WITH_RETRY_AFTER:
            wait = max(wait, parse_retry_after(response.headers.get("retry-after")) or 0.0)
        call.retry_at[region] = ended + wait
        return None

    def _exchange(
        self, region: str, request: _Request, parse: Callable[[Any], T], remaining: float
    ) -> tuple[Outcome, HttpResponse | None, T | None, str]:
        endpoint = self._endpoints[region]
        url = endpoint.url(request.path_and_query)
        headers = self._signed(region, endpoint, request, url)
        try:
            response = self._transport.send(
                request.method,
                url,
                headers,
                request.body,
                connect_timeout=min(self.connect_timeout, remaining),
                read_timeout=min(self.read_timeout, remaining),
            )
        except TransportFailure as failure:
            return failure.outcome, None, None, failure.detail
        outcome = outcome_of_status(response.status)
        if outcome is Outcome.SUCCESS:
            try:
                return outcome, response, parse(json.loads(response.body, parse_float=Decimal)), ""
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                return Outcome.INVALID_RESPONSE, response, None, f"unreadable body ({exc.__class__.__name__})"
        return outcome, response, None, _http_detail(response) if outcome.retryable else ""

    def _signed(self, region: str, endpoint: Endpoint, request: _Request, url: str) -> list[tuple[str, str]]:
        """The request's headers with a SigV4 signature for ``region`` (fresh credentials each time:
        refreshable credentials renew themselves here)."""
        aws_request = AWSRequest(method=request.method, url=url, data=request.body)
        aws_request.headers["Host"] = endpoint.origin.partition("://")[2]
        aws_request.headers["Accept"] = "application/json"
        for name, value in request.headers:
            aws_request.headers[name] = value
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, region).add_auth(aws_request)
        return [*aws_request.headers.items(), ("User-Agent", USER_AGENT)]

    def _observe(self, record: CallRecord) -> None:
        if self._on_call is not None:
            self._on_call(record)


def _default_credentials() -> CredentialSource:
    from botocore.session import get_session  # noqa: PLC0415 - only when no credentials are given

    found = get_session().get_credentials()
    if found is None:
        raise ValueError(
            "no AWS credentials: pass credentials= (botocore credentials) or configure the environment, "
            "a profile or a role"
        )
    return found


def _checked_key(key: str) -> str:
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValueError("idempotency_key must be 1-255 visible ASCII characters (a UUID is a good choice)")
    return key


def _amount_text(amount: Decimal | str) -> str:
    if isinstance(amount, Decimal):
        return format(amount, "f")  # never an exponent: Decimal("1E+2") is "100"
    if isinstance(amount, str):
        return amount
    raise TypeError(f"amount must be a Decimal or a string such as '12.34', not {type(amount).__name__}")


def _segment(value: str) -> str:
    """A path parameter, percent-encoded; '.' and '..' would be removed from the path, so refused."""
    if value in {"", ".", ".."}:
        raise ValueError(f"{value!r} is not a valid identifier")
    return quote(value, safe="")


def _page_parts(document: Any) -> tuple[tuple[Transaction, ...], str | None]:
    items = tuple(Transaction.from_json(item) for item in document["items"])
    cursor = document.get("nextCursor")
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("nextCursor is not a string")
    return items, cursor


def _http_detail(response: HttpResponse) -> str:
    """A retryable HTTP answer in a few words: the problem's slug and any Retry-After."""
    problem = ApiProblem.from_response(response.status, response.body, region="")
    text = problem.slug if problem.type != "about:blank" else "no problem document"
    retry_after = response.headers.get("retry-after")
    if retry_after is not None and response.status in STATUSES_WITH_RETRY_AFTER:
        text += f", Retry-After {retry_after}"
    return text
