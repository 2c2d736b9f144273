"""Secrets Manager rotation of the application secret: a new cursor key, with two keys live.

Secrets Manager calls :func:`handler` once per step and retries a step, or the whole rotation, after
a failure, so every step is idempotent. The ``ClientRequestToken`` names this rotation's version,
which Secrets Manager has already staged ``AWSPENDING`` (with no value yet):

- ``createSecret``: unless that version already has a value (a retried step), write it: a new key
  that signs, today's signing key kept to verify the cursors already handed out, the previous key
  dropped, the pseudonym secret unchanged.
- ``setSecret``: nothing to do: no other system holds these keys.
- ``testSecret``: the pending value parses as the runtime parses it, adds a new key, keeps today's
  signing key and the pseudonym secret, and a cursor signed today verifies with it.
- ``finishSecret``: move ``AWSCURRENT`` to that version (Secrets Manager moves ``AWSPREVIOUS`` to the
  old one) and take ``AWSPENDING`` off it.

It runs in the primary Region; Secrets Manager replicates every new version to the replicas, and a
rotation refuses to start or finish while a replica reports a failed replication, because the
Regions' keys would drift apart. No step ever logs a secret, only key ids and version ids. See
docs/adr/0013-cursor-secret-in-secrets-manager.md.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from strongroom import constants as env
from strongroom.runtime import snapstart
from strongroom.runtime.cursor import CursorCodec
from strongroom.runtime.domain.errors import InvalidCursor
from strongroom.runtime.keys import ApplicationSecret, CursorKey, new_cursor_key, parse_application_secret
from strongroom.runtime.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import DescribeSecretResponseTypeDef

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
_PROBE_SCOPE = "strongroom:rotation-test"
_PROBE_POSITION = {"probe": "testSecret"}

NewKey = Callable[[], CursorKey]


class RotationError(RuntimeError):
    """A step refused to go on; the message says why and what to fix, and never holds a secret."""


def rotate(
    client: SecretsManagerClient,
    *,
    secret_id: str,
    token: str,
    step: str,
    secret_name: str,
    new_key: NewKey = new_cursor_key,
) -> None:
    """Run one rotation ``step`` for version ``token`` of ``secret_id``, which must be ``secret_name``
    (the one secret this function is deployed to rotate)."""
    if step not in STEPS:
        raise RotationError(f"unknown step {step!r}; Secrets Manager sends one of {', '.join(STEPS)}")
    metadata = client.describe_secret(SecretId=secret_id)
    name = metadata.get("Name")
    if name != secret_name:
        raise RotationError(f"asked to rotate {name!r}; this function rotates only {secret_name!r}")
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled for {name}; configure it with a rotation schedule")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise RotationError(f"version {token} of {name} has no staging label; it is not a rotation's version")
    if CURRENT in stages[token]:
        logger.info("rotation step already done: the version is AWSCURRENT", extra=_fields(step, token))
        return
    if PENDING not in stages[token]:
        raise RotationError(f"version {token} of {name} is not AWSPENDING; start a new rotation")
    _STEPS[step](client, secret_id, token, metadata, new_key)


def _create(
    client: SecretsManagerClient,
    secret_id: str,
    token: str,
    metadata: DescribeSecretResponseTypeDef,
    new_key: NewKey,
) -> None:
    _refuse_failed_replicas(metadata)
    current = _read(client, secret_id, CURRENT)
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    else:
        logger.info(
            "createSecret: the pending version already has its value", extra=_fields("createSecret", token)
        )
        return
    pending = current.rotated(new_key())
    client.put_secret_value(
        SecretId=secret_id, ClientRequestToken=token, SecretString=pending.to_json(), VersionStages=[PENDING]
    )
    logger.info(
        "createSecret: pending version written",
        extra={
            **_fields("createSecret", token),
            "signing_key": pending.current.id,
            "live_keys": _ids(pending),
        },
    )


def _set(
    client: SecretsManagerClient,
    secret_id: str,
    token: str,
    metadata: DescribeSecretResponseTypeDef,
    new_key: NewKey,
) -> None:
    # The keys live only in this secret: the API reads them from it at cold start.
    logger.info("setSecret: nothing outside the secret holds the keys", extra=_fields("setSecret", token))


def _test(
    client: SecretsManagerClient,
    secret_id: str,
    token: str,
    metadata: DescribeSecretResponseTypeDef,
    new_key: NewKey,
) -> None:
    _refuse_failed_replicas(metadata)
    current = _read(client, secret_id, CURRENT)
    pending = _read(client, secret_id, PENDING, version=token)
    problems = successor_problems(current, pending)
    if problems:
        raise RotationError(f"version {token} is not a safe successor: {'; '.join(problems)}")
    logger.info("testSecret: the pending version is a safe successor", extra=_fields("testSecret", token))


def _finish(
    client: SecretsManagerClient,
    secret_id: str,
    token: str,
    metadata: DescribeSecretResponseTypeDef,
    new_key: NewKey,
) -> None:
    _refuse_failed_replicas(metadata)
    stages = metadata.get("VersionIdsToStages", {})
    current = next((version for version, labels in stages.items() if CURRENT in labels), None)
    if current is None:
        raise RotationError("no version is AWSCURRENT; restore one before rotating")
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
    )
    client.update_secret_version_stage(SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token)
    logger.info(
        "finishSecret: AWSCURRENT moved", extra={**_fields("finishSecret", token), "previous": current}
    )


_STEPS: dict[str, Callable[[SecretsManagerClient, str, str, DescribeSecretResponseTypeDef, NewKey], None]] = {
    "createSecret": _create,
    "setSecret": _set,
    "testSecret": _test,
    "finishSecret": _finish,
}


def successor_problems(current: ApplicationSecret, pending: ApplicationSecret) -> list[str]:
    """Why ``pending`` may not replace ``current`` (empty when it may): it must sign with a new key (new
    id, new material), keep exactly today's signing key as the previous one, keep the pseudonym
    secret, and verify a cursor that ``current`` signs."""
    problems = []
    if pending.current.id in _ids(current):
        problems.append(f"its signing key {pending.current.id!r} is not new")
    elif any(hmac.compare_digest(pending.current.secret, key.secret) for key in current.cursor_keys):
        problems.append(f"its signing key {pending.current.id!r} reuses a live key's material")
    if pending.cursor_keys[1:] != (current.current,):
        problems.append(f"it must keep today's signing key {current.current.id!r} as its only other key")
    if not hmac.compare_digest(pending.pseudonym_secret, current.pseudonym_secret):
        problems.append("it changes the pseudonym secret, so log pseudonyms would stop correlating")
    try:
        today = CursorCodec(current).encode(_PROBE_SCOPE, _PROBE_POSITION)
        tomorrow = CursorCodec(pending)
        tomorrow.decode(_PROBE_SCOPE, today)
        tomorrow.decode(_PROBE_SCOPE, tomorrow.encode(_PROBE_SCOPE, _PROBE_POSITION))
    except InvalidCursor as exc:
        problems.append(f"a cursor does not survive the rotation ({exc})")
    return problems


def _read(
    client: SecretsManagerClient, secret_id: str, stage: str, *, version: str | None = None
) -> ApplicationSecret:
    response = (
        client.get_secret_value(SecretId=secret_id, VersionStage=stage, VersionId=version)
        if version
        else client.get_secret_value(SecretId=secret_id, VersionStage=stage)
    )
    text = response.get("SecretString")
    try:
        return parse_application_secret(text if text is not None else response["SecretBinary"])
    except ValueError as exc:
        raise RotationError(f"the {stage} value of {secret_id} is not valid: {exc}") from None


def _refuse_failed_replicas(metadata: DescribeSecretResponseTypeDef) -> None:
    failed = [
        f"{status.get('Region')} ({status.get('StatusMessage', 'no message')})"
        for status in metadata.get("ReplicationStatus", [])
        if status.get("Status") == "Failed"
    ]
    if failed:
        raise RotationError(
            f"replication to {', '.join(failed)} has failed; fix it (the replica's key and its policy) "
            "before rotating, or the Regions would sign and verify cursors with different keys"
        )


def _ids(secret: ApplicationSecret) -> list[str]:
    return [key.id for key in secret.cursor_keys]


def _fields(step: str, token: str) -> dict[str, str]:
    return {"step": step, "version": token}


@cache
def _default_client() -> SecretsManagerClient:
    import boto3  # noqa: PLC0415 - first use, not import, pays for the SDK
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("secretsmanager", config=config)


@snapstart.forget_on_restore
def _forget_environment() -> None:
    """SnapStart: the next step builds its client from this environment's own credentials."""
    _default_client.cache_clear()


def handler(event: Mapping[str, Any], context: Any, client: SecretsManagerClient | None = None) -> None:
    """Lambda entry point; Secrets Manager sends ``Step``, ``SecretId`` and ``ClientRequestToken``."""
    secret_name = os.environ.get(env.ENV_CURSOR_SECRET_ID)
    if not secret_name:
        raise RotationError(
            f"{env.ENV_CURSOR_SECRET_ID} is not set: the function must know which secret it rotates"
        )
    rotate(
        client or _default_client(),
        secret_id=event["SecretId"],
        token=event["ClientRequestToken"],
        step=event["Step"],
        secret_name=secret_name,
    )
