"""What the function writes to CloudWatch: structured logs without PII, and EMF business metrics."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from strongroom.runtime import api
from strongroom.runtime.adapters.dynamodb import TransactionStore
from strongroom.runtime.observability import customer_ref
from tests.functional.conftest import ApiClient, Output, ScriptedDynamoDB, txn_body

CUSTOMER = "cust-PII-7781"
REFERENCE = "Rent for flat 9, Mill Lane"


def test_every_line_is_json_with_a_correlation_id_and_no_pii(
    client: ApiClient, stdout: Callable[[], Output]
) -> None:
    # GIVEN a customer id and reference that must never reach the logs
    body = txn_body(customerId=CUSTOMER, reference=REFERENCE)
    # WHEN the transaction is created, replayed, misused and listed
    created = client.create(body, key="log-1")
    client.create(body, key="log-1")
    client.create({**body, "amount": "1.00"}, key="log-1")
    client.create({**body, "amount": 1.5}, key="log-2")
    client.call("GET", f"/customers/{CUSTOMER}/transactions")
    out = stdout()
    # THEN every line is JSON, every log record is correlated, and none carries the PII
    assert out.lines
    for line in out.lines:
        json.loads(line)
        assert CUSTOMER not in line
        assert REFERENCE not in line
        assert "Mill Lane" not in line
    assert len(out.logs) >= 4
    assert all(record.get("correlation_id") for record in out.logs)
    # AND the creation log lets operators correlate by pseudonym instead
    [creation] = [r for r in out.logs if r["message"] == "transaction created"]
    assert creation["customer"] == customer_ref(CUSTOMER, api.dependencies().settings.pseudonym_key)
    assert creation["transactionId"] == created.body["id"]


def test_log_correlation_id_is_returned_to_the_client(
    client: ApiClient, stdout: Callable[[], Output]
) -> None:
    reply = client.create(txn_body(), key="corr")
    [record] = [r for r in stdout().logs if r["message"] == "transaction created"]
    assert record["correlation_id"] == reply.headers["X-Correlation-Id"]


def test_each_request_has_its_own_correlation_id(client: ApiClient, stdout: Callable[[], Output]) -> None:
    client.create(txn_body(), key="a")
    client.create(txn_body(), key="b")
    ids = [r["correlation_id"] for r in stdout().logs if r["message"] == "transaction created"]
    assert len(ids) == 2
    assert ids[0] != ids[1]


def test_created_replayed_and_rejected_are_counted(client: ApiClient, stdout: Callable[[], Output]) -> None:
    client.create(txn_body(), key="m-1")
    assert stdout().metric_names == ["TransactionCreated"]
    client.create(txn_body(), key="m-1")
    assert stdout().metric_names == ["TransactionReplayed"]
    client.create(txn_body(amount="1.00"), key="m-1")
    assert stdout().metric_names == ["TransactionRejected"]
    client.create(txn_body(amount=1.5), key="m-2")
    assert stdout().metric_names == ["TransactionRejected"]


def test_reads_publish_no_business_metric(client: ApiClient, stdout: Callable[[], Output]) -> None:
    client.call("GET", "/transactions/txn_" + "a" * 26)
    client.call("GET", "/customers/cust-0042/transactions")
    assert stdout().metric_names == []


def test_metrics_are_emf_in_the_strongroom_namespace(client: ApiClient, stdout: Callable[[], Output]) -> None:
    client.create(txn_body(), key="emf")
    [document] = [r for r in stdout().records if "_aws" in r]
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Strongroom"
    assert directive["Metrics"] == [{"Name": "TransactionCreated", "Unit": "Count"}]
    assert document["TransactionCreated"] == [1.0]


def test_rejections_are_logged_with_the_problem_type(client: ApiClient, stdout: Callable[[], Output]) -> None:
    client.call("GET", "/nope")
    [record] = [r for r in stdout().logs if r["message"] == "request rejected"]
    assert record["problem"] == "not-found"
    assert record["status"] == 404
    assert record["level"] == "INFO"


def test_server_errors_are_logged_with_the_exception_for_operators(
    client: ApiClient, stdout: Callable[[], Output]
) -> None:
    deps = api.dependencies()
    store = TransactionStore(ScriptedDynamoDB([RuntimeError("disk on fire")]), "t")  # type: ignore[arg-type]
    api.configure(dataclasses.replace(deps, store=store))
    reply = client.create(txn_body(), key="err")
    [record] = [r for r in stdout().logs if r["message"] == "request failed"]
    assert record["level"] == "ERROR"
    assert record["problem"] == "internal-error"
    assert "disk on fire" in record["exception"]  # in the logs, for operators; never in the response
    assert record["correlation_id"] == reply.headers["X-Correlation-Id"]
    assert "disk on fire" not in reply.text
