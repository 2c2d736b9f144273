"""Shared habits of Strongroom's L3 constructs: validate every prop and fail once; merge props.

Props are merged as defaults → user props → required values, so a user may tune anything except what
keeps the resource secure (AWS Solutions Constructs' ``overrideProps`` habit). A construct acknowledges
no compliance finding and skips no check: the findings Strongroom accepts are entries of
policies/exceptions.json, applied at synth (docs/adr/0023-one-registry-of-accepted-exceptions.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import jsii
from aws_cdk import aws_logs as logs
from constructs import IValidation


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
            target = value["Fn::GetAtt"]  # [resource, attribute], or YAML's short "Resource.Attribute"
            resource, attribute = target.split(".", 1) if isinstance(target, str) else target
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in value:
            return flatten_reference(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{flatten_reference(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))
