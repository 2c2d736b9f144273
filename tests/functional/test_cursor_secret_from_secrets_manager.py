"""In AWS the cursor secret is read from Secrets Manager (never a plain environment variable)."""

from __future__ import annotations

import pytest

from strongroom import constants as env
from strongroom.runtime import api
from tests.functional.conftest import ApiClient, aws_client, txn_body

SECRET_ID = "strongroom/api/cursor-secret"


@pytest.fixture
def secret_only(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> ApiClient:
    aws_client("secretsmanager").create_secret(Name=SECRET_ID, SecretString="s" * 48)
    monkeypatch.delenv(env.ENV_CURSOR_SECRET)
    monkeypatch.setenv(env.ENV_CURSOR_SECRET_ID, SECRET_ID)
    api.configure(api.dependencies_from_environment())
    return client


def test_the_secret_is_read_once_at_start_and_pages_the_listing(secret_only: ApiClient) -> None:
    deps = api.dependencies()
    assert deps.settings.cursor_secret == b"s" * 48
    for i in range(3):
        assert secret_only.create(txn_body(), key=f"sm-{i}").status == 201

    first = secret_only.call("GET", "/customers/cust-0042/transactions?limit=2")
    second = secret_only.call(
        "GET", f"/customers/cust-0042/transactions?limit=2&cursor={first.body['nextCursor']}"
    )

    assert first.status == second.status == 200
    assert len(first.body["items"]) == 2
    assert len(second.body["items"]) == 1
    assert second.body["nextCursor"] is None


def test_a_missing_secret_fails_the_start_not_silently(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(env.ENV_CURSOR_SECRET)
    monkeypatch.setenv(env.ENV_CURSOR_SECRET_ID, "strongroom/does-not-exist")
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        api.dependencies_from_environment()
