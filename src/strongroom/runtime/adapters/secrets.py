"""Secrets Manager: the application secret, read once per execution environment.

One GetSecretValue of ``AWSCURRENT`` gives every live cursor key: the rotation function
(strongroom.runtime.rotation) writes the current and the previous key into each new version, so the
runtime never reads ``AWSPREVIOUS`` (a second call at every cold start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT = "AWSCURRENT"


def read_secret(client: SecretsManagerClient, secret_id: str) -> bytes:
    """The value of ``secret_id``'s current version (named, not left to the service's default)."""
    response = client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)
    text = response.get("SecretString")
    return text.encode() if text is not None else response["SecretBinary"]
