"""The production-readiness (PRR) pack: a cdk-nag 3 ``NagPack`` for what the standard packs miss
(docs/adr/0034-production-readiness-rule-pack.md).

``RULES`` maps each stable rule id to its function, level and one-line description; the pack
dispatches each CloudFormation resource to the rules for its type. A rule that raises becomes a
finding of that rule on that resource, never a crash. Use it like any cdk-nag 3 pack::

    Validations.of(app).add_plugins(ProductionReadinessChecks(app))
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

import jsii
from aws_cdk import CfnResource
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from strongroom.prr.policy import DEFAULT, Policy

PACK = "PRR"
RuleFunction = Callable[[CfnResource, Policy], NagRuleCompliance]
Explain = Callable[[CfnResource, Policy], str]
ERROR, WARN = NagMessageLevel.ERROR, NagMessageLevel.WARN


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    function: RuleFunction
    level: NagMessageLevel
    description: str
    resource_types: tuple[str, ...]
    explain: Explain | None = None  # what exactly is wrong, where a rule can say (appended to the finding)


# (id, level, one-line description); the function is rules/<snake_case of the id without PRR->.py.
_TABLE: tuple[tuple[str, NagMessageLevel, str], ...] = (
    ("PRR-Lambda-NoInternetPath", ERROR, "The function runs in a VPC, in subnets with no default route."),
    (
        "PRR-Lambda-InterfaceEndpoints",
        ERROR,
        "Every AWS service the function's role grants has a VPC endpoint in the stack.",
    ),
    (
        "PRR-VpcEndpoint-PolicyNotOpen",
        ERROR,
        "The VPC endpoint has a policy, and none of its statements allows everything unconditionally.",
    ),
    (
        "PRR-VpcEndpoint-PolicyOwnAccount",
        ERROR,
        "Every Allow statement of the interface endpoint's policy is limited to the account.",
    ),
    (
        "PRR-Lambda-CodeSigningEnforced",
        ERROR,
        "The function has a code-signing configuration that enforces signed code.",
    ),
    (
        "PRR-Lambda-AsyncFailureDestination",
        ERROR,
        "The asynchronously invoked function has a dead-letter queue or on-failure destination.",
    ),
    ("PRR-Lambda-ReservedConcurrency", WARN, "The function reserves its concurrency."),
    (
        "PRR-Lambda-AliasCanaryRollback",
        ERROR,
        "The alias moves through a CodeDeploy deployment group that rolls back on alarms and on failure.",
    ),
    ("PRR-Lambda-Tracing", ERROR, "The function sends X-Ray traces (TracingConfig Active)."),
    (
        "PRR-Lambda-EnvironmentCmk",
        ERROR,
        "The function's environment variables are encrypted with a customer managed key.",
    ),
    (
        "PRR-Logs-RetentionPolicy",
        ERROR,
        "The log group keeps events at least as long as the policy's log retention.",
    ),
    ("PRR-Logs-Cmk", ERROR, "The log group is encrypted with a customer managed key."),
    ("PRR-DynamoDB-TableCmk", ERROR, "The table is encrypted with a customer managed key."),
    (
        "PRR-DynamoDB-GlobalTableReplicaKeys",
        ERROR,
        "The global table names a customer managed key for every replica.",
    ),
    (
        "PRR-DynamoDB-Pitr",
        ERROR,
        "Point-in-time recovery is on for the table, or for every replica of the global table.",
    ),
    (
        "PRR-DynamoDB-DeletionProtection",
        ERROR,
        "Deletion protection is on for the table, or for every replica of the global table.",
    ),
    (
        "PRR-DynamoDB-BackupPlanMembership",
        ERROR,
        "An AWS Backup selection in the app includes the table or global table.",
    ),
    ("PRR-Kinesis-StreamCmk", ERROR, "The Kinesis stream is encrypted with a customer managed key."),
    ("PRR-S3-BucketCmk", ERROR, "The bucket's default encryption is SSE-KMS with a customer managed key."),
    ("PRR-S3-TlsOnly", ERROR, "The bucket's policy denies every request not made over TLS."),
    ("PRR-KMS-KeyRotation", ERROR, "The symmetric key rotates its key material."),
    ("PRR-KMS-NoWildcardForNonRoot", ERROR, "The key policy grants kms:* to the account root only."),
    (
        "PRR-ApiGateway-MethodAuth",
        ERROR,
        "The REST method (other than preflight and health) requires IAM or an authorizer.",
    ),
    ("PRR-ApiGateway-WafAssociated", ERROR, "A WAF web ACL is associated with the REST API stage."),
    ("PRR-ApiGateway-JsonAccessLogs", ERROR, "The REST API stage writes JSON access logs."),
    ("PRR-ApiGateway-Tracing", ERROR, "The REST API stage sends X-Ray traces."),
    ("PRR-Route53-DeepHealthCheck", ERROR, "The HTTP(S) health check probes the deep health path."),
    ("PRR-Route53-RecordHealthChecked", ERROR, "The routing record is tied to a health check."),
    (
        "PRR-Route53-RtoBudget",
        ERROR,
        "Health-check detection plus the record's TTL and unobserved time is within the RTO.",
    ),
    (
        "PRR-IAM-NoWildcardActionsOnOwnResources",
        ERROR,
        "No statement grants * or service:* on a resource the app defines.",
    ),
    ("PRR-EC2-NoOpenCidr", ERROR, "No security group rule is open to 0.0.0.0/0 or ::/0."),
    ("PRR-CloudWatch-AlarmSubscribed", ERROR, "The alarm acts, and a topic it notifies has a subscription."),
    (
        "PRR-CloudWatch-RegionDownMissingData",
        ERROR,
        "The Region-down (health check status) alarm treats missing data as breaching.",
    ),
    ("PRR-FIS-StopConditions", ERROR, "The fault-injection experiment template stops on a CloudWatch alarm."),
    ("PRR-Backup-VaultLock", ERROR, "The backup vault is locked with a minimum retention."),
    ("PRR-Backup-CrossRegionCopy", ERROR, "Every backup plan rule copies to a vault in another Region."),
)


def module_name(rule_id: str) -> str:
    """``PRR-Lambda-NoInternetPath`` -> ``lambda_no_internet_path``: the rule's file under rules/ (the
    service part is lower-cased whole, ``DynamoDB`` -> ``dynamodb``; the rest is snake-cased)."""
    service, *rest = rule_id.removeprefix(f"{PACK}-").split("-")
    words = [_SERVICE_WORDS.get(service, service.lower())]
    words += [re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", part).lower() for part in rest]
    return "_".join(words)


_SERVICE_WORDS = {"ApiGateway": "api_gateway", "VpcEndpoint": "vpc_endpoint"}


def _load(rule_id: str, level: NagMessageLevel, description: str) -> Rule:
    name = module_name(rule_id)
    module: ModuleType = importlib.import_module(f"strongroom.prr.rules.{name}")
    explain = getattr(module, "explain", None)
    return Rule(rule_id, getattr(module, name), level, description, tuple(module.RESOURCE_TYPES), explain)


RULES: Mapping[str, Rule] = {rule_id: _load(rule_id, level, text) for rule_id, level, text in _TABLE}
_BY_TYPE: dict[str, list[Rule]] = {}
for _rule in RULES.values():
    for _type in _rule.resource_types:
        _BY_TYPE.setdefault(_type, []).append(_rule)


@jsii.implements(IApplyRule)
class _Finding:
    """One finding handed to cdk-nag: the rule was judged in Python already, so its callback only
    reports the result (cdk-nag then applies acknowledgements and records the violation). jsii reads
    an interface's members from the class, so they are properties."""

    def __init__(self, rule: Rule, node: CfnResource, info: str) -> None:
        self._rule, self._node, self._info = rule, node, info

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.id.removeprefix(f"{PACK}-")

    @property
    def info(self) -> str:
        return self._info

    @property
    def explanation(self) -> str:
        return f"See {self._rule.id} in docs/adr/0034-production-readiness-rule-pack.md."

    @property
    def level(self) -> NagMessageLevel:
        return self._rule.level

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, node: CfnResource) -> NagRuleCompliance:
        return NagRuleCompliance.NON_COMPLIANT


class ProductionReadinessChecks(NagPack):
    """The PRR pack. ``policy`` holds what the rules measure against (``Policy.of(config)`` for
    Strongroom); the rest is as for every cdk-nag 3 pack."""

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        verbose: bool | None = None,
        write_suppressions_to_cloud_formation: bool | None = None,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(
            scope,
            verbose=verbose,
            write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation,
        )
        self._pack_name = PACK
        self._policy = policy or DEFAULT

    @property
    def name(self) -> str:
        return PACK

    @property
    def rule_ids(self) -> list[str] | None:
        return list(RULES)

    def _check_resource(self, node: CfnResource) -> None:
        for rule in _BY_TYPE.get(node.cfn_resource_type, ()):
            info = rule.description
            try:
                result = rule.function(node, self._policy)
            except Exception as error:
                result = NagRuleCompliance.NON_COMPLIANT
                info = f"{rule.description} The rule could not judge this resource: {error!r}"
            if result == NagRuleCompliance.NON_COMPLIANT:
                if rule.explain is not None:
                    with contextlib.suppress(Exception):  # the finding stands without its detail
                        info = f"{info} {rule.explain(node, self._policy)}"
                self._apply_rule(_Finding(rule, node, info))  # type: ignore[arg-type]  # jsii reads the properties
