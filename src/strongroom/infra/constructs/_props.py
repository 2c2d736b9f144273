"""Shared habits of Strongroom's L3 constructs: validate every prop and fail once; merge props.

Props are merged as defaults → user props → required values, so a user may tune anything except what
keeps the resource secure (AWS Solutions Constructs' ``overrideProps`` habit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import jsii
from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_logs as logs
from constructs import IConstruct, IValidation


class PropsError(ValueError):
    """A construct was given invalid props; every problem is listed, each naming the prop."""

    def __init__(self, construct: str, problems: list[str]) -> None:
        self.construct = construct
        self.problems = problems
        super().__init__(f"invalid props for {construct}:\n  - " + "\n  - ".join(problems))


class Problems:
    """Collects problems so a construct reports all of them at once."""

    def __init__(self, construct: str) -> None:
        self.construct = construct
        self.items: list[str] = []

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.items.append(message)

    def locked(self, props: Mapping[str, Any] | None, required: Mapping[str, Any], what: str) -> None:
        """A user prop may not weaken a required value."""
        for name in sorted(set(props or {}) & set(required)):
            self.items.append(f"{what}.{name} is fixed by {self.construct} (secure default); remove it")

    def raise_if_any(self) -> None:
        if self.items:
            raise PropsError(self.construct, self.items)


def merge(
    defaults: Mapping[str, Any], user: Mapping[str, Any] | None, required: Mapping[str, Any]
) -> dict[str, Any]:
    return {**defaults, **(user or {}), **required}


_RETENTION_NAMES = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs' retention enum for a number of days (config validates the allowed values)."""
    try:
        return logs.RetentionDays[_RETENTION_NAMES[days]]
    except KeyError:
        raise ValueError(f"{days} days is not a CloudWatch Logs retention period") from None


@jsii.implements(IValidation)
class Check:
    """A synth-time validation: ``problem()`` returns a message when something is wrong, else None."""

    def __init__(self, problem: Callable[[], str | None]) -> None:
        self._problem = problem

    def validate(self) -> list[str]:
        message = self._problem()
        return [message] if message else []


# Context key that turns acknowledgements off, so a test can see the raw findings they answer.
ACKNOWLEDGE_CONTEXT = "strongroom:acknowledge"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge a compliance finding on ``scope`` (and below), with the reason the report shows."""
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a written reason, got {reason!r}")
    if scope.node.try_get_context(ACKNOWLEDGE_CONTEXT) in (False, "false"):
        return
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def flatten_reference(value: Any) -> str:  # noqa: PLR0911 - one return per CloudFormation function
    """A resolved CloudFormation value as cdk-nag prints it in finding ids (``<AWS::AccountId>``…)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, Mapping):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(flatten_reference(item) for item in items)
        if "Fn::Sub" in value:
            return flatten_reference(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in value:
            return flatten_reference(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{flatten_reference(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


def acknowledge_wildcard_resources(scope: IConstruct, resources: list[str], reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for each wildcard resource of a policy on ``scope``."""
    stack = Stack.of(scope)
    for resource in resources:
        text = flatten_reference(stack.resolve(resource))
        if "*" in text:
            acknowledge(scope, f"AwsSolutions-IAM5[Resource::{text}]", reason)


def skip_checkov(resource: IConstruct, check_id: str, reason: str) -> None:
    """Record a checkov skip, with its reason, in the resource's template metadata (checkov reads it)."""
    if len(reason.strip()) < 20:
        raise ValueError(f"skipping {check_id} needs a written reason, got {reason!r}")
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource to annotate")
    existing = cfn.get_metadata("checkov") or {}
    skips = [s for s in existing.get("skip", []) if s["id"] != check_id]
    cfn.add_metadata("checkov", {"skip": [*skips, {"id": check_id, "comment": reason}]})
