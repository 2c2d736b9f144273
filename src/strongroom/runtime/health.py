"""Deep health: exercise the data path the API depends on, as Route 53 should see it.

A probe increments the Region's canary counter (DynamoDB UpdateItem) and reads it back strongly
consistent, then decrypts a canary ciphertext with the Region's data key (KMS). Seed 000's check only
proved the function ran.

The endpoint is public (health checkers cannot sign), so it must not be a lever against its own
Region (docs/adr/0005):
- Concurrent probes cannot fail each other: each reads back a counter that only grows, and passes
  when the value read is at least the value its own write produced.
- The probe runs at most once per ``interval_seconds`` per execution environment; callers inside
  the interval share its result, and see its age.
- One canary item per Region, overwritten in place: nothing accumulates, and its key never looks like
  a transaction id, so change-stream consumers filter it out (adapters/schema.py).
- The public body names the check and a stable reason code, never an exception class or message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from strongroom.runtime.adapters import kms

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

    from strongroom.runtime.adapters.dynamodb import TransactionStore

DEFAULT_INTERVAL_SECONDS = 5.0

# Stable reason codes: the public contract of a failed check (documented in the OpenAPI document).
REASONS = {
    "timeout": "the dependency did not answer in time",
    "unreachable": "no connection to the dependency's endpoint",
    "throttled": "the dependency is throttling this Region's requests",
    "access-denied": "the function's role may not use the dependency",
    "not-found": "the table or key does not exist",
    "key-unavailable": "the data key is disabled, pending deletion or unavailable",
    "key-mismatch": "the canary does not decrypt under the Region's data key",
    "stale-read": "a strongly consistent read did not see the canary write",
    "not-configured": "the function was deployed without the setting this check needs",
    "dependency-error": "the dependency answered with a server error",
    "error": "an unexpected failure (details are in the function's log)",
}
_BY_AWS_CODE = {
    **dict.fromkeys(
        ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"), "throttled"
    ),
    **dict.fromkeys(
        ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"), "access-denied"
    ),
    **dict.fromkeys(("ExpiredTokenException", "IncompleteSignature"), "access-denied"),
    **dict.fromkeys(("ResourceNotFoundException", "NotFoundException"), "not-found"),
    **dict.fromkeys(
        ("DisabledException", "KMSInvalidStateException", "KeyUnavailableException"), "key-unavailable"
    ),
    **dict.fromkeys(("InvalidCiphertextException", "IncorrectKeyException"), "key-mismatch"),
    **dict.fromkeys(
        ("InternalServerError", "ServiceUnavailable", "KMSInternalException", "DependencyTimeoutException"),
        "dependency-error",
    ),
}
_BY_EXCEPTION = {
    "ConnectTimeoutError": "timeout",
    "ReadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "EndpointConnectionError": "unreachable",
    "ConnectionClosedError": "unreachable",
    "ConnectionError": "unreachable",
}


class StaleRead(RuntimeError):
    """The canary read back is older than the canary write."""


class NotConfigured(LookupError):
    """A setting the check needs is missing."""


def reason_code(exc: BaseException) -> str:
    """A stable code for a failed check: enough to act on, never a message carrying ARNs or names."""
    if isinstance(exc, StaleRead):
        return "stale-read"
    if isinstance(exc, NotConfigured):
        return "not-configured"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return _BY_AWS_CODE.get(str(response.get("Error", {}).get("Code")), "error")
    for cls in type(exc).__mro__:
        if cls.__name__ in _BY_EXCEPTION:
            return _BY_EXCEPTION[cls.__name__]
    return "error"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "pass" if self.ok else "fail",
            "latencyMs": round(self.latency_ms, 2),
        }
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True, slots=True)
class HealthReport:
    results: list[CheckResult]
    checked_at: datetime
    age_seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


class DeepHealthCheck:
    def __init__(
        self,
        *,
        region: str,
        store: TransactionStore,
        kms_client: Callable[[], KMSClient],
        key_id: str | None,
        canary_ciphertext: str | None,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        timer: Callable[[], float] = time.perf_counter,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.region = region
        self._store = store
        self._kms_client = kms_client
        self._key_id = key_id
        self._ciphertext = canary_ciphertext
        self._interval = interval_seconds
        self._timer = timer
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._last: tuple[float, list[CheckResult], datetime] | None = None

    @property
    def canary_key(self) -> str:
        return f"HEALTH#{self.region}"

    def _timed(self, name: str, probe: Callable[[], None]) -> CheckResult:
        start = self._timer()
        try:
            probe()
        except Exception as exc:  # any failure of a dependency is a failed check, reported, not raised
            return CheckResult(name, False, (self._timer() - start) * 1000, reason_code(exc))
        return CheckResult(name, True, (self._timer() - start) * 1000)

    def _dynamodb(self) -> None:
        written = self._store.increment_canary(self.canary_key)
        seen = self._store.read_canary(self.canary_key)
        if seen is None or seen < written:  # a concurrent probe may have moved it further: still fresh
            raise StaleRead("the canary read back is older than the canary written")

    def _kms(self) -> None:
        if not self._key_id:
            raise NotConfigured("no data key configured")
        client = self._kms_client()
        if self._ciphertext is None:  # not provisioned: mint one for this execution environment
            self._ciphertext = kms.make_canary_ciphertext(client, self._key_id)
        kms.decrypt_canary(client, self._key_id, self._ciphertext)

    def run(self) -> HealthReport:
        """The checks' results, run now or shared from a run less than ``interval_seconds`` ago."""
        with self._lock:
            now = self._monotonic()
            if self._last is None or now - self._last[0] >= self._interval:
                results = [self._timed("dynamodb", self._dynamodb), self._timed("kms", self._kms)]
                self._last = (now, results, self._wall_clock())
            ran_at, results, checked_at = self._last
            return HealthReport(results, checked_at, max(0.0, now - ran_at))
