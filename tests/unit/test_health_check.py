"""The deep health check against in-memory fakes: what passes, what fails, and what a failure reveals."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from strongroom.runtime.adapters import kms
from strongroom.runtime.health import REASONS, CheckResult, DeepHealthCheck, reason_code

KEY_ARN = "arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class FakeStore:
    """The two canary operations of TransactionStore, in memory (a counter per key, as UpdateItem ADD)."""

    def __init__(self, *, fail_with: Exception | None = None, forget: bool = False) -> None:
        self.items: dict[str, int] = {}
        self.fail_with = fail_with
        self.forget = forget
        self.writes = 0
        self._lock = threading.Lock()

    def increment_canary(self, key: str) -> int:
        if self.fail_with:
            raise self.fail_with
        with self._lock:
            self.writes += 1
            value = self.items.get(key, 0) + 1
            if not self.forget:
                self.items[key] = value
            return value

    def read_canary(self, key: str) -> int | None:
        return self.items.get(key)


class FakeKms:
    """Encrypt/decrypt with an encryption context, as KMS does; ciphertext is just tagged plaintext."""

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.calls: list[str] = []

    def encrypt(self, *, KeyId: str, Plaintext: bytes, EncryptionContext: dict[str, str]) -> dict[str, Any]:
        self.calls.append("encrypt")
        return {"CiphertextBlob": KeyId.encode() + b"|" + Plaintext}

    def decrypt(
        self,
        *,
        CiphertextBlob: bytes,
        KeyId: str,
        EncryptionContext: dict[str, str],
    ) -> dict[str, Any]:
        self.calls.append("decrypt")
        if self.fail_with:
            raise self.fail_with
        key, _, plaintext = CiphertextBlob.partition(b"|")
        if key.decode() != KeyId or EncryptionContext != kms.CANARY_CONTEXT:
            raise ClientError({"Error": {"Code": "InvalidCiphertextException", "Message": "no"}}, "Decrypt")
        return {"Plaintext": plaintext}


def ticking() -> Iterator[float]:
    now = 100.0
    while True:
        yield now
        now += 0.25


def checker(
    store: FakeStore | None = None,
    kms_client: FakeKms | None = None,
    *,
    key_id: str | None = KEY_ARN,
    ciphertext: str | None = None,
    interval_seconds: float = 0.0,
    monotonic: Any = None,
) -> DeepHealthCheck:
    kms_fake = kms_client or FakeKms()
    clock = ticking()
    return DeepHealthCheck(
        region="eu-west-1",
        store=store or FakeStore(),  # type: ignore[arg-type]
        kms_client=lambda: kms_fake,  # type: ignore[arg-type, return-value]
        key_id=key_id,
        canary_ciphertext=ciphertext,
        timer=lambda: next(clock),
        interval_seconds=interval_seconds,
        **({"monotonic": monotonic} if monotonic else {}),
    )


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_both_checks_pass_when_the_data_path_works() -> None:
    results = by_name(checker().run().results)
    assert set(results) == {"dynamodb", "kms"}
    assert all(r.ok and r.reason is None for r in results.values())


def test_latency_is_measured_with_the_injected_timer() -> None:
    results = checker().run().results
    assert [r.latency_ms for r in results] == [250.0, 250.0]
    assert results[0].to_json() == {"status": "pass", "latencyMs": 250.0}


def test_canary_that_does_not_read_back_fails_dynamodb() -> None:
    results = by_name(checker(FakeStore(forget=True)).run().results)
    assert not results["dynamodb"].ok
    assert results["kms"].ok


def test_aws_failure_is_reported_by_error_code_never_by_message() -> None:
    # GIVEN AWS errors whose messages carry resource names and ARNs
    table_error = ClientError(
        {
            "Error": {
                "Code": "ResourceNotFoundException",
                "Message": "Table strongroom-transactions not found",
            }
        },
        "PutItem",
    )
    key_error = ClientError(
        {"Error": {"Code": "DisabledException", "Message": f"{KEY_ARN} is disabled."}}, "Decrypt"
    )
    # WHEN the checks run
    results = by_name(checker(FakeStore(fail_with=table_error), FakeKms(fail_with=key_error)).run().results)
    # THEN each failure says only a stable reason code
    assert results["dynamodb"].to_json() == {"status": "fail", "latencyMs": 250.0, "reason": "not-found"}
    assert results["kms"].to_json() == {"status": "fail", "latencyMs": 250.0, "reason": "key-unavailable"}


def test_non_aws_failure_is_reported_by_reason_code_not_by_exception() -> None:
    results = by_name(checker(FakeStore(fail_with=ConnectionError("10.1.3.7:443 refused"))).run().results)
    assert results["dynamodb"].reason == "unreachable"
    results = by_name(checker(FakeStore(fail_with=KeyError("pk"))).run().results)
    assert results["dynamodb"].reason == "error"


def test_missing_data_key_fails_kms() -> None:
    results = by_name(checker(key_id=None).run().results)
    assert not results["kms"].ok
    assert results["dynamodb"].ok


def test_provisioned_canary_is_decrypted_without_encrypting() -> None:
    fake = FakeKms()
    ciphertext = base64.b64encode(KEY_ARN.encode() + b"|" + kms.CANARY_PLAINTEXT).decode()
    assert all(r.ok for r in checker(kms_client=fake, ciphertext=ciphertext).run().results)
    assert fake.calls == ["decrypt"]


def test_canary_for_another_key_fails() -> None:
    ciphertext = base64.b64encode(b"other-key|" + kms.CANARY_PLAINTEXT).decode()
    results = by_name(checker(ciphertext=ciphertext).run().results)
    assert results["kms"].reason == "key-mismatch"


def test_wrong_canary_plaintext_fails() -> None:
    ciphertext = base64.b64encode(KEY_ARN.encode() + b"|something else").decode()
    assert not by_name(checker(ciphertext=ciphertext).run().results)["kms"].ok


def test_unprovisioned_canary_is_minted_once_per_execution_environment() -> None:
    fake = FakeKms()
    health = checker(kms_client=fake)
    health.run()
    health.run()
    assert fake.calls == ["encrypt", "decrypt", "decrypt"]


def test_missing_data_key_is_reported_as_not_configured() -> None:
    assert by_name(checker(key_id=None).run().results)["kms"].reason == "not-configured"


def test_canary_that_does_not_read_back_is_a_stale_read() -> None:
    assert by_name(checker(FakeStore(forget=True)).run().results)["dynamodb"].reason == "stale-read"


def test_concurrent_probes_never_fail_each_other() -> None:
    # GIVEN many execution environments probing one Region's table at once (no result sharing)
    store = FakeStore()
    barrier = threading.Barrier(32)
    outcomes: list[bool] = []

    def probe() -> None:
        health = checker(store)
        barrier.wait()
        outcomes.append(health.run().ok)

    threads = [threading.Thread(target=probe) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN every probe passes, and the canary is one item, not one per probe
    assert outcomes == [True] * 32
    assert list(store.items) == ["HEALTH#eu-west-1"]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_callers_within_the_interval_share_one_run_and_see_its_age() -> None:
    store, clock = FakeStore(), FakeMonotonic()
    health = checker(store, interval_seconds=5.0, monotonic=clock)
    first = health.run()
    clock.now += 3.5
    second = health.run()
    assert store.writes == 1
    assert second.results == first.results
    assert second.checked_at == first.checked_at
    assert (first.age_seconds, second.age_seconds) == (0.0, 3.5)
    clock.now += 1.5  # the interval has passed: the next caller runs the checks again
    third = health.run()
    assert store.writes == 2
    assert third.age_seconds == 0.0


def test_a_failed_result_is_shared_too_so_a_flood_cannot_multiply_the_load() -> None:
    store, clock = FakeStore(fail_with=ConnectionError("down")), FakeMonotonic()
    fake_kms = FakeKms()
    health = checker(store, fake_kms, interval_seconds=5.0, monotonic=clock)
    for _ in range(50):
        assert not health.run().ok
    assert fake_kms.calls == ["encrypt", "decrypt"]


def test_concurrent_callers_in_one_environment_run_the_checks_once() -> None:
    store = FakeStore()
    health = checker(store, interval_seconds=60.0)
    threads = [threading.Thread(target=health.run) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.writes == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "Decrypt"), "throttled"),
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "arn:…"}}, "Decrypt"),
            "access-denied",
        ),
        (
            ClientError({"Error": {"Code": "KMSInvalidStateException", "Message": "x"}}, "Decrypt"),
            "key-unavailable",
        ),
        (
            ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "PutItem"),
            "dependency-error",
        ),
        (ClientError({"Error": {"Code": "SomethingNew", "Message": "x"}}, "PutItem"), "error"),
        (ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"), "timeout"),
        (EndpointConnectionError(endpoint_url="https://kms.eu-west-1.amazonaws.com"), "unreachable"),
        (RuntimeError("boom"), "error"),
    ],
)
def test_every_failure_maps_to_a_documented_reason_code(error: Exception, reason: str) -> None:
    assert reason_code(error) == reason
    assert reason in REASONS
