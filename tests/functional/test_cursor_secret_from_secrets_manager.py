"""In AWS the cursor secret is read from Secrets Manager (never a plain environment variable), once per
execution environment, with every live key: cursors survive one rotation of the secret."""

from __future__ import annotations

import pytest
from moto import mock_aws

from strongroom import constants as env
from strongroom.runtime import api
from tests.functional.conftest import ApiClient, Reply, assert_problem, aws_client, txn_body
from tests.functional.rotation_driver import LAMBDA_STUB, RotationDriver, rotation_function

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


def _cold_start() -> api.Dependencies:
    """A new execution environment: the secret is read once, as at every cold start."""
    api.configure(api.dependencies_from_environment())
    return api.dependencies()


def _page(client: ApiClient, cursor: str | None = None) -> Reply:
    query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
    return client.call("GET", f"/customers/cust-0042/transactions?{query}")


def test_a_cursor_survives_one_rotation_of_the_secret_and_not_two(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws(config=LAMBDA_STUB):  # Secrets Manager may name a rotation function (runs nothing)
        # GIVEN the secret as it was deployed before rotation (a plain string), read at cold start
        secrets = aws_client("secretsmanager")
        secrets.create_secret(Name=SECRET_ID, SecretString="s" * 48)
        monkeypatch.delenv(env.ENV_CURSOR_SECRET)
        monkeypatch.setenv(env.ENV_CURSOR_SECRET_ID, SECRET_ID)
        rotations = RotationDriver(
            secrets, rotation_function(aws_client("iam"), aws_client("lambda")), SECRET_ID
        )
        pseudonyms = _cold_start().settings.pseudonym_key
        for i in range(6):
            assert client.create(txn_body(), key=f"rot-{i}").status == 201
        issued_before = _page(client).body["nextCursor"]

        # WHEN the secret is rotated once THEN both keys are live: the earlier cursor still pages
        rotations.rotate()
        deps = _cold_start()
        assert deps.cursors is not None
        assert len(deps.cursors.key_ids) == 2
        after_one = _page(client, issued_before)
        assert after_one.status == 200
        assert len(after_one.body["items"]) == 2
        issued_after = after_one.body["nextCursor"]
        assert issued_after.split(".")[0] == deps.cursors.key_ids[0]  # signed with the new key

        # WHEN it is rotated again THEN the first cursor has expired (400, not 500), the second pages
        rotations.rotate()
        _cold_start()
        assert_problem(_page(client, issued_before), "invalid-cursor", 400)
        assert _page(client, issued_after).status == 200
        # AND log pseudonyms never changed
        assert api.dependencies().settings.pseudonym_key == pseudonyms


def test_an_unknown_key_id_is_an_invalid_cursor_not_an_error(secret_only: ApiClient) -> None:
    for i in range(3):
        secret_only.create(txn_body(), key=f"kid-{i}")
    cursor = _page(secret_only).body["nextCursor"]
    forged = "0123456789ab." + cursor.split(".", 1)[1]
    assert_problem(_page(secret_only, forged), "invalid-cursor", 400)


def test_a_cold_start_during_a_rotation_reads_the_current_version(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws(config=LAMBDA_STUB):
        secrets = aws_client("secretsmanager")
        secrets.create_secret(Name=SECRET_ID, SecretString="s" * 48)
        monkeypatch.delenv(env.ENV_CURSOR_SECRET)
        monkeypatch.setenv(env.ENV_CURSOR_SECRET_ID, SECRET_ID)
        rotations = RotationDriver(
            secrets, rotation_function(aws_client("iam"), aws_client("lambda")), SECRET_ID
        )
        # GIVEN a rotation that has written its pending version but not finished
        token = rotations.start()
        rotations.step(token, "createSecret")
        # WHEN an execution environment starts THEN it uses AWSCURRENT, not AWSPENDING
        deps = _cold_start()
        assert deps.cursors is not None
        assert deps.cursors.key_ids == ("legacy",)
