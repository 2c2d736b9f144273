"""CodeDeploy's pre- and post-traffic hooks for a Lambda release: smoke-test the new version, report.

CodeDeploy calls the hook with ``DeploymentId`` and ``LifecycleEventHookExecutionId`` before it moves
any of the ``live`` alias's traffic to the new version (``BeforeAllowTraffic``) and after it has moved
all of it (``AfterAllowTraffic``). The hook invokes the version under test directly (its qualified
ARN is in ``STRONGROOM_HOOK_TARGET``, set by the stack that published it) with a smoke request, and
reports ``Succeeded`` or ``Failed``: a failed pre-traffic hook stops the release before a caller sees
the version, a failed post-traffic hook rolls the alias back
(docs/adr/0039-signed-code-and-canary-releases.md).

Smoke requests (``STRONGROOM_HOOK_SMOKE``):

- ``api``: a REST API proxy event for ``GET /health/deep`` (the deep health check reads and writes the
  Region's table and key, docs/adr/0005): the version must answer 200.
- ``batch``: an empty batch (``{"Records": []}``), which an SQS or stream handler must answer with an
  empty ``batchItemFailures``: the code imports, initialises (or restores from its SnapStart snapshot)
  and runs its handler, and touches no data.

Whatever goes wrong (a function error, a refused invocation, an unexpected answer, a bug here), the
hook reports ``Failed`` if it can still reach CodeDeploy; if it cannot, CodeDeploy fails the lifecycle
event after its own timeout. Either way the release does not go ahead. Stdlib and boto3 only: this
module ships in the Lambda bundle and imports nothing of the platform's tooling.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from strongroom import constants as env

logger = logging.getLogger(__name__)

SUCCEEDED = "Succeeded"
FAILED = "Failed"
SMOKE_KINDS = ("api", "batch")
DEEP_HEALTH_PATH = "/health/deep"


class LambdaClient(Protocol):
    def invoke(self, **kwargs: Any) -> Mapping[str, Any]: ...


class CodeDeployClient(Protocol):
    def put_lifecycle_event_hook_execution_status(self, **kwargs: Any) -> Mapping[str, Any]: ...


def api_smoke_event(path: str = DEEP_HEALTH_PATH) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event for an unsigned ``GET <path>``, as API Gateway sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Accept": "application/json", "User-Agent": "strongroom-release-hook"},
        "multiValueHeaders": {"Accept": ["application/json"], "User-Agent": ["strongroom-release-hook"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "path": path,
            "stage": "release-hook",
            "requestId": "strongroom-release-hook",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "strongroom-release-hook"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def batch_smoke_event() -> dict[str, Any]:
    return {"Records": []}


def split_qualified_arn(arn: str) -> tuple[str, str]:
    """``arn:aws:lambda:<region>:<account>:function:<name>:<version>`` → (unqualified ARN, version)."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[2] != "lambda" or parts[5] != "function" or not parts[7]:
        raise ValueError(f"{arn!r} is not a qualified Lambda function ARN")
    return ":".join(parts[:7]), parts[7]


def _payload(response: Mapping[str, Any]) -> Any:
    raw: Any = response.get("Payload")
    data = raw.read() if hasattr(raw, "read") else raw
    if isinstance(data, (bytes, bytearray)):
        data = data.decode()
    return json.loads(data) if data else None


def smoke(client: LambdaClient, target: str, kind: str) -> str | None:
    """Invoke ``target`` (a qualified ARN) with the ``kind`` smoke request; None when it passes, else
    why it failed."""
    function, version = split_qualified_arn(target)
    if kind not in SMOKE_KINDS:
        return f"unknown smoke kind {kind!r} (expected one of {', '.join(SMOKE_KINDS)})"
    event = api_smoke_event() if kind == "api" else batch_smoke_event()
    response = client.invoke(
        FunctionName=function,
        Qualifier=version,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    if response.get("FunctionError"):
        return f"{target} raised ({response['FunctionError']}): {_payload(response)!r:.500}"
    answer = _payload(response)
    if kind == "api":
        status = answer.get("statusCode") if isinstance(answer, Mapping) else None
        return None if status == 200 else f"{target} answered GET {DEEP_HEALTH_PATH} with {status!r}"
    failures = answer.get("batchItemFailures") if isinstance(answer, Mapping) else None
    return None if failures == [] else f"{target} answered an empty batch with {answer!r:.500}"


def run_hook(
    event: Mapping[str, Any],
    *,
    lambda_client: LambdaClient,
    codedeploy_client: CodeDeployClient,
    target: str,
    kind: str,
) -> str:
    """Smoke-test ``target`` and report the result for this lifecycle event; returns the status sent."""
    try:
        problem = smoke(lambda_client, target, kind)
    except Exception:
        logger.exception("smoke test of %s could not run", target)
        problem = "the smoke test could not run"
    status = SUCCEEDED if problem is None else FAILED
    if problem is not None:
        logger.error("release hook: %s", problem)
    codedeploy_client.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    logger.info("release hook: %s %s for deployment %s", target, status, event["DeploymentId"])
    return status


def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - in the Lambda runtime only; the tests pass stubs

    if service == "lambda":
        return boto3.client("lambda")
    if service == "codedeploy":
        return boto3.client("codedeploy")
    raise ValueError(f"no client for {service!r}")


def handler(
    event: Mapping[str, Any], context: Any, *, clients: Callable[[str], Any] = _client
) -> dict[str, str]:
    """Lambda entry point (``strongroom.delivery_hooks.handler``)."""
    status = run_hook(
        event,
        lambda_client=clients("lambda"),
        codedeploy_client=clients("codedeploy"),
        target=os.environ.get(env.ENV_HOOK_TARGET, ""),
        kind=os.environ.get(env.ENV_HOOK_SMOKE, ""),
    )
    return {"status": status}
