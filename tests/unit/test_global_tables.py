"""The pure parts of local global tables: the request's Region, what a request names and needs, last
writer wins, the control routes' input checks, and the WSGI layer's refusals (fake environs, no moto)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from strongroom.local.global_tables import (
    GLOBAL_TABLES_ROUTE,
    GlobalTables,
    InvalidInput,
    Version,
    needs_majority,
    parse_configuration,
    parse_fault,
    request_region,
    supersedes,
    table_name_of,
    tables_named,
    with_region,
)

AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-central-1/dynamodb/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123"
)


# --- the request's Region ------------------------------------------------------------------------


def test_the_region_is_the_credential_scopes() -> None:
    assert request_region(AUTHORIZATION) == "eu-central-1"


@pytest.mark.parametrize("header", [None, "", "Bearer token", "AWS4-HMAC-SHA256 Credential=AKID/2026/x"])
def test_an_unsigned_or_malformed_request_has_no_region(header: str | None) -> None:
    assert request_region(header) is None


def test_rewriting_the_region_changes_only_the_region_and_moto_reads_the_new_one() -> None:
    rewritten = with_region(AUTHORIZATION, "eu-west-1")

    assert rewritten == AUTHORIZATION.replace("/eu-central-1/", "/eu-west-1/")
    # moto's own reading of the Region (moto/core/responses.py get_region_from_url)
    assert rewritten.split(",")[0].split("/")[2] == "eu-west-1"
    assert request_region(rewritten) == "eu-west-1"


# --- what a request names and needs --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "orders",
        "arn:aws:dynamodb:eu-west-1:000000000000:table/orders",
        "arn:aws:dynamodb:eu-west-1:000000000000:table/orders/stream/2026-11-23T12:00:00.000",
        "arn:aws:dynamodb:eu-west-1:000000000000:table/orders/stream/2026-11-23T12:00:00|1|c2hhcmQ=",
        "arn:aws:dynamodb:eu-west-1:000000000000:table/orders/index/byCustomer",
    ],
)
def test_a_table_is_named_by_its_name_or_any_arn_under_it(value: str) -> None:
    assert table_name_of(value) == "orders"


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        ({"TableName": "orders", "Key": {}}, {"orders"}),
        ({"RequestItems": {"orders": {}, "audit": {}}}, {"orders", "audit"}),
        (
            {"TransactItems": [{"Put": {"TableName": "orders"}}, {"ConditionCheck": {"TableName": "audit"}}]},
            {"orders", "audit"},
        ),
        ({"StreamArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/orders/stream/x"}, {"orders"}),
        ({"Statement": 'SELECT * FROM "orders" WHERE pk = ?'}, {"orders"}),
        ({"Statements": [{"Statement": "DELETE FROM audit WHERE pk = 'a'"}]}, {"audit"}),
        ({"Statement": 'SELECT * FROM "orders-archive"'}, set()),  # another table whose name contains it
        ({"Limit": 10}, set()),
    ],
)
def test_the_tables_a_request_names(request_body: dict[str, Any], expected: set[str]) -> None:
    assert tables_named(request_body, known=["orders", "audit"]) == expected


@pytest.mark.parametrize(
    ("operation", "request_body", "expected"),
    [
        ("PutItem", {}, True),
        ("UpdateItem", {}, True),
        ("DeleteItem", {}, True),
        ("BatchWriteItem", {}, True),
        ("TransactWriteItems", {}, True),
        ("TransactGetItems", {}, True),
        ("GetItem", {"ConsistentRead": True}, True),
        ("GetItem", {}, False),
        ("Query", {"ConsistentRead": False}, False),
        ("Scan", {"ConsistentRead": True}, True),
        ("BatchGetItem", {"RequestItems": {"orders": {"ConsistentRead": True}}}, True),
        ("BatchGetItem", {"RequestItems": {"orders": {"Keys": []}}}, False),
        ("ExecuteStatement", {"Statement": "select * from orders"}, False),
        ("ExecuteStatement", {"Statement": "SELECT * FROM orders", "ConsistentRead": True}, True),
        ("ExecuteStatement", {"Statement": "UPDATE orders SET a = 1"}, True),
        ("BatchExecuteStatement", {"Statements": [{"Statement": "INSERT INTO orders VALUE {}"}]}, True),
        ("DescribeTable", {}, False),
        ("ListTables", {}, False),
    ],
)
def test_which_requests_need_the_mrsc_majority(
    operation: str, request_body: dict[str, Any], expected: bool
) -> None:
    assert needs_majority(operation, request_body) is expected


# --- last writer wins ---------------------------------------------------------------------------


def test_a_later_write_supersedes_an_earlier_one() -> None:
    earlier, later = Version(100.0, "eu-west-1"), Version(100.5, "eu-central-1")

    assert supersedes(later, earlier)
    assert not supersedes(earlier, later)


def test_a_tie_goes_to_the_greater_region_name_whichever_replica_decides() -> None:
    west, central = Version(100.0, "eu-west-1"), Version(100.0, "eu-central-1")

    assert supersedes(west, central)  # in eu-central-1's replica, eu-west-1's write arrives
    assert not supersedes(central, west)  # in eu-west-1's replica, eu-central-1's write arrives


def test_a_change_to_an_item_a_replica_has_never_written_applies() -> None:
    assert supersedes(Version(1.0, "eu-west-1"), None)


def test_the_same_change_does_not_supersede_itself() -> None:
    # a replica that already holds a change does not apply it again
    assert not supersedes(Version(1.0, "eu-west-1"), Version(1.0, "eu-west-1"))


# --- the control routes' input --------------------------------------------------------------------

VALID = {
    "consistency": "eventual",
    "regions": ["eu-west-1", "eu-central-1"],
    "tables": ["orders"],
    "replicationLagSeconds": 0.5,
}


def test_a_valid_configuration_is_parsed() -> None:
    configuration = parse_configuration(VALID)

    assert configuration.regions == ("eu-west-1", "eu-central-1")
    assert configuration.home == "eu-west-1"
    assert configuration.tables == (("orders", "eventual"),)
    assert configuration.lag_seconds == 0.5


def test_tables_can_each_have_their_own_mode_under_strong_consistency() -> None:
    configuration = parse_configuration(
        {**VALID, "consistency": "strong", "tables": {"orders": "strong", "audit": "eventual"}}
    )

    assert configuration.tables_in("strong") == {"orders"}
    assert configuration.tables_in("eventual") == {"audit"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"consistency": "quorum"}, "consistency", "strong, eventual"),
        ({"regions": "eu-west-1"}, "regions", "list of Region names"),
        ({"regions": ["eu-west-1", "eu-west-1"]}, "regions", "two different Regions"),
        ({"consistency": "strong", "regions": ["a-b-1", "c-d-1", "e-f-1"]}, "regions", "exactly two"),
        ({"tables": []}, "tables", "non-empty list"),
        ({"tables": {"orders": "strong"}}, "tables", "only when consistency is strong"),
        ({"tables": {"orders": "sometimes"}}, "tables.orders", "strong, eventual"),
        ({"replicationLagSeconds": -1}, "replicationLagSeconds", "from 0 to 3600"),
        ({"replicationLagSeconds": True}, "replicationLagSeconds", "number of seconds"),
        ({"lag": 1}, "lag", "the fields are"),
    ],
)
def test_a_bad_configuration_names_the_field_and_what_is_allowed(
    change: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_configuration({**VALID, **change})

    assert raised.value.field == field
    assert raised.value.status == 400
    assert words in str(raised.value)


@pytest.mark.parametrize("fault", ["outage", "isolation", "data-path"])
def test_the_three_faults_are_accepted(fault: str) -> None:
    assert parse_fault({"fault": fault}) == fault


@pytest.mark.parametrize("body", [{"fault": "region-outage"}, {}, ["outage"]])
def test_any_other_fault_is_refused_with_the_allowed_values(body: Any) -> None:
    with pytest.raises(InvalidInput, match="outage, isolation, data-path") as raised:
        parse_fault(body)
    assert raised.value.field == "fault"


# --- the WSGI layer ---------------------------------------------------------------------------------


class RecordingApp:
    """Stands in for moto: answers 200 and keeps the environs it was given."""

    def __init__(self) -> None:
        self.environs: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.environs.append(dict(environ))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]


def call(
    app: Callable[..., Iterable[bytes]], method: str, path: str, body: Any = None, **environ: Any
) -> tuple[str, Any]:
    data = json.dumps(body).encode() if body is not None else b""
    captured: dict[str, str] = {}

    def start_response(status: str, _headers: list[tuple[str, str]]) -> None:
        captured["status"] = status

    base = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    reply = b"".join(app({**base, **environ}, start_response))
    return captured["status"], json.loads(reply) if reply else None


@pytest.fixture
def moto_app() -> RecordingApp:
    return RecordingApp()


@pytest.fixture
def wsgi(moto_app: RecordingApp) -> Callable[..., Iterable[bytes]]:
    return GlobalTables(threading.Lock()).middleware(moto_app)


@pytest.mark.parametrize("address", ["192.0.2.10", "10.0.0.1", None])
def test_the_control_routes_answer_loopback_clients_only(
    wsgi: Callable[..., Iterable[bytes]], moto_app: RecordingApp, address: str | None
) -> None:
    for method, path in [
        ("GET", GLOBAL_TABLES_ROUTE),
        ("POST", GLOBAL_TABLES_ROUTE),
        ("DELETE", "/strongroom-local/faults"),
    ]:
        status, document = call(wsgi, method, path, VALID, REMOTE_ADDR=address)
        assert status.startswith("403"), (method, path)
        assert document == {"message": "loopback clients only"}
    assert moto_app.environs == []


def test_a_bad_configuration_is_a_400_naming_the_field(wsgi: Callable[..., Iterable[bytes]]) -> None:
    status, document = call(wsgi, "POST", GLOBAL_TABLES_ROUTE, {**VALID, "consistency": "quorum"})

    assert status.startswith("400")
    assert document["field"] == "consistency"
    assert "strong, eventual" in document["message"]


def test_a_body_that_is_not_json_is_a_400(wsgi: Callable[..., Iterable[bytes]]) -> None:
    environ = {"wsgi.input": io.BytesIO(b"{not json"), "CONTENT_LENGTH": "9"}
    status, document = call(wsgi, "POST", GLOBAL_TABLES_ROUTE, **environ)

    assert status.startswith("400")
    assert "not JSON" in document["message"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", GLOBAL_TABLES_ROUTE, "405"),
        ("POST", "/strongroom-local/faults", "405"),
        ("GET", "/strongroom-local/replicas", "404"),
    ],
)
def test_other_methods_and_paths_are_refused(
    wsgi: Callable[..., Iterable[bytes]], method: str, path: str, expected: str
) -> None:
    status, document = call(wsgi, method, path)

    assert status.startswith(expected)
    assert document["message"]


def test_before_any_configuration_a_dynamodb_request_reaches_moto_unchanged(
    wsgi: Callable[..., Iterable[bytes]], moto_app: RecordingApp
) -> None:
    body = {"TableName": "orders", "Key": {"pk": {"S": "a"}}, "ConsistentRead": True}
    headers = {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem", "HTTP_AUTHORIZATION": AUTHORIZATION}

    status, _ = call(wsgi, "POST", "/", body, **headers)

    assert status.startswith("200")
    (seen,) = moto_app.environs
    assert seen["HTTP_AUTHORIZATION"] == AUTHORIZATION
    assert json.loads(seen["wsgi.input"].read()) == body


def test_the_status_before_any_configuration(wsgi: Callable[..., Iterable[bytes]]) -> None:
    status, document = call(wsgi, "GET", GLOBAL_TABLES_ROUTE)

    assert status.startswith("200")
    assert document["configured"] is False
    assert document["faults"] == {}
    assert document["replication"] == {}
