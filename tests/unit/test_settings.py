"""What a function reads from its environment at cold start."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from strongroom import constants as env
from strongroom.runtime.keys import LOG_PSEUDONYM, cursor_signing_key, hkdf
from strongroom.runtime.settings import RuntimeSettings, SettingsError

MINIMAL = {env.ENV_AWS_REGION: "eu-west-1", env.ENV_TRANSACTIONS_TABLE: "strongroom-transactions"}


def test_minimal_environment_gives_defaults() -> None:
    s = RuntimeSettings.from_environ(MINIMAL)
    assert (s.region, s.transactions_table) == ("eu-west-1", "strongroom-transactions")
    assert (s.data_key_id, s.cursor_secret, s.health_canary_ciphertext) == (None, None, None)
    assert (s.max_body_bytes, s.page_size_default, s.page_size_max) == (8192, 20, 100)


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
