"""GET /files: the Region's uploads under incoming/, each with its ingestion status from the audit
table, paginated with the API's own cursors; rejects and checkpoints are never listed."""

from __future__ import annotations

import pytest

from strongroom import constants as env
from strongroom.runtime import api
from strongroom.runtime.adapters.ingest_store import audit_key
from tests.functional.conftest import REGION, ApiClient, assert_problem, aws_client

BUCKET = "strongroom-ingest-eu-west-1"


@pytest.fixture
def files(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> ApiClient:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv(env.ENV_INGEST_BUCKET, BUCKET)
    monkeypatch.setenv(env.ENV_AUDIT_TABLE, client.provisioned.audit_table)
    deps = api.dependencies_from_environment()
    api.configure(deps)
    return client


def audit(client: ApiClient, key: str, version: str, *, started: str, status: str, rejected: int = 0) -> None:
    aws_client("dynamodb").put_item(
        TableName=client.provisioned.audit_table,
        Item={
            **audit_key(BUCKET, key, version),
            "status": {"S": status},
            "startedAt": {"S": started},
            "rowsRead": {"N": str(3 + rejected)},
            "created": {"N": "3"},
            "replayed": {"N": "0"},
            "rejected": {"N": str(rejected)},
            "rejectsKey": {"S": f"rejects/{key}.jsonl"},
        },
    )


def test_each_upload_with_the_status_of_its_latest_version(files: ApiClient) -> None:
    s3 = aws_client("s3")
    for key in ("incoming/a.csv", "incoming/b.jsonl", "incoming/c.csv", "rejects/incoming/a.csv.jsonl"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 10)
    audit(files, "incoming/a.csv", "v1", started="2026-11-30T08:00:00.000Z", status="completed")
    audit(files, "incoming/a.csv", "v2", started="2026-11-30T09:00:00.000Z", status="in-progress", rejected=1)
    audit(files, "incoming/b.jsonl", "v1", started="2026-11-30T08:00:00.000Z", status="failed")
    reply = files.call("GET", "/files")
    assert reply.status == 200, reply.body
    items = {i["key"]: i for i in reply.body["items"]}
    assert sorted(items) == ["incoming/a.csv", "incoming/b.jsonl", "incoming/c.csv"]  # never the rejects
    assert items["incoming/a.csv"]["status"] == "in-progress"  # the latest version's
    assert items["incoming/a.csv"]["counts"] == {"read": 4, "created": 3, "replayed": 0, "rejected": 1}
    assert items["incoming/a.csv"]["rejects"] == "rejects/incoming/a.csv.jsonl"
    assert items["incoming/b.jsonl"]["status"] == "failed"
    assert "rejects" not in items["incoming/b.jsonl"]
    assert items["incoming/c.csv"] == {
        "key": "incoming/c.csv",
        "size": 10,
        "lastModified": items["incoming/c.csv"]["lastModified"],
        "status": "pending",
    }
    assert reply.body["nextCursor"] is None


def test_pages_follow_the_apis_cursor_and_a_foreign_cursor_is_refused(files: ApiClient) -> None:
    s3 = aws_client("s3")
    for n in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"incoming/{n}.csv", Body=b"x")
    seen: list[str] = []
    path = "/files?limit=2"
    while True:
        reply = files.call("GET", path)
        assert reply.status == 200, reply.body
        seen += [i["key"] for i in reply.body["items"]]
        if reply.body["nextCursor"] is None:
            break
        path = f"/files?limit=2&cursor={reply.body['nextCursor']}"
    assert seen == [f"incoming/{n}.csv" for n in range(5)]
    customer_cursor = files.call("GET", "/customers/cust-0042/transactions?limit=1")
    assert customer_cursor.status == 200
    assert_problem(files.call("GET", "/files?cursor=AAAA.BBBB.CCCC"), "invalid-cursor", 400)
    assert_problem(files.call("GET", "/files?limit=0"), "invalid-parameter", 400)


def test_no_identity_is_refused(files: ApiClient) -> None:
    assert_problem(files.call("GET", "/files", identity={}), "forbidden", 403)
