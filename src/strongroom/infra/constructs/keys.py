"""Customer-managed KMS keys, one per data class, with rotation and least-privilege key policies.

A key policy has exactly one broad statement: ``kms:*`` for the account root, which is what lets IAM
policies grant use of the key at all (without it the key is unmanageable). Everything else is a named
AWS service principal with a condition that pins it to this account and Region (an encryption
context, a source ARN). Workload roles get key use only through IAM statements that carry their own
``kms:ViaService`` or encryption-context condition (see :class:`SecureFunction`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from strongroom.config import ResourceNames
from strongroom.infra.constructs._props import Problems, merge

DATA_CLASSES = ("data", "logs", "pipeline")
_DATA_CLASS_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")

# What a service principal may do with a key it encrypts for us: no wildcards, nothing administrative.
ENVELOPE_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)


@dataclass(frozen=True, slots=True)
class KeyUse:
    """Which AWS services may use a data class's key directly (as a service principal)."""

    log_groups: bool = False  # CloudWatch Logs encrypts this Region's log groups with it
    alarm_topics: bool = False  # CloudWatch alarms publish to SNS topics encrypted with it


DEFAULT_KEY_USES: Mapping[str, KeyUse] = {
    "data": KeyUse(),  # DynamoDB, Secrets Manager and Lambda use it through grants and IAM
    "logs": KeyUse(log_groups=True, alarm_topics=True),
    "pipeline": KeyUse(),
}

_REQUIRED_KEY_PROPS = ("enable_key_rotation", "policy", "alias", "key_spec", "key_usage")


class Keys(Construct):
    """One customer-managed key per data class, aliased ``alias/<prefix>/<data class>``.

    Accepts existing keys (``existing_keys``) for any data class; the others are created. Created keys
    rotate yearly, are retained on stack deletion and wait 30 days before deletion.

    Attributes: ``keys`` (data class → key), ``created`` (only the keys this construct made).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        data_classes: Sequence[str] = DATA_CLASSES,
        uses: Mapping[str, KeyUse] | None = None,
        existing_keys: Mapping[str, kms.IKey] | None = None,
        key_props: Mapping[str, Any] | None = None,
        alarm_name_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        uses = {**DEFAULT_KEY_USES, **(uses or {})}
        existing = dict(existing_keys or {})
        problems = Problems("Keys")
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
        problems.locked(key_props, dict.fromkeys(_REQUIRED_KEY_PROPS), "key_props")
        if any(uses.get(dc, KeyUse()).alarm_topics for dc in data_classes):
            problems.check(
                alarm_name_prefix is None or bool(alarm_name_prefix.strip()),
                "alarm_name_prefix must not be blank",
            )
        problems.raise_if_any()

        self.names = names
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
                        "description": f"Strongroom {data_class} key ({Stack.of(self).region})",
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

    def _policy(self, use: KeyUse, alarm_prefix: str) -> iam.PolicyDocument:
        stack = Stack.of(self)
        region, account = stack.region, stack.account
        statements = [
            iam.PolicyStatement(
                sid="EnableIamPoliciesForThisAccount",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:*"],
                resources=["*"],
            )
        ]
        if use.log_groups:
            statements.append(
                iam.PolicyStatement(
                    sid="CloudWatchLogsEncryptsThisRegionsLogGroups",
                    principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                    actions=list(ENVELOPE_ACTIONS),
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{region}:"
                            f"{account}:log-group:*"
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
                            "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{region}:{account}:alarm:"
                            f"{alarm_prefix}-*"
                        },
                    },
                )
            )
        return iam.PolicyDocument(statements=statements)
