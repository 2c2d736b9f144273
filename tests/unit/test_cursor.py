"""Pagination cursors: opaque, bound to their listing and their key, and any alteration is detected;
signed with the current key, verified with the current or the previous one."""

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
from strongroom.runtime.keys import (
    LEGACY_KEY_ID,
    ApplicationSecret,
    CursorKey,
    cursor_signing_key,
    log_pseudonym_key,
)

SECRET = b"s" * 32  # a plain string, as the secret held before its first rotation
PSEUDONYM = b"p" * 32
OLDEST, PREVIOUS, CURRENT = (CursorKey(f"k{n}", bytes([0x61 + n]) * 32) for n in range(3))
BEFORE_ROTATION = ApplicationSecret((PREVIOUS,), PSEUDONYM)
AFTER_ROTATION = ApplicationSecret((CURRENT, PREVIOUS), PSEUDONYM)
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _signed(payload: bytes, scope: str, key: bytes | None = None) -> str:
    """A cursor in the format from before key ids (payload.tag, URL-safe base64 without padding),
    signed with ``key`` (by default the key the codec derives from SECRET)."""
    key = cursor_signing_key(SECRET) if key is None else key
    tag = hmac.new(key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(tag)}"


def _keyed(payload: bytes, scope: str, key: CursorKey, key_id: str | None = None) -> str:
    """A cursor in today's format (keyid.payload.tag), MACed over key id, scope and payload."""
    key_id = key.id if key_id is None else key_id
    message = key_id.encode() + b"\x00" + scope.encode() + b"\x00" + payload
    tag = hmac.new(cursor_signing_key(key.secret), message, hashlib.sha256).digest()[:16]
    return f"{key_id}.{_b64(payload)}.{_b64(tag)}"


def _listing_payload() -> bytes:
    return json.dumps({"p": LISTING_POSITION, "v": 1}, separators=(",", ":"), sort_keys=True).encode()


def test_wire_format_is_key_id_dot_payload_dot_truncated_hmac() -> None:
    # Cursors already handed to clients must keep decoding after a deploy that keeps the keys.
    expected = _keyed(_listing_payload(), "customer:c1", CURRENT)
    assert CursorCodec(AFTER_ROTATION).encode("customer:c1", LISTING_POSITION) == expected
    assert CursorCodec(AFTER_ROTATION).decode("customer:c1", expected) == LISTING_POSITION


def test_a_plain_string_secret_signs_under_the_legacy_key_id() -> None:
    cursor = CursorCodec(SECRET).encode("customer:c1", LISTING_POSITION)
    assert cursor == _keyed(_listing_payload(), "customer:c1", CursorKey(LEGACY_KEY_ID, SECRET))


def test_the_current_key_signs_and_the_previous_one_still_verifies() -> None:
    codec = CursorCodec(AFTER_ROTATION)
    issued_before_the_rotation = CursorCodec(BEFORE_ROTATION).encode("customer:c1", LISTING_POSITION)

    assert codec.key_ids == ("k2", "k1")
    assert codec.encode("customer:c1", LISTING_POSITION).startswith("k2.")
    assert codec.decode("customer:c1", issued_before_the_rotation) == LISTING_POSITION


def test_a_cursor_from_two_rotations_ago_has_expired() -> None:
    issued = CursorCodec(ApplicationSecret((OLDEST,), PSEUDONYM)).encode("customer:c1", LISTING_POSITION)
    with pytest.raises(InvalidCursor, match="expired"):
        CursorCodec(AFTER_ROTATION).decode("customer:c1", issued)


@pytest.mark.parametrize("key_id", ["k9", LEGACY_KEY_ID, "x" * 32])
def test_an_unknown_key_id_is_an_invalid_cursor(key_id: str) -> None:
    cursor = _keyed(_listing_payload(), "customer:c1", CURRENT, key_id=key_id)
    with pytest.raises(InvalidCursor, match="expired"):
        CursorCodec(AFTER_ROTATION).decode("customer:c1", cursor)


@pytest.mark.parametrize("key_id", ["", "k 1", "k/1", "x" * 33, "ké"])
def test_a_key_id_outside_the_pattern_is_malformed(key_id: str) -> None:
    cursor = CursorCodec(AFTER_ROTATION).encode("customer:c1", LISTING_POSITION)
    with pytest.raises(InvalidCursor, match="malformed"):
        CursorCodec(AFTER_ROTATION).decode("customer:c1", key_id + cursor[2:])


def test_a_key_id_switched_to_the_other_live_key_is_detected() -> None:
    current = CursorCodec(AFTER_ROTATION).encode("customer:c1", LISTING_POSITION)
    with pytest.raises(InvalidCursor, match="altered"):
        CursorCodec(AFTER_ROTATION).decode("customer:c1", "k1" + current[2:])


def test_the_key_id_is_part_of_what_is_signed() -> None:
    # Two ids for the same key material: only a MAC over the id tells them apart.
    twins = ApplicationSecret((CursorKey("a", SECRET), CursorKey("b", SECRET)), PSEUDONYM)
    cursor = CursorCodec(twins).encode("customer:c1", LISTING_POSITION)
    with pytest.raises(InvalidCursor, match="altered"):
        CursorCodec(twins).decode("customer:c1", "b" + cursor[1:])


def test_a_cursor_from_before_key_ids_verifies_while_the_plain_secret_is_live() -> None:
    # Issued by the runtime before rotation existed: payload.tag, keyed by the plain string.
    issued = _signed(_listing_payload(), "customer:c1")
    first_rotation = ApplicationSecret((CURRENT, CursorKey(LEGACY_KEY_ID, SECRET)), SECRET)
    second_rotation = first_rotation.rotated(CursorKey("k3", b"n" * 32))

    assert CursorCodec(SECRET).decode("customer:c1", issued) == LISTING_POSITION
    assert CursorCodec(first_rotation).decode("customer:c1", issued) == LISTING_POSITION
    with pytest.raises(InvalidCursor, match="expired"):
        CursorCodec(second_rotation).decode("customer:c1", issued)


def test_a_cursor_from_before_key_ids_cannot_pass_as_a_keyed_one() -> None:
    issued = _signed(_listing_payload(), "customer:c1")
    with pytest.raises(InvalidCursor, match="altered"):
        CursorCodec(SECRET).decode("customer:c1", f"{LEGACY_KEY_ID}.{issued}")


@settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(position=POSITIONS)
def test_altering_any_character_of_a_two_key_cursor_is_detected(position: dict[str, str]) -> None:
    codec = CursorCodec(AFTER_ROTATION)
    for issued_by in (codec, CursorCodec(BEFORE_ROTATION)):
        cursor = issued_by.encode("customer:c1", position)
        assert altered_cursors_accepted(codec, "customer:c1", cursor) == []


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
    with pytest.raises(ValueError, match="shorter than 16 bytes"):
        CursorCodec(b"k" * length)


def test_sixteen_byte_secret_is_enough() -> None:
    codec = CursorCodec(b"k" * 16)
    assert codec.decode("s", codec.encode("s", {"id": "x"})) == {"id": "x"}
