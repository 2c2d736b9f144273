"""The client's retry rules, without I/O: the circuit breaker's states on a fake clock, full-jitter
backoff bounds with a seeded random, Retry-After parsing, and which answers are retried."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from strongroom.client.policy import (
    BackoffSettings,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    Outcome,
    outcome_of_status,
    parse_retry_after,
)

SETTINGS = BreakerSettings(failure_threshold=3, cool_down_seconds=15.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # read afresh each time (a property would be narrowed by a type checker)


def failing(breaker: CircuitBreaker, times: int) -> None:
    for i in range(times):
        assert breaker.acquire()
        breaker.record_failure(f"failure {i}")


def test_the_breaker_opens_after_n_consecutive_failures() -> None:
    breaker = CircuitBreaker(SETTINGS, FakeClock())
    failing(breaker, 2)
    assert state(breaker) is BreakerState.CLOSED
    failing(breaker, 1)
    assert state(breaker) is BreakerState.OPEN
    assert not breaker.acquire()
    assert breaker.last_failure == "failure 0"  # the third call to failing() numbers from 0 again


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(SETTINGS, FakeClock())
    failing(breaker, 2)
    assert breaker.acquire()
    breaker.record_success()
    failing(breaker, 2)
    assert state(breaker) is BreakerState.CLOSED


def test_after_the_cool_down_exactly_one_trial_goes_through_and_its_success_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(SETTINGS, clock)
    failing(breaker, 3)
    clock.now += 14.9
    assert (state(breaker), breaker.acquire()) == (BreakerState.OPEN, False)
    clock.now += 0.1
    assert state(breaker) is BreakerState.HALF_OPEN
    assert breaker.ready_at() == 1015.0

    # WHEN one caller takes the trial
    assert breaker.acquire()
    # THEN nobody else gets through until it reports
    assert not breaker.acquire()
    assert breaker.ready_at() == float("inf")
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.acquire()
    assert breaker.ready_at() == float("-inf")


def test_a_failed_trial_opens_the_breaker_for_another_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(SETTINGS, clock)
    failing(breaker, 3)
    clock.now += 20
    failing(breaker, 1)  # the trial fails: one failure is enough in half-open
    assert state(breaker) is BreakerState.OPEN
    assert breaker.ready_at() == clock.now + 15.0
    clock.now += 15.0
    assert state(breaker) is BreakerState.HALF_OPEN


def test_a_released_trial_lets_the_next_caller_try() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(SETTINGS, clock)
    failing(breaker, 3)
    clock.now += 15
    assert breaker.acquire()
    breaker.release()
    assert breaker.acquire()


@pytest.mark.parametrize(("threshold", "cool_down"), [(0, 15.0), (3, 0.0), (3, -1.0)])
def test_breaker_settings_are_checked(threshold: int, cool_down: float) -> None:
    with pytest.raises(ValueError, match="failure_threshold >= 1"):
        BreakerSettings(threshold, cool_down)


def test_backoff_ceilings_double_up_to_the_cap() -> None:
    backoff = BackoffSettings(base_seconds=0.1, cap_seconds=2.0)
    assert [backoff.ceiling(n) for n in range(7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    assert backoff.ceiling(10_000) == 2.0


def test_full_jitter_spreads_over_the_whole_interval_and_never_beyond() -> None:
    backoff = BackoffSettings(base_seconds=0.1, cap_seconds=2.0)
    seeded = random.Random(20261123)
    for retry in range(8):
        ceiling = backoff.ceiling(retry)
        delays = [backoff.delay(retry, seeded.random) for _ in range(400)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # full jitter, not "ceiling plus a little": both ends of the interval are used
        assert min(delays) < 0.1 * ceiling
        assert max(delays) > 0.9 * ceiling


def test_backoff_is_the_random_fraction_of_the_ceiling() -> None:
    backoff = BackoffSettings(base_seconds=0.5, cap_seconds=4.0)
    assert backoff.delay(2, lambda: 0.25) == 0.5
    assert backoff.delay(0, lambda: 0.0) == 0.0


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0), (-0.1, 1.0)])
def test_backoff_settings_are_checked(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="base_seconds"):
        BackoffSettings(base, cap)


NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1", 1.0),
        (" 30 ", 30.0),
        ("0", 0.0),
        ("Mon, 23 Nov 2026 12:00:05 GMT", 5.0),
        ("Mon, 23 Nov 2026 11:59:00 GMT", 0.0),  # already past: no wait
        (None, None),
        ("", None),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("99999999999", None),  # more digits than any sensible delay: not a delay-seconds value
    ],
)
def test_retry_after_is_delay_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCESS),
        (201, Outcome.SUCCESS),
        (400, Outcome.REJECTED),
        (403, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (422, Outcome.REJECTED),
        (429, Outcome.THROTTLED),
        (500, Outcome.SERVER_ERROR),
        (502, Outcome.SERVER_ERROR),
        (503, Outcome.SERVER_ERROR),
        (504, Outcome.SERVER_ERROR),
        (302, Outcome.INVALID_RESPONSE),
        (101, Outcome.INVALID_RESPONSE),
    ],
)
def test_which_statuses_are_final(status: int, outcome: Outcome) -> None:
    assert outcome_of_status(status) is outcome


def test_only_successes_and_final_answers_end_a_call_and_429_does_not_count_against_a_region() -> None:
    assert {o for o in Outcome if not o.retryable} == {Outcome.SUCCESS, Outcome.REJECTED}
    assert {o for o in Outcome if o.retryable and not o.counts_against_region} == {Outcome.THROTTLED}
