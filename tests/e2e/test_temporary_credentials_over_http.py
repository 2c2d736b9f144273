"""Callers signing with temporary credentials from the emulator's STS, against a real `strongroom up`."""

from __future__ import annotations

import uuid

from strongroom.local.client import SignedClient, assume_caller_role, session_client
from strongroom.local.sigv4 import Credentials
from tests.e2e.conftest import Platform, txn_body


def test_local_json_names_the_caller_role(platform: Platform) -> None:
    assert platform.state["callerRole"] == "arn:aws:iam::000000000000:role/strongroom-local-caller"


def test_a_caller_with_an_assumed_role_session_creates_and_reads_a_transaction(platform: Platform) -> None:
    api = session_client(platform.state, "eu-west-1")
    assert api.credentials is not None
    assert api.credentials.access_key_id.startswith("ASIA")

    created = api.request(
        "POST", "/transactions", txn_body(), headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    )
    assert created.status == 201, created.body
    assert api.request("GET", created.headers["Location"]).status == 200


def test_a_forged_session_token_is_refused(platform: Platform) -> None:
    issued = assume_caller_role(platform.state)
    forged = Credentials(issued.access_key_id, issued.secret_access_key, "FQoGZXIvYXdzEBYaDforged")
    reply = SignedClient(platform.state["regions"]["eu-west-1"]["url"], "eu-west-1", forged).request(
        "GET", "/transactions/txn_aaaaaaaaaaaaaaaaaaaaaaaaaa"
    )
    assert reply.status == 403
    assert reply.json()["type"].endswith("forbidden")
