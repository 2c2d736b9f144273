"""KMS for the deep health check: prove the Region's data key decrypts (the data path needs it)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

CANARY_PLAINTEXT = b"strongroom-health-canary"
CANARY_CONTEXT = {"purpose": "strongroom-health-canary"}


def make_canary_ciphertext(client: KMSClient, key_id: str) -> str:
    """Encrypt the canary under ``key_id``; provisioning does this once and hands the result to functions."""
    response = client.encrypt(KeyId=key_id, Plaintext=CANARY_PLAINTEXT, EncryptionContext=CANARY_CONTEXT)
    return base64.b64encode(response["CiphertextBlob"]).decode()


def decrypt_canary(client: KMSClient, key_id: str, ciphertext_b64: str) -> None:
    """Decrypt the canary with exactly ``key_id``; raise if KMS refuses or the plaintext is wrong."""
    response = client.decrypt(
        CiphertextBlob=base64.b64decode(ciphertext_b64), KeyId=key_id, EncryptionContext=CANARY_CONTEXT
    )
    if response["Plaintext"] != CANARY_PLAINTEXT:
        raise ValueError("KMS returned an unexpected canary plaintext")
