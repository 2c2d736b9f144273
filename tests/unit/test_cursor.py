"""Pagination cursors: opaque, bound to their listing, and any alteration is detected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from strongroom.runtime.cursor import CursorCodec
from strongroom.runtime.domain import InvalidCursor
from strongroom.runtime.keys import cursor_signing_key, log_pseudonym_key

SECRET = b"s" * 32
CURSOR_ALPHABET = string.ascii_letters + string.digits + "-_.="
POSITIONS = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40), min_size=1, max_size=3)
SCOPES = st.text(min_size=1, max_size=40)
LISTING_POSITION = {
    "id": "txn_q5f5vjpfcbir2bitgbnxtajodi",
    "sort": "2026-11-23T12:00:00.001Z#txn_q5f5vjpfcbir2bitgbnxtajodi",
}


@given(scope=SCOPES, position=POSITIONS)
def test_round_trip(scope: str, position: dict[str, str]) -> None:
    codec = CursorCodec(SECRET)
    assert codec.decode(scope, codec.encode(scope, position)) == position


@given(position=POSITIONS)
def test_cursor_is_opaque_url_safe_text(position: dict[str, str]) -> None:
    cursor = CursorCodec(SECRET).encode("customer:c1", position)
    assert set(cursor) <= set(string.ascii_letters + string.digits + "-_.")


def altered_cursors_accepted(codec: CursorCodec, scope: str, cursor: str) -> list[str]:
    """Every single-character alteration of ``cursor`` that ``decode`` does not reject."""
    accepted = []
    for index, original in enumerate(cursor):
        for replacement in CURSOR_ALPHABET:
            if replacement == original:
                continue
            altered = cursor[:index] + replacement + cursor[index + 1 :]
            try:
                codec.decode(scope, altered)
            except InvalidCursor:
                continue
            accepted.append(f"[{index}] {original!r}->{replacement!r}")
    return accepted


# Each example already tries every alteration; shrinking that is slow and adds nothing.
@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(scope=SCOPES, position=POSITIONS)
def test_altering_any_character_is_detected(scope: str, position: dict[str, str]) -> None:
    # Exhaustive over indexes and replacement characters: a property sampling one flip at a time
    # would rarely land on the few alterations that matter (the last character of each segment).
    codec = CursorCodec(SECRET)
    cursor = codec.encode(scope, position)
    assert altered_cursors_accepted(codec, scope, cursor) == []


def test_altering_any_character_of_a_listing_cursor_is_detected() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode("customer:cust-0042", LISTING_POSITION)
    assert altered_cursors_accepted(codec, "customer:cust-0042", cursor) == []


@given(scopes=st.lists(SCOPES, min_size=2, max_size=2, unique=True), position=POSITIONS)
def test_cursor_from_another_scope_is_rejected(scopes: list[str], position: dict[str, str]) -> None:
    codec = CursorCodec(SECRET)
    with pytest.raises(InvalidCursor, match="different listing"):
        codec.decode(scopes[1], codec.encode(scopes[0], position))


def test_cursor_minted_with_another_secret_is_rejected() -> None:
    cursor = CursorCodec(b"a" * 32).encode("customer:c1", LISTING_POSITION)
    with pytest.raises(InvalidCursor):
        CursorCodec(b"b" * 32).decode("customer:c1", cursor)


@pytest.mark.parametrize(
    "cursor", ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "eyJ2IjoxfQ", "eyJ2IjoxfQ.", ".AAAA", "a b.c d"]
)
def test_malformed_cursors_are_rejected(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode("customer:c1", cursor)


def _signed(payload: bytes, scope: str, key: bytes | None = None) -> str:
    """A cursor in the wire format (payload.tag, URL-safe base64 without padding), signed with ``key``
    (by default the key the codec derives from SECRET)."""
    key = cursor_signing_key(SECRET) if key is None else key
    tag = hmac.new(key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"{b64(payload)}.{b64(tag)}"


def _listing_payload() -> bytes:
    return json.dumps({"p": LISTING_POSITION, "v": 1}, separators=(",", ":"), sort_keys=True).encode()


def test_wire_format_is_payload_dot_truncated_hmac() -> None:
    # Cursors already handed to clients must keep decoding after a deploy that keeps the key.
    expected = _signed(_listing_payload(), "customer:c1")
    assert CursorCodec(SECRET).encode("customer:c1", LISTING_POSITION) == expected


def test_cursor_signed_with_the_raw_secret_no_longer_verifies() -> None:
    # Before docs/adr/0018-hkdf-derived-keys.md the secret itself was the HMAC key.
    cursor = _signed(_listing_payload(), "customer:c1", key=SECRET)
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode("customer:c1", cursor)


def test_signing_key_is_derived_and_differs_from_the_secret_and_the_pseudonym_key() -> None:
    key = cursor_signing_key(SECRET)
    assert key not in {SECRET, log_pseudonym_key(SECRET)}
    cursor = _signed(_listing_payload(), "customer:c1", key=key)
    assert CursorCodec(SECRET).decode("customer:c1", cursor) == LISTING_POSITION


@pytest.mark.parametrize("document", [{"v": 2, "p": {"id": "x"}}, {"v": 1, "p": ["x"]}, {"v": 1}])
def test_signed_cursor_of_another_version_or_shape_is_rejected(document: dict[str, object]) -> None:
    cursor = _signed(json.dumps(document).encode(), "customer:c1")
    with pytest.raises(InvalidCursor, match="unsupported version"):
        CursorCodec(SECRET).decode("customer:c1", cursor)


@pytest.mark.parametrize("length", [0, 1, 15])
def test_short_secret_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        CursorCodec(b"k" * length)


def test_sixteen_byte_secret_is_enough() -> None:
    codec = CursorCodec(b"k" * 16)
    assert codec.decode("s", codec.encode("s", {"id": "x"})) == {"id": "x"}
