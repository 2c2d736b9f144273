"""X-Ray holds no customer data: with tracing on, as deployed, no segment carries a customer id,
an amount or a reference, for a success, a validation failure or a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.lambda_launcher import LambdaContext

from strongroom import constants as env
from strongroom.runtime import api
from strongroom.runtime.observability import InvocationFailed, traced
from tests.functional.conftest import ApiClient, txn_body

CUSTOMER, AMOUNT, REFERENCE = "cust-tracing-7731", "4321.98", "invoice-secret-ref-5512"


class MemoryEmitter:
    """Collects every serialised segment and subsegment instead of sending them to the daemon."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.documents.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


@pytest.fixture
def emitter(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryEmitter]:
    # GIVEN a function running as Lambda runs it, with tracing on and the shared function environment
    for name, value in env.FUNCTION_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "strongroom-api")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    monkeypatch.delenv(env.ENV_TRACING, raising=False)
    memory = MemoryEmitter()
    previous = (xray_recorder.emitter, xray_recorder.context, xray_recorder.streaming_threshold)
    # Lambda's context: each invocation's facade segment comes from _X_AMZN_TRACE_ID; every
    # subsegment is emitted as it closes.
    xray_recorder.configure(emitter=memory, context=LambdaContext(), streaming_threshold=0)
    monkeypatch.setattr(api, "handler", traced(api._handle))
    yield memory
    emitter_, context, threshold = previous
    xray_recorder.configure(emitter=emitter_, context=context, streaming_threshold=threshold)


def assert_no_customer_data(documents: list[str]) -> None:
    assert documents, "tracing emitted nothing: the test would prove nothing"
    for document in documents:
        for secret in (CUSTOMER, AMOUNT, REFERENCE):
            assert secret not in document, json.loads(document).get("name")


def test_a_created_transaction_leaves_no_customer_data_in_any_segment(
    client: ApiClient, emitter: MemoryEmitter
) -> None:
    reply = client.create(txn_body(customerId=CUSTOMER, amount=AMOUNT, reference=REFERENCE), key="trace-1")
    assert reply.status == 201
    listing = client.call("GET", f"/customers/{CUSTOMER}/transactions")
    assert listing.status == 200
    assert any('"handler"' in d or "## " in d for d in emitter.documents)
    assert_no_customer_data(emitter.documents)


def test_a_rejected_request_leaves_no_customer_data_in_any_segment(
    client: ApiClient, emitter: MemoryEmitter
) -> None:
    reply = client.create(
        txn_body(customerId=CUSTOMER, amount=AMOUNT, reference=REFERENCE + "\u202e"), key="t2"
    )
    assert reply.status == 422
    assert_no_customer_data(emitter.documents)


def test_an_escaping_exception_leaves_no_exception_text_in_any_segment(
    client: ApiClient, emitter: MemoryEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a failure that escapes the handler (Lambda then reports an invocation error)
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"resolver exploded on {CUSTOMER} {AMOUNT} {REFERENCE}")

    monkeypatch.setattr(api.app, "resolve", explode)
    with pytest.raises(InvocationFailed, match=r"^RuntimeError;"):
        client.create(txn_body(customerId=CUSTOMER, amount=AMOUNT, reference=REFERENCE), key="t3")
    # THEN the trace records that it failed, not what the exception said
    assert_no_customer_data(emitter.documents)
