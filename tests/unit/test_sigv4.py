"""The local gateway's SigV4 verifier refuses each way a request can be wrongly signed, as IAM auth does."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from strongroom.local.sigv4 import CredentialLookup, Credentials, Headers, SignatureError, sign, verify

REGION = "eu-west-1"
HOST = "127.0.0.1:8080"
PATH = "/transactions?limit=3"
URL = f"http://{HOST}{PATH}"
BODY = b'{"amount":"1.00"}'
KEY = Credentials("AKIAUNITTESTKEY00001", "unit-test-secret-key-0000000000000000001")
SESSION = Credentials("ASIAUNITTESTKEY00001", "unit-test-session-secret-00000000000001", "session-token-1")


def signed(
    headers: Headers | None = None, *, body: bytes = BODY, credentials: Credentials = KEY
) -> list[tuple[str, str]]:
    return sign(
        method="POST",
        url=URL,
        headers=headers or {"Content-Type": "application/json"},
        body=body,
        credentials=credentials,
        region=REGION,
    )


def signed_at(headers: list[tuple[str, str]]) -> datetime:
    value = dict(headers)["X-Amz-Date"]
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def check(
    headers: list[tuple[str, str]],
    *,
    body: bytes = BODY,
    credentials: Credentials | CredentialLookup | None = None,
    now: datetime | None = None,
) -> str:
    """verify() at the moment of signing (unless ``now``), with the Host header the client sends."""
    wire = [("Host", HOST), *headers] if not any(n.lower() == "host" for n, _ in headers) else headers
    return verify(
        method="POST",
        raw_path=PATH,
        headers=wire,
        body=body,
        credentials=credentials or KEY,
        region=REGION,
        now=now or signed_at(headers),
    )


def replaced(headers: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    """``headers`` with ``name`` set to ``value`` (or removed when None)."""
    kept = [(n, v) for n, v in headers if n.lower() != name.lower()]
    return kept if value is None else [*kept, (name, value)]


def with_authorization(
    headers: list[tuple[str, str]], pattern: str, replacement: str
) -> list[tuple[str, str]]:
    authorization = re.sub(pattern, replacement, dict(headers)["Authorization"])
    return replaced(headers, "Authorization", authorization)


class _SignerWithoutHost(SigV4Auth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


def signed_by(
    signer: type[SigV4Auth], service: str = "execute-api", region: str = REGION
) -> list[tuple[str, str]]:
    request = AWSRequest(method="POST", url=URL, data=BODY, headers={"Content-Type": "application/json"})
    signer(ReadOnlyCredentials(KEY.access_key_id, KEY.secret_access_key, None), service, region).add_auth(
        request
    )
    return list(request.headers.items())


# --- what verifies ---------------------------------------------------------------------------------


def test_a_correctly_signed_request_verifies_and_names_its_access_key() -> None:
    assert check(signed()) == KEY.access_key_id


def test_a_repeated_header_is_verified_in_its_canonical_comma_joined_form() -> None:
    # GIVEN a header sent twice, signed as SigV4 canonicalises it ("a,b")
    headers = signed([("Content-Type", "application/json"), ("X-Tag", "a"), ("X-Tag", "b")])
    assert [v for n, v in headers if n == "X-Tag"] == ["a", "b"]

    # THEN both values, in order, are what verifies
    assert check(headers) == KEY.access_key_id
    with pytest.raises(SignatureError, match="signature does not match"):
        check(replaced(headers, "X-Tag", "b"))  # only the last value: what a dict of headers keeps
    with pytest.raises(SignatureError, match="signature does not match"):
        check([*replaced(headers, "X-Tag", None), ("X-Tag", "b"), ("X-Tag", "a")])  # order matters


def test_temporary_credentials_verify_with_their_signed_session_token() -> None:
    headers = signed(credentials=SESSION)
    assert dict(headers)["X-Amz-Security-Token"] == SESSION.session_token
    assert "x-amz-security-token" in dict(headers)["Authorization"]

    assert check(headers, credentials=SESSION) == SESSION.access_key_id


# --- what is refused -------------------------------------------------------------------------------


def test_a_body_changed_after_signing_is_refused() -> None:
    headers = signed()
    with pytest.raises(SignatureError, match="signature does not match"):
        check(headers, body=BODY.replace(b"1.00", b"9.00"))


def test_a_content_hash_header_that_does_not_match_the_body_is_refused() -> None:
    # GIVEN a signature over a declared hash of another body (the signature itself is consistent)
    headers = signed(
        {"Content-Type": "application/json", "X-Amz-Content-SHA256": hashlib.sha256(b"x").hexdigest()}
    )
    with pytest.raises(SignatureError, match="X-Amz-Content-SHA256 does not match the body"):
        check(headers)


@pytest.mark.parametrize("skew", [timedelta(minutes=4, seconds=59), -timedelta(minutes=4, seconds=59)])
def test_clock_skew_just_inside_five_minutes_is_accepted(skew: timedelta) -> None:
    headers = signed()
    assert check(headers, now=signed_at(headers) + skew) == KEY.access_key_id


@pytest.mark.parametrize("skew", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1)])
def test_clock_skew_just_outside_five_minutes_is_refused(skew: timedelta) -> None:
    headers = signed()
    with pytest.raises(SignatureError, match="clock skew"):
        check(headers, now=signed_at(headers) + skew)


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_or_empty_date_header_is_refused(value: str | None) -> None:
    headers = signed()
    now = signed_at(headers)
    with pytest.raises(SignatureError, match="missing X-Amz-Date"):
        check(replaced(headers, "X-Amz-Date", value), now=now)


def test_an_empty_scope_date_without_a_date_header_is_refused_not_a_crash() -> None:
    headers = with_authorization(signed(), r"(Credential=[^/]+)/\d{8}/", r"\1//")
    now = signed_at(headers)
    with pytest.raises(SignatureError):
        check(replaced(headers, "X-Amz-Date", None), now=now)


def test_a_date_header_from_another_day_than_the_scope_is_refused() -> None:
    headers = signed()
    with pytest.raises(SignatureError, match="does not match the credential scope date"):
        check(with_authorization(headers, r"(Credential=[^/]+)/\d{8}/", r"\g<1>/20000101/"))


def test_a_signature_that_does_not_cover_host_is_refused() -> None:
    headers = signed_by(_SignerWithoutHost)
    assert "host" not in dict(headers)["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    with pytest.raises(SignatureError, match="host header must be signed"):
        check(headers)


@pytest.mark.parametrize(("service", "region"), [("s3", REGION), ("execute-api", "us-east-1")])
def test_a_signature_for_another_service_or_region_is_refused(service: str, region: str) -> None:
    with pytest.raises(SignatureError, match="credential scope must be"):
        check(signed_by(SigV4Auth, service, region))


def test_an_unknown_access_key_is_refused() -> None:
    other = Credentials("AKIAOTHERKEY00000001", KEY.secret_access_key)
    with pytest.raises(SignatureError, match="not known"):
        check(signed(credentials=other))


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="signature does not match"):
        check(signed(credentials=Credentials(KEY.access_key_id, "not-the-secret")))


def test_a_missing_authorization_header_is_refused() -> None:
    with pytest.raises(SignatureError, match="missing Authorization"):
        check(replaced(signed(), "Authorization", None))


def test_a_repeated_authorization_header_is_refused() -> None:
    headers = signed()
    with pytest.raises(SignatureError, match="must appear once"):
        check([*headers, ("Authorization", dict(headers)["Authorization"])])


def test_temporary_credentials_without_their_session_token_are_refused() -> None:
    headers = signed(credentials=SESSION)
    with pytest.raises(SignatureError, match="X-Amz-Security-Token"):
        check(replaced(headers, "X-Amz-Security-Token", None), credentials=SESSION)


def test_a_session_token_of_another_session_is_refused() -> None:
    # GIVEN a request signed with a token that is not the one issued with this access key
    impostor = Credentials(SESSION.access_key_id, SESSION.secret_access_key, "another-session-token")
    with pytest.raises(SignatureError, match="security token does not belong"):
        check(signed(credentials=impostor), credentials=SESSION)


def test_a_session_token_that_is_not_signed_is_refused() -> None:
    headers = [*signed(credentials=Credentials(SESSION.access_key_id, SESSION.secret_access_key))]
    with pytest.raises(SignatureError, match="signed"):
        check([*headers, ("X-Amz-Security-Token", "session-token-1")], credentials=SESSION)


def test_a_session_token_with_long_term_credentials_is_refused() -> None:
    headers = signed(credentials=Credentials(KEY.access_key_id, KEY.secret_access_key, "a-token"))
    with pytest.raises(SignatureError, match="long-term"):
        check(headers)


def test_a_lookup_resolves_each_access_key_to_its_credentials() -> None:
    keys = {KEY.access_key_id: KEY, SESSION.access_key_id: SESSION}

    def lookup(access_key_id: str) -> Credentials:
        if access_key_id not in keys:
            raise SignatureError("unknown")
        return keys[access_key_id]

    assert check(signed(credentials=SESSION), credentials=lookup) == SESSION.access_key_id
    assert check(signed(), credentials=lookup) == KEY.access_key_id


# --- secrets stay out of reprs ---------------------------------------------------------------------


def test_credentials_repr_shows_the_key_id_but_no_secret_or_token() -> None:
    text = repr(SESSION)
    assert SESSION.access_key_id in text
    assert SESSION.secret_access_key not in text
    assert "session-token-1" not in text
