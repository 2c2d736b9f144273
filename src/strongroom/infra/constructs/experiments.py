"""AWS FIS experiment templates for one Region's drills, the role they run as, the log group they write
to, and the alarms that stop them (docs/adr/0028-fault-injection-and-resilience-hub.md).

Every template finds its targets by tag and by nothing else: a resource can be hit only if it carries
``strongroom:fault-target=<deployment>/<target>`` (this construct tags the function subnets and, with
the Lambda extension, the API function; the global data stack tags the transactions table under MREC),
and the role's policy names the same resources again, so a stray tag elsewhere is not enough either.
Every template stops on at least one CloudWatch alarm of its own Region, on what the drill does beyond
what it means to (the Region's function throttled, callers failing more than injected, …), logs to a
log group encrypted with the logs key, and is tagged ``strongroom:scenario=<scenario>``: that tag is
how `strongroom drill --target aws` finds it.

Scenarios: ``region-outage`` (the function subnets lose their network), ``lambda-errors`` and
``lambda-latency`` (the API function fails, or starts late; only with the FIS Lambda extension, see
:class:`LambdaFaultExtension`) and ``replication-lag`` (replication to and from this Region's replica
of the transactions table pauses; MREC only: under MRSC that is an isolation, not lag).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IConstruct

from strongroom.infra.constructs._props import Problems, retention
from strongroom.infra.constructs.observability import PERIOD, Observability

SCENARIO_TAG = "strongroom:scenario"
TARGET_TAG = "strongroom:fault-target"
RUNBOOK_TAG = "strongroom:runbook"
# Alarms in the other Regions that `strongroom drill` watches while the experiment runs, and stops it
# on: FIS stops an experiment on alarms of its own Region only (docs/adr/0028).
PEER_STOP_ALARMS_TAG = "strongroom:peer-stop-alarms"

REGION_OUTAGE = "region-outage"
LAMBDA_ERRORS = "lambda-errors"
LAMBDA_LATENCY = "lambda-latency"
REPLICATION_LAG = "replication-lag"
SCENARIOS = (REGION_OUTAGE, LAMBDA_ERRORS, LAMBDA_LATENCY, REPLICATION_LAG)
RUNBOOKS = {
    REGION_OUTAGE: "docs/runbooks/region-evacuation.md",
    LAMBDA_ERRORS: "docs/runbooks/region-evacuation.md",
    LAMBDA_LATENCY: "docs/runbooks/region-evacuation.md",
    REPLICATION_LAG: "docs/runbooks/replication-lag-incident.md",
}

# What a template may hit, as the value of TARGET_TAG (after "<deployment>/").
FUNCTION_SUBNETS = "function-subnets"
API_FUNCTION = "api-function"
TRANSACTIONS_TABLE = "transactions-table"

# Route 53's checkers give an HTTPS endpoint 2 s to answer after connecting: 3 s more at the start of
# every invocation fails the Region's health checks, as a Region gone slow would (docs/adr/0025).
INJECTED_DELAY_MS = 3000
# lambda-errors fails every invocation, at once (the function's code does not run): a broken release,
# or a data path that fails every request, as `strongroom drill data-path-failure` rehearses it.
INJECTED_ERROR_PERCENT = 100
# FIS's own tag on the network ACL it clones for aws:network:disrupt-connectivity.
FIS_MANAGED_TAG = "managedByFIS"
# The FIS Lambda extension for arm64 functions (SecureFunction's architecture): a public SSM parameter
# holding the layer's ARN in every Region, resolved by CloudFormation at deploy time.
EXTENSION_LAYER_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x"
EXTENSION_WRAPPER = "/opt/aws-fis/bootstrap"
CONFIG_PREFIX = "FisConfigs/"
# A DynamoDB stream's label is the ISO 8601 time it was created, to the millisecond.
_STREAM_LABEL = "????-??-??T??:??:??.???"
_CALLERS_FAILING = "fis-callers-failing"
_LATENCY_BEYOND = "fis-latency-beyond-injected"
_MAX_TAG_VALUE = 256
# An alarm's metric math takes at most 10 metrics: errors and requests of the stage and of each route
# left out of the callers' rate.
_MAX_EXCLUDED_ROUTES = 4


def target_value(deployment: str, target: str) -> str:
    """The TARGET_TAG value that lets a template hit ``target`` of this deployment (the name prefix)."""
    return f"{deployment}/{target}"


def tag_fault_target(resource: IConstruct, deployment: str, target: str) -> None:
    """Make ``resource`` (a construct and every taggable resource in it) a target of the templates that
    look for ``target``."""
    Tags.of(resource).add(TARGET_TAG, target_value(deployment, target))


def callers_failing_alarm_name(alarm_prefix: str) -> str:
    """The guard every Region has, from its alarm prefix (``<prefix>-<region>``): callers' requests
    failing, beyond the API's 5xx threshold, for longer than a failover takes. A drill in another
    Region watches it (PEER_STOP_ALARMS_TAG)."""
    return f"{alarm_prefix}-{_CALLERS_FAILING}"


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """A route as API Gateway's per-method metrics name it."""

    path: str  # the resource path template, e.g. /health/deep
    method: str


class LambdaFaultExtension(Construct):
    """What the FIS Lambda actions need on the function's side: the extension layer, the S3 location
    FIS writes fault configurations to and the extension polls, the function's permission to read it,
    and the experiment role's permission to write it.

    Give ``layers``, ``environment`` and ``reader_statements`` to the function (SecureFunction's
    ``function_props``, ``environment`` and ``statements``), and this construct to :class:`FaultInjection`.
    The bucket is encrypted with ``key`` and logs its access to ``access_logs_bucket``.

    Attributes: ``bucket``, ``key``, ``configuration_location`` (the S3 ARN of the prefix), ``layer``,
    ``layers``, ``environment``, ``reader_statements``, ``writer_statements``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, access_logs_bucket: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = key
        self.bucket = s3.Bucket(
            self,
            "Configurations",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="fis-configurations/",
            # FIS deletes a configuration when its experiment ends; nothing here is evidence.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-configurations",
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.configuration_location = f"arn:{stack.partition}:s3:::{self.bucket.bucket_name}/{CONFIG_PREFIX}"
        self.layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Layer", ssm.StringParameter.value_for_string_parameter(self, EXTENSION_LAYER_PARAMETER)
        )
        self.layers: list[lambda_.ILayerVersion] = [self.layer]
        self.environment = {
            "AWS_LAMBDA_EXEC_WRAPPER": EXTENSION_WRAPPER,
            "AWS_FIS_CONFIGURATION_LOCATION": self.configuration_location,
        }
        objects = f"{self.bucket.bucket_arn}/{CONFIG_PREFIX}*"
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}
        self.reader_statements = [
            iam.PolicyStatement(
                sid="ListFaultConfigurations",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{CONFIG_PREFIX}*"]}},
            ),
            iam.PolicyStatement(sid="ReadFaultConfigurations", actions=["s3:GetObject"], resources=[objects]),
            iam.PolicyStatement(
                sid="DecryptFaultConfigurations",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions=via_s3,
            ),
        ]
        self.writer_statements = [
            iam.PolicyStatement(
                sid="WriteFaultConfigurations",
                actions=["s3:PutObject", "s3:DeleteObject"],
                resources=[objects],
            ),
            iam.PolicyStatement(
                sid="EncryptFaultConfigurations",
                actions=["kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions=via_s3,
            ),
        ]


class FaultInjection(Construct):
    """One Region's FIS experiment templates, their role, log group and guard alarms.

    - ``region-outage`` always: ``subnets`` (the function subnets, tagged here) lose every flow in and
      out for ``duration_minutes`` (FIS swaps in a deny-all copy of ``network_acl``, their ACL).
    - ``lambda-errors`` and ``lambda-latency`` when ``lambda_extension`` is given: every invocation of
      ``function`` (tagged here) fails, or starts INJECTED_DELAY_MS late.
    - ``replication-lag`` when ``replicated_table`` names the transactions table (MREC only): its
      replica in this Region neither sends nor receives replication. The table is tagged where it is
      declared (the global data stack), with :func:`tag_fault_target`.

    Each template stops on what it does beyond its intent (docs/adr/0028): ``region-outage`` on
    ``capacity_alarm`` (the API function throttled: callers piling into the Region instead of leaving
    it); ``lambda-errors`` (injected errors are answered at once) on ``latency_alarm`` (the API slow)
    and on ``capacity_alarm``; ``lambda-latency`` on callers failing at ``error_rate_percent`` or more,
    on a p99 latency ``latency_threshold_ms`` above the injected delay, and on ``capacity_alarm``;
    ``replication-lag`` on callers failing and on ``observability``'s deep-health alarm. Callers'
    requests are the stage's minus ``excluded_routes`` (the health checks, which a drill fails on
    purpose). A guard fires when its condition holds in every minute for longer than
    ``rto_budget_seconds`` (plus a minute for minute boundaries and one for the metrics' delay); it
    notifies ``observability``'s topic and joins its dashboard. A template in another Region names this
    Region's callers-failing guard in its PEER_STOP_ALARMS_TAG (``peer_alarm_prefixes``: each other
    Region → its alarm prefix).

    Attributes: ``templates`` (scenario → template), ``role``, ``log_group``, ``guards`` (alarm name →
    alarm), ``stop_alarms`` (scenario → the alarms that stop it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: str,
        alarm_prefix: str,
        log_group_name: str,
        logs_key: kms.IKey,
        log_retention_days: int,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        network_acl: ec2.INetworkAcl,
        api: apigw.RestApi,
        excluded_routes: Sequence[ApiRoute],
        observability: Observability,
        capacity_alarm: cloudwatch.IAlarm,
        latency_alarm: cloudwatch.IAlarm,
        rto_budget_seconds: int,
        error_rate_percent: float,
        latency_threshold_ms: int,
        duration_minutes: int,
        peer_alarm_prefixes: Mapping[str, str],
        function: lambda_.IFunction | None = None,
        lambda_extension: LambdaFaultExtension | None = None,
        replicated_table: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        peer_alarms = " ".join(
            f"{region}/{callers_failing_alarm_name(prefix)}"
            for region, prefix in sorted(peer_alarm_prefixes.items())
        )
        problems = Problems("FaultInjection")
        problems.check(bool(subnets), "subnets: name the function subnets the region-outage drill cuts off")
        problems.check(
            len(excluded_routes) <= _MAX_EXCLUDED_ROUTES,
            f"excluded_routes: {len(excluded_routes)} routes; an alarm's metric math takes "
            f"{_MAX_EXCLUDED_ROUTES} at most",
        )
        problems.check(
            0 < error_rate_percent <= 100, f"error_rate_percent {error_rate_percent} is outside (0, 100]"
        )
        problems.check(latency_threshold_ms > 0, f"latency_threshold_ms {latency_threshold_ms} must be > 0")
        problems.check(1 <= duration_minutes <= 720, f"duration_minutes {duration_minutes} is outside 1..720")
        problems.check(
            (function is None) == (lambda_extension is None),
            "function and lambda_extension go together: the Lambda actions need the extension on it",
        )
        problems.check(
            len(peer_alarms) <= _MAX_TAG_VALUE,
            f"peer_alarm_prefixes: {len(peer_alarms)} characters do not fit a tag value ({_MAX_TAG_VALUE})",
        )
        problems.raise_if_any()

        stack = Stack.of(self)
        self.deployment = deployment
        self.alarm_prefix = alarm_prefix
        self.duration = f"PT{duration_minutes}M"
        self.peer_alarms = peer_alarms
        self.log_group = self._log_group(log_group_name, logs_key, log_retention_days)
        self.guards: dict[str, cloudwatch.Alarm] = {}
        self._observability = observability
        self._minutes = math.ceil(rto_budget_seconds / 60) + 2
        self._budget = rto_budget_seconds
        callers_failing = self._guard(
            "CallersFailing",
            callers_failing_alarm_name(alarm_prefix),
            _callers_error_rate(api, excluded_routes),
            error_rate_percent,
            f"Callers' requests (health checks excluded) failed at {error_rate_percent:g}% or more",
        )

        for subnet in _subnet_resources(subnets):
            tag_fault_target(subnet, deployment, FUNCTION_SUBNETS)
        statements = [
            *self._common_statements(stack),
            *self._network_statements(stack, vpc, subnets, network_acl),
        ]
        # The outage itself is the intent: what goes beyond it is callers piling into the Region (the
        # function out of capacity) instead of leaving it.
        self.stop_alarms: dict[str, list[cloudwatch.IAlarm]] = {REGION_OUTAGE: [capacity_alarm]}
        if function is not None and lambda_extension is not None:
            tag_fault_target(function, deployment, API_FUNCTION)
            statements += [
                iam.PolicyStatement(
                    sid="ReadTheApiFunctionsConfiguration",
                    actions=["lambda:GetFunction"],
                    resources=[function.function_arn],
                ),
                *lambda_extension.writer_statements,
            ]
            slowest = INJECTED_DELAY_MS + latency_threshold_ms
            latency_beyond = self._guard(
                "LatencyBeyondInjected",
                f"{alarm_prefix}-{_LATENCY_BEYOND}",
                _stage_metric(api, "Latency", "p99"),
                slowest,
                f"The API's p99 latency was {slowest} ms or more: {latency_threshold_ms} ms above the "
                "delay the lambda-latency drill injects",
            )
            # Injected errors are answered at once: slow answers are something the drill did not inject.
            self.stop_alarms[LAMBDA_ERRORS] = [latency_alarm, capacity_alarm]
            self.stop_alarms[LAMBDA_LATENCY] = [callers_failing, latency_beyond, capacity_alarm]
        if replicated_table is not None:
            statements.append(self._replication_statement(stack, replicated_table))
            # Under MREC the API keeps serving while replication is paused: failing callers or a failing
            # deep health check (which moves traffic away) is more than the drill means to do.
            deep_health = observability.deep_health
            self.stop_alarms[REPLICATION_LAG] = [callers_failing, *([deep_health] if deep_health else [])]

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "fis.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="fis", resource="experiment", resource_name="*"
                        )
                    },
                },
            ),
            description=f"AWS FIS experiments of {alarm_prefix}: only the faults its templates inject",
        )
        iam.ManagedPolicy(
            self,
            "Policy",
            description=f"What {alarm_prefix}'s FIS experiments may do, on what they may do it",
            statements=statements,
            roles=[self.role],
        )
        self.templates: dict[str, fis.CfnExperimentTemplate] = {}
        self._templates(function is not None)

    # --- templates ---------------------------------------------------------------------------------

    def _templates(self, with_lambda: bool) -> None:
        every = {"invocationPercentage": "100"}
        self._template(
            REGION_OUTAGE,
            "every flow in and out of the API function's subnets is denied, so the Region's API fails "
            "its callers and its deep health check",
            target=("FunctionSubnets", "aws:ec2:subnet", FUNCTION_SUBNETS, "Subnets"),
            action=("DisruptFunctionSubnets", "aws:network:disrupt-connectivity", {"scope": "all"}),
        )
        if with_lambda:
            self._template(
                LAMBDA_ERRORS,
                "every invocation of the API function fails at once, without running its code",
                target=("ApiFunction", "aws:lambda:function", API_FUNCTION, "Functions"),
                action=(
                    "FailInvocations",
                    "aws:lambda:invocation-error",
                    {"invocationPercentage": str(INJECTED_ERROR_PERCENT), "preventExecution": "true"},
                ),
            )
            self._template(
                LAMBDA_LATENCY,
                f"every invocation of the API function starts {INJECTED_DELAY_MS} ms late, longer than "
                "Route 53's health checkers wait",
                target=("ApiFunction", "aws:lambda:function", API_FUNCTION, "Functions"),
                action=(
                    "DelayInvocations",
                    "aws:lambda:invocation-add-delay",
                    {**every, "startupDelayMilliseconds": str(INJECTED_DELAY_MS)},
                ),
            )
        if REPLICATION_LAG in self.stop_alarms:
            self._template(
                REPLICATION_LAG,
                "this Region's replica of the transactions table neither sends nor receives replication, "
                "so each Region's recent writes are missing from the other",
                target=("TransactionsTable", "aws:dynamodb:global-table", TRANSACTIONS_TABLE, "Tables"),
                action=("PauseReplication", "aws:dynamodb:global-table-pause-replication", {}),
            )

    def _template(
        self,
        scenario: str,
        what: str,
        *,
        target: tuple[str, str, str, str],
        action: tuple[str, str, Mapping[str, str]],
    ) -> None:
        target_name, resource_type, target_kind, target_key = target
        action_name, action_id, parameters = action
        runbook = RUNBOOKS[scenario]
        stops = self.stop_alarms[scenario]
        description = (
            f"Drill {scenario}: for {self.duration[2:-1]} minutes {what}. Stops on "
            f"{', '.join(_alarm_name(a) for a in stops)}. Runbook: {runbook}"
        )
        tags = {
            SCENARIO_TAG: scenario,
            RUNBOOK_TAG: runbook,
            "Name": f"{self.alarm_prefix}-{scenario}",
        }
        if self.peer_alarms:
            tags[PEER_STOP_ALARMS_TAG] = self.peer_alarms
        self.templates[scenario] = fis.CfnExperimentTemplate(
            self,
            f"{''.join(part.title() for part in scenario.split('-'))}Template",
            description=description[:512],
            role_arn=self.role.role_arn,
            stop_conditions=[
                fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(
                    source="aws:cloudwatch:alarm", value=alarm.alarm_arn
                )
                for alarm in stops
            ],
            targets={
                target_name: fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                    resource_type=resource_type,
                    selection_mode="ALL",
                    resource_tags={TARGET_TAG: target_value(self.deployment, target_kind)},
                )
            },
            actions={
                action_name: fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                    action_id=action_id,
                    description=what[:512],
                    parameters={"duration": self.duration, **parameters},
                    targets={target_key: target_name},
                )
            },
            log_configuration=fis.CfnExperimentTemplate.ExperimentTemplateLogConfigurationProperty(
                log_schema_version=2,
                cloud_watch_logs_configuration={"LogGroupArn": self.log_group.log_group_arn},
            ),
            experiment_options=fis.CfnExperimentTemplate.ExperimentTemplateExperimentOptionsProperty(
                account_targeting="single-account",
                # A template whose tags find nothing fails, rather than "succeeding" without a fault.
                empty_target_resolution_mode="fail",
            ),
            tags=tags,
        )

    # --- guards --------------------------------------------------------------------------------------

    def _guard(
        self, construct_id: str, name: str, metric: cloudwatch.IMetric, threshold: float, what: str
    ) -> cloudwatch.Alarm:
        """An alarm on ``metric`` reaching ``threshold`` in every minute for longer than a failover takes:
        a drill means to hurt this Region's callers at most until they have moved to another Region."""
        minutes = self._minutes
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=(
                f"{what}, in every minute for {minutes} minutes: longer than moving callers to another "
                f"Region takes ({self._budget} s). A FIS drill that means no such harm stops on it "
                f"(docs/adr/0028); without a drill, this Region is failing its callers. "
                f"Runbook: {RUNBOOKS[REGION_OUTAGE]}"
            ),
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no callers, no harm
        )
        topic = self._observability.topic
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))
        self._observability.watch(alarm, f"Drill guard: {name}")
        self.guards[name] = alarm
        return alarm

    # --- logs ----------------------------------------------------------------------------------------

    def _log_group(self, name: str, key: kms.IKey, days: int) -> logs.LogGroup:
        """The experiments' log, which FIS delivers through CloudWatch Logs' log delivery. Its resource
        policy is made here, so the role needs no right to change resource policies (docs/adr/0028)."""
        stack = Stack.of(self)
        group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=name,
            encryption_key=key,
            retention=retention(days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        group.add_to_resource_policy(
            iam.PolicyStatement(
                sid="FisExperimentLogDelivery",
                principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[group.log_group_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="logs", resource="*")},
                },
            )
        )
        return group

    # --- the role's statements -----------------------------------------------------------------------

    def _common_statements(self, stack: Stack) -> list[iam.PolicyStatement]:
        return [
            # FIS resolves every template's targets by their tags (the Resource Groups Tagging API has no
            # resource types: only "*").
            iam.PolicyStatement(sid="FindTargetsByTag", actions=["tag:GetResources"], resources=["*"]),
            # Log delivery to the experiments' log group, whose resource policy already admits it.
            iam.PolicyStatement(
                sid="DeliverExperimentLogs",
                actions=["logs:CreateLogDelivery", "logs:DescribeResourcePolicies"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="FindTheExperimentLogGroup",
                actions=["logs:DescribeLogGroups"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            ),
        ]

    def _network_statements(
        self, stack: Stack, vpc: ec2.IVpc, subnets: Sequence[ec2.ISubnet], network_acl: ec2.INetworkAcl
    ) -> list[iam.PolicyStatement]:
        """aws:network:disrupt-connectivity: clone the subnets' ACL with deny rules (tagged managedByFIS),
        swap it in, and at the end swap the original back and delete the clone."""
        fis_acls = stack.format_arn(service="ec2", resource="network-acl", resource_name="*")
        created_by_fis = {f"aws:RequestTag/{FIS_MANAGED_TAG}": "true"}
        return [
            iam.PolicyStatement(
                sid="DescribeTheNetwork",
                actions=[
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeNetworkAcls",
                    "ec2:DescribeManagedPrefixLists",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="CreateTheDenyingAclInOurVpc",
                actions=["ec2:CreateNetworkAcl"],
                resources=[stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)],
            ),
            iam.PolicyStatement(
                sid="CreateOnlyAclsTaggedForFis",
                actions=["ec2:CreateNetworkAcl"],
                resources=[fis_acls],
                conditions={"StringEquals": created_by_fis},
            ),
            iam.PolicyStatement(
                sid="TagTheAclsFisCreates",
                actions=["ec2:CreateTags"],
                resources=[fis_acls],
                conditions={"StringEquals": {"ec2:CreateAction": "CreateNetworkAcl", **created_by_fis}},
            ),
            iam.PolicyStatement(
                sid="FillSwapAndDeleteOnlyFisAcls",
                actions=[
                    "ec2:CreateNetworkAclEntry",
                    "ec2:DeleteNetworkAcl",
                    "ec2:ReplaceNetworkAclAssociation",
                ],
                resources=[fis_acls],
                conditions={"StringEquals": {f"ec2:ResourceTag/{FIS_MANAGED_TAG}": "true"}},
            ),
            iam.PolicyStatement(
                sid="SwapTheAclOfTaggedFunctionSubnets",
                actions=["ec2:ReplaceNetworkAclAssociation"],
                resources=[
                    stack.format_arn(service="ec2", resource="subnet", resource_name=subnet.subnet_id)
                    for subnet in subnets
                ],
                conditions={
                    "StringEquals": {
                        f"ec2:ResourceTag/{TARGET_TAG}": target_value(self.deployment, FUNCTION_SUBNETS)
                    }
                },
            ),
            iam.PolicyStatement(
                sid="SwapTheOriginalAclBack",
                actions=["ec2:ReplaceNetworkAclAssociation"],
                resources=[
                    stack.format_arn(
                        service="ec2", resource="network-acl", resource_name=network_acl.network_acl_id
                    )
                ],
            ),
        ]

    @staticmethod
    def _replication_statement(stack: Stack, table_name: str) -> iam.PolicyStatement:
        """aws:dynamodb:global-table-pause-replication: a time-bound deny for the replication role in the
        resource policies of this Region's replica and of its stream (whose label is its creation time)."""
        table = stack.format_arn(service="dynamodb", resource="table", resource_name=table_name)
        return iam.PolicyStatement(
            sid="PauseReplicationOfTheTransactionsReplica",
            actions=[
                "dynamodb:DescribeTable",
                "dynamodb:GetResourcePolicy",
                "dynamodb:PutResourcePolicy",
                "dynamodb:DeleteResourcePolicy",
            ],
            resources=[table, f"{table}/stream/{_STREAM_LABEL}"],
        )


def _stage_metric(
    api: apigw.RestApi, metric_name: str, statistic: str, route: ApiRoute | None = None
) -> cloudwatch.Metric:
    dimensions = {"ApiName": api.rest_api_name, "Stage": api.deployment_stage.stage_name}
    if route is not None:  # API Gateway's per-method metrics (the stage enables them)
        dimensions |= {"Resource": route.path, "Method": route.method}
    return cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name=metric_name,
        dimensions_map=dimensions,
        period=PERIOD,
        statistic=statistic,
    )


def _callers_error_rate(api: apigw.RestApi, excluded: Sequence[ApiRoute]) -> cloudwatch.MathExpression:
    """The share (%) of the stage's requests, less those of ``excluded``, answered with a 5xx."""
    using: dict[str, cloudwatch.IMetric] = {
        "errors": _stage_metric(api, "5XXError", "Sum"),
        "requests": _stage_metric(api, "Count", "Sum"),
    }
    for index, route in enumerate(excluded):
        using[f"excludedErrors{index}"] = _stage_metric(api, "5XXError", "Sum", route)
        using[f"excludedRequests{index}"] = _stage_metric(api, "Count", "Sum", route)

    def callers(kind: str) -> str:
        less = "".join(f" - FILL(excluded{kind.title()}{index}, 0)" for index in range(len(excluded)))
        return f"(FILL({kind}, 0){less})"

    return cloudwatch.MathExpression(
        expression=f"IF({callers('requests')} > 0, 100 * {callers('errors')} / {callers('requests')}, 0)",
        using_metrics=using,
        label="5xx answers to callers (health checks excluded), %",
        period=PERIOD,
    )


def _alarm_name(alarm: cloudwatch.IAlarm) -> str:
    """The alarm's name as written in the template (``alarm_name`` is a reference to it)."""
    cfn = alarm.node.default_child
    name = cfn.alarm_name if isinstance(cfn, cloudwatch.CfnAlarm) else None
    return name if isinstance(name, str) and not Token.is_unresolved(name) else alarm.node.id


def _subnet_resources(subnets: Sequence[ec2.ISubnet]) -> list[IConstruct]:
    """The CloudFormation subnets themselves: Tags.of(subnet) would also tag its route table."""
    found: list[IConstruct] = []
    for subnet in subnets:
        child = subnet.node.default_child
        found.append(child if child is not None else subnet)
    return found
