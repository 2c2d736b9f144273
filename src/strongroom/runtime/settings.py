"""What a running function knows about its Region, read once from its environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from strongroom import __version__
from strongroom import constants as env
from strongroom.runtime.keys import ApplicationSecret, log_pseudonym_key, parse_application_secret
from strongroom.runtime.problems import checked_problem_type_base


class SettingsError(RuntimeError):
    """The function was deployed without a setting it needs; names the variable to set."""


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    region: str
    transactions_table: str
    data_key_id: str | None
    # The application secret's value as stored (docs/adr/0013-cursor-secret-in-secrets-manager.md):
    # the JSON document of live cursor keys and the pseudonym secret, or a plain string from before
    # the first rotation. Out of the repr, which lands in logs and tracebacks.
    cursor_secret: bytes | None = field(repr=False)
    health_canary_ciphertext: str | None
    cursor_secret_id: str | None = None
    max_body_bytes: int = 8192
    page_size_default: int = 20
    page_size_max: int = 100
    deep_health_interval_seconds: float = 5.0
    ingest_bucket: str | None = None  # GET /files lists it
    audit_table: str | None = None  # and reads each file's status here
    # The release answering: /health and /health/deep report it, so a canary can be told from `live`.
    version: str = __version__
    # Parsed once, when the settings are made (a bad value fails the cold start, naming the fix).
    application_secret: ApplicationSecret | None = field(init=False, repr=False, compare=False)
    pseudonym_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = _parse_secret(self.cursor_secret) if self.cursor_secret else None
        object.__setattr__(self, "application_secret", parsed)
        # The key for log pseudonyms: HKDF of the pseudonym secret, which does not rotate with the
        # cursor keys, so a customer's pseudonym stays the same across rotations. Without a secret
        # (a misconfigured function) it is random per environment: pseudonyms then do not correlate
        # across environments, but they never fall back to an unkeyed hash.
        key = log_pseudonym_key(parsed.pseudonym_secret) if parsed else _RANDOM_KEY
        object.__setattr__(self, "pseudonym_key", key)

    def with_cursor_secret(self, secret: bytes) -> RuntimeSettings:
        return replace(self, cursor_secret=secret)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        e = os.environ if environ is None else environ
        missing = [name for name in (env.ENV_AWS_REGION, env.ENV_TRANSACTIONS_TABLE) if not e.get(name)]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        _check_problem_type_base(e)
        secret = e.get(env.ENV_CURSOR_SECRET)
        return cls(
            region=e[env.ENV_AWS_REGION],
            transactions_table=e[env.ENV_TRANSACTIONS_TABLE],
            data_key_id=e.get(env.ENV_DATA_KEY_ID) or None,
            cursor_secret=secret.encode() if secret else None,
            health_canary_ciphertext=e.get(env.ENV_HEALTH_CANARY_CIPHERTEXT) or None,
            cursor_secret_id=e.get(env.ENV_CURSOR_SECRET_ID) or None,
            max_body_bytes=_int(e, env.ENV_MAX_BODY_BYTES, 8192),
            page_size_max=_int(e, env.ENV_PAGE_SIZE_MAX, 100),
            deep_health_interval_seconds=_seconds(e, env.ENV_DEEP_HEALTH_INTERVAL, 5.0),
            ingest_bucket=e.get(env.ENV_INGEST_BUCKET) or None,
            audit_table=e.get(env.ENV_AUDIT_TABLE) or None,
            version=e.get(env.ENV_VERSION) or __version__,
        )


_RANDOM_KEY = secrets.token_bytes(32)


def renew_random_key() -> None:
    """Draw this environment's fallback pseudonym key again. Drawn at import, it is in a SnapStart
    snapshot and so the same in every environment restored from it (strongroom.runtime.snapstart calls
    this after a restore); settings made afterwards get the new key."""
    global _RANDOM_KEY  # noqa: PLW0603 - one key per execution environment
    _RANDOM_KEY = secrets.token_bytes(32)


def _parse_secret(value: bytes) -> ApplicationSecret:
    try:
        return parse_application_secret(value)
    except ValueError as exc:
        raise SettingsError(
            f"the cursor secret ({env.ENV_CURSOR_SECRET}, or the Secrets Manager secret named by "
            f"{env.ENV_CURSOR_SECRET_ID}) is not valid: {exc}. Restore a value the rotation function "
            "wrote (an earlier version of the secret) or a plain random string of 16+ characters"
        ) from None


def _check_problem_type_base(environ: Mapping[str, str]) -> None:
    """Problems read the base at first use, often in an error path; a bad one fails the cold start instead."""
    raw = environ.get(env.ENV_PROBLEM_TYPE_BASE)
    if raw:
        try:
            checked_problem_type_base(raw)
        except ValueError as exc:
            raise SettingsError(f"{env.ENV_PROBLEM_TYPE_BASE}: {exc}") from None


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number of seconds; fractions allowed (local drills run health checks faster)."""
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:  # NaN fails this too
        raise SettingsError(f"{name}={raw!r} is not a number of seconds between 0 and 3600")
    return value
