"""What a function reads from its environment at cold start."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from strongroom import __version__
from strongroom import constants as env
from strongroom.runtime.keys import (
    LOG_PSEUDONYM,
    ApplicationSecret,
    CursorKey,
    cursor_signing_key,
    hkdf,
    parse_application_secret,
)
from strongroom.runtime.settings import RuntimeSettings, SettingsError

MINIMAL = {env.ENV_AWS_REGION: "eu-west-1", env.ENV_TRANSACTIONS_TABLE: "strongroom-transactions"}


def test_minimal_environment_gives_defaults() -> None:
    s = RuntimeSettings.from_environ(MINIMAL)
    assert (s.region, s.transactions_table) == ("eu-west-1", "strongroom-transactions")
    assert (s.data_key_id, s.cursor_secret, s.health_canary_ciphertext) == (None, None, None)
    assert (s.max_body_bytes, s.page_size_default, s.page_size_max) == (8192, 20, 100)


def test_the_version_is_the_deployed_one_else_the_package_s() -> None:
    assert RuntimeSettings.from_environ(MINIMAL).version == __version__
    assert RuntimeSettings.from_environ({**MINIMAL, env.ENV_VERSION: "1.4.2"}).version == "1.4.2"
    assert RuntimeSettings.from_environ({**MINIMAL, env.ENV_VERSION: ""}).version == __version__


def test_optional_settings_are_read() -> None:
    s = RuntimeSettings.from_environ(
        {
            **MINIMAL,
            env.ENV_DATA_KEY_ID: "alias/strongroom/data",
            env.ENV_CURSOR_SECRET: "c" * 32,
            env.ENV_HEALTH_CANARY_CIPHERTEXT: "Y2FuYXJ5",
            env.ENV_MAX_BODY_BYTES: "4096",
            env.ENV_PAGE_SIZE_MAX: "50",
        }
    )
    assert s.data_key_id == "alias/strongroom/data"
    assert s.cursor_secret == b"c" * 32
    assert s.health_canary_ciphertext == "Y2FuYXJ5"
    assert (s.max_body_bytes, s.page_size_max) == (4096, 50)


def test_empty_optional_values_mean_unset() -> None:
    s = RuntimeSettings.from_environ({**MINIMAL, env.ENV_DATA_KEY_ID: "", env.ENV_CURSOR_SECRET: ""})
    assert (s.data_key_id, s.cursor_secret) == (None, None)


@pytest.mark.parametrize("missing", [env.ENV_AWS_REGION, env.ENV_TRANSACTIONS_TABLE])
def test_missing_required_variable_is_named(missing: str) -> None:
    with pytest.raises(SettingsError, match=missing):
        RuntimeSettings.from_environ({k: v for k, v in MINIMAL.items() if k != missing})


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        RuntimeSettings.from_environ({})
    assert env.ENV_AWS_REGION in str(caught.value)
    assert env.ENV_TRANSACTIONS_TABLE in str(caught.value)


def test_non_numeric_limit_names_the_variable() -> None:
    with pytest.raises(SettingsError, match=env.ENV_PAGE_SIZE_MAX):
        RuntimeSettings.from_environ({**MINIMAL, env.ENV_PAGE_SIZE_MAX: "lots"})


def test_repr_does_not_show_the_cursor_secret() -> None:
    s = RuntimeSettings.from_environ({**MINIMAL, env.ENV_CURSOR_SECRET: "c" * 32})
    assert "c" * 32 not in repr(s)
    assert "cursor_secret=" not in repr(s)
    assert "cursor_secret_id=" in repr(s)  # the secret's name is not the secret


def test_pseudonym_key_is_hkdf_derived_under_its_own_label() -> None:
    secret = b"c" * 32
    s = RuntimeSettings.from_environ({**MINIMAL, env.ENV_CURSOR_SECRET: secret.decode()})
    assert s.pseudonym_key == hkdf(secret, LOG_PSEUDONYM)
    assert s.pseudonym_key not in {secret, cursor_signing_key(secret)}
    # not the earlier HMAC(secret, label) either: that was a MAC, not a key derivation
    assert s.pseudonym_key != hmac.new(secret, b"strongroom/log-pseudonym", hashlib.sha256).digest()


def test_invalid_problem_type_base_fails_the_cold_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match=env.ENV_PROBLEM_TYPE_BASE):
        RuntimeSettings.from_environ({**MINIMAL, env.ENV_PROBLEM_TYPE_BASE: "http://docs.example.com/p/"})


def test_valid_problem_type_base_is_accepted() -> None:
    RuntimeSettings.from_environ({**MINIMAL, env.ENV_PROBLEM_TYPE_BASE: "https://docs.example.com/p#"})


# --- the application secret: rotated cursor keys, a pseudonym secret that does not rotate ---------

PSEUDONYM = b"p" * 32
FIRST, SECOND, THIRD = (CursorKey(f"k{n}", bytes([0x61 + n]) * 32) for n in range(1, 4))


def _settings(secret: ApplicationSecret | str) -> RuntimeSettings:
    value = secret if isinstance(secret, str) else secret.to_json()
    return RuntimeSettings.from_environ({**MINIMAL, env.ENV_CURSOR_SECRET: value})


def test_the_document_gives_every_live_key_and_the_pseudonym_key_from_its_own_secret() -> None:
    s = _settings(ApplicationSecret((SECOND, FIRST), PSEUDONYM))
    assert s.application_secret is not None
    assert s.application_secret.cursor_keys == (SECOND, FIRST)
    assert s.pseudonym_key == hkdf(PSEUDONYM, LOG_PSEUDONYM)


def test_pseudonyms_stay_the_same_across_rotations() -> None:
    # An investigator correlating one customer's log lines across a year must not need old keys.
    plain = "s" * 64  # the value before the first rotation
    first = parse_application_secret(plain).rotated(SECOND)
    second = first.rotated(THIRD)
    keys = {_settings(value).pseudonym_key for value in (plain, first, second)}
    assert keys == {hkdf(plain.encode(), LOG_PSEUDONYM)}


def test_an_invalid_secret_fails_the_cold_start_naming_where_it_comes_from() -> None:
    bad = '{"v": 1, "keys": [], "pseudonymSecret": "' + "q" * 40 + '"}'
    with pytest.raises(SettingsError) as caught:
        _settings(bad)
    message = str(caught.value)
    assert env.ENV_CURSOR_SECRET in message
    assert env.ENV_CURSOR_SECRET_ID in message
    assert "0 cursor keys" in message
    assert "q" * 40 not in message


def test_a_secret_read_later_is_parsed_too() -> None:
    s = RuntimeSettings.from_environ(MINIMAL).with_cursor_secret(
        ApplicationSecret((SECOND, FIRST), PSEUDONYM).to_json().encode()
    )
    assert s.application_secret is not None
    assert s.application_secret.current == SECOND
    assert s.pseudonym_key == hkdf(PSEUDONYM, LOG_PSEUDONYM)


def test_repr_shows_neither_the_keys_nor_the_pseudonym_key() -> None:
    s = _settings(ApplicationSecret((SECOND, FIRST), PSEUDONYM))
    text = repr(s)
    assert "application_secret" not in text
    assert "pseudonym_key" not in text
    assert all(secret not in text for secret in ("b" * 32, "c" * 32, "p" * 32))


@pytest.mark.parametrize("bad", ["-1", "nan", "five", "4000"])
def test_the_deep_health_interval_refuses_what_is_not_seconds(bad: str) -> None:
    base = {env.ENV_AWS_REGION: "eu-west-1", env.ENV_TRANSACTIONS_TABLE: "t"}
    with pytest.raises(SettingsError, match=env.ENV_DEEP_HEALTH_INTERVAL):
        RuntimeSettings.from_environ({**base, env.ENV_DEEP_HEALTH_INTERVAL: bad})


def test_the_deep_health_interval_takes_fractions_of_a_second() -> None:
    base = {env.ENV_AWS_REGION: "eu-west-1", env.ENV_TRANSACTIONS_TABLE: "t"}
    settings = RuntimeSettings.from_environ({**base, env.ENV_DEEP_HEALTH_INTERVAL: "0.5"})
    assert settings.deep_health_interval_seconds == 0.5
