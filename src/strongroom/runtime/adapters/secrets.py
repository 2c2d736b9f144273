"""Secrets Manager: the application secret, read once per execution environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def read_secret(client: SecretsManagerClient, secret_id: str) -> bytes:
    response = client.get_secret_value(SecretId=secret_id)
    text = response.get("SecretString")
    return text.encode() if text is not None else response["SecretBinary"]
