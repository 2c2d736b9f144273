"""Keys derived from the application secret: HKDF (RFC 5869) with SHA-256, one ``info`` label per purpose.

One secret serves several purposes (cursor signing, log pseudonyms). HKDF makes each purpose's key
independent of the others and of the secret itself, so a key that leaks through one use (a pseudonym
oracle, say) tells nothing about another. Written with ``hmac`` in a few lines: the runtime ships to
Lambda, where a cryptography package would cost cold-start time for two derivations per environment.
See docs/adr/0018-hkdf-derived-keys.md.
"""

from __future__ import annotations

import hashlib
import hmac

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
