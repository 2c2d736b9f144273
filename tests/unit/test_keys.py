"""HKDF-SHA256 against RFC 5869's own test vectors, and the purpose keys it derives."""

from __future__ import annotations

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
