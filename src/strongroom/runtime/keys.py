"""The application secret and the keys derived from it: HKDF (RFC 5869) with SHA-256, one ``info``
label per purpose.

The application secret holds the cursor keys (the current one first, then the previous one, so a
cursor signed before a rotation still verifies after it) and the pseudonym secret, which does not
rotate, so log pseudonyms correlate across rotations (docs/adr/0013-cursor-secret-in-secrets-manager.md).
HKDF makes each purpose's key independent of the others and of the secret itself, so a key that leaks
through one use (a pseudonym oracle, say) tells nothing about another. Written with ``hmac`` in a few
lines: the runtime ships to Lambda, where a cryptography package would cost cold-start time for a few
derivations per environment. See docs/adr/0018-hkdf-derived-keys.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_HASH = hashlib.sha256
HASH_BYTES = 32

# The info labels: one per purpose, versioned so a purpose's key can be changed on its own.
CURSOR_SIGNING = b"strongroom/cursor-signing/v1"
LOG_PSEUDONYM = b"strongroom/log-pseudonym/v1"


def hkdf_extract(salt: bytes, input_key: bytes) -> bytes:
    """RFC 5869 2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes."""
    return hmac.new(salt or bytes(HASH_BYTES), input_key, _HASH).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), concatenated and cut to ``length``."""
    if not 1 <= length <= 255 * HASH_BYTES:
        raise ValueError(f"length {length} is outside 1..{255 * HASH_BYTES}")
    output, block = b"", b""
    for counter in range(1, -(-length // HASH_BYTES) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), _HASH).digest()
        output += block
    return output[:length]


def hkdf(input_key: bytes, info: bytes, *, salt: bytes = b"", length: int = HASH_BYTES) -> bytes:
    """The ``length``-byte key for ``info``. No salt by default: the secret is random (RFC 5869 3.1)."""
    return hkdf_expand(hkdf_extract(salt, input_key), info, length)


def cursor_signing_key(secret: bytes) -> bytes:
    return hkdf(secret, CURSOR_SIGNING)


def log_pseudonym_key(secret: bytes) -> bytes:
    return hkdf(secret, LOG_PSEUDONYM)


# --- the application secret's value -------------------------------------------------------------

# The secret's value before its first rotation was one plain string; it reads as a single cursor key
# with this id (which no generated id can take: those are hex) and as the pseudonym secret too.
LEGACY_KEY_ID = "legacy"
MIN_SECRET_BYTES = 16
MAX_LIVE_KEYS = 2  # the current key and the previous one; older cursors are refused
KEY_ID_PATTERN = "[A-Za-z0-9_-]{1,32}"
_KEY_ID_RE = re.compile(KEY_ID_PATTERN)
DOCUMENT_VERSION = 1


@dataclass(frozen=True, slots=True)
class CursorKey:
    """One cursor key: its id travels in every cursor it signs; its secret never leaves the runtime."""

    id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApplicationSecret:
    """The application secret: live cursor keys (current first) and the non-rotating pseudonym secret.

    Stored in Secrets Manager as ``{"v": 1, "keys": [{"id": ..., "secret": ...}, ...],
    "pseudonymSecret": ...}``, so one GetSecretValue at cold start yields every live key.
    """

    cursor_keys: tuple[CursorKey, ...]
    pseudonym_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def current(self) -> CursorKey:
        return self.cursor_keys[0]

    def rotated(self, new_key: CursorKey) -> ApplicationSecret:
        """The next value: ``new_key`` signs, today's current key still verifies, the previous one is
        dropped, and the pseudonym secret is kept as it is."""
        if new_key.id in {key.id for key in self.cursor_keys}:
            raise ValueError(f"key id {new_key.id!r} is already live; generate another key")
        return ApplicationSecret((new_key, self.current), self.pseudonym_secret)

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": DOCUMENT_VERSION,
                "keys": [{"id": key.id, "secret": key.secret.decode()} for key in self.cursor_keys],
                "pseudonymSecret": self.pseudonym_secret.decode(),
            },
            separators=(",", ":"),
            sort_keys=True,
        )


def _problems(value: ApplicationSecret) -> list[str]:
    """Every way ``value`` breaks the rules, without quoting any secret."""
    problems = []
    ids = [key.id for key in value.cursor_keys]
    if not 1 <= len(ids) <= MAX_LIVE_KEYS:
        problems.append(f"{len(ids)} cursor keys; 1 to {MAX_LIVE_KEYS} may be live")
    if len(set(ids)) != len(ids):
        problems.append(f"cursor key ids {ids} repeat")
    for key in value.cursor_keys:
        if not _KEY_ID_RE.fullmatch(key.id):
            problems.append(f"cursor key id {key.id!r} is not {KEY_ID_PATTERN}")
        if len(key.secret) < MIN_SECRET_BYTES:
            problems.append(f"cursor key {key.id!r} is shorter than {MIN_SECRET_BYTES} bytes")
    if len(value.pseudonym_secret) < MIN_SECRET_BYTES:
        problems.append(f"the pseudonym secret is shorter than {MIN_SECRET_BYTES} bytes")
    return problems


def parse_application_secret(value: str | bytes) -> ApplicationSecret:
    """Read the secret's value: the JSON document, or a plain string from before the first rotation
    (one cursor key, ``LEGACY_KEY_ID``, that is also the pseudonym secret). Raises ValueError saying
    what is wrong, never quoting the value."""
    raw = value.encode() if isinstance(value, str) else value
    if not raw.lstrip().startswith(b"{"):
        return ApplicationSecret((CursorKey(LEGACY_KEY_ID, raw),), raw)
    try:
        document = json.loads(raw)
    except ValueError:
        raise ValueError("the secret looks like JSON but does not parse") from None
    if not isinstance(document, Mapping) or document.get("v") != DOCUMENT_VERSION:
        raise ValueError(f"the secret document is not version {DOCUMENT_VERSION}")
    keys, pseudonym = document.get("keys"), document.get("pseudonymSecret")
    if not isinstance(keys, list) or not all(_is_key_entry(entry) for entry in keys):
        raise ValueError('"keys" must be a list of {"id": text, "secret": text}')
    if not isinstance(pseudonym, str):
        raise ValueError('"pseudonymSecret" must be text')
    return ApplicationSecret(
        tuple(CursorKey(entry["id"], entry["secret"].encode()) for entry in keys), pseudonym.encode()
    )


def _is_key_entry(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and isinstance(entry.get("id"), str)
        and isinstance(entry.get("secret"), str)
    )


def _random_text(nbytes: int = 32) -> bytes:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=")


def new_cursor_key() -> CursorKey:
    """A fresh cursor key: 256 random bits, and a random 48-bit id (hex, so never ``LEGACY_KEY_ID``)."""
    return CursorKey(secrets.token_hex(6), _random_text())


def new_application_secret() -> ApplicationSecret:
    """A first value: one cursor key and a pseudonym secret (local mode; AWS rotates into this shape)."""
    return ApplicationSecret((new_cursor_key(),), _random_text())
