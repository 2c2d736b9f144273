"""Temporary credentials from the emulator's STS: the gateway resolves them through the emulator's
credentials route and gives the function the identity API Gateway gives an assumed-role caller.

The emulator's WSGI app runs in this process on loopback (moto's server mode), with the gateway in
front of a fake function that answers with the event it received.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client

from strongroom.local import emulator
from strongroom.local.client import SignedClient, assume_caller_role
from strongroom.local.functions import FunctionPool
from strongroom.local.gateway import CALLER_ARN, Gateway, Principals
from strongroom.local.sigv4 import Credentials
from strongroom.local.up import CALLER_ROLE_NAME, create_caller_role
from tests.functional.fake_functions import HANDLER

REGION = "eu-west-1"
STATIC = Credentials("AKIASTSTESTKEY000001", "sts-test-secret-key-00000000000000000001")
ROLE_ARN = f"arn:aws:iam::000000000000:role/{CALLER_ROLE_NAME}"


@dataclass
class Local:
    endpoint: str
    gateway: Gateway
    state: dict[str, Any]  # what `strongroom up` writes to local.json, as far as these tests need

    def client(self, credentials: Credentials | None) -> SignedClient:
        return SignedClient(self.gateway.url, REGION, credentials)

    def iam(self) -> Any:
        return boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_ACCOUNT_ID", emulator.ACCOUNT_ID)  # as emulator.start() runs it
        server = make_server(emulator.LOOPBACK, 0, emulator.application(), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://{emulator.LOOPBACK}:{server.server_port}"
        pool = FunctionPool("fake", {"AWS_REGION": REGION}, concurrency=1, handler=HANDLER)
        gateway = Gateway(
            (emulator.LOOPBACK, 0), region=REGION, function=pool, principals=Principals(STATIC, endpoint)
        )
        gateway.serve_in_background()
        state = {
            "emulator": endpoint,
            "credentials": {"accessKeyId": STATIC.access_key_id, "secretAccessKey": STATIC.secret_access_key},
            "callerRole": create_caller_role(endpoint, REGION),
            "regions": {REGION: {"url": gateway.url}},
        }
        try:
            yield Local(endpoint, gateway, state)
        finally:
            gateway.shutdown()
            gateway.server_close()
            pool.close()
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))  # noqa: S310
            server.shutdown()


def identity_seen(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply.body
    identity: dict[str, Any] = reply.json()["event"]["requestContext"]["identity"]
    return identity


def test_up_creates_the_caller_role_the_local_user_may_assume(local: Local) -> None:
    assert local.state["callerRole"] == ROLE_ARN
    role = local.iam().get_role(RoleName=CALLER_ROLE_NAME)["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"AWS": CALLER_ARN}
    assert statement["Action"] == "sts:AssumeRole"


def test_each_assume_role_session_signs_as_that_session_of_the_role(local: Local) -> None:
    # GIVEN two sessions of the caller role, as two SDK processes on AWS compute would have
    role_id = local.iam().get_role(RoleName=CALLER_ROLE_NAME)["Role"]["RoleId"]
    first = assume_caller_role(local.state, "worker-1")
    second = assume_caller_role(local.state, "worker-2")
    assert first.access_key_id.startswith("ASIA")
    assert first.access_key_id != second.access_key_id

    # WHEN each signs a request THEN the function sees the assumed-role identity API Gateway gives
    seen = [identity_seen(local.client(c).request("GET", "/echo")) for c in (first, second)]

    for identity, credentials, session in zip(seen, (first, second), ("worker-1", "worker-2"), strict=True):
        assert identity["userArn"] == f"arn:aws:sts::000000000000:assumed-role/{CALLER_ROLE_NAME}/{session}"
        assert identity["caller"] == identity["user"] == f"{role_id}:{session}"
        assert re.fullmatch(r"AROA[A-Z0-9]+", role_id)
        assert identity["accessKey"] == credentials.access_key_id
        assert identity["accountId"] == "000000000000"


def test_the_static_credentials_still_sign_as_the_local_iam_user(local: Local) -> None:
    identity = identity_seen(local.client(STATIC).request("GET", "/echo"))
    assert identity["userArn"] == CALLER_ARN
    assert identity["caller"].startswith("AIDA")


def test_a_forged_session_token_is_refused(local: Local) -> None:
    issued = assume_caller_role(local.state)
    forged = Credentials(issued.access_key_id, issued.secret_access_key, "FQoGZXIvYXdzEBYaDforged")
    reply = local.client(forged).request("GET", "/echo")
    assert reply.status == 403
    assert "security token" in reply.json()["detail"]


def test_a_session_of_a_role_that_does_not_exist_is_refused(local: Local) -> None:
    # moto's STS issues credentials for any role ARN; the gateway accepts only roles that exist
    ghost = dict(local.state, callerRole="arn:aws:iam::000000000000:role/no-such-role")
    reply = local.client(assume_caller_role(ghost)).request("GET", "/echo")
    assert reply.status == 403
    assert "not issued by the local STS for an existing role" in reply.json()["detail"]


def test_the_credentials_route_answers_loopback_clients_only(local: Local) -> None:
    issued = assume_caller_role(local.state)
    route = emulator.CREDENTIALS_ROUTE + issued.access_key_id
    app = emulator.application()

    from_loopback = Client(app).get(route, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert from_loopback.status_code == 200
    document = json.loads(from_loopback.data)
    assert (document["secretAccessKey"], document["sessionToken"]) == (
        issued.secret_access_key,
        issued.session_token,
    )
    assert Client(app).get(route, environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 403
    unknown = emulator.CREDENTIALS_ROUTE + "ASIANOTISSUED0000001"
    assert Client(app).get(unknown, environ_base={"REMOTE_ADDR": "::1"}).status_code == 404


def test_issued_credentials_have_no_secrets_in_their_repr(local: Local) -> None:
    issued = assume_caller_role(local.state)
    found = emulator.issued_credentials(local.endpoint, issued.access_key_id)
    assert found is not None
    assert found.secret_access_key == issued.secret_access_key
    assert issued.secret_access_key not in repr(found)
    assert str(issued.session_token) not in repr(found)
