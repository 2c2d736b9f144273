"""Customer-managed KMS keys, one per data class, whose policies keep administering and using apart.

Every key's policy (docs/adr/0020-key-policies-with-separation-of-duties.md):

- the account (IAM delegation) may only *read* the key's metadata: auditors, AWS Config and Access
  Analyzer work, but no IAM policy on its own can administer or use the key;
- the key administrator role manages the key (rotation, tags, description, grants, cancelling a
  deletion) and is explicitly denied every cryptographic action;
- only the break-glass role may schedule deletion, disable the key or replace its policy: an explicit
  deny for every other principal, except that CloudFormation's execution role may also replace the
  policy, because every deploy that changes a key policy calls ``PutKeyPolicy``;
- users get cryptographic actions only: principals of the account through named AWS services
  (``kms:ViaService``), the platform's own workload roles under a fixed encryption context, and
  service principals pinned to this account (CloudWatch Logs for the platform's log groups only).

Roles are matched by ``aws:PrincipalArn`` under the account principal, so the role's own IAM policy
must allow the action as well, and a role need not exist when the key is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from strongroom.config import ResourceNames
from strongroom.infra.constructs._props import Problems, merge

DATA_CLASSES = ("data", "logs", "pipeline")
_DATA_CLASS_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_SERVICE_RE = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_ROLE_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})$",
    re.ASCII,
)
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_WORKLOAD_ROLES_RE = re.compile(r"^[\w+=,.@*-]{1,64}$", re.ASCII)
# A role ARN as a stack synthesizer names it, with CloudFormation pseudo parameters still in it.
_TEMPLATED_ROLE_ARN_RE = re.compile(
    r"^arn:(?:\$\{AWS::Partition\}|aws[a-z-]*):iam::(?:\$\{AWS::AccountId\}|[0-9]{12}):role/"
    r"(?:[^/]+/)*(?P<name>[^/]+)$"
)

# Using the key. Nothing here can change who may use it.
CRYPTOGRAPHIC_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
)
# What a service (as principal, or on a caller's behalf) does with a key it encrypts for us.
ENVELOPE_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)
# Services that write a replica in one Region through their endpoint in another (global tables,
# replicated secrets): admitted through their endpoints in every Region of ``service_regions``.
REPLICATING_SERVICES = ("dynamodb", "secretsmanager")
# A service attaching the key to the resource it encrypts (DynamoDB tables hold grants).
RESOURCE_GRANT_ACTIONS = ("kms:CreateGrant", "kms:RevokeGrant")
# What any principal of the account may do if its IAM policy allows: read, nothing else.
READ_ACTIONS = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
)
# Only the break-glass role (and, for the policy, the deploy role) may do these.
RESTRICTED_ACTIONS = ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy")
ADMIN_ACTIONS = (
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:UpdateKeyDescription",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:RevokeGrant",
    "kms:CancelKeyDeletion",
)
BREAK_GLASS_ACTIONS = (*RESTRICTED_ACTIONS, "kms:CancelKeyDeletion", "kms:EnableKey")
# CloudFormation's AWS::KMS::Key and AWS::KMS::Alias handlers, less what READ_ACTIONS already allow
# and less what our template never asks for (DisableKey, DisableKeyRotation, ScheduleKeyDeletion:
# keys are enabled, rotating and retained).
DEPLOY_ACTIONS = (
    "kms:PutKeyPolicy",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:UpdateKeyDescription",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
)
# Denied to the administrator and break-glass roles whatever IAM says: they run the key, never use it.
DENIED_TO_ADMINISTRATORS = (*CRYPTOGRAPHIC_ACTIONS, "kms:CreateGrant")


@dataclass(frozen=True, slots=True)
class DirectUse:
    """Workload roles calling KMS themselves, only under this encryption context. Values may be
    ``StringLike`` patterns (``*``, ``?``)."""

    sid: str
    actions: tuple[str, ...]
    encryption_context: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class KeyUse:
    """Who may use a data class's key, and how; never anything but cryptographic actions."""

    # AWS services that use the key for callers of this account (kms:ViaService), e.g. "dynamodb".
    services: tuple[str, ...] = ()
    direct: tuple[DirectUse, ...] = ()
    log_groups: bool = False  # CloudWatch Logs encrypts the platform's log groups with it
    alarm_topics: bool = False  # CloudWatch alarms publish to SNS topics encrypted with it
    # S3 sends the platform's buckets' event notifications to SQS queues encrypted with it
    queue_notifications: bool = False


DEFAULT_KEY_USES: Mapping[str, KeyUse] = {
    # Tables (and their global replicas), the cursor secret and function environments.
    # AWS Backup encrypts the tables' recovery points with it (docs/adr/0026-table-backups.md).
    "data": KeyUse(services=("backup", "dynamodb", "secretsmanager", "lambda")),
    # Log groups, and the alarm topic: SNS for whoever IAM lets publish to it (a runbook's test alarm).
    "logs": KeyUse(services=("sns",), log_groups=True, alarm_topics=True),
    # The ingest bucket, the pipelines' queues (S3 notifies the ingest queue) and the outbox stream.
    "pipeline": KeyUse(services=("kinesis", "s3", "sqs"), queue_notifications=True),
}

_REQUIRED_KEY_PROPS = ("enable_key_rotation", "policy", "alias", "key_spec", "key_usage")


@dataclass(frozen=True, slots=True)
class RoleMatch:
    """A configured role as ``aws:PrincipalArn`` sees it: the role's ARN, path included."""

    name: str
    account: iam.IPrincipal  # the account principal the role belongs to
    arns: tuple[str, ...]  # ArnLike patterns


def match_role(stack: Stack, role: str, *, any_path: bool = True) -> RoleMatch:
    """A role name in the stack's account (with ``any_path``, under any path: role names are unique
    in an account whatever their path) or a role ARN (exactly that role, its path included)."""
    arn = _ROLE_ARN_RE.match(role)
    if arn:
        root = f"arn:{arn['partition']}:iam::{arn['account']}:root"
        return RoleMatch(arn["name"], iam.ArnPrincipal(root), (role,))
    templated = _TEMPLATED_ROLE_ARN_RE.match(role)
    if templated and "${" in role:
        return RoleMatch(templated["name"], iam.AccountRootPrincipal(), (Fn.sub(role),))
    base = f"arn:{stack.partition}:iam::{stack.account}:role"
    arns = (f"{base}/{role}", f"{base}/*/{role}") if any_path else (f"{base}/{role}",)
    return RoleMatch(role, iam.AccountRootPrincipal(), arns)


def _valid_role(role: str) -> bool:
    return bool(_ROLE_NAME_RE.match(role) or _ROLE_ARN_RE.match(role))


def _execution_role(stack: Stack) -> str:
    """The role CloudFormation deploys ``stack`` with, if its synthesizer names one. CDK's default
    synthesizer follows the bootstrap qualifier (``@aws-cdk/core:bootstrapQualifier``)."""
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, DefaultStackSynthesizer):
        return ""
    try:
        return synthesizer.cloud_formation_execution_role_arn
    except RuntimeError:  # jsii cannot read it from a synthesizer made in Python: ask for deploy_role
        return ""


class Keys(Construct):
    """One customer-managed key per data class, aliased ``alias/<prefix>/<data class>``.

    ``key_admin_role`` and ``break_glass_role`` are role names in the stack's account or role ARNs.
    ``deploy_role`` is the role CloudFormation deploys with (default: the stack synthesizer's
    CloudFormation execution role, ``cdk-<qualifier>-cfn-exec-role-<account>-<region>``).
    ``workload_roles`` is the role-name pattern that ``uses[...].direct`` applies to (default:
    ``names.workload_roles(<the stack's Region>)``). A service uses a key for callers through its
    endpoint in the key's Region; a replicating service also through its endpoints in
    ``service_regions`` (a replica written from another Region).

    Accepts existing keys (``existing_keys``) for any data class; the others are created. Created keys
    rotate yearly, are retained on stack deletion and wait 30 days before deletion.

    Attributes: ``keys`` (data class → key), ``created`` (only the keys this construct made),
    ``key_admin``, ``break_glass``, ``deployer``, ``workload_roles`` (each a :class:`RoleMatch`),
    ``service_regions``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        key_admin_role: str,
        break_glass_role: str,
        deploy_role: str | None = None,
        workload_roles: str | None = None,
        service_regions: Sequence[str] = (),
        data_classes: Sequence[str] = DATA_CLASSES,
        uses: Mapping[str, KeyUse] | None = None,
        existing_keys: Mapping[str, kms.IKey] | None = None,
        key_props: Mapping[str, Any] | None = None,
        alarm_name_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        uses = {**DEFAULT_KEY_USES, **(uses or {})}
        existing = dict(existing_keys or {})
        deployer = deploy_role or _execution_role(stack)
        workloads = workload_roles or names.workload_roles(stack.region)
        problems = Problems("Keys")
        self._check_classes(problems, data_classes, existing, uses, alarm_name_prefix)
        self._check_roles(problems, key_admin_role, break_glass_role, deployer)
        for region in service_regions:
            problems.check(
                bool(_REGION_RE.match(region)), f"service_regions: {region!r} is not a Region name"
            )
        problems.check(
            bool(_WORKLOAD_ROLES_RE.match(workloads)),
            f"workload_roles: {workloads!r} is not a role-name pattern such as strongroom-eu-west-1-*",
        )
        problems.locked(key_props, dict.fromkeys(_REQUIRED_KEY_PROPS), "key_props")
        problems.raise_if_any()

        self.names = names
        self.key_admin = match_role(stack, key_admin_role)
        self.break_glass = match_role(stack, break_glass_role)
        self.deployer = match_role(stack, deployer)
        self.workload_roles = match_role(stack, workloads, any_path=False)
        self.service_regions = tuple(dict.fromkeys([stack.region, *service_regions]))
        self.keys: dict[str, kms.IKey] = {}
        self.created: dict[str, kms.Key] = {}
        alarm_prefix = alarm_name_prefix or names.prefix
        for data_class in data_classes:
            if data_class in existing:
                self.keys[data_class] = existing[data_class]
                continue
            key = kms.Key(
                self,
                f"{data_class.title().replace('-', '')}Key",
                **merge(
                    {
                        "description": f"Strongroom {data_class} key ({stack.region})",
                        "pending_window": Duration.days(30),
                        "removal_policy": RemovalPolicy.RETAIN,
                        "rotation_period": Duration.days(365),
                    },
                    key_props,
                    {
                        "enable_key_rotation": True,
                        "alias": names.key_alias(data_class),
                        "key_spec": kms.KeySpec.SYMMETRIC_DEFAULT,
                        "key_usage": kms.KeyUsage.ENCRYPT_DECRYPT,
                        "policy": self._policy(uses.get(data_class, KeyUse()), alarm_prefix),
                    },
                ),
            )
            self.keys[data_class] = key
            self.created[data_class] = key

    def key(self, data_class: str) -> kms.IKey:
        try:
            return self.keys[data_class]
        except KeyError:
            raise KeyError(f"no {data_class!r} key; data classes are {sorted(self.keys)}") from None

    @staticmethod
    def _check_classes(
        problems: Problems,
        data_classes: Sequence[str],
        existing: Mapping[str, kms.IKey],
        uses: Mapping[str, KeyUse],
        alarm_name_prefix: str | None,
    ) -> None:
        problems.check(bool(data_classes), "data_classes must name at least one data class")
        problems.check(
            len(set(data_classes)) == len(data_classes), f"data_classes {list(data_classes)} repeats a class"
        )
        for data_class in data_classes:
            problems.check(
                bool(_DATA_CLASS_RE.match(data_class)),
                f"data_classes: {data_class!r} must be 2-31 lowercase letters, digits or hyphens",
            )
        for data_class in sorted(set(existing) - set(data_classes)):
            problems.check(False, f"existing_keys: {data_class!r} is not one of data_classes")
        for data_class, use in sorted(uses.items()):
            for service in use.services:
                problems.check(
                    bool(_SERVICE_RE.match(service)),
                    f"uses.{data_class}.services: {service!r} is not a service name such as dynamodb",
                )
            for direct in use.direct:
                extra = sorted(set(direct.actions) - set(CRYPTOGRAPHIC_ACTIONS))
                problems.check(
                    bool(direct.actions) and not extra,
                    f"uses.{data_class}.direct {direct.sid}: cryptographic actions only, "
                    f"not {extra or 'none'}",
                )
                problems.check(
                    bool(direct.encryption_context),
                    f"uses.{data_class}.direct {direct.sid}: an encryption context is required",
                )
        if any(uses.get(dc, KeyUse()).alarm_topics for dc in data_classes):
            problems.check(
                alarm_name_prefix is None or bool(alarm_name_prefix.strip()),
                "alarm_name_prefix must not be blank",
            )

    @staticmethod
    def _check_roles(
        problems: Problems, key_admin_role: str, break_glass_role: str, deploy_role: str
    ) -> None:
        for prop, role in (("key_admin_role", key_admin_role), ("break_glass_role", break_glass_role)):
            problems.check(_valid_role(role), f"{prop}: {role!r} is neither an IAM role name nor a role ARN")
        if not deploy_role:
            problems.check(
                False,
                "deploy_role: the stack's synthesizer does not name CloudFormation's execution role; pass "
                "deploy_role= (the role CloudFormation deploys with)",
            )
        else:
            problems.check(
                _valid_role(deploy_role) or bool(_TEMPLATED_ROLE_ARN_RE.match(deploy_role)),
                f"deploy_role: {deploy_role!r} is neither an IAM role name nor a role ARN",
            )
        roles = {"key_admin_role": key_admin_role, "break_glass_role": break_glass_role}
        if deploy_role:
            roles["deploy_role"] = deploy_role
        seen: dict[str, str] = {}
        for prop, role in roles.items():
            name = role.rsplit("/", 1)[-1]
            if name in seen:
                problems.check(False, f"{prop} is the same role as {seen[name]}; duties must stay apart")
            seen.setdefault(name, prop)

    def _policy(self, use: KeyUse, alarm_prefix: str) -> iam.PolicyDocument:
        stack = Stack.of(self)
        statements = [
            *self._administration(),
            *self._service_use(use),
            *self._direct_use(use),
            *self._service_principals(use, alarm_prefix, stack),
            *self._denials(),
        ]
        return iam.PolicyDocument(statements=statements)

    def _administration(self) -> list[iam.PolicyStatement]:
        def for_role(sid: str, role: RoleMatch, actions: Sequence[str]) -> iam.PolicyStatement:
            return iam.PolicyStatement(
                sid=sid,
                principals=[role.account],
                actions=list(actions),
                resources=["*"],
                conditions={"ArnLike": {"aws:PrincipalArn": list(role.arns)}},
            )

        return [
            iam.PolicyStatement(
                sid="AccountReadsKeyMetadataThroughIam",
                principals=[iam.AccountRootPrincipal()],
                actions=list(READ_ACTIONS),
                resources=["*"],
            ),
            for_role("KeyAdministratorsManageTheKey", self.key_admin, ADMIN_ACTIONS),
            for_role("BreakGlassDeletesDisablesOrReplacesThePolicy", self.break_glass, BREAK_GLASS_ACTIONS),
            for_role("CloudFormationDeploysTheKey", self.deployer, DEPLOY_ACTIONS),
        ]

    def _service_use(self, use: KeyUse) -> list[iam.PolicyStatement]:
        if not use.services:
            return []
        via = [
            f"{service}.{region}.amazonaws.com"
            for service in sorted(use.services)
            for region in (
                self.service_regions if service in REPLICATING_SERVICES else self.service_regions[:1]
            )
        ]
        return [
            iam.PolicyStatement(
                sid="AccountUsesTheKeyThroughNamedServices",
                principals=[iam.AccountRootPrincipal()],
                actions=list(ENVELOPE_ACTIONS),
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": via}},
            ),
            iam.PolicyStatement(
                sid="NamedServicesAttachTheKeyToTheirResources",
                principals=[iam.AccountRootPrincipal()],
                actions=list(RESOURCE_GRANT_ACTIONS),
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:ViaService": via},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            ),
        ]

    def _direct_use(self, use: KeyUse) -> list[iam.PolicyStatement]:
        statements = []
        for direct in use.direct:
            exact = {k: v for k, v in direct.encryption_context.items() if not _is_pattern(v)}
            like = {k: v for k, v in direct.encryption_context.items() if _is_pattern(v)}
            conditions: dict[str, Any] = {"ArnLike": {"aws:PrincipalArn": list(self.workload_roles.arns)}}
            if exact:
                conditions["StringEquals"] = {f"kms:EncryptionContext:{k}": v for k, v in exact.items()}
            if like:
                conditions["StringLike"] = {f"kms:EncryptionContext:{k}": v for k, v in like.items()}
            statements.append(
                iam.PolicyStatement(
                    sid=direct.sid,
                    principals=[self.workload_roles.account],
                    actions=list(direct.actions),
                    resources=["*"],
                    conditions=conditions,
                )
            )
        return statements

    def _service_principals(self, use: KeyUse, alarm_prefix: str, stack: Stack) -> list[iam.PolicyStatement]:
        region, account, partition = stack.region, stack.account, stack.partition
        statements = []
        if use.log_groups:
            statements.append(
                iam.PolicyStatement(
                    sid="CloudWatchLogsEncryptsThePlatformsLogGroups",
                    principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                    actions=list(ENVELOPE_ACTIONS),
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": [
                                f"arn:{partition}:logs:{region}:{account}:log-group:{pattern}"
                                for pattern in self.names.log_group_patterns()
                            ]
                        }
                    },
                )
            )
        if use.alarm_topics:
            statements.append(
                iam.PolicyStatement(
                    sid="CloudWatchAlarmsPublishToEncryptedTopics",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:"
                            f"{alarm_prefix}-*"
                        },
                    },
                )
            )
        if use.queue_notifications:
            # S3 is the principal when it sends a bucket's notification to an encrypted queue; SQS calls
            # KMS with the queue's ARN as encryption context. Only this account's buckets and queues
            # named by the platform (docs/adr/0033-pipeline-infrastructure.md).
            statements.append(
                iam.PolicyStatement(
                    sid="S3NotifiesThePlatformsEncryptedQueues",
                    principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{partition}:s3:::{self.names.prefix}-*",
                            "kms:EncryptionContext:aws:sqs:arn": (
                                f"arn:{partition}:sqs:{region}:{account}:{self.names.prefix}-*"
                            ),
                        },
                    },
                )
            )
        return statements

    def _denials(self) -> list[iam.PolicyStatement]:
        break_glass = list(self.break_glass.arns)
        return [
            iam.PolicyStatement(
                sid="OnlyBreakGlassDeletesOrDisablesTheKey",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:ScheduleKeyDeletion", "kms:DisableKey"],
                resources=["*"],
                conditions={"ArnNotLike": {"aws:PrincipalArn": break_glass}},
            ),
            iam.PolicyStatement(
                sid="OnlyBreakGlassAndCloudFormationReplaceThePolicy",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:PutKeyPolicy"],
                resources=["*"],
                conditions={"ArnNotLike": {"aws:PrincipalArn": [*break_glass, *self.deployer.arns]}},
            ),
            iam.PolicyStatement(
                sid="AdministratorsNeverUseTheKey",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(DENIED_TO_ADMINISTRATORS),
                resources=["*"],
                conditions={"ArnLike": {"aws:PrincipalArn": [*self.key_admin.arns, *break_glass]}},
            ),
        ]


def _is_pattern(value: str) -> bool:
    return "*" in value or "?" in value
