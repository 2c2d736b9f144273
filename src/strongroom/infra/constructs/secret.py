"""A replicated Secrets Manager secret that rotates itself: CMK-encrypted, one replica per other Region
(each under that Region's key), rotated on a schedule by a function in the private VPC that may touch
this one secret and nothing else.

Rotation runs in the primary Region only: a replica is read-only (Secrets Manager refuses to rotate
it) and receives every new version, staging labels included, by replication. The rotation function's
role holds exactly what Secrets Manager's rotation protocol needs on this secret, the secret's key
only through Secrets Manager and only for this secret's encryption context, and encrypt-only use of
the replica Regions' keys through Secrets Manager (replicating a new version re-encrypts it with
them). Secrets Manager may invoke the function only from this account, and the runtime refuses any
other secret (strongroom.runtime.rotation). See docs/adr/0013-cursor-secret-in-secrets-manager.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from strongroom import constants as env
from strongroom.infra.constructs._props import Problems
from strongroom.infra.constructs.function import Powertools, SecureFunction

# What Secrets Manager's rotation protocol calls on the secret (createSecret … finishSecret).
ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
# Read the current value (Decrypt) and write the pending one (GenerateDataKey) under the secret's key.
SECRET_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# Re-encrypt a new version for a replica: never decrypt with a replica's key.
REPLICA_KEY_ACTIONS = ("kms:Encrypt", "kms:GenerateDataKey")
ROTATION_RUNBOOK = "cursor-secret-rotation"
ROTATION_TIMEOUT_SECONDS = 30  # one rotation step: a few Secrets Manager calls
_ALIAS_RE = re.compile(r"^alias/[A-Za-z0-9/_-]+$")


def _merge_conditions(*blocks: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    merged: dict[str, dict[str, object]] = {}
    for block in blocks:
        for operator, entries in block.items():
            merged.setdefault(operator, {}).update(entries)
    return merged


def replicated_secret(
    scope: Construct,
    construct_id: str,
    *,
    secret_name: str,
    description: str,
    key: kms.IKey,
    replica_regions: Mapping[str, str],
    initial_value: secretsmanager.SecretStringGenerator | None = None,
) -> secretsmanager.Secret:
    """The secret under ``key``, with a replica in each of ``replica_regions`` (Region → that Region's key,
    an alias ARN), retained on deletion. Used by :class:`RotatedSecret` and, where the secret and its
    rotation live in different stacks, on its own (docs/adr/0010)."""
    return secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=secret_name,
        description=description,
        encryption_key=key,
        generate_secret_string=initial_value
        or secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        replica_regions=[
            secretsmanager.ReplicaRegion(
                region=region,
                encryption_key=kms.Key.from_key_arn(scope, f"{construct_id}ReplicaKey-{region}", alias_arn),
            )
            for region, alias_arn in replica_regions.items()
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


class RotatedSecret(Construct):
    """Attributes: ``secret``, ``secret_name``, ``rotation`` (the :class:`SecureFunction`), ``schedule``,
    ``invoke_permission``, ``failure_alarm`` (after :meth:`alarm_on_failure`).

    Creates the secret (``description``, ``initial_value``), or rotates an existing one declared in
    another stack of the same Region (``existing_secret=True``): that secret is then named by
    ``secret_name`` only, so no cross-stack reference ties the two stacks together."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_name: str,
        key: kms.IKey,
        key_alias: str,
        replica_regions: Mapping[str, str],
        rotation_days: int,
        rotation_handler: str,
        code: lambda_.Code,
        function_name: str,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        logs_key: kms.IKey,
        log_retention_days: int,
        powertools: Powertools,
        description: str = "",
        initial_value: secretsmanager.SecretStringGenerator | None = None,
        existing_secret: bool = False,
        code_signing_config: lambda_.ICodeSigningConfig | None = None,
    ) -> None:
        """``replica_regions`` maps each replica Region to its key (an alias ARN, named by ``key_alias``,
        the alias every Region's key has); ``initial_value`` generates the first value."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        problems = Problems("RotatedSecret")
        problems.check(bool(secret_name.strip()), "secret_name must not be blank")
        problems.check(1 <= rotation_days <= 365, f"rotation_days {rotation_days} is outside 1..365")
        problems.check(bool(_ALIAS_RE.match(key_alias)), f"key_alias {key_alias!r} is not alias/<name>")
        problems.check(
            stack.region not in replica_regions,
            f"replica_regions names {stack.region}, the secret's own Region; remove it",
        )
        if existing_secret:
            problems.check(
                not description and initial_value is None,
                "description and initial_value describe a new secret; give neither with existing_secret",
            )
        else:
            problems.check(bool(description.strip()), "description must not be blank for a new secret")
        problems.raise_if_any()

        self.secret_name = secret_name
        self.secret: secretsmanager.ISecret
        if existing_secret:
            # Its ARN ends in six random characters: policies name it by ``<name>-??????``.
            self.secret = secretsmanager.Secret.from_secret_name_v2(self, "Default", secret_name)
            secret_arn = stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{secret_name}-??????",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            arn_operator = "StringLike"
        else:
            # "Default": the secret's logical id is the one it would have as a direct child of
            # ``scope`` (CDK leaves that id out of logical ids), so wrapping an existing secret does
            # not replace it.
            self.secret = replicated_secret(
                self,
                "Default",
                secret_name=secret_name,
                description=description,
                key=key,
                replica_regions=replica_regions,
                initial_value=initial_value,
            )
            secret_arn = self.secret.secret_arn
            arn_operator = "StringEquals"
        statements = [
            iam.PolicyStatement(
                sid="RotateOnlyThisSecret",
                actions=list(ROTATION_ACTIONS),
                resources=[secret_arn],
            ),
            iam.PolicyStatement(
                sid="UseTheSecretsKeyForThisSecretOnly",
                actions=list(SECRET_KEY_ACTIONS),
                resources=[key.key_arn],
                conditions=_merge_conditions(
                    {"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
                    {arn_operator: {"kms:EncryptionContext:SecretARN": secret_arn}},
                ),
            ),
        ]
        replica_keys = []
        for region in replica_regions:
            # A key in another Region is known by its alias only; key operations are authorised on key
            # ARNs, so the statement names the Region's keys and narrows them to the alias.
            resource = stack.format_arn(service="kms", region=region, resource="key", resource_name="*")
            replica_keys.append(resource)
            statements.append(
                iam.PolicyStatement(
                    sid=f"EncryptTheReplicaIn{region.title().replace('-', '')}",
                    actions=list(REPLICA_KEY_ACTIONS),
                    resources=[resource],
                    conditions={
                        "ForAnyValue:StringEquals": {"kms:ResourceAliases": key_alias},
                        # Either Region's Secrets Manager endpoint may make the call for a replica.
                        "StringEquals": {
                            "kms:ViaService": [
                                f"secretsmanager.{stack.region}.amazonaws.com",
                                f"secretsmanager.{region}.amazonaws.com",
                            ]
                        },
                    },
                )
            )
        self.rotation = SecureFunction(
            self,
            "Rotation",
            function_name=function_name,
            handler=rotation_handler,
            code=code,
            description=f"Rotates {secret_name} (Secrets Manager rotation steps)",
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            memory_mb=256,
            timeout_seconds=ROTATION_TIMEOUT_SECONDS,
            reserved_concurrency=1,  # Secrets Manager runs one step at a time
            logs_key=logs_key,
            log_retention_days=log_retention_days,
            environment_key=key,
            powertools=powertools,
            statements=statements,
            environment={env.ENV_CURSOR_SECRET_ID: secret_name},
            code_signing_config=code_signing_config,
        )
        # Secrets Manager invokes the live alias, which CodeDeploy moves between versions
        # (docs/adr/0039-signed-code-and-canary-releases.md); never $LATEST.
        invoked = self.rotation.invoke_target
        # Secrets Manager invokes the function, from this account only. CDK's own grant (for any
        # account's Secrets Manager) is not made: the schedule names the function by reference.
        self.invoke_permission = lambda_.CfnPermission(
            self,
            "SecretsManagerInvokes",
            action="lambda:InvokeFunction",
            function_name=invoked.function_arn,
            principal="secretsmanager.amazonaws.com",
            source_account=stack.account,
        )
        target = lambda_.Function.from_function_attributes(
            self,
            "RotationTarget",
            function_arn=invoked.function_arn,
            same_environment=True,
            skip_permissions=True,
        )
        self.schedule: Construct
        if isinstance(self.secret, secretsmanager.Secret):
            self.schedule = self.secret.add_rotation_schedule(
                "Schedule",
                rotation_lambda=target,
                automatically_after=Duration.days(rotation_days),
            )
        else:  # named, not referenced: the schedule is created after the secret's stack is deployed
            self.schedule = secretsmanager.CfnRotationSchedule(
                self,
                "Schedule",
                secret_id=secret_name,
                rotation_lambda_arn=target.function_arn,
                rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                    schedule_expression=f"rate({rotation_days} days)"
                ),
            )
        # Secrets Manager checks it may invoke the function when rotation is configured (the function
        # itself is ordered by the schedule's reference to its ARN).
        self.schedule.node.add_dependency(self.invoke_permission)
        self.failure_alarm: cloudwatch.Alarm | None = None

    def rotate_after(self, *dependencies: IConstruct) -> None:
        """Configure (and first run) rotation only after ``dependencies``, e.g. the functions that
        must read the rotated format before it is written."""
        self.schedule.node.add_dependency(*dependencies)

    def alarm_on_failure(
        self, topic: sns.ITopic, alarm_prefix: str, runbook_base: str = "docs/runbooks"
    ) -> None:
        """One failed or throttled rotation step pages: a rotation runs a few invocations a month, so
        the functions' rate alarms would never see it."""
        function = self.rotation.function
        failures = cloudwatch.MathExpression(
            expression="errors + throttles",
            using_metrics={
                "errors": function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                "throttles": function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
            },
            label="failed rotation steps",
            period=Duration.minutes(5),
        )
        self.failure_alarm = cloudwatch.Alarm(
            self,
            "RotationFailed",
            alarm_name=f"{alarm_prefix}-cursor-secret-rotation",
            alarm_description=(
                f"A rotation step of {self.secret_name} failed; the secret keeps its current keys. "
                f"Runbook: {runbook_base}/{ROTATION_RUNBOOK}.md"
            ),
            metric=failures,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = actions.SnsAction(topic)
        self.failure_alarm.add_alarm_action(action)
        self.failure_alarm.add_ok_action(action)
