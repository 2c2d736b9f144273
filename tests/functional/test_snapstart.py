"""SnapStart: environments restored from one snapshot share nothing that must be unique to one
(docs/adr/0042-uniqueness-after-a-snapstart-restore.md).

A restore is simulated with ``os.fork()`` after :func:`snapstart.before_snapshot`: each child is a copy
of the snapshotted process, as each restored environment is a copy of the snapshotted one, and runs
:func:`snapstart.after_restore` itself (or, in the control, does not). Each child reports through a
pipe what it would draw and use; the test compares the copies with each other and with the original.

A fork is not quite a restore: CPython reseeds ``random`` in a forked child (an at-fork handler the
random module registers), and a restore runs no such handler. Each child therefore first puts back the
generator state the parent had at the fork, as a snapshot keeps it; without that, the simulation would
hide the very hazard the hook exists for.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import sys
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from strongroom import constants as env
from strongroom.runtime import api, ingest, publisher, rotation, snapstart
from strongroom.runtime.keys import new_application_secret, new_cursor_key
from strongroom.runtime.settings import RuntimeSettings
from tests.functional.conftest import REGION, ApiClient, aws_client, txn_body

SECRET_ID = "strongroom/api/cursor-secret"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="restores are simulated with os.fork()")


@pytest.fixture
def secret_from_secrets_manager(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    """The API as deployed: the secret read from Secrets Manager, clients from a new boto3 Session per
    environment (the shared session the other tests use for speed would hide a client kept too long)."""
    aws_client("secretsmanager").create_secret(
        Name=SECRET_ID, SecretString=new_application_secret().to_json()
    )
    monkeypatch.delenv(env.ENV_CURSOR_SECRET)
    monkeypatch.setenv(env.ENV_CURSOR_SECRET_ID, SECRET_ID)
    monkeypatch.setattr(boto3.session, "Session", boto3.Session)
    api.configure(None)
    yield client
    api.configure(None)


def _signer_credentials(sdk_client: Any) -> Any:
    return sdk_client._request_signer._credentials


def _environment_report(client: ApiClient) -> dict[str, Any]:
    """What a restored environment holds at restore, draws, and uses for its first requests."""
    cached_at_restore = api._dependencies is not None
    drawn = {
        "random": [random.random() for _ in range(4)],  # e.g. the publisher's retry jitter
        "uuid": uuid.uuid4().hex,  # e.g. the ingest function's rejects chunk names
        "token": secrets.token_hex(16),
        "pseudonymFallback": RuntimeSettings(REGION, "t", None, None, None).pseudonym_key.hex(),
    }
    assert client.create(txn_body(), key=f"restored-{os.getpid()}").status == 201
    deps = api.dependencies()
    sdk_client = deps.store._client
    credentials = _signer_credentials(sdk_client)
    assert deps.cursors is not None
    return {
        **drawn,
        "cachedAtRestore": cached_at_restore,
        "clientId": id(sdk_client),
        "credentialsId": id(credentials),
        "accessKey": credentials.access_key,
        "signingKeyId": deps.cursors.key_ids[0],
    }


def restored_copy(report: Callable[[], dict[str, Any]], *, run_hook: bool, access_key: str) -> dict[str, Any]:
    """Fork a copy of this (snapshotted) process; in it, Lambda hands the environment its own credentials,
    ``after_restore`` runs if ``run_hook``, and ``report`` says what the copy holds."""
    read_end, write_end = os.pipe()
    snapshotted_random = random.getstate()
    pid = os.fork()
    if pid == 0:  # the restored environment: never returns into pytest
        os.close(read_end)
        try:
            random.setstate(snapshotted_random)  # undo the fork's reseed: a restore does not reseed
            os.environ["AWS_ACCESS_KEY_ID"] = access_key
            if run_hook:
                snapstart.after_restore()
            payload = json.dumps(report())
        except BaseException as exc:  # reported, not raised: the parent asserts
            payload = json.dumps({"error": repr(exc)})
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(payload)
    assert "error" not in result, result.get("error")
    return result


def test_two_restored_copies_share_no_state_that_must_be_unique(
    secret_from_secrets_manager: ApiClient,
) -> None:
    client = secret_from_secrets_manager
    # GIVEN an initialised environment: clients built, the secret read and cached, a request served
    assert client.create(txn_body(), key="before-snapshot").status == 201
    original = api.dependencies()
    original_client = original.store._client
    original_credentials = _signer_credentials(original_client)
    original_fallback = RuntimeSettings(REGION, "t", None, None, None).pseudonym_key.hex()

    # WHEN Lambda snapshots it
    snapstart.before_snapshot()
    # THEN neither the secret nor the clients are in the snapshot
    assert api._dependencies is None

    # WHEN the secret is rotated while the snapshot is in use, and two environments are restored from it
    rotated = new_application_secret().rotated(new_cursor_key())
    aws_client("secretsmanager").put_secret_value(SecretId=SECRET_ID, SecretString=rotated.to_json())

    def report() -> dict[str, Any]:
        return _environment_report(client)

    first = restored_copy(report, run_hook=True, access_key="ASIARESTOREDFIRST")
    second = restored_copy(report, run_hook=True, access_key="ASIARESTOREDSECOND")

    # THEN they share nothing: their random sequences (and the fallback pseudonym key) differ from each
    # other's and from the original's ...
    assert first["random"] != second["random"]
    assert first["pseudonymFallback"] != second["pseudonymFallback"]
    assert original_fallback not in {first["pseudonymFallback"], second["pseudonymFallback"]}
    # ... os.urandom-based ids are unique by construction ...
    assert first["uuid"] != second["uuid"]
    assert first["token"] != second["token"]
    # ... each starts with no secret or client cached, reads the secret afresh (so it signs cursors with
    # the key rotated in after the snapshot), and signs with clients and credentials of its own
    for copy, access_key in ((first, "ASIARESTOREDFIRST"), (second, "ASIARESTOREDSECOND")):
        assert copy["cachedAtRestore"] is False
        assert copy["signingKeyId"] == rotated.current.id
        assert copy["clientId"] != id(original_client)
        assert copy["credentialsId"] != id(original_credentials)
        assert copy["accessKey"] == access_key


def test_without_the_after_restore_hook_the_copies_draw_the_same_random_numbers(
    secret_from_secrets_manager: ApiClient,
) -> None:
    """The control: the hazard the hook removes is real, so the test above can fail."""
    snapstart.before_snapshot()

    def report() -> dict[str, Any]:
        return _environment_report(secret_from_secrets_manager)

    first = restored_copy(report, run_hook=False, access_key="ASIARESTOREDFIRST")
    second = restored_copy(report, run_hook=False, access_key="ASIARESTOREDSECOND")
    assert first["random"] == second["random"]
    assert first["pseudonymFallback"] == second["pseudonymFallback"]
    assert first["uuid"] != second["uuid"]  # os.urandom needs no hook


def test_after_restore_drops_every_handler_s_clients_and_the_default_session(
    secret_from_secrets_manager: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN state built before the restore in each handler module (as if init had warmed it)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    deps = api.dependencies()
    monkeypatch.setattr(ingest, "_dependencies", object())
    publisher._kinesis(REGION)
    rotation._default_client()
    assert boto3.DEFAULT_SESSION is not None
    # WHEN the environment is restored
    snapstart.after_restore()
    # THEN every cached client, session and secret is gone, and the next request builds its own
    assert api._dependencies is None
    assert ingest._dependencies is None
    assert publisher._kinesis.cache_info().currsize == 0
    assert rotation._default_client.cache_info().currsize == 0
    assert boto3.DEFAULT_SESSION is None
    assert api.dependencies().store is not deps.store


def test_the_hooks_are_registered_with_lambda_s_runtime_where_it_provides_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: dict[str, list[Callable[[], None]]] = {"before": [], "after": []}
    runtime_hooks = types.ModuleType(snapstart.RUNTIME_HOOKS_MODULE)
    runtime_hooks.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]
    runtime_hooks.register_after_restore = registered["after"].append  # type: ignore[attr-defined]
    monkeypatch.setattr(snapstart, "_registered", False)
    monkeypatch.setattr(snapstart, "_resets", [])
    # Locally there is no such module: nothing is registered, and handlers import as before
    monkeypatch.setitem(sys.modules, snapstart.RUNTIME_HOOKS_MODULE, None)
    assert snapstart.register_with_runtime() is False
    # In Lambda's Python runtime: registered once, however many handler modules ask
    monkeypatch.setitem(sys.modules, snapstart.RUNTIME_HOOKS_MODULE, runtime_hooks)
    assert snapstart.register_with_runtime() is True
    snapstart.forget_on_restore(lambda: None)
    assert registered == {"before": [snapstart.before_snapshot], "after": [snapstart.after_restore]}
