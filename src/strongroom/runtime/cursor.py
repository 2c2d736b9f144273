"""Opaque, tamper-evident pagination cursors: the position, bound to the listing, signed with HMAC-SHA256.

The signing key is derived from the application secret with HKDF (strongroom.runtime.keys), never the
secret itself: the same secret keys the log pseudonyms (docs/adr/0018-hkdf-derived-keys.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from strongroom.runtime.domain.errors import InvalidCursor
from strongroom.runtime.keys import cursor_signing_key

_VERSION = 1
_TAG_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the canonical spelling: otherwise the unused low
    bits of the last character would let several different strings decode to the same bytes."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("non-canonical base64")
    return data


class CursorCodec:
    """Encodes a position so that only this platform can mint one, and only for the listing it came from."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("cursor secret must be at least 16 bytes")
        self._key = cursor_signing_key(secret)  # the secret itself is not kept

    def _tag(self, scope: str, payload: bytes) -> bytes:
        return hmac.new(self._key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: dict[str, str]) -> str:
        payload = json.dumps({"v": _VERSION, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(payload)}.{_b64(self._tag(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> dict[str, str]:
        try:
            payload_text, tag_text = cursor.split(".")
            payload, tag = _unb64(payload_text), _unb64(tag_text)
        except (ValueError, binascii.Error):
            raise InvalidCursor(
                "cursor is malformed; pass back nextCursor exactly as it was returned"
            ) from None
        if not hmac.compare_digest(tag, self._tag(scope, payload)):
            raise InvalidCursor("cursor was altered or belongs to a different listing")
        document = json.loads(payload)
        position = document.get("p")
        if document.get("v") != _VERSION or not isinstance(position, dict):
            raise InvalidCursor("cursor is from an unsupported version; start the listing again")
        return {str(k): str(v) for k, v in position.items()}
