"""Opaque, tamper-evident pagination cursors: the position, bound to the listing, signed with HMAC-SHA256.

A cursor is ``<key id>.<payload>.<tag>``: the id of the cursor key that signed it, then base64url
JSON of the position, then a 128-bit truncated HMAC over the key id, the listing scope and the
payload. The codec signs with the current key and verifies with any live key (current or previous),
so a cursor survives one rotation of the application secret and no more
(docs/adr/0013-cursor-secret-in-secrets-manager.md). Each HMAC key is derived from its cursor key
with HKDF (strongroom.runtime.keys), never the key itself (docs/adr/0018-hkdf-derived-keys.md).

A cursor from before key ids (``<payload>.<tag>``, MAC over scope and payload) was signed by the plain
string the secret held then: it verifies only while that key, ``LEGACY_KEY_ID``, is live.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from strongroom.runtime.domain.errors import InvalidCursor
from strongroom.runtime.keys import (
    KEY_ID_PATTERN,
    LEGACY_KEY_ID,
    ApplicationSecret,
    cursor_signing_key,
    parse_application_secret,
)

_VERSION = 1
_TAG_BYTES = 16
_KEY_ID_RE = re.compile(KEY_ID_PATTERN)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the canonical spelling: otherwise the unused low
    bits of the last character would let several different strings decode to the same bytes."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("non-canonical base64")
    return data


def _malformed() -> InvalidCursor:
    return InvalidCursor("cursor is malformed; pass back nextCursor exactly as it was returned")


class CursorCodec:
    """Encodes a position so that only this platform can mint one, and only for the listing it came from.

    ``secret`` is the application secret: parsed (``ApplicationSecret``) or its stored value (the
    JSON document, or the plain string from before rotation). Only derived keys are kept.
    """

    def __init__(self, secret: ApplicationSecret | bytes | str) -> None:
        parsed = secret if isinstance(secret, ApplicationSecret) else parse_application_secret(secret)
        self._signing_id = parsed.current.id
        self._keys = {key.id: cursor_signing_key(key.secret) for key in parsed.cursor_keys}

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The live key ids, the signing one first (safe to log: ids are not secrets)."""
        return tuple(self._keys)

    @staticmethod
    def _tag(key: bytes, key_id: str | None, scope: str, payload: bytes) -> bytes:
        # A cursor from before key ids was MACed over scope and payload alone; a key id is never
        # empty and neither it nor a scope holds NUL, so the two inputs cannot be confused.
        prefix = b"" if key_id is None else key_id.encode() + b"\x00"
        message = prefix + scope.encode() + b"\x00" + payload
        return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: dict[str, str]) -> str:
        payload = json.dumps({"v": _VERSION, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        tag = self._tag(self._keys[self._signing_id], self._signing_id, scope, payload)
        return f"{self._signing_id}.{_b64(payload)}.{_b64(tag)}"

    def decode(self, scope: str, cursor: str) -> dict[str, str]:
        parts = cursor.split(".")
        if len(parts) == 3:
            key_id: str | None = parts[0]
            payload_text, tag_text = parts[1:]
        elif len(parts) == 2:
            key_id, (payload_text, tag_text) = None, parts
        else:
            raise _malformed()
        if key_id is not None and not _KEY_ID_RE.fullmatch(key_id):
            raise _malformed()
        try:
            payload, tag = _unb64(payload_text), _unb64(tag_text)
        except (ValueError, binascii.Error):
            raise _malformed() from None
        key = self._keys.get(LEGACY_KEY_ID if key_id is None else key_id)
        if key is None:
            raise InvalidCursor("cursor has expired (its key was rotated out); start the listing again")
        if not hmac.compare_digest(tag, self._tag(key, key_id, scope, payload)):
            raise InvalidCursor("cursor was altered or belongs to a different listing")
        document = json.loads(payload)
        position = document.get("p")
        if document.get("v") != _VERSION or not isinstance(position, dict):
            raise InvalidCursor("cursor is from an unsupported version; start the listing again")
        return {str(k): str(v) for k, v in position.items()}
