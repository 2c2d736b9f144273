"""Alarms, the topic they notify and a dashboard, for one Region's functions, API, queues and tables.

Every alarm names its runbook (``docs/runbooks/<name>.md``) in its description, so whoever is paged
lands on what to do. Thresholds come from the platform configuration. Periods are one minute; an
alarm fires on 3 breaching minutes out of 5 and treats missing data as fine (no traffic is not an
outage; the deep health check covers that).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from strongroom.config import AlarmThresholds
from strongroom.infra.constructs._props import Problems

PERIOD = Duration.minutes(1)
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3
RUNBOOKS = (
    "function-errors",
    "function-throttles",
    "function-duration",
    "api-5xx",
    "api-4xx",
    "api-latency",
    "dlq-depth",
    "iterator-age",
    "dynamodb-throttles",
    "replication-latency",
)


@dataclass(frozen=True, slots=True)
class MonitoredFunction:
    label: str  # short, used in alarm names: "<prefix>-<label>-errors"
    function: lambda_.IFunction
    timeout_seconds: int
    reads_stream: bool = False  # a stream consumer also gets an iterator-age alarm


@dataclass(frozen=True, slots=True)
class MonitoredQueue:
    label: str
    queue: sqs.IQueue


@dataclass(frozen=True, slots=True)
class MonitoredTable:
    label: str
    name: str
    replicated_eventually_to: tuple[str, ...] = ()  # MREC peers: one replication-latency alarm each


class Observability(Construct):
    """Attributes: ``topic``, ``alarms`` (name → alarm), ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_prefix: str,
        topic_key: kms.IKey | None,
        thresholds: AlarmThresholds,
        functions: Sequence[MonitoredFunction] = (),
        api: apigw.RestApi | None = None,
        dead_letter_queues: Sequence[MonitoredQueue] = (),
        tables: Sequence[MonitoredTable] = (),
        runbook_base: str = "docs/runbooks",
        existing_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("Observability")
        problems.check(bool(alarm_prefix.strip()), "alarm_prefix must not be blank")
        problems.check(
            existing_topic is not None or topic_key is not None,
            "topic_key is required to create the (encrypted) alarm topic; or pass existing_topic",
        )
        problems.check(
            bool(functions or api or dead_letter_queues or tables),
            "nothing to monitor: pass functions, api, …",
        )
        by_kind = {
            "functions": [f.label for f in functions],
            "dead_letter_queues": [q.label for q in dead_letter_queues],
            "tables": [t.label for t in tables],
        }
        for kind, labels in by_kind.items():  # alarm names add a per-kind suffix, so clashes are per kind
            problems.check(len(set(labels)) == len(labels), f"{kind}: labels {labels} must be unique")
            for label in labels:
                problems.check(
                    bool(_LABEL_RE.match(label)),
                    f"{kind}: label {label!r} must be lowercase letters, digits, -",
                )
        problems.raise_if_any()

        self.alarm_prefix = alarm_prefix
        self.runbook_base = runbook_base.rstrip("/")
        self.thresholds = thresholds
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.topic: sns.ITopic = existing_topic or self._topic(alarm_prefix, topic_key)
        self._action = actions.SnsAction(self.topic)

        for monitored in functions:
            self._function_alarms(monitored)
        if api is not None:
            self._api_alarms(api)
        for dlq in dead_letter_queues:
            self._alarm(
                f"{dlq.label}-dlq-depth",
                "dlq-depth",
                f"Messages are waiting in the {dlq.label} dead-letter queue",
                dlq.queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                thresholds.dlq_visible_messages,
            )
        for table in tables:
            self._table_alarms(table)
        self.dashboard = self._dashboard(functions, api, tables)

    def _topic(self, alarm_prefix: str, key: kms.IKey | None) -> sns.Topic:
        stack = Stack.of(self)
        topic = sns.Topic(
            self, "AlarmTopic", topic_name=f"{alarm_prefix}-alarms", master_key=key, enforce_ssl=True
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{alarm_prefix}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        return topic

    def _alarm(
        self,
        slug: str,
        runbook: str,
        what: str,
        metric: cloudwatch.IMetric,
        threshold: float,
    ) -> cloudwatch.Alarm:
        name = f"{self.alarm_prefix}-{slug}"
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{slug}",
            alarm_name=name,
            alarm_description=f"{what}. Runbook: {self.runbook_base}/{runbook}.md",
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=DATAPOINTS_TO_ALARM,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[name] = alarm
        return alarm

    def _function_alarms(self, monitored: MonitoredFunction) -> None:
        function, t = monitored.function, self.thresholds
        label = monitored.label
        self._alarm(
            f"{label}-errors",
            "function-errors",
            f"Function {label} is failing invocations",
            function.metric_errors(period=PERIOD, statistic="Sum"),
            t.function_errors,
        )
        self._alarm(
            f"{label}-throttles",
            "function-throttles",
            f"Function {label} is throttled (reserved concurrency exhausted)",
            function.metric_throttles(period=PERIOD, statistic="Sum"),
            t.function_throttles,
        )
        self._alarm(
            f"{label}-duration-p99",
            "function-duration",
            f"Function {label} p99 duration is near its {monitored.timeout_seconds} s timeout",
            function.metric_duration(period=PERIOD, statistic="p99"),
            round(monitored.timeout_seconds * 1000 * t.function_p99_duration_ratio),
        )
        if monitored.reads_stream:
            self._alarm(
                f"{label}-iterator-age",
                "iterator-age",
                f"Function {label} is falling behind its stream",
                function.metric("IteratorAge", period=PERIOD, statistic="Maximum"),
                t.iterator_age_ms,
            )

    def _api_alarms(self, api: apigw.RestApi) -> None:
        t = self.thresholds
        count = api.metric_count(period=PERIOD, statistic="Sum")
        for status, metric, threshold in (
            ("5xx", api.metric_server_error(period=PERIOD, statistic="Sum"), t.api_5xx_rate_percent),
            ("4xx", api.metric_client_error(period=PERIOD, statistic="Sum"), t.api_4xx_rate_percent),
        ):
            rate = cloudwatch.MathExpression(
                expression="IF(requests > 0, 100 * errors / requests, 0)",
                using_metrics={"errors": metric, "requests": count},
                label=f"{status} rate (%)",
                period=PERIOD,
            )
            self._alarm(
                f"api-{status}-rate",
                f"api-{status}",
                f"The API answers {status} to {threshold}% or more of requests",
                rate,
                threshold,
            )
        self._alarm(
            "api-latency-p99",
            "api-latency",
            f"The API's p99 latency is {t.api_p99_latency_ms} ms or more",
            api.metric_latency(period=PERIOD, statistic="p99"),
            t.api_p99_latency_ms,
        )

    def _table_alarms(self, table: MonitoredTable) -> None:
        def dynamodb_metric(name: str, **dimensions: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name=name,
                dimensions_map={"TableName": table.name, **dimensions},
                period=PERIOD,
                statistic="Sum" if name.endswith("Events") else "Maximum",
            )

        throttles = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": dynamodb_metric("ReadThrottleEvents"),
                "writes": dynamodb_metric("WriteThrottleEvents"),
            },
            label=f"{table.name} throttle events",
            period=PERIOD,
        )
        self._alarm(
            f"{table.label}-throttles",
            "dynamodb-throttles",
            f"DynamoDB is throttling requests to {table.name}",
            throttles,
            self.thresholds.dynamodb_throttled_requests,
        )
        for peer in table.replicated_eventually_to:
            self._alarm(
                f"{table.label}-replication-to-{peer}",
                "replication-latency",
                f"Replication of {table.name} to {peer} is lagging (MREC: recent writes are not there yet)",
                dynamodb_metric("ReplicationLatency", ReceivingRegion=peer),
                self.thresholds.replication_latency_ms,
            )

    def _dashboard(
        self,
        functions: Sequence[MonitoredFunction],
        api: apigw.RestApi | None,
        tables: Sequence[MonitoredTable],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self.alarm_prefix)
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)
        ]
        if api is not None:
            widgets += [
                cloudwatch.GraphWidget(
                    title="API requests and errors",
                    left=[api.metric_count(period=PERIOD, statistic="Sum")],
                    right=[
                        api.metric_client_error(period=PERIOD, statistic="Sum"),
                        api.metric_server_error(period=PERIOD, statistic="Sum"),
                    ],
                    width=12,
                ),
                cloudwatch.GraphWidget(
                    title="API latency",
                    left=[api.metric_latency(period=PERIOD, statistic=s) for s in ("p50", "p99")],
                    width=12,
                ),
            ]
        for monitored in functions:
            function = monitored.function
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{monitored.label}: invocations, errors, throttles, p99 duration",
                    left=[
                        function.metric_invocations(period=PERIOD, statistic="Sum"),
                        function.metric_errors(period=PERIOD, statistic="Sum"),
                        function.metric_throttles(period=PERIOD, statistic="Sum"),
                    ],
                    right=[function.metric_duration(period=PERIOD, statistic="p99")],
                    width=12,
                )
            )
        for table in tables:
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{table.name}: consumed capacity",
                    left=[
                        cloudwatch.Metric(
                            namespace="AWS/DynamoDB",
                            metric_name=name,
                            dimensions_map={"TableName": table.name},
                            period=PERIOD,
                            statistic="Sum",
                        )
                        for name in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
                    ],
                    width=12,
                )
            )
        dashboard.add_widgets(*widgets)
        return dashboard
