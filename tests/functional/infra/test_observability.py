from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from strongroom import constants as env
from strongroom.config import AlarmThresholds, ServiceQuotas, load_config
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.observability import (
    DEEP_HEALTH_FAILED,
    RUNBOOKS,
    UNROUTED_PARAMETER,
    DeepHealthMetric,
    MonitoredFunction,
    MonitoredQueue,
    MonitoredTable,
    Observability,
)
from strongroom.runtime import api
from strongroom.runtime.health import DeepHealthCheck
from tests.functional.conftest import ApiClient, Output

from .conftest import REPO, resources, stack_template

THRESHOLDS = AlarmThresholds(deep_health_failures=2)
QUOTAS = ServiceQuotas(lambda_concurrency=3000, api_requests_per_second=5000, alarm_percent=75)
EXTERNAL_TOPIC = "arn:aws:sns:eu-west-1:222222222222:incidents"


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
        "deep_health": DeepHealthMetric("Strongroom", "strongroom-api"),
        "quotas": QUOTAS,
        **overrides,
    }
    return Observability(stack, "Observability", **props)


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(_observability)


@pytest.fixture(scope="module")
def routed() -> Template:
    return stack_template(
        lambda stack: _observability(
            stack, alarm_email="oncall@bank.example", external_topic_arn=EXTERNAL_TOPIC
        )
    )


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
        "strongroom-eu-west-1-region-down",
        "strongroom-eu-west-1-deep-health",
        "strongroom-eu-west-1-lambda-concurrency-quota",
        "strongroom-eu-west-1-api-rate-quota",
    }


def test_quota_alarms_compare_usage_with_the_configured_share_of_each_quota(template: Template) -> None:
    alarms = _alarms(template)
    concurrency = alarms["strongroom-eu-west-1-lambda-concurrency-quota"]
    assert (concurrency["Namespace"], concurrency["MetricName"], concurrency["Statistic"]) == (
        "AWS/Lambda",
        "ClaimedAccountConcurrency",
        "Maximum",
    )
    assert "Dimensions" not in concurrency  # the account's, not one function's
    assert concurrency["Threshold"] == 2250  # 75% of 3000
    rate = alarms["strongroom-eu-west-1-api-rate-quota"]
    expression = next(m for m in rate["Metrics"] if "Expression" in m)
    requests = next(m for m in rate["Metrics"] if "MetricStat" in m)
    assert expression["Expression"] == "requests / 60"
    assert requests["MetricStat"]["Metric"]["MetricName"] == "Count"
    assert requests["MetricStat"]["Stat"] == "Sum"
    assert rate["Threshold"] == 3750  # 75% of 5000 requests per second
    for alarm in (concurrency, rate):
        assert alarm["AlarmDescription"].endswith("Runbook: docs/runbooks/service-quotas.md")


def test_the_platform_stacks_watch_the_quotas_of_their_region(synthesized: Any) -> None:
    for stack in ("strongroom-eu-west-1", "strongroom-eu-central-1"):
        names = {
            a["Properties"]["AlarmName"]
            for a in synthesized.template(stack)["Resources"].values()
            if a["Type"] == "AWS::CloudWatch::Alarm"
        }
        assert {f"{stack}-lambda-concurrency-quota", f"{stack}-api-rate-quota"} <= names


def test_every_alarm_links_its_runbook_and_every_runbook_is_linked(
    template: Template, routed: Template
) -> None:
    linked = set()
    for alarm in [*_alarms(template).values(), *_alarms(routed).values()]:
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
    assert alarms["strongroom-eu-west-1-deep-health"]["Threshold"] == THRESHOLDS.deep_health_failures == 2
    for alarm in alarms.values():
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 3)


# Silence means "the Region is gone" only where something always speaks: the stage's request count,
# which Route 53's health checkers keep above zero. Everywhere else no data means nothing happened.
MISSING_DATA = {"region-down": "breaching"}


def test_missing_data_breaches_only_where_silence_means_the_region_is_gone(template: Template) -> None:
    for name, alarm in _alarms(template).items():
        slug = name.removeprefix("strongroom-eu-west-1-")
        assert alarm["TreatMissingData"] == MISSING_DATA.get(slug, "notBreaching"), name


def test_region_down_fires_when_the_stage_gets_no_requests_at_all(template: Template) -> None:
    alarm = _alarms(template)["strongroom-eu-west-1-region-down"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/ApiGateway", "Count", "Sum")
    assert alarm["Period"] == 60
    assert {d["Name"] for d in alarm["Dimensions"]} == {"ApiName", "Stage"}
    (stage_id,) = resources(template, "AWS::ApiGateway::Stage")
    assert {"Name": "Stage", "Value": {"Ref": stage_id}} in alarm["Dimensions"]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"
    assert "Runbook: docs/runbooks/region-down.md" in alarm["AlarmDescription"]


def test_deep_health_alarm_counts_failed_runs_in_the_functions_namespace(template: Template) -> None:
    alarm = _alarms(template)["strongroom-eu-west-1-deep-health"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Strongroom", DEEP_HEALTH_FAILED)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "strongroom-api"}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 60)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "Runbook: docs/runbooks/deep-health.md" in alarm["AlarmDescription"]


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


def test_alarms_reach_an_email_address_and_an_existing_topic(routed: Template) -> None:
    (topic_id,) = resources(routed, "AWS::SNS::Topic")
    (subscription,) = resources(routed, "AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
        "Endpoint": "oncall@bank.example",
    }
    for alarm in _alarms(routed).values():
        # straight to the incident tool's topic too: SNS cannot subscribe one topic to another
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}, EXTERNAL_TOPIC]
    # mail SNS gave up delivering pages someone at once (and reaches the incident tool's topic)
    delivery = _alarms(routed)["strongroom-eu-west-1-alarm-delivery"]
    assert (delivery["Namespace"], delivery["MetricName"]) == ("AWS/SNS", "NumberOfNotificationsFailed")
    assert delivery["Dimensions"] == [{"Name": "TopicName", "Value": {"Fn::GetAtt": [topic_id, "TopicName"]}}]
    assert (delivery["Threshold"], delivery["DatapointsToAlarm"], delivery["TreatMissingData"]) == (
        1,
        1,
        "notBreaching",
    )
    assert UNROUTED_PARAMETER not in routed.to_json().get("Parameters", {})
    assert "AlarmsReachSomeone" not in routed.to_json().get("Rules", {})


def test_alarms_that_reach_nobody_deploy_only_when_the_deployer_says_so(template: Template) -> None:
    # GIVEN no email address and no existing topic: the platform topic has no subscriber
    assert resources(template, "AWS::SNS::Subscription") == {}
    parsed = template.to_json()
    # THEN the stack takes a parameter that is empty unless the deployer acknowledges it ...
    parameter = parsed["Parameters"][UNROUTED_PARAMETER]
    assert parameter["Default"] == ""
    assert parameter["AllowedValues"] == ["", "acknowledged"]
    assert "reach nobody" in parameter["Description"]
    # ... and a rule refuses the deployment while it is empty, saying what to do
    (assertion,) = parsed["Rules"]["AlarmsReachSomeone"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": UNROUTED_PARAMETER}, "acknowledged"]}
    assert env.ENV_ALARM_EMAIL in assertion["AssertDescription"]
    assert env.ENV_ALARM_TOPIC_ARN in assertion["AssertDescription"]


def _dashboard_widgets(template_resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The dashboard's widgets, with each CloudFormation reference in its body written as
    ``<LogicalId.Attribute>`` or ``<LogicalId>``."""

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Fn::GetAtt" in part:
            return "<{}.{}>".format(*part["Fn::GetAtt"])
        return f"<{part['Ref']}>"

    (dashboard,) = [r for r in template_resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]
    widgets: list[dict[str, Any]] = json.loads("".join(map(text, body["Fn::Join"][1])))["widgets"]
    return widgets


def _alarms_shown(widget: dict[str, Any]) -> set[str]:
    """Logical ids of the alarms a widget shows: an alarm-status widget's list, a graph's alarm annotation."""
    properties = widget["properties"]
    arns = properties.get("alarms", []) if widget["type"] == "alarm" else []
    arns += properties.get("annotations", {}).get("alarms", [])
    found = set()
    for arn in arns:
        match = re.fullmatch(r"<([A-Za-z0-9]+)\.Arn>", arn)
        assert match, f"widget {properties.get('title')!r} shows {arn!r}, not an alarm of this stack"
        found.add(match.group(1))
    return found


def _check_dashboard(template_resources: dict[str, dict[str, Any]], prefix: str) -> None:
    alarms = {k: r for k, r in template_resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    widgets = _dashboard_widgets(template_resources)
    shown: dict[str, set[str]] = {w["properties"].get("title", ""): _alarms_shown(w) for w in widgets}
    # every alarm widget shows alarms that exist, and every alarm is on the dashboard
    for title, ids in shown.items():
        assert ids <= set(alarms), (title, ids - set(alarms))
    assert set().union(*shown.values()) == set(alarms)
    # the status board lists all of Observability's own; Region down and deep health also get a graph
    assert shown["Alarms"] == {k for k in alarms if k.startswith("ObservabilityAlarm")}
    by_name = {r["Properties"].get("AlarmName"): k for k, r in alarms.items()}
    for slug, title in (
        ("region-down", "Region down: requests to the stage (health checks included)"),
        ("deep-health", "Deep health: failed check runs"),
    ):
        assert shown[title] == {by_name[f"{prefix}-{slug}"]}


def test_the_dashboard_shows_every_alarm_and_only_alarms_that_exist(
    template: Template, routed: Template
) -> None:
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "strongroom-eu-west-1"
    _check_dashboard(template.to_json()["Resources"], "strongroom-eu-west-1")
    _check_dashboard(routed.to_json()["Resources"], "strongroom-eu-west-1")


def test_an_alarm_made_elsewhere_gets_the_same_reach_and_a_place_on_the_dashboard() -> None:
    def build(stack: Stack) -> None:
        observability = _observability(stack, external_topic_arn=EXTERNAL_TOPIC)
        # GIVEN an alarm another construct made, notifying the topic it was handed
        other = cloudwatch.Alarm(
            stack,
            "Elsewhere",
            metric=cloudwatch.Metric(namespace="Strongroom", metric_name="Other"),
            threshold=1,
            evaluation_periods=1,
        )
        other.add_alarm_action(actions.SnsAction(observability.topic))
        # WHEN Observability watches it
        observability.watch(other, "Other things")

    parsed = stack_template(build).to_json()
    (topic_id,) = [k for k, r in parsed["Resources"].items() if r["Type"] == "AWS::SNS::Topic"]
    (other_id,) = [k for k in parsed["Resources"] if k.startswith("Elsewhere")]
    # THEN it reaches the external topic as well, once each, and is on the dashboard
    other = parsed["Resources"][other_id]["Properties"]
    assert other["AlarmActions"] == [{"Ref": topic_id}, EXTERNAL_TOPIC]
    _check_dashboard(parsed["Resources"], "strongroom-eu-west-1")
    shown = {w["properties"].get("title"): _alarms_shown(w) for w in _dashboard_widgets(parsed["Resources"])}
    assert shown["Other things"] == {other_id}


def test_an_external_topic_must_be_in_the_alarms_region() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _observability(
                stack, external_topic_arn="arn:aws:sns:us-east-1:222222222222:incidents"
            )
        )
    (problem,) = error.value.problems
    assert "us-east-1" in problem
    assert "eu-west-1" in problem


def test_invalid_props_fail_once_with_every_problem() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _observability(
                stack,
                topic_key=None,
                tables=[MonitoredTable("API", "t"), MonitoredTable("API", "u")],
                alarm_email="oncall",
                external_topic_arn="arn:aws:sqs:eu-west-1:222222222222:q",
            )
        )
    problems = error.value.problems
    assert any("topic_key is required" in p for p in problems)
    assert any("must be unique" in p for p in problems)
    assert any("label 'API'" in p for p in problems)
    assert any("alarm_email 'oncall'" in p for p in problems)
    assert any("is not an SNS topic ARN" in p for p in problems)


# --- the whole app: what the Regional stacks wire together -------------------------------------

REGIONS = {"strongroom-eu-west-1": "eu-west-1", "strongroom-eu-central-1": "eu-central-1"}


@pytest.mark.parametrize("stack", sorted(REGIONS))
def test_every_regional_dashboard_shows_every_alarm(synthesized: Any, stack: str) -> None:
    _check_dashboard(synthesized.template(stack)["Resources"], f"strongroom-{REGIONS[stack]}")


@pytest.mark.parametrize("stack", sorted(REGIONS))
def test_deep_health_alarm_watches_what_the_api_function_publishes(synthesized: Any, stack: str) -> None:
    from aws_lambda_powertools.metrics import Metrics  # noqa: PLC0415

    template = synthesized.template(stack)["Resources"]
    (function,) = [
        r["Properties"]
        for r in template.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == "strongroom-api"
    ]
    variables = function["Environment"]["Variables"]
    (alarm,) = [
        r["Properties"]
        for r in template.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["AlarmName"] == f"strongroom-{REGIONS[stack]}-deep-health"
    ]
    # GIVEN Powertools configured as the deployed function is, WHEN it counts a failed run ...
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(env.ENV_SERVICE_NAME, variables[env.ENV_SERVICE_NAME])
        metrics = Metrics(namespace=variables[env.ENV_METRICS_NAMESPACE])
        try:
            metrics.add_metric(name=DEEP_HEALTH_FAILED, unit="Count", value=1)
            document: dict[str, Any] = dict(metrics.serialize_metric_set())
        finally:
            metrics.clear_metrics()
    # THEN the alarm watches exactly that metric: same namespace, name and dimensions
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert alarm["Namespace"] == directive["Namespace"]
    assert alarm["MetricName"] == DEEP_HEALTH_FAILED
    (dimension_names,) = directive["Dimensions"]
    assert alarm["Dimensions"] == [{"Name": n, "Value": document[n]} for n in dimension_names]


def test_the_routing_in_the_configuration_reaches_each_regions_alarms() -> None:
    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.stacks.regional import RegionalStack  # noqa: PLC0415

    config = load_config(
        environ={},
        alarm_email="oncall@bank.example",
        alarm_topic_arn="arn:aws:sns:eu-west-1:222222222222:incidents",
    )
    app = build_app(config, compliance=False)
    for stack in app.node.children:
        if not isinstance(stack, RegionalStack):
            continue
        parsed = Template.from_stack(stack).to_json()
        region = stack.region_config.name
        subscriptions = [r for r in parsed["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"]
        assert [s["Properties"]["Endpoint"] for s in subscriptions] == ["oncall@bank.example"]
        for alarm in (r for r in parsed["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"):
            # CloudWatch publishes only to a topic in the alarm's Region: each Region uses its own
            assert alarm["Properties"]["AlarmActions"][1] == f"arn:aws:sns:{region}:222222222222:incidents"
        assert UNROUTED_PARAMETER not in parsed.get("Parameters", {})


def test_unrouted_alarms_are_in_the_synth_summary(synthesized: Any) -> None:
    from strongroom.infra.synth import render  # noqa: PLC0415

    security = load_config().security  # what the session's synth was built from
    summary = render(synthesized)
    if security.alarm_email is None and security.alarm_topic_arn is None:
        assert "Alarms: reach NOBODY in eu-west-1, eu-central-1" in summary
        assert f"--parameters {UNROUTED_PARAMETER}=acknowledged" in summary
    else:
        assert "Alarms: eu-west-1 -> " in summary


def test_a_failed_deep_health_run_publishes_the_metric_the_alarm_watches(
    client: ApiClient, stdout: Callable[[], Output]
) -> None:
    # GIVEN a Region whose data key is not configured: the KMS check fails
    deps = api.dependencies()
    health = DeepHealthCheck(
        region=deps.health.region,
        store=deps.store,
        kms_client=lambda: None,  # type: ignore[arg-type, return-value]
        key_id=None,
        canary_ciphertext=None,
        interval_seconds=0,
    )
    api.configure(dataclasses.replace(deps, health=health))
    # WHEN Route 53 asks
    assert client.call("GET", "/health/deep").status == 503
    # THEN the run is counted under the name the deep-health alarm watches
    assert stdout().metric_names == [DEEP_HEALTH_FAILED]
