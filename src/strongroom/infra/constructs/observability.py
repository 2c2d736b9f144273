"""Alarms, the topic they notify and who it reaches, and a dashboard, for one Region's functions, API,
queues and tables.

Every alarm names its runbook (``docs/runbooks/<name>.md``) in its description, so whoever is paged
lands on what to do. Thresholds come from the platform configuration. Periods are one minute; an
alarm fires on 3 breaching minutes out of 5, except ``alarm-delivery``, which fires on one.

Missing data (docs/adr/0021-alarms-and-audit-evidence.md):

- **breaching** for ``region-down``: the API's stage counts every request, Route 53's health checkers'
  included, so a minute without a single request means the Region, its API or its metrics are gone;
  and for a Route 53 health check's status, which Route 53 publishes every minute while the check exists;
- **not breaching** for every other alarm: errors, throttles, latency, queue depth, iterator age,
  replication lag, failed deep-health runs and undelivered notifications are only published when
  something happens (or there is traffic to measure), so no data means nothing happened. Silence
  itself is ``region-down``'s job.

Alarms notify the platform topic, which forwards to an email address; they also publish straight to an
existing topic (an incident tool, Chatbot) when one is given. With neither, the alarms reach nobody:
synth still works, but the stack refuses to deploy until the deployer acknowledges it with the
``AlarmsReachNobody`` parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import (
    ArnFormat,
    CfnParameter,
    CfnRule,
    CfnRuleAssertion,
    Duration,
    Fn,
    Stack,
    Token,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from strongroom import constants as env
from strongroom.config import AlarmThresholds, ServiceQuotas
from strongroom.infra.constructs._props import Problems

PERIOD = Duration.minutes(1)
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[\w-]{1,256}$", re.ASCII)
EVALUATION_PERIODS = 5
# Route 53 publishes its health checks' metrics (AWS/Route53) in this Region only.
HEALTH_CHECK_METRICS_REGION = "us-east-1"
DATAPOINTS_TO_ALARM = 3
# What the API function publishes (EMF, unit Count) once per deep-health run that fails
# (strongroom.runtime.api.deep_health), in its Powertools namespace with its ``service`` dimension.
DEEP_HEALTH_FAILED = "DeepHealthFailed"
# The stack parameter a deployer must set to deploy alarms that reach nobody, and the value it takes.
UNROUTED_PARAMETER = "AlarmsReachNobody"
UNROUTED_ACKNOWLEDGED = "acknowledged"
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
    "region-down",
    "deep-health",
    "alarm-delivery",
    "service-quotas",
)


@dataclass(frozen=True, slots=True)
class MonitoredFunction:
    label: str  # short, used in alarm names: "<prefix>-<label>-errors"
    function: lambda_.IFunction
    timeout_seconds: int
    reads_stream: bool = False  # a stream consumer also gets an iterator-age alarm
    # The function's live alias, when CodeDeploy releases it: a release alarm watches the alias
    # (docs/adr/0039-signed-code-and-canary-releases.md).
    alias: lambda_.IFunction | None = None


@dataclass(frozen=True, slots=True)
class MonitoredQueue:
    label: str
    queue: sqs.IQueue


@dataclass(frozen=True, slots=True)
class MonitoredTable:
    label: str
    name: str
    replicated_eventually_to: tuple[str, ...] = ()  # MREC peers: one replication-latency alarm each


@dataclass(frozen=True, slots=True)
class MonitoredHealthCheck:
    """A Route 53 health check, alarmed when Route 53 finds its endpoint unhealthy. Route 53 publishes
    ``HealthCheckStatus`` in us-east-1 only, so its alarm must be there too."""

    label: str  # used in the alarm's name: "<prefix>-<label>-health-check"
    health_check_id: str
    what: str  # the endpoint, for the alarm's description: "eu-west-1's /health/deep"
    runbook: str  # docs/runbooks/<runbook>.md

    def metric(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Route53",
            metric_name="HealthCheckStatus",
            dimensions_map={"HealthCheckId": self.health_check_id},
            period=PERIOD,
            statistic="Minimum",
            region=HEALTH_CHECK_METRICS_REGION,
        )


@dataclass(frozen=True, slots=True)
class DeepHealthMetric:
    """Where the API function counts failed deep-health runs: its Powertools metrics namespace and
    service name (Powertools adds the service as the ``service`` dimension)."""

    namespace: str
    service: str

    def metric(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=DEEP_HEALTH_FAILED,
            dimensions_map={"service": self.service},
            period=PERIOD,
            statistic="Sum",
        )


class Observability(Construct):
    """Attributes: ``topic``, ``alarms`` (name → alarm), ``dashboard``, ``destinations`` (who the alarms
    reach, e.g. ``("email:ops@example.com", "topic:arn:aws:sns:…")``; empty when nobody), ``region_down``
    and ``deep_health`` (those alarms, or None), ``health_checks`` (label → the alarm on that Route 53
    health check), ``watched`` (alarms made elsewhere, see ``watch``), ``release_alarms`` (label → the
    alarms a release of that function is rolled back on: errors on its alias, its p99 duration)."""

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
        deep_health: DeepHealthMetric | None = None,
        health_checks: Sequence[MonitoredHealthCheck] = (),
        alarm_email: str | None = None,
        external_topic_arn: str | None = None,
        runbook_base: str = "docs/runbooks",
        existing_topic: sns.ITopic | None = None,
        quotas: ServiceQuotas | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._validate(
            alarm_prefix=alarm_prefix,
            topic_key=topic_key,
            monitors_anything=bool(
                functions or api or dead_letter_queues or tables or deep_health or health_checks
            ),
            labels={
                "functions": [f.label for f in functions],
                "dead_letter_queues": [q.label for q in dead_letter_queues],
                "tables": [t.label for t in tables],
                "health_checks": [h.label for h in health_checks],
            },
            watches_health_checks=bool(health_checks),
            alarm_email=alarm_email,
            external_topic_arn=external_topic_arn,
            existing_topic=existing_topic,
            region=Stack.of(self).region,
        )

        self.alarm_prefix = alarm_prefix
        self.runbook_base = runbook_base.rstrip("/")
        self.thresholds = thresholds
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.release_alarms: dict[str, list[cloudwatch.Alarm]] = {}
        self.topic: sns.ITopic = existing_topic or self._topic(alarm_prefix, topic_key)
        self._actions: list[cloudwatch.IAlarmAction] = [actions.SnsAction(self.topic)]
        self.destinations = self._route(alarm_email, external_topic_arn, existing_topic is not None)
        if alarm_email is not None:
            # One undelivered notification is already a failure (SNS reports it once, after it stops
            # retrying), so this alarm fires on a single breaching minute.
            self._alarm(
                "alarm-delivery",
                "alarm-delivery",
                "SNS gave up delivering alarm notifications to the on-call email address",
                self.topic.metric_number_of_notifications_failed(period=PERIOD, statistic="Sum"),
                1,
                datapoints=1,
            )

        for monitored in functions:
            self._function_alarms(monitored)
        self.region_down = self._api_alarms(api) if api is not None else None
        self.deep_health = (
            self._alarm(
                "deep-health",
                "deep-health",
                "The Region's deep health check is failing (Route 53 moves traffic away from it)",
                deep_health.metric(),
                thresholds.deep_health_failures,
            )
            if deep_health is not None
            else None
        )
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
        if quotas is not None:
            self._quota_alarms(quotas, api)
        # Route 53 publishes a check's status every minute while the check exists: no data means the
        # check or its metrics are gone, so it breaches, and one unhealthy minute is already an alarm.
        self.health_checks = {
            check.label: self._alarm(
                f"{check.label}-health-check",
                check.runbook,
                f"Route 53 finds {check.what} unhealthy: DNS callers are routed away from it",
                check.metric(),
                1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.BREACHING,
                datapoints=1,
                periods=1,
            )
            for check in health_checks
        }
        self.watched: list[cloudwatch.Alarm] = []
        self.dashboard = self._dashboard(functions, api, tables)

    def watch(self, alarm: cloudwatch.Alarm, title: str) -> None:
        """Give an alarm made elsewhere the reach of this construct's own: it must notify ``topic``
        already (whoever builds it is handed the topic); this adds every other destination (the
        external topic) and puts it on the dashboard."""
        for action in self._actions[1:]:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.watched.append(alarm)
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title=title, alarms=[alarm], width=24))

    @staticmethod
    def _validate(
        *,
        alarm_prefix: str,
        topic_key: kms.IKey | None,
        monitors_anything: bool,
        labels: dict[str, list[str]],
        alarm_email: str | None,
        external_topic_arn: str | None,
        existing_topic: sns.ITopic | None,
        region: str,
        watches_health_checks: bool = False,
    ) -> None:
        problems = Problems("Observability")
        problems.check(bool(alarm_prefix.strip()), "alarm_prefix must not be blank")
        problems.check(
            existing_topic is not None or topic_key is not None,
            "topic_key is required to create the (encrypted) alarm topic; or pass existing_topic",
        )
        problems.check(monitors_anything, "nothing to monitor: pass functions, api, …")
        problems.check(
            not watches_health_checks or Token.is_unresolved(region) or region == HEALTH_CHECK_METRICS_REGION,
            f"health_checks: Route 53 publishes HealthCheckStatus in {HEALTH_CHECK_METRICS_REGION} only; "
            f"alarms in {region} would never see it: build them in a {HEALTH_CHECK_METRICS_REGION} stack",
        )
        for kind, names in labels.items():  # alarm names add a per-kind suffix, so clashes are per kind
            problems.check(len(set(names)) == len(names), f"{kind}: labels {names} must be unique")
            for label in names:
                problems.check(
                    bool(_LABEL_RE.match(label)),
                    f"{kind}: label {label!r} must be lowercase letters, digits, -",
                )
        problems.check(
            alarm_email is None or bool(_EMAIL_RE.match(alarm_email)),
            f"alarm_email {alarm_email!r} is not an email address",
        )
        if external_topic_arn is not None:
            match = _TOPIC_ARN_RE.match(external_topic_arn)
            problems.check(bool(match), f"external_topic_arn {external_topic_arn!r} is not an SNS topic ARN")
            # CloudWatch publishes alarm actions only to a topic in the alarm's own Region.
            problems.check(
                match is None or Token.is_unresolved(region) or match.group(1) == region,
                f"external_topic_arn is in {match.group(1) if match else '?'}, but alarms in {region} can "
                f"only publish to a topic in {region}: name that Region's topic",
            )
        problems.raise_if_any()

    def _route(self, email: str | None, topic_arn: str | None, caller_topic: bool) -> tuple[str, ...]:
        """Subscribe the email address and add the external topic as a second alarm action; with
        neither (and no caller-managed topic), make deploying the stack an explicit choice."""
        destinations: list[str] = []
        if caller_topic:  # the caller manages that topic's subscriptions
            destinations.append(f"topic:{self.topic.node.path}")
        if email is not None:
            sns.Subscription(
                self,
                "EmailSubscription",
                topic=self.topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=email,
            )
            destinations.append(f"email:{email}")
        if topic_arn is not None:
            external = sns.Topic.from_topic_arn(self, "ExternalTopic", topic_arn)
            self._actions.append(actions.SnsAction(external))
            destinations.append(f"topic:{topic_arn}")
        if not destinations:
            self._refuse_to_deploy_unacknowledged()
        return tuple(destinations)

    def _refuse_to_deploy_unacknowledged(self) -> None:
        stack = Stack.of(self)
        message = (
            f"No alarm subscription is configured ({env.ENV_ALARM_EMAIL}, {env.ENV_ALARM_TOPIC_ARN}): "
            f"the alarms in this stack reach nobody. Configure one, or deploy with "
            f"--parameters {UNROUTED_PARAMETER}={UNROUTED_ACKNOWLEDGED} to accept that."
        )
        if stack.node.try_find_child(UNROUTED_PARAMETER) is not None:
            return  # a second Observability in the same stack shares the one acknowledgement
        parameter = CfnParameter(
            stack,
            UNROUTED_PARAMETER,
            type="String",
            default="",
            allowed_values=["", UNROUTED_ACKNOWLEDGED],
            description=message,
        )
        parameter.override_logical_id(UNROUTED_PARAMETER)
        CfnRule(
            stack,
            "AlarmsReachSomeone",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(parameter.value_as_string, UNROUTED_ACKNOWLEDGED),
                    assert_description=message,
                )
            ],
        )

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
        *,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        datapoints: int = DATAPOINTS_TO_ALARM,
        periods: int = EVALUATION_PERIODS,
    ) -> cloudwatch.Alarm:
        name = f"{self.alarm_prefix}-{slug}"
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{slug}",
            alarm_name=name,
            alarm_description=f"{what}. Runbook: {self.runbook_base}/{runbook}.md",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(*self._actions)
        alarm.add_ok_action(*self._actions)
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
        duration = self._alarm(
            f"{label}-duration-p99",
            "function-duration",
            f"Function {label} p99 duration is near its {monitored.timeout_seconds} s timeout",
            function.metric_duration(period=PERIOD, statistic="p99"),
            round(monitored.timeout_seconds * 1000 * t.function_p99_duration_ratio),
        )
        if monitored.alias is not None:
            # A canary takes a share of the traffic for a few minutes: one failed invocation through
            # the alias in a minute is already reason to roll back, not 3 breaching minutes of 5.
            errors = self._alarm(
                f"{label}-release-errors",
                "function-errors",
                f"Function {label} failed an invocation through its live alias (a release in progress "
                "is rolled back)",
                monitored.alias.metric_errors(period=PERIOD, statistic="Sum"),
                1,
                datapoints=1,
                periods=1,
            )
            self.release_alarms[label] = [errors, duration]
        if monitored.reads_stream:
            self._alarm(
                f"{label}-iterator-age",
                "iterator-age",
                f"Function {label} is falling behind its stream",
                function.metric("IteratorAge", period=PERIOD, statistic="Maximum"),
                t.iterator_age_ms,
            )

    def _api_alarms(self, api: apigw.RestApi) -> cloudwatch.Alarm:
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
        # Route 53's checkers probe /health/deep every 10-30 s from many locations, so a live Region's
        # stage never has a minute without requests: silence is the alarm, not the absence of one.
        return self._alarm(
            "region-down",
            "region-down",
            "The API's stage received no requests at all, health checks included: the Region, its API "
            "or its metrics are gone",
            api.deployment_stage.metric_count(period=PERIOD, statistic="Sum"),
            1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )

    def _quota_alarms(self, quotas: ServiceQuotas, api: apigw.RestApi | None) -> None:
        """Usage against the account's quotas, once per Region (docs/adr/0043-service-quota-alarms.md).
        Lambda's ClaimedAccountConcurrency is what on-demand invocations can no longer have: the
        unreserved executions plus every function's reserved concurrency. API Gateway publishes no
        account-wide count, so the rate is this API's, the account's only one."""
        self._alarm(
            "lambda-concurrency-quota",
            "service-quotas",
            f"The account's claimed Lambda concurrency reached {quotas.alarm_percent}% of its quota "
            f"({quotas.lambda_concurrency})",
            cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="ClaimedAccountConcurrency",
                period=PERIOD,
                statistic="Maximum",
            ),
            quotas.threshold(quotas.lambda_concurrency),
        )
        if api is None:
            return
        rate = cloudwatch.MathExpression(
            expression="requests / 60",
            using_metrics={"requests": api.metric_count(period=PERIOD, statistic="Sum")},
            label="requests per second",
            period=PERIOD,
        )
        self._alarm(
            "api-rate-quota",
            "service-quotas",
            f"The API's request rate reached {quotas.alarm_percent}% of the account's API Gateway quota "
            f"({quotas.api_requests_per_second} requests per second)",
            rate,
            quotas.threshold(quotas.api_requests_per_second),
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
        # Is the Region alive (traffic, probes included) and healthy (deep checks): first, side by side.
        widgets += [
            cloudwatch.AlarmWidget(alarm=alarm, title=title, width=12)
            for alarm, title in (
                (self.region_down, "Region down: requests to the stage (health checks included)"),
                (self.deep_health, "Deep health: failed check runs"),
            )
            if alarm is not None
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
