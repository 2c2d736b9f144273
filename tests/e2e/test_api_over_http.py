"""The transactions API over real HTTP, through the SigV4-verifying gateway, against `strongroom up`."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from strongroom import __version__
from strongroom.local.client import HttpReply, SignedClient
from strongroom.local.gateway import CALLER_ARN
from strongroom.local.sigv4 import Credentials
from strongroom.runtime.domain import transaction_id_for
from tests.e2e.conftest import CREDENTIALS, Platform, txn_body

PROBLEM_BASE = "urn:strongroom:problem:"
REPO = Path(__file__).resolve().parents[2]


def key() -> str:
    return f"e2e-{uuid.uuid4()}"


def items_with_id(platform: Platform, transaction_id: str) -> list[dict[str, object]]:
    table = platform.state["regions"]["eu-west-1"]["transactionsTable"]
    response = platform.dynamodb().scan(
        TableName=table, FilterExpression="id = :i", ExpressionAttributeValues={":i": {"S": transaction_id}}
    )
    return list(response["Items"])


def assert_problem(reply: HttpReply, status: int, slug: str) -> dict[str, object]:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/problem+json"
    body = reply.json()
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert "Traceback" not in reply.body.decode()
    return dict(body)


def test_signed_create_returns_201_with_the_transaction(api: SignedClient) -> None:
    idempotency_key = key()
    reply = api.request(
        "POST", "/transactions", txn_body(amount="99.5"), headers={"Idempotency-Key": idempotency_key}
    )

    assert reply.status == 201
    body = reply.json()
    assert re.fullmatch(r"txn_[a-z2-7]{26}", body["id"])
    assert body["amount"] == "99.50"
    assert reply.headers["Location"] == f"/transactions/{body['id']}"
    caller = CALLER_ARN.format(access_key=CREDENTIALS.access_key_id)
    assert body["id"] == transaction_id_for(caller, idempotency_key)
    assert api.request("GET", reply.headers["Location"]).json() == body


def test_replay_returns_the_same_transaction(api: SignedClient, platform: Platform) -> None:
    idempotency_key = key()
    first = api.request("POST", "/transactions", txn_body(), headers={"Idempotency-Key": idempotency_key})
    again = api.request("POST", "/transactions", txn_body(), headers={"Idempotency-Key": idempotency_key})

    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(items_with_id(platform, first.json()["id"])) == 1


def test_fifty_concurrent_requests_with_one_key_create_exactly_one_item(
    api: SignedClient, platform: Platform
) -> None:
    # GIVEN one idempotency key WHEN 50 identical requests race through 4 execution environments
    idempotency_key = key()
    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(
            pool.map(
                lambda _: api.request(
                    "POST", "/transactions", txn_body(), headers={"Idempotency-Key": idempotency_key}
                ),
                range(50),
            )
        )

    # THEN all succeed with one id, exactly one of them created it, and the table holds one item
    assert {r.status for r in replies} == {201}
    ids = {r.json()["id"] for r in replies}
    assert len(ids) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in replies) == 1
    assert len(items_with_id(platform, ids.pop())) == 1


def test_same_key_with_a_different_body_is_rejected(api: SignedClient) -> None:
    idempotency_key = key()
    api.request("POST", "/transactions", txn_body(), headers={"Idempotency-Key": idempotency_key})
    reply = api.request(
        "POST", "/transactions", txn_body(amount="1.00"), headers={"Idempotency-Key": idempotency_key}
    )
    assert_problem(reply, 422, "idempotency-key-reused")


@pytest.mark.parametrize(
    ("raw", "status", "slug"),
    [
        pytest.param(b'{"amount": "12.34", "currency": ', 400, "malformed-request", id="malformed"),
        pytest.param(
            json.dumps(txn_body(reference="x" * 9000)).encode(), 413, "payload-too-large", id="oversized"
        ),
        pytest.param(json.dumps(txn_body(amount=12.34)).encode(), 422, "validation-error", id="float-amount"),
        pytest.param(
            json.dumps(txn_body(amount="100.5", currency="JPY")).encode(), 422, "validation-error", id="jpy"
        ),
        pytest.param(
            json.dumps(txn_body(amount="1.001")).encode(), 422, "validation-error", id="eur-precision"
        ),
        pytest.param(json.dumps(txn_body(memo="hi")).encode(), 422, "validation-error", id="unknown-field"),
    ],
)
def test_bad_bodies_get_problem_json_and_write_nothing(
    api: SignedClient, platform: Platform, raw: bytes, status: int, slug: str
) -> None:
    idempotency_key = key()
    reply = api.request("POST", "/transactions", raw=raw, headers={"Idempotency-Key": idempotency_key})

    problem = assert_problem(reply, status, slug)
    if slug == "validation-error":
        assert problem["errors"]
    # the transaction this key would have created does not exist
    caller = CALLER_ARN.format(access_key=CREDENTIALS.access_key_id)
    assert items_with_id(platform, transaction_id_for(caller, idempotency_key)) == []


def test_unsigned_requests_are_forbidden(api: SignedClient) -> None:
    reply = api.unsigned().request("POST", "/transactions", txn_body(), headers={"Idempotency-Key": key()})
    assert_problem(reply, 403, "forbidden")


def test_a_wrong_secret_is_forbidden(api: SignedClient) -> None:
    forged = SignedClient(api.base_url, api.region, Credentials(CREDENTIALS.access_key_id, "not-the-secret"))
    assert_problem(forged.request("GET", "/customers/cust-e2e/transactions"), 403, "forbidden")


def test_a_signature_for_another_region_is_forbidden(platform: Platform) -> None:
    wrong_region = SignedClient(platform.state["regions"]["eu-west-1"]["url"], "eu-central-1", CREDENTIALS)
    assert_problem(wrong_region.request("GET", "/customers/cust-e2e/transactions"), 403, "forbidden")


def test_health_needs_no_signature_and_deep_health_touches_the_data_path(platform: Platform) -> None:
    for region in ("eu-west-1", "eu-central-1"):
        anonymous = platform.client(region).unsigned()
        assert anonymous.request("GET", "/health").json() == {
            "status": "pass",
            "region": region,
            "version": __version__,  # `strongroom up` stamps it as a deployment does
        }
        deep = anonymous.request("GET", "/health/deep")
        assert deep.status == 200
        assert {name: check["status"] for name, check in deep.json()["checks"].items()} == {
            "dynamodb": "pass",
            "kms": "pass",
        }


def test_each_region_serves_its_own_api(platform: Platform) -> None:
    reply = platform.client("eu-central-1").request(
        "POST", "/transactions", txn_body(), headers={"Idempotency-Key": key()}
    )
    assert reply.status == 201


def test_openapi_document_is_served(api: SignedClient) -> None:
    document = api.request("GET", "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/transactions" in document["paths"]


def test_the_readme_curl_example_creates_a_transaction(platform: Platform) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- curl-example -->\s*```(?:bash|sh)\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md must carry the curl example after <!-- curl-example -->"
    command = block.group(1).replace("http://127.0.0.1:8080", platform.state["regions"]["eu-west-1"]["url"])
    environment = {
        "PATH": "/usr/bin:/bin",
        "STRONGROOM_ACCESS_KEY_ID": CREDENTIALS.access_key_id,
        "STRONGROOM_SECRET_ACCESS_KEY": CREDENTIALS.secret_access_key,
    }
    result = subprocess.run(
        ["/bin/bash", "-c", command], capture_output=True, text=True, env=environment, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"txn_[a-z2-7]{26}", json.loads(result.stdout)["id"])
