"""Local REST proxy events: the shape API Gateway sends, so local runs exercise the real handler."""

from __future__ import annotations

import base64

from strongroom.local.events import LocalLambdaContext, response_headers, rest_proxy_event


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


def test_context_reports_the_function() -> None:
    context = LocalLambdaContext("strongroom-api", "eu-west-1")
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:000000000000:function:strongroom-api"


def test_response_headers_merge_single_and_multi_valued() -> None:
    response = {"headers": {"A": "1"}, "multiValueHeaders": {"B": ["2", "3"]}}
    assert response_headers(response) == [("A", "1"), ("B", "2"), ("B", "3")]
