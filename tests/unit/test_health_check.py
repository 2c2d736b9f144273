"""The deep health check against in-memory fakes: what passes, what fails, and what a failure reveals."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from strongroom.runtime.adapters import kms
from strongroom.runtime.health import CheckResult, DeepHealthCheck

KEY_ARN = "arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class FakeStore:
    """The two canary operations of TransactionStore, in memory."""

    def __init__(self, *, fail_with: Exception | None = None, forget: bool = False) -> None:
        self.items: dict[str, str] = {}
        self.fail_with = fail_with
        self.forget = forget

    def put_canary(self, key: str, nonce: str) -> None:
        if self.fail_with:
            raise self.fail_with
        if not self.forget:
            self.items[key] = nonce

    def read_canary(self, key: str) -> str | None:
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
    )


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_both_checks_pass_when_the_data_path_works() -> None:
    results = by_name(checker().run())
    assert set(results) == {"dynamodb", "kms"}
    assert all(r.ok and r.reason is None for r in results.values())


def test_latency_is_measured_with_the_injected_timer() -> None:
    results = checker().run()
    assert [r.latency_ms for r in results] == [250.0, 250.0]
    assert results[0].to_json() == {"status": "pass", "latencyMs": 250.0}


def test_canary_that_does_not_read_back_fails_dynamodb() -> None:
    results = by_name(checker(FakeStore(forget=True)).run())
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
    results = by_name(checker(FakeStore(fail_with=table_error), FakeKms(fail_with=key_error)).run())
    # THEN each failure says only the AWS error code
    assert results["dynamodb"].to_json() == {
        "status": "fail",
        "latencyMs": 250.0,
        "reason": "ResourceNotFoundException",
    }
    assert results["kms"].to_json() == {"status": "fail", "latencyMs": 250.0, "reason": "DisabledException"}


def test_non_aws_failure_is_reported_by_exception_type_only() -> None:
    results = by_name(checker(FakeStore(fail_with=ConnectionError("10.1.3.7:443 refused"))).run())
    assert results["dynamodb"].reason == "ConnectionError"


def test_missing_data_key_fails_kms() -> None:
    results = by_name(checker(key_id=None).run())
    assert not results["kms"].ok
    assert results["dynamodb"].ok


def test_provisioned_canary_is_decrypted_without_encrypting() -> None:
    fake = FakeKms()
    ciphertext = base64.b64encode(KEY_ARN.encode() + b"|" + kms.CANARY_PLAINTEXT).decode()
    assert all(r.ok for r in checker(kms_client=fake, ciphertext=ciphertext).run())
    assert fake.calls == ["decrypt"]


def test_canary_for_another_key_fails() -> None:
    ciphertext = base64.b64encode(b"other-key|" + kms.CANARY_PLAINTEXT).decode()
    results = by_name(checker(ciphertext=ciphertext).run())
    assert results["kms"].reason == "InvalidCiphertextException"


def test_wrong_canary_plaintext_fails() -> None:
    ciphertext = base64.b64encode(KEY_ARN.encode() + b"|something else").decode()
    assert not by_name(checker(ciphertext=ciphertext).run())["kms"].ok


def test_unprovisioned_canary_is_minted_once_per_execution_environment() -> None:
    fake = FakeKms()
    health = checker(kms_client=fake)
    health.run()
    health.run()
    assert fake.calls == ["encrypt", "decrypt", "decrypt"]
