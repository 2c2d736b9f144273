from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from strongroom.config import AlarmThresholds
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.observability import (
    RUNBOOKS,
    MonitoredFunction,
    MonitoredQueue,
    MonitoredTable,
    Observability,
)

from .conftest import REPO, resources, stack_template

THRESHOLDS = AlarmThresholds()


def _function(stack: Stack, name: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


def _observability(stack: Stack, **overrides: Any) -> Observability:
    api = apigw.RestApi(stack, "Api", cloud_watch_role=False)
    api.root.add_method("GET")
    props: dict[str, Any] = {
        "alarm_prefix": "strongroom-eu-west-1",
        "topic_key": kms.Key(stack, "Key"),
        "thresholds": THRESHOLDS,
        "functions": [
            MonitoredFunction("api", _function(stack, "ApiFn"), 10),
            MonitoredFunction("publisher", _function(stack, "PublisherFn"), 60, reads_stream=True),
        ],
        "api": api,
        "dead_letter_queues": [MonitoredQueue("publisher", sqs.Queue(stack, "Dlq"))],
        "tables": [
            MonitoredTable("transactions", "strongroom-transactions"),
            MonitoredTable("audit", "strongroom-audit", ("eu-central-1",)),
        ],
        **overrides,
    }
    return Observability(stack, "Observability", **props)


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(_observability)


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def test_every_kind_of_alarm_is_created(template: Template) -> None:
    assert set(_alarms(template)) == {
        "strongroom-eu-west-1-api-errors",
        "strongroom-eu-west-1-api-throttles",
        "strongroom-eu-west-1-api-duration-p99",
        "strongroom-eu-west-1-publisher-errors",
        "strongroom-eu-west-1-publisher-throttles",
        "strongroom-eu-west-1-publisher-duration-p99",
        "strongroom-eu-west-1-publisher-iterator-age",
        "strongroom-eu-west-1-api-5xx-rate",
        "strongroom-eu-west-1-api-4xx-rate",
        "strongroom-eu-west-1-api-latency-p99",
        "strongroom-eu-west-1-publisher-dlq-depth",
        "strongroom-eu-west-1-transactions-throttles",
        "strongroom-eu-west-1-audit-throttles",
        "strongroom-eu-west-1-audit-replication-to-eu-central-1",
    }


def test_every_alarm_links_its_runbook_and_every_runbook_is_linked(template: Template) -> None:
    linked = set()
    for alarm in _alarms(template).values():
        match = re.search(r"Runbook: docs/runbooks/([a-z0-9-]+)\.md$", alarm["AlarmDescription"])
        assert match, alarm["AlarmDescription"]
        assert (REPO / "docs" / "runbooks" / f"{match.group(1)}.md").is_file()
        linked.add(match.group(1))
    assert linked == set(RUNBOOKS)


def test_thresholds_come_from_the_configuration(template: Template) -> None:
    alarms = _alarms(template)
    assert alarms["strongroom-eu-west-1-api-duration-p99"]["Threshold"] == 8000  # 80% of 10 s
    assert alarms["strongroom-eu-west-1-publisher-duration-p99"]["Threshold"] == 48000
    assert alarms["strongroom-eu-west-1-publisher-iterator-age"]["Threshold"] == THRESHOLDS.iterator_age_ms
    assert alarms["strongroom-eu-west-1-api-5xx-rate"]["Threshold"] == THRESHOLDS.api_5xx_rate_percent
    replication = alarms["strongroom-eu-west-1-audit-replication-to-eu-central-1"]
    assert replication["MetricName"] == "ReplicationLatency"
    assert {"Name": "ReceivingRegion", "Value": "eu-central-1"} in replication["Dimensions"]
    for alarm in alarms.values():
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 3)
        assert alarm["TreatMissingData"] == "notBreaching"


def test_rates_are_computed_from_error_and_request_counts(template: Template) -> None:
    rate = _alarms(template)["strongroom-eu-west-1-api-4xx-rate"]
    expressions = [m["Expression"] for m in rate["Metrics"] if "Expression" in m]
    assert expressions == ["IF(requests > 0, 100 * errors / requests, 0)"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"] if "MetricStat" in m}
    assert names == {"4XXError", "Count"}


def test_alarms_notify_an_encrypted_tls_only_topic_cloudwatch_may_publish_to(template: Template) -> None:
    (topic_id, topic) = next(iter(resources(template, "AWS::SNS::Topic").items()))
    assert topic["Properties"]["TopicName"] == "strongroom-eu-west-1-alarms"
    assert "KmsMasterKeyId" in topic["Properties"]
    for alarm in _alarms(template).values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (publish,) = [s for s in statements if s.get("Sid") == "CloudWatchAlarmsOfThisAccountPublish"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert "aws:SourceAccount" in publish["Condition"]["StringEquals"]
    assert "aws:SourceArn" in publish["Condition"]["ArnLike"]


def test_a_dashboard_shows_the_alarms(template: Template) -> None:
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "strongroom-eu-west-1"


def test_invalid_props_fail_once_with_every_problem() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _observability(
                stack,
                topic_key=None,
                tables=[MonitoredTable("API", "t"), MonitoredTable("API", "u")],
            )
        )
    problems = error.value.problems
    assert any("topic_key is required" in p for p in problems)
    assert any("must be unique" in p for p in problems)
    assert any("label 'API'" in p for p in problems)
