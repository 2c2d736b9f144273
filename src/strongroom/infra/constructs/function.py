"""A Lambda function that is secure by default: private, encrypted, traced, bounded and least-privilege.

Python 3.13 on arm64 in the isolated subnets with its own security group; explicit memory, timeout
and reserved concurrency; X-Ray active; a CMK-encrypted log group with retention; environment encrypted
with a CMK; a dead-letter queue when invoked asynchronously; Powertools settings and regional STS.
The role starts empty: the caller passes the statements for what the function calls, and this
construct adds only logging, ENI management (for the VPC), tracing and decryption of its own
environment.

Every function is told the package's version (``STRONGROOM_VERSION``) and restores from a SnapStart
snapshot on its published versions. With ``live_alias`` (the default) the function's current version
is published and the ``live`` alias points at it, described ``strongroom <version>``: whatever invokes
the function must invoke the alias, which CodeDeploy moves from one version to the next
(docs/adr/0039-signed-code-and-canary-releases.md). SnapStart works on published versions only,
refuses provisioned concurrency and ephemeral storage over 512 MB (the Lambda developer guide,
"Improving startup performance with Lambda SnapStart"), so neither is set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from strongroom import __version__
from strongroom import constants as env
from strongroom.infra.constructs._props import Problems, merge, retention

LIVE_ALIAS = "live"
# SnapStart refuses functions with more ephemeral storage than this (MB).
SNAPSTART_MAX_EPHEMERAL_MB = 512
# CDK warns that SnapStart needs a published version whenever SnapStart is on; with a live alias there is one.
SNAPSTART_PUBLISH_WARNING = "@aws-cdk/aws-lambda:snapStartRequirePublish"

AUDIT_LOG_MIN_DAYS = 365
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Lambda manages the function's network interfaces with these, using the function's role (the Lambda
# developer guide, "Giving Lambda functions access to a VPC"). Describe* authorizes only on "*"; the
# others are scoped to interfaces in the function's own subnets (policies/resource-wildcards.json).
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
ENI_CREATE_ACTION = "ec2:CreateNetworkInterface"  # also authorized against the subnet and security group
ENI_MANAGE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
LOGGING_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")  # X-Ray has no resource ARNs
_RESERVED_ENV = frozenset(
    {
        env.ENV_SERVICE_NAME,
        env.ENV_METRICS_NAMESPACE,
        env.ENV_LOG_LEVEL,
        env.ENV_TRACING,
        env.ENV_VERSION,
        *env.FUNCTION_ENVIRONMENT,
    }
)
_REQUIRED_FUNCTION_PROPS = (
    "runtime",
    "architecture",
    "vpc",
    "vpc_subnets",
    "security_groups",
    "tracing",
    "environment",
    "environment_encryption",
    "role",
    "log_group",
    "reserved_concurrent_executions",
    "memory_size",
    "timeout",
    "dead_letter_queue",
    "dead_letter_queue_enabled",
    "current_version_options",
)


@dataclass(frozen=True, slots=True)
class Powertools:
    service_name: str
    metrics_namespace: str
    log_level: str = "INFO"

    def environment(self) -> dict[str, str]:
        return {
            env.ENV_SERVICE_NAME: self.service_name,
            env.ENV_METRICS_NAMESPACE: self.metrics_namespace,
            env.ENV_LOG_LEVEL: self.log_level,
            env.ENV_TRACING: "false",
        }


class SecureFunction(Construct):
    """One function and everything it needs to run privately: role, log group, optional DLQ.

    ``statements`` are what the function's code calls (each must name its actions; no wildcards).
    ``service_statements`` are what Lambda does with the function's role outside the VPC, e.g. an event
    source mapping polling its queue or stream: in the role, never in ``network_statements``.
    ``asynchronous=True`` (events, queues, schedules) adds a CMK-encrypted dead-letter queue, or uses
    ``existing_dead_letter_queue``. ``code_signing_config`` is the AWS Signer configuration the code
    must satisfy (docs/adr/0039). ``live_alias=False`` publishes no version and makes no alias (a
    release hook, which CodeDeploy invokes by name).

    Attributes: ``function``, ``alias`` (the ``live`` alias, or None), ``version`` (the published
    version behind it, or None), ``role``, ``log_group``, ``dead_letter_queue`` (or None), ``statements``
    (everything the role allows), ``network_statements`` (what the code and the X-Ray daemon in its
    environment call through the VPC: what the VPC's endpoints must carry, see
    ``PrivateNetwork.allow_through_endpoints``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        handler: str,
        code: lambda_.Code,
        description: str,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        memory_mb: int,
        timeout_seconds: int,
        reserved_concurrency: int,
        logs_key: kms.IKey,
        log_retention_days: int,
        environment_key: kms.IKey,
        powertools: Powertools,
        statements: Sequence[iam.PolicyStatement] = (),
        service_statements: Sequence[iam.PolicyStatement] = (),
        environment: Mapping[str, str] | None = None,
        carries_audit_events: bool = True,
        asynchronous: bool = False,
        queue_key: kms.IKey | None = None,
        existing_dead_letter_queue: sqs.IQueue | None = None,
        code_signing_config: lambda_.ICodeSigningConfig | None = None,
        live_alias: bool = True,
        function_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = dict(environment or {})
        problems = Problems("SecureFunction")
        problems.check(bool(_NAME_RE.match(function_name)), f"function_name {function_name!r} is not valid")
        problems.check(128 <= memory_mb <= 10240, f"memory_mb {memory_mb} is outside 128..10240")
        problems.check(1 <= timeout_seconds <= 900, f"timeout_seconds {timeout_seconds} is outside 1..900")
        problems.check(reserved_concurrency >= 1, f"reserved_concurrency {reserved_concurrency} must be ≥ 1")
        problems.check(
            not carries_audit_events or log_retention_days >= AUDIT_LOG_MIN_DAYS,
            f"log_retention_days {log_retention_days} is under {AUDIT_LOG_MIN_DAYS}; these logs carry "
            "audit events",
        )
        problems.check(
            not asynchronous or existing_dead_letter_queue is not None or queue_key is not None,
            "an asynchronous function needs queue_key (for its dead-letter queue) or "
            "existing_dead_letter_queue",
        )
        problems.check(
            asynchronous or existing_dead_letter_queue is None,
            "existing_dead_letter_queue given for a synchronous function; set asynchronous=True",
        )
        for name in sorted(set(environment) & _RESERVED_ENV):
            problems.check(False, f"environment.{name} is set by SecureFunction; use powertools=")
        for statement in (*statements, *service_statements):
            actions = statement.to_statement_json().get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            problems.check(
                bool(actions) and not any("*" in action for action in actions),
                f"statements: {actions} — name every action; wildcards are not allowed",
            )
        problems.locked(function_props, dict.fromkeys(_REQUIRED_FUNCTION_PROPS), "function_props")
        ephemeral = (function_props or {}).get("ephemeral_storage_size")
        problems.check(
            ephemeral is None
            or (function_props or {}).get("snap_start", True) is None
            or ephemeral.to_mebibytes() <= SNAPSTART_MAX_EPHEMERAL_MB,
            "function_props.ephemeral_storage_size: SnapStart allows at most "
            f"{SNAPSTART_MAX_EPHEMERAL_MB} MB",
        )
        problems.raise_if_any()

        stack = Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {function_name}: only what its code calls",
        )
        selected = vpc.select_subnets(
            subnet_type=subnets.subnet_type,
            subnet_group_name=subnets.subnet_group_name,
            availability_zones=subnets.availability_zones,
            one_per_az=subnets.one_per_az,
            subnet_filters=subnets.subnet_filters,
            subnets=subnets.subnets,
        )
        subnet_arns = [
            stack.format_arn(service="ec2", resource="subnet", resource_name=subnet_id)
            for subnet_id in selected.subnet_ids
        ]
        group_arn = stack.format_arn(
            service="ec2", resource="security-group", resource_name=security_group.security_group_id
        )
        # Interface ids are unknown until Lambda creates them: any interface, but only in our subnets.
        any_interface = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
        tracing = iam.PolicyStatement(sid="Trace", actions=list(TRACING_ACTIONS), resources=["*"])
        self.statements: list[iam.PolicyStatement] = [
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=list(LOGGING_ACTIONS),
                resources=[f"{self.log_group.log_group_arn}"],
            ),
            iam.PolicyStatement(sid="DescribeNetwork", actions=list(ENI_DESCRIBE_ACTIONS), resources=["*"]),
            iam.PolicyStatement(
                sid="ManageEnisInOwnSubnets",
                actions=list(ENI_MANAGE_ACTIONS),
                resources=[any_interface],
                conditions={
                    "ArnEquals": {"ec2:Subnet": subnet_arns},
                    "StringEquals": {"aws:ResourceAccount": stack.account},
                },
            ),
            iam.PolicyStatement(
                sid="AttachEnisToOwnSubnetsAndGroup",
                actions=[ENI_CREATE_ACTION],
                resources=[*subnet_arns, group_arn],
            ),
            tracing,
            iam.PolicyStatement(
                sid="DecryptOwnEnvironment",
                actions=["kms:Decrypt"],
                resources=[environment_key.key_arn],
                conditions={"StringEquals": {"kms:EncryptionContext:LambdaFunctionName": function_name}},
            ),
            *statements,
            *service_statements,
        ]
        # Lambda itself writes the logs, manages the ENIs, decrypts the environment and feeds the
        # dead-letter queue, outside the VPC; the code's calls and the X-Ray daemon's go through it.
        self.network_statements: list[iam.PolicyStatement] = [*statements, tracing]

        self.dead_letter_queue: sqs.IQueue | None = None
        if asynchronous:
            self.dead_letter_queue = existing_dead_letter_queue or sqs.Queue(
                self,
                "DeadLetters",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=queue_key,
                data_key_reuse=Duration.hours(1),
                enforce_ssl=True,
                retention_period=Duration.days(14),
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.statements.append(
                iam.PolicyStatement(
                    sid="SendToDeadLetterQueue",
                    actions=["sqs:SendMessage"],
                    resources=[self.dead_letter_queue.queue_arn],
                )
            )
            if queue_key is not None and existing_dead_letter_queue is None:
                self.statements.append(
                    iam.PolicyStatement(
                        sid="EncryptDeadLetters",
                        actions=["kms:GenerateDataKey", "kms:Decrypt"],
                        resources=[queue_key.key_arn],
                        conditions={"StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}},
                    )
                )
        # A customer-managed policy, not an inline one, and an immutable role: nothing else (no CDK
        # grant) can widen what the function may do without showing up here.
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"What {function_name} may call",
            statements=self.statements,
            roles=[self.role],
        )

        self.function = lambda_.Function(
            self,
            "Function",
            **merge(
                {
                    "description": description,
                    "logging_format": lambda_.LoggingFormat.JSON,
                    "system_log_level_v2": lambda_.SystemLogLevel.WARN,
                    "application_log_level_v2": lambda_.ApplicationLogLevel.INFO,
                    "code_signing_config": code_signing_config,
                    # Lambda snapshots each published version once initialised, and restores from it;
                    # a function with no published version (no live alias) has nothing to snapshot.
                    "snap_start": lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if live_alias else None,
                },
                function_props,
                {
                    "function_name": function_name,
                    "handler": handler,
                    "code": code,
                    "runtime": lambda_.Runtime.PYTHON_3_13,
                    "architecture": lambda_.Architecture.ARM_64,
                    "memory_size": memory_mb,
                    "timeout": Duration.seconds(timeout_seconds),
                    "reserved_concurrent_executions": reserved_concurrency,
                    "vpc": vpc,
                    "vpc_subnets": subnets,
                    "security_groups": [security_group],
                    "tracing": lambda_.Tracing.ACTIVE,
                    "environment": {
                        **environment,
                        **powertools.environment(),
                        **env.FUNCTION_ENVIRONMENT,
                        env.ENV_VERSION: __version__,
                    },
                    "environment_encryption": environment_key,
                    "role": self.role.without_policy_updates(),
                    "log_group": self.log_group,
                    # Old versions stay (RETAIN, CDK's default): a rollback moves the alias back to one.
                    "current_version_options": lambda_.VersionOptions(
                        description=f"strongroom {__version__}"
                    ),
                },
            ),
        )
        # The role's policy must exist before the function (Lambda checks ENI permissions on create).
        self.function.node.add_dependency(policy)
        self.version: lambda_.IVersion | None = None
        self.alias: lambda_.Alias | None = None
        if live_alias:
            self.version = self.function.current_version
            if (function_props or {}).get("snap_start", True) is not None:
                Annotations.of(self.function).acknowledge_warning(
                    SNAPSTART_PUBLISH_WARNING, "the live alias publishes the function's current version"
                )
            self.alias = lambda_.Alias(
                self,
                "Live",
                alias_name=LIVE_ALIAS,
                version=self.version,
                description=f"strongroom {__version__}",
            )
        cfn_function = self.function.node.default_child
        if self.dead_letter_queue is not None and isinstance(cfn_function, lambda_.CfnFunction):
            # Set on the L1 (not a raw override) so compliance rules see it; the grants are ours above.
            cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
                target_arn=self.dead_letter_queue.queue_arn
            )

    @property
    def invoke_target(self) -> lambda_.IFunction:
        """What callers and event sources must invoke: the ``live`` alias, or the function itself when
        it has none (never ``$LATEST`` of a released function)."""
        return self.alias if self.alias is not None else self.function
