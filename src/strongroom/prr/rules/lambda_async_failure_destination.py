"""PRR-Lambda-AsyncFailureDestination: a function that AWS invokes asynchronously (EventBridge, SNS,
S3, CloudWatch Logs, SES, IoT, CodeCommit, Config) keeps what it failed on: a dead-letter queue or an
on-failure destination."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)
ASYNC_PRINCIPALS = frozenset(
    f"{s}.amazonaws.com"
    for s in (
        "events",
        "sns",
        "s3",
        "logs",
        "ses",
        "iot",
        "codecommit",
        "config",
        "scheduler",
        "cloudformation",
    )
)


def lambda_async_failure_destination(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    me = _cfn.logical_id(node)
    invoked_async = any(
        _cfn.referenced(p.properties.get("FunctionName")) == me
        and p.properties.get("Principal") in ASYNC_PRINCIPALS
        for p in _cfn.of_type(node, "AWS::Lambda::Permission")
    )
    if not invoked_async:
        return NagRuleCompliance.NOT_APPLICABLE
    if (_cfn.properties(node).get("DeadLetterConfig") or {}).get("TargetArn"):
        return NagRuleCompliance.COMPLIANT
    for config in _cfn.of_type(node, "AWS::Lambda::EventInvokeConfig"):
        if _cfn.referenced(config.properties.get("FunctionName")) == me or _cfn.mentions(
            config.properties.get("FunctionName"), me
        ):
            on_failure = (config.properties.get("DestinationConfig") or {}).get("OnFailure") or {}
            if on_failure.get("Destination"):
                return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT
