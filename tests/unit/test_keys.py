"""HKDF-SHA256 against RFC 5869's own test vectors, and the purpose keys it derives."""

from __future__ import annotations

import base64
import json
import re
from typing import NamedTuple

import pytest

from strongroom.runtime import keys


class Vector(NamedTuple):
    ikm: bytes
    salt: bytes
    info: bytes
    length: int
    prk: str
    okm: str


# RFC 5869, Appendix A, test cases 1-3 (the SHA-256 ones).
RFC_5869_VECTORS = [
    pytest.param(
        Vector(
            bytes([0x0B] * 22),
            bytes(range(0x00, 0x0D)),
            bytes(range(0xF0, 0xFA)),
            42,
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        id="A.1-basic",
    ),
    pytest.param(
        Vector(
            bytes(range(0x00, 0x50)),
            bytes(range(0x60, 0xB0)),
            bytes(range(0xB0, 0x100)),
            82,
            "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
            "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
        ),
        id="A.2-longer-inputs",
    ),
    pytest.param(
        Vector(
            bytes([0x0B] * 22),
            b"",
            b"",
            42,
            "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        ),
        id="A.3-no-salt-no-info",
    ),
]


@pytest.mark.parametrize("v", RFC_5869_VECTORS)
def test_rfc_5869_vectors(v: Vector) -> None:
    assert keys.hkdf_extract(v.salt, v.ikm).hex() == v.prk
    assert keys.hkdf_expand(bytes.fromhex(v.prk), v.info, v.length).hex() == v.okm
    assert keys.hkdf(v.ikm, v.info, salt=v.salt, length=v.length).hex() == v.okm


@pytest.mark.parametrize("length", [0, 255 * 32 + 1])
def test_expand_refuses_lengths_hkdf_cannot_produce(length: int) -> None:
    with pytest.raises(ValueError, match=re.escape("outside 1..8160")):
        keys.hkdf_expand(bytes(32), b"info", length)


def test_each_purpose_has_its_own_key_and_none_is_the_secret() -> None:
    secret = b"s" * 64
    derived = {keys.cursor_signing_key(secret), keys.log_pseudonym_key(secret)}
    assert len(derived) == 2
    assert secret not in derived
    assert all(len(key) == 32 for key in derived)


# --- the application secret's value (docs/adr/0013-cursor-secret-in-secrets-manager.md) ---------

PSEUDONYM = b"p" * 32
FIRST, SECOND, THIRD = (keys.CursorKey(f"k{n}", bytes([0x61 + n]) * 32) for n in range(1, 4))


def test_a_plain_string_is_one_legacy_key_that_also_keys_the_pseudonyms() -> None:
    parsed = keys.parse_application_secret("s" * 64)
    assert parsed.cursor_keys == (keys.CursorKey(keys.LEGACY_KEY_ID, b"s" * 64),)
    assert parsed.pseudonym_secret == b"s" * 64  # pseudonyms do not change at the first rotation


def test_the_document_round_trips_current_key_first() -> None:
    value = keys.ApplicationSecret((SECOND, FIRST), PSEUDONYM)
    document = json.loads(value.to_json())
    assert document == {
        "v": 1,
        "keys": [{"id": "k2", "secret": "c" * 32}, {"id": "k1", "secret": "b" * 32}],
        "pseudonymSecret": "p" * 32,
    }
    assert keys.parse_application_secret(value.to_json()) == value
    assert keys.parse_application_secret(value.to_json().encode()).current == SECOND


def test_rotating_adds_a_signing_key_keeps_todays_and_the_pseudonym_secret() -> None:
    once = keys.ApplicationSecret((FIRST,), PSEUDONYM).rotated(SECOND)
    twice = once.rotated(THIRD)
    assert once.cursor_keys == (SECOND, FIRST)
    assert twice.cursor_keys == (THIRD, SECOND)  # FIRST is no longer live
    assert twice.pseudonym_secret == PSEUDONYM


def test_rotating_to_a_live_key_id_is_refused() -> None:
    with pytest.raises(ValueError, match="already live"):
        keys.ApplicationSecret((SECOND, FIRST), PSEUDONYM).rotated(keys.CursorKey("k1", b"z" * 32))


SECRET_TEXT = "S" * 40


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{not json", "does not parse"),
        ('{"keys": []}', "not version 1"),
        ({"v": 2, "keys": [], "pseudonymSecret": SECRET_TEXT}, "not version 1"),
        ({"v": 1, "keys": "k1", "pseudonymSecret": SECRET_TEXT}, '"keys" must be a list'),
        (
            {"v": 1, "keys": [{"id": 1, "secret": SECRET_TEXT}], "pseudonymSecret": SECRET_TEXT},
            "must be a list",
        ),
        ({"v": 1, "keys": [{"id": "k1", "secret": SECRET_TEXT}]}, '"pseudonymSecret" must be text'),
        ({"v": 1, "keys": [], "pseudonymSecret": SECRET_TEXT}, "0 cursor keys; 1 to 2"),
        (
            {
                "v": 1,
                "keys": [{"id": f"k{n}", "secret": SECRET_TEXT} for n in range(3)],
                "pseudonymSecret": SECRET_TEXT,
            },
            "3 cursor keys; 1 to 2",
        ),
        (
            {"v": 1, "keys": [{"id": "k1", "secret": SECRET_TEXT}] * 2, "pseudonymSecret": SECRET_TEXT},
            "repeat",
        ),
        ({"v": 1, "keys": [{"id": "k.1", "secret": SECRET_TEXT}], "pseudonymSecret": SECRET_TEXT}, "is not"),
        (
            {"v": 1, "keys": [{"id": "k1", "secret": "short"}], "pseudonymSecret": SECRET_TEXT},
            "'k1' is shorter",
        ),
        (
            {"v": 1, "keys": [{"id": "k1", "secret": SECRET_TEXT}], "pseudonymSecret": "short"},
            "pseudonym secret is",
        ),
    ],
)
def test_a_bad_document_is_refused_saying_why_without_quoting_a_secret(
    document: object, problem: str
) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(ValueError, match=re.escape(problem)) as caught:
        keys.parse_application_secret(text)
    assert SECRET_TEXT not in str(caught.value)
    assert "short" not in str(caught.value).replace("shorter", "")


def test_the_repr_shows_key_ids_and_no_secret() -> None:
    text = repr(keys.ApplicationSecret((SECOND, FIRST), PSEUDONYM))
    assert "k2" in text
    assert all(secret not in text for secret in ("c" * 32, "b" * 32, "p" * 32))


def test_new_keys_are_random_256_bit_with_hex_ids() -> None:
    generated = [keys.new_cursor_key() for _ in range(50)]
    assert len({key.id for key in generated}) == len({key.secret for key in generated}) == 50
    for key in generated:
        assert re.fullmatch("[0-9a-f]{12}", key.id)
        assert len(base64.urlsafe_b64decode(key.secret + b"=")) == 32


def test_local_mode_uses_the_rotated_format() -> None:
    from strongroom.local.provision import new_cursor_secret  # noqa: PLC0415

    parsed = keys.parse_application_secret(new_cursor_secret())
    assert len(parsed.cursor_keys) == 1
    assert parsed.current.id != keys.LEGACY_KEY_ID
    assert parsed.pseudonym_secret != parsed.current.secret
