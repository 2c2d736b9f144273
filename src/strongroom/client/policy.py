"""When the client retries, where, and how long it waits: pure functions and a small state machine.

Nothing here does I/O or reads the time itself; the clock is passed in, so every rule is testable
with a fake one (docs/adr/0024-client-driven-routing-for-sigv4-callers.md gives the numbers).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

Clock = Callable[[], float]  # seconds on a monotonic scale, like time.monotonic
Random = Callable[[], float]  # uniform in [0, 1), like random.random


class Outcome(StrEnum):
    """How one attempt ended."""

    SUCCESS = "success"  # 2xx with a readable body: the call's answer
    REJECTED = "rejected"  # a final 4xx (not 429): the call's answer, never retried
    THROTTLED = "throttled"  # 429: retried (elsewhere first), after Retry-After
    SERVER_ERROR = "server-error"  # 5xx: retried elsewhere
    TIMEOUT = "timeout"  # no connection or no answer within the timeout
    CONNECTION_FAILED = "connection-failed"  # refused, reset, closed without an answer, TLS failure
    INVALID_RESPONSE = "invalid-response"  # not HTTP, a 1xx/3xx, or a 2xx whose body is not JSON

    @property
    def retryable(self) -> bool:
        """Whether the call goes on to another attempt (in another Region first)."""
        return self not in {Outcome.SUCCESS, Outcome.REJECTED}

    @property
    def counts_against_region(self) -> bool:
        """Whether the Region's circuit breaker counts this as a failure. A 429 does not: the Region
        is up and answering; it asks this caller to slow down, which Retry-After handles."""
        return self.retryable and self is not Outcome.THROTTLED


def outcome_of_status(status: int) -> Outcome:
    """The outcome of an HTTP answer, before its body is read. 4xx other than 429 are final answers:
    the same request would get the same answer from the other Region."""
    if 200 <= status < 300:
        return Outcome.SUCCESS
    if status == 429:
        return Outcome.THROTTLED
    if 400 <= status < 500:
        return Outcome.REJECTED
    if 500 <= status < 600:
        return Outcome.SERVER_ERROR
    return Outcome.INVALID_RESPONSE


STATUSES_WITH_RETRY_AFTER = frozenset({429, 503})
_DELTA_SECONDS = re.compile(r"[0-9]{1,10}")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110: delay-seconds or an HTTP-date), or None
    when there is no usable value. A date in the past means no wait (0.0); ``now`` is the wall-clock
    time to measure a date from (default: the current time)."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a date without a zone is not one of them
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class BackoffSettings:
    """Full jitter: the n-th wait before going back to a Region is uniform in [0, min(cap, base·2ⁿ)]."""

    base_seconds: float = 0.1
    cap_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.base_seconds <= self.cap_seconds:
            raise ValueError("backoff needs 0 < base_seconds <= cap_seconds, e.g. base 0.1 and cap 2.0")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (0 for the first) of one Region."""
        return min(self.cap_seconds, self.base_seconds * 2.0 ** min(max(retry, 0), 64))

    def delay(self, retry: int, random: Random) -> float:
        return random() * self.ceiling(retry)


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """A Region's breaker opens after ``failure_threshold`` consecutive failures and lets one trial
    request through once ``cool_down_seconds`` have passed."""

    failure_threshold: int = 3
    cool_down_seconds: float = 15.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.cool_down_seconds <= 0:
            raise ValueError(
                "a breaker needs failure_threshold >= 1 and cool_down_seconds > 0, e.g. 3 and 15"
            )


class BreakerState(StrEnum):
    CLOSED = "closed"  # requests flow
    OPEN = "open"  # requests skip this Region until the cool-down ends
    HALF_OPEN = "half-open"  # the cool-down has ended: one trial request decides


class CircuitBreaker:
    """One Region's breaker: closed → open after N consecutive failures → half-open after the
    cool-down, when exactly one caller gets the trial; its success closes the breaker, its failure
    opens it again for another cool-down. Safe to share between threads."""

    def __init__(self, settings: BreakerSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False
        self.last_failure: str | None = None  # what the last counted failure was, for error messages

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state(self._clock())

    def _state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._trial_in_flight or now >= self._opened_at + self.settings.cool_down_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def ready_at(self) -> float:
        """When this breaker will let a request through: now or a past time if it would now, the end
        of the cool-down if open, infinity while another caller's trial is in flight."""
        with self._lock:
            if self._opened_at is None:
                return float("-inf")
            if self._trial_in_flight:
                return float("inf")
            return self._opened_at + self.settings.cool_down_seconds

    def acquire(self) -> bool:
        """Ask to send one request. In half-open the first caller gets the trial; others are refused
        until it reports. Every granted request must end in record_success/record_failure/release."""
        with self._lock:
            state = self._state(self._clock())
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self, description: str) -> None:
        with self._lock:
            self.last_failure = description
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.settings.failure_threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def release(self) -> None:
        """Give back a granted request that was never sent (or ended in neither way)."""
        with self._lock:
            self._trial_in_flight = False
