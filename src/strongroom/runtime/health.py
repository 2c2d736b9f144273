"""Deep health: exercise the data path the API depends on, as Route 53 should see it.

Writes and reads back a canary item (DynamoDB, strongly consistent) and decrypts a canary
ciphertext with the Region's data key (KMS). Seed 000's check only proved the function ran.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strongroom.runtime.adapters import kms

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

    from strongroom.runtime.adapters.dynamodb import TransactionStore


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


def _public_reason(exc: Exception) -> str:
    """An AWS error code or exception class: enough to act on, never a message carrying ARNs or names."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        return str(response["Error"]["Code"])
    return type(exc).__name__


class DeepHealthCheck:
    def __init__(
        self,
        *,
        region: str,
        store: TransactionStore,
        kms_client: Callable[[], KMSClient],
        key_id: str | None,
        canary_ciphertext: str | None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.region = region
        self._store = store
        self._kms_client = kms_client
        self._key_id = key_id
        self._ciphertext = canary_ciphertext
        self._timer = timer

    def _timed(self, name: str, probe: Callable[[], None]) -> CheckResult:
        start = self._timer()
        try:
            probe()
        except Exception as exc:  # any failure of a dependency is a failed check, reported, not raised
            return CheckResult(name, False, (self._timer() - start) * 1000, _public_reason(exc))
        return CheckResult(name, True, (self._timer() - start) * 1000)

    def _dynamodb(self) -> None:
        key = f"HEALTH#{self.region}"
        nonce = secrets.token_hex(8)
        self._store.put_canary(key, nonce)
        if self._store.read_canary(key) != nonce:
            raise RuntimeError("canary read did not return the canary written")

    def _kms(self) -> None:
        if not self._key_id:
            raise LookupError("no data key configured")
        client = self._kms_client()
        if self._ciphertext is None:  # not provisioned: mint one for this execution environment
            self._ciphertext = kms.make_canary_ciphertext(client, self._key_id)
        kms.decrypt_canary(client, self._key_id, self._ciphertext)

    def run(self) -> list[CheckResult]:
        return [self._timed("dynamodb", self._dynamodb), self._timed("kms", self._kms)]
