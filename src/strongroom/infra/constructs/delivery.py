"""Signed code and canary releases (docs/adr/0039-signed-code-and-canary-releases.md).

``ArtifactStore`` (one per Region, in a stack deployed before the platform's): the versioned bucket AWS
Signer reads unsigned bundles from and writes signed ones to (Signer requires versioning, and signs
only within its own Region), under the Region's pipeline key, and the Signer profile for Lambda. The
platform stack's code-signing configuration trusts that profile only, in Enforce mode.

``ReleaseHook``: a function that smoke-tests a new version before and after it takes traffic
(strongroom.delivery_hooks), allowed to invoke exactly that version and to report to exactly its
deployment group. ``CanaryRelease``: the CodeDeploy deployment group that moves a function's ``live``
alias from one version to the next (a canary, then the rest), watching the release's alarms and rolling
back on an alarm or a failed deployment, and its service role: only what CodeDeploy does with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_signer as signer
from constructs import Construct

from strongroom import constants as env
from strongroom.config import DeploymentConfig
from strongroom.infra.constructs._props import Problems
from strongroom.infra.constructs.function import Powertools, SecureFunction

HOOK_HANDLER = "strongroom.delivery_hooks.handler"
# What CodeDeploy does with a deployment group's role for a Lambda release (the managed policy
# AWSCodeDeployRoleForLambdaLimited, less SNS triggers and AppSpec files in S3, which are not used).
ALIAS_ACTIONS = ("lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig")
# The signature a signed bundle carries stays valid this long (Signer's default and maximum).
SIGNATURE_VALIDITY_MONTHS = 135
# CodeDeploy's predefined Lambda canaries: (percent, minutes).
PREDEFINED_CANARIES = frozenset({(10, 5), (10, 10), (10, 15), (10, 30)})
SMOKE_KINDS = ("api", "batch")


class ArtifactStore(Construct):
    """Attributes: ``bucket`` (signed and unsigned bundles), ``access_logs_bucket``,
    ``signing_profile``.

    ``key`` encrypts the bundles (SSE-KMS, S3 Bucket Keys): Signer reads and writes S3 with the
    credentials of whoever starts the signing job, and Lambda reads the signed bundle with those of
    whoever deploys, so both need the key through S3 only. ``noncurrent_version_days``: how long a
    superseded bundle stays (a rollback may redeploy it; what ran is evidence)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        bucket_name: str,
        signing_profile_name: str,
        noncurrent_version_days: int = 365,
        access_log_days: int = 365,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("ArtifactStore")
        problems.check(noncurrent_version_days >= 1, "noncurrent_version_days must be ≥ 1")
        problems.check(
            access_log_days >= 365, "access_log_days must be ≥ 365 (access logs are audit records)"
        )
        problems.check(
            signing_profile_name.replace("_", "").isalnum() and 2 <= len(signing_profile_name) <= 64,
            f"signing_profile_name {signing_profile_name!r}: letters, digits and underscores, 2-64",
        )
        problems.raise_if_any()
        secure: dict[str, Any] = {
            "versioned": True,  # Signer requires versioned source and destination buckets
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "minimum_tls_version": 1.2,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "removal_policy": RemovalPolicy.RETAIN,
        }
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption log delivery supports
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(access_log_days),
                    noncurrent_version_expiration=Duration.days(access_log_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            **secure,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="CleanUp",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                    expired_object_delete_marker=True,
                )
            ],
            **secure,
        )
        for bucket, what in ((self.bucket, "Bundles"), (self.access_logs_bucket, "AccessLogs")):
            # What was deployed, and who fetched it, is evidence: no version is deleted by hand (the
            # lifecycle rules, which no bucket policy binds, still expire them). Undoing this takes a
            # bucket-policy change, which CloudTrail records.
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"{what}AreEvidenceNoVersionIsDeleted",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:DeleteObjectVersion"],
                    resources=[bucket.arn_for_objects("*")],
                )
            )
        self.signing_profile = signer.SigningProfile(
            self,
            "SigningProfile",
            platform=signer.Platform.AWS_LAMBDA_SHA384_ECDSA,
            signing_profile_name=signing_profile_name,
        )
        cfn_profile = cast(signer.CfnSigningProfile, self.signing_profile.node.default_child)
        cfn_profile.signature_validity_period = signer.CfnSigningProfile.SignatureValidityPeriodProperty(
            type="MONTHS", value=SIGNATURE_VALIDITY_MONTHS
        )


@dataclass(frozen=True, slots=True)
class HookRuntime:
    """What every release hook of a stack shares with the platform's functions."""

    code: lambda_.Code
    code_signing_config: lambda_.ICodeSigningConfig
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup
    logs_key: kms.IKey
    log_retention_days: int
    environment_key: kms.IKey
    metrics_namespace: str


def deployment_group_arn(scope: Construct, application: str, group: str) -> str:
    return Stack.of(scope).format_arn(
        service="codedeploy",
        resource="deploymentgroup",
        resource_name=f"{application}/{group}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def release_hook(
    scope: Construct,
    construct_id: str,
    *,
    runtime: HookRuntime,
    function_name: str,
    target: SecureFunction,
    smoke: str,
    deployment_group: str,
) -> SecureFunction:
    """The hook that smoke-tests ``target``'s new version (``smoke``: "api" or "batch") for the
    deployment group whose ARN is ``deployment_group``. Its only rights: invoke that one version, and
    report that group's lifecycle events."""
    if smoke not in SMOKE_KINDS:
        raise ValueError(f"smoke {smoke!r} is not one of {', '.join(SMOKE_KINDS)}")
    if target.version is None:
        raise ValueError(f"{target.node.path} publishes no version (live_alias=False): nothing to release")
    version_arn = target.version.function_arn
    return SecureFunction(
        scope,
        construct_id,
        function_name=function_name,
        handler=HOOK_HANDLER,
        code=runtime.code,
        code_signing_config=runtime.code_signing_config,
        description=f"Smoke-tests each new version of {target.function.node.path} for CodeDeploy",
        vpc=runtime.vpc,
        subnets=runtime.subnets,
        security_group=runtime.security_group,
        memory_mb=256,
        # Covers a restore of the target from its snapshot and the API's deep health check.
        timeout_seconds=60,
        reserved_concurrency=2,  # a pre- and a post-traffic run never overlap; one spare
        logs_key=runtime.logs_key,
        log_retention_days=runtime.log_retention_days,
        environment_key=runtime.environment_key,
        powertools=Powertools(service_name=function_name, metrics_namespace=runtime.metrics_namespace),
        statements=[
            iam.PolicyStatement(
                sid="SmokeTestTheNewVersion",
                actions=["lambda:InvokeFunction"],
                resources=[version_arn],
            ),
            iam.PolicyStatement(
                sid="ReportTheLifecycleEvent",
                actions=["codedeploy:PutLifecycleEventHookExecutionStatus"],
                resources=[deployment_group],
            ),
        ],
        environment={env.ENV_HOOK_TARGET: version_arn, env.ENV_HOOK_SMOKE: smoke},
        live_alias=False,  # CodeDeploy invokes a hook by its name
    )


def release_config(
    scope: Construct, config: DeploymentConfig, name: str
) -> codedeploy.ILambdaDeploymentConfig:
    """CodeDeploy's predefined canary when the configuration is one, else a custom one named ``name``."""
    shape = (config.canary_percent, config.canary_minutes)
    if shape in PREDEFINED_CANARIES:
        return codedeploy.LambdaDeploymentConfig.from_lambda_deployment_config_name(
            scope, "ReleaseConfig", config.name
        )
    return codedeploy.LambdaDeploymentConfig(
        scope,
        "ReleaseConfig",
        deployment_config_name=name,
        traffic_routing=codedeploy.TimeBasedCanaryTrafficRouting(
            interval=Duration.minutes(config.canary_minutes), percentage=config.canary_percent
        ),
    )


class CanaryRelease(Construct):
    """Attributes: ``deployment_group``, ``role``, ``hook`` (or None).

    Moves ``function``'s ``live`` alias to each new version through ``application``'s deployment group
    ``group_name`` with ``deployment_config``; rolls back when the deployment fails (a hook reported
    Failed, CodeDeploy could not move the alias) or when one of ``alarms`` fires during it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: SecureFunction,
        application: codedeploy.ILambdaApplication,
        group_name: str,
        deployment_config: codedeploy.ILambdaDeploymentConfig,
        alarms: Sequence[cloudwatch.IAlarm],
        hook: SecureFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("CanaryRelease")
        problems.check(function.alias is not None, "function has no live alias to release")
        problems.check(bool(alarms), "alarms: a release nobody watches cannot roll back on an alarm")
        problems.raise_if_any()
        alias = cast(lambda_.Alias, function.alias)
        self.hook = hook
        # Named from the function's ARN, not the alias's Ref: the alias itself waits for this group
        # (its UpdatePolicy names it), and so for this policy.
        alias_arn = f"{function.function.function_arn}:{alias.alias_name}"
        statements = [
            iam.PolicyStatement(sid="MoveTheLiveAlias", actions=list(ALIAS_ACTIONS), resources=[alias_arn]),
            iam.PolicyStatement(
                sid="WatchTheReleaseAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[alarm.alarm_arn for alarm in alarms],
            ),
        ]
        if hook is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="RunTheSmokeHook",
                    actions=["lambda:InvokeFunction"],
                    resources=[hook.function.function_arn],
                )
            )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description=f"CodeDeploy releases of {function.function.node.path}: its live alias only",
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"What CodeDeploy may do to release {group_name}",
            statements=statements,
            roles=[self.role],
        )
        # Immutable: CDK's own AWSCodeDeployRoleForLambdaLimited (every alias and function of the
        # account) and its grants are not attached; the statements above are all the role holds.
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Group",
            application=application,
            deployment_group_name=group_name,
            alias=alias,
            deployment_config=deployment_config,
            alarms=list(alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True, stopped_deployment=False
            ),
            pre_hook=hook.function if hook is not None else None,
            post_hook=hook.function if hook is not None else None,
            role=self.role.without_policy_updates(),
        )
        self.deployment_group.node.add_dependency(policy)
        if hook is not None:
            # The alias update starts the release: the hook must already test the new version, with
            # the rights to (its environment and policy name that version). The alias's UpdatePolicy
            # names the hook function, which orders it; its policy is ordered here.
            alias.node.add_dependency(hook.node.find_child("Policy"))
