"""The release hooks' logic with stubbed clients: what they invoke, what they report, and that every
failure is reported as Failed (docs/adr/0039-signed-code-and-canary-releases.md)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import pytest

from strongroom import constants as env
from strongroom import delivery_hooks as hooks

TARGET = "arn:aws:lambda:eu-west-1:111111111111:function:strongroom-api:7"
EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "exec-1"}


class StubLambda:
    def __init__(self, answer: Any = None, *, error: str | None = None, raises: bool = False) -> None:
        self.answer, self.error, self.raises = answer, error, raises
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append(kwargs)
        if self.raises:
            raise ConnectionError("endpoint unreachable")
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(self.answer).encode()),
        }
        if self.error:
            response["FunctionError"] = self.error
        return response


class StubCodeDeploy:
    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    def put_lifecycle_event_hook_execution_status(self, **kwargs: Any) -> Mapping[str, Any]:
        self.reports.append(kwargs)
        return {"lifecycleEventHookExecutionId": kwargs["lifecycleEventHookExecutionId"]}


def _run(client: StubLambda, kind: str = "api", target: str = TARGET) -> tuple[str, StubCodeDeploy]:
    codedeploy = StubCodeDeploy()
    status = hooks.run_hook(
        EVENT, lambda_client=client, codedeploy_client=codedeploy, target=target, kind=kind
    )
    return status, codedeploy


def test_a_healthy_api_version_succeeds_and_is_invoked_on_its_version_with_deep_health() -> None:
    client = StubLambda({"statusCode": 200, "body": "{}"})
    status, codedeploy = _run(client)
    assert status == hooks.SUCCEEDED
    assert codedeploy.reports == [
        {"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "exec-1", "status": "Succeeded"}
    ]
    (call,) = client.calls
    assert call["FunctionName"] == "arn:aws:lambda:eu-west-1:111111111111:function:strongroom-api"
    assert call["Qualifier"] == "7"
    assert call["InvocationType"] == "RequestResponse"
    sent = json.loads(call["Payload"])
    assert (sent["httpMethod"], sent["path"], sent["resource"]) == ("GET", "/health/deep", "/health/deep")


def test_a_batch_handler_answering_an_empty_batch_with_no_failures_succeeds() -> None:
    client = StubLambda({"batchItemFailures": []})
    status, _ = _run(client, kind="batch")
    assert status == hooks.SUCCEEDED
    assert json.loads(client.calls[0]["Payload"]) == {"Records": []}


@pytest.mark.parametrize(
    ("kind", "answer", "error"),
    [
        ("api", {"statusCode": 503, "body": "{}"}, None),  # deep health fails
        ("api", {"errorMessage": "boom"}, "Unhandled"),  # the version raises
        ("batch", {"batchItemFailures": [{"itemIdentifier": "x"}]}, None),
        ("batch", None, None),  # no answer at all
    ],
)
def test_a_failed_smoke_request_reports_failed(kind: str, answer: Any, error: str | None) -> None:
    status, codedeploy = _run(StubLambda(answer, error=error), kind=kind)
    assert status == hooks.FAILED
    assert [r["status"] for r in codedeploy.reports] == ["Failed"]


def test_an_exception_while_smoke_testing_reports_failed() -> None:
    status, codedeploy = _run(StubLambda(raises=True))
    assert status == hooks.FAILED
    assert [r["status"] for r in codedeploy.reports] == ["Failed"]


@pytest.mark.parametrize(
    ("target", "kind"),
    [("", "api"), ("arn:aws:lambda:eu-west-1:111111111111:function:strongroom-api", "api"), (TARGET, "x")],
)
def test_a_misconfigured_hook_reports_failed_without_invoking(target: str, kind: str) -> None:
    client = StubLambda({"statusCode": 200})
    status, _ = _run(client, kind=kind, target=target)
    assert status == hooks.FAILED
    assert client.calls == []


def test_the_handler_reads_its_target_and_smoke_kind_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(env.ENV_HOOK_TARGET, TARGET)
    monkeypatch.setenv(env.ENV_HOOK_SMOKE, "batch")
    invoked = StubLambda({"batchItemFailures": []})
    stubs: dict[str, Any] = {"lambda": invoked, "codedeploy": StubCodeDeploy()}
    assert hooks.handler(EVENT, None, clients=stubs.__getitem__) == {"status": "Succeeded"}
    assert invoked.calls[0]["Qualifier"] == "7"
