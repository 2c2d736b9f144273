"""Local REST proxy events: the shape API Gateway sends, so local runs exercise the real handler."""

from __future__ import annotations

import base64
import re

from strongroom.local.events import CallerIdentity, LocalLambdaContext, response_headers, rest_proxy_event


def event(path: str, body: bytes = b"", **kwargs: object) -> dict[str, object]:
    return rest_proxy_event(
        method="GET",
        raw_path=path,
        headers={"host": "localhost"},
        body=body,
        region="eu-west-1",
        **kwargs,  # type: ignore[arg-type]
    )


def test_path_parameters_are_matched_to_the_operation_template() -> None:
    e = event("/customers/cust%3A42/transactions?limit=3&cursor=abc")
    assert e["resource"] == "/customers/{customer_id}/transactions"
    assert e["pathParameters"] == {"customer_id": "cust:42"}
    assert e["queryStringParameters"] == {"limit": "3", "cursor": "abc"}


def test_unknown_paths_go_to_the_proxy_resource() -> None:
    e = event("/nowhere/at/all")
    assert e["resource"] == "/{proxy+}"
    assert e["pathParameters"] == {"proxy": "nowhere/at/all"}
    assert e["queryStringParameters"] is None


def test_path_stays_encoded_path_parameters_are_decoded_and_resource_is_the_template() -> None:
    # API Gateway REST (unlike HTTP APIs) passes `path` as received, still percent-encoded.
    e = event("/customers/cust%2042/transactions")
    assert e["path"] == "/customers/cust%2042/transactions"
    assert e["resource"] == "/customers/{customer_id}/transactions"
    assert e["pathParameters"] == {"customer_id": "cust 42"}


def test_an_encoded_slash_stays_inside_its_path_parameter() -> None:
    e = event("/customers/a%2Fb/transactions")
    assert e["resource"] == "/customers/{customer_id}/transactions"
    assert e["pathParameters"] == {"customer_id": "a/b"}


def test_an_encoded_literal_segment_still_matches_its_template() -> None:
    assert event("/customers/c1/%74ransactions")["resource"] == "/customers/{customer_id}/transactions"


def test_the_proxy_parameter_is_percent_decoded() -> None:
    e = event("/nowhere/a%20b")
    assert e["path"] == "/nowhere/a%20b"
    assert e["pathParameters"] == {"proxy": "nowhere/a b"}


def test_a_repeated_header_keeps_its_last_value_in_headers_and_all_in_multi_value_headers() -> None:
    e = rest_proxy_event(
        method="GET",
        raw_path="/health",
        headers=[("Host", "localhost:8080"), ("X-Tag", "a"), ("User-Agent", "ua"), ("x-tag", "b")],
        body=b"",
        region="eu-west-1",
    )
    assert e["headers"] == {"Host": "localhost:8080", "X-Tag": "b", "User-Agent": "ua"}
    assert e["multiValueHeaders"] == {"Host": ["localhost:8080"], "X-Tag": ["a", "b"], "User-Agent": ["ua"]}
    assert e["requestContext"]["domainName"] == "localhost:8080"
    assert e["requestContext"]["identity"]["userAgent"] == "ua"


def test_binary_bodies_are_base64_encoded() -> None:
    e = event("/transactions", b"\xff\x00")
    assert e["isBase64Encoded"] is True
    assert base64.b64decode(str(e["body"])) == b"\xff\x00"


def test_text_bodies_are_passed_as_text_and_empty_bodies_as_null() -> None:
    assert event("/transactions", b"{}")["body"] == "{}"
    assert event("/transactions")["body"] is None


def test_caller_identity_is_the_signing_principal() -> None:
    e = event("/health", caller_arn="arn:aws:iam::000000000000:user/alice")
    identity = e["requestContext"]["identity"]  # type: ignore[index]
    assert identity["userArn"] == "arn:aws:iam::000000000000:user/alice"


def test_an_iam_user_identity_has_the_shape_api_gateway_gives() -> None:
    identity = CallerIdentity.iam_user("arn:aws:iam::000000000000:user/alice", "AKIAALICE")
    e = event("/transactions", identity=identity)
    got = e["requestContext"]["identity"]  # type: ignore[index]
    assert got["userArn"] == "arn:aws:iam::000000000000:user/alice"
    assert got["accountId"] == "000000000000"
    assert got["accessKey"] == "AKIAALICE"
    assert got["caller"] == got["user"]
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", got["caller"])
    assert got["caller"] == CallerIdentity.iam_user("arn:aws:iam::000000000000:user/alice").caller  # stable


def test_an_assumed_role_identity_has_the_shape_api_gateway_gives() -> None:
    identity = CallerIdentity(
        user_arn="arn:aws:sts::000000000000:assumed-role/caller/session-1",
        caller="AROAEXAMPLEROLEID0001:session-1",
        user="AROAEXAMPLEROLEID0001:session-1",
        access_key="ASIAEXAMPLE",
    )
    got = event("/transactions", identity=identity)["requestContext"]["identity"]  # type: ignore[index]
    assert got == {
        "accessKey": "ASIAEXAMPLE",
        "accountId": "000000000000",
        "caller": "AROAEXAMPLEROLEID0001:session-1",
        "sourceIp": "127.0.0.1",
        "userArn": "arn:aws:sts::000000000000:assumed-role/caller/session-1",
        "userAgent": None,
        "user": "AROAEXAMPLEROLEID0001:session-1",
    }


def test_an_unauthenticated_request_has_no_identity() -> None:
    got = event("/health")["requestContext"]["identity"]  # type: ignore[index]
    assert (got["userArn"], got["accountId"], got["caller"], got["user"], got["accessKey"]) == (None,) * 5


def test_context_reports_the_function() -> None:
    context = LocalLambdaContext("strongroom-api", "eu-west-1")
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:000000000000:function:strongroom-api"


def test_response_headers_merge_single_and_multi_valued() -> None:
    response = {"headers": {"A": "1"}, "multiValueHeaders": {"B": ["2", "3"]}}
    assert response_headers(response) == [("A", "1"), ("B", "2"), ("B", "3")]
