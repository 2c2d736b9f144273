"""The API's web application firewall: a regional WAF web ACL, its logging, and its association with
one API Gateway stage (docs/adr/0022-api-firewall.md).

Rules, in order: a per-address rate limit; the API's own body limit (413 problem+json), which also
refuses every body longer than WAF can see the end of; then AWS's managed groups (core rule set, known
bad inputs, Amazon IP reputation, anonymous IPs) with their own actions, except two rules that only
count: the core rule set's fixed 8 KB ``SizeRestrictions_BODY`` (the API's limit is enforced instead)
and, by default, the anonymous-IP group's ``HostingProviderIPList`` (machine callers run on cloud hosts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Literal

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from strongroom.config import MAX_BODY_BYTES
from strongroom.infra.constructs._props import Problems, retention
from strongroom.runtime import problems as problem_types

HostingProviderAction = Literal["count", "block"]
HOSTING_PROVIDER_ACTIONS: tuple[HostingProviderAction, ...] = ("count", "block")
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
)
# Blocks at 8 KB whatever the API accepts; BodyTooLarge enforces the API's own limit instead.
CORE_BODY_SIZE_RULE = "SizeRestrictions_BODY"
# Web hosting and cloud providers (AWS excluded): where machine-to-machine callers run.
HOSTING_PROVIDER_RULE = "HostingProviderIPList"
# How much of an API Gateway request body reaches WAF, by web ACL AssociationConfig setting. A body
# longer than the setting is "oversize": WAF sees its first part only. 16 KB costs nothing extra.
BODY_INSPECTION_LIMITS = {"KB_16": 16_384, "KB_32": 32_768, "KB_48": 49_152, "KB_64": 65_536}
MIN_BODY_BYTES = 256
RATE_LIMITS = (10, 2_000_000_000)  # what a WAF rate-based rule accepts per 5-minute window
REDACTED_HEADERS = ("authorization", "x-amz-security-token")
_NAME = re.compile(r"[\w-]{1,128}", re.ASCII)


def body_inspection_limit(max_body_bytes: int) -> str:
    """The smallest AssociationConfig setting under which WAF sees every body the API accepts whole."""
    for setting, size in BODY_INSPECTION_LIMITS.items():
        if max_body_bytes <= size:
            return setting
    raise ValueError(f"WAF inspects at most {MAX_BODY_BYTES} bytes of a body, not {max_body_bytes}")


def firewall_problems(
    *,
    name: str,
    max_body_bytes: int,
    requests_per_ip_per_5min: int,
    hosting_provider_action: str,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Every problem with these props; ``labels`` renames them for a construct that passes them on."""
    label = {key: key for key in ("name", "requests_per_ip_per_5min", "hosting_provider_action")}
    label |= labels or {}
    problems = Problems("ApiFirewall")
    problems.check(
        bool(_NAME.fullmatch(name)),
        f"{label['name']} {name!r} is not a WAF name (1-128 letters, digits, _ or -)",
    )
    problems.check(
        MIN_BODY_BYTES <= max_body_bytes <= MAX_BODY_BYTES,
        f"max_body_bytes {max_body_bytes} is outside {MIN_BODY_BYTES}..{MAX_BODY_BYTES}: WAF inspects "
        f"at most {MAX_BODY_BYTES} bytes of a body, so a larger limit could not be enforced in front of "
        "the API",
    )
    low, high = RATE_LIMITS
    problems.check(
        low <= requests_per_ip_per_5min <= high,
        f"{label['requests_per_ip_per_5min']} {requests_per_ip_per_5min} is outside {low}..{high}",
    )
    problems.check(
        hosting_provider_action in HOSTING_PROVIDER_ACTIONS,
        f"{label['hosting_provider_action']} {hosting_provider_action!r} is not one of "
        + ", ".join(HOSTING_PROVIDER_ACTIONS),
    )
    return problems.items


class ApiFirewall(Construct):
    """A WAF web ACL named ``name`` in front of ``stage``, logging to ``aws-waf-logs-<name>``.

    ``max_body_bytes`` is the API's body limit: a longer body is refused with 413 problem+json (its
    ``type`` under ``problem_type_base``), and the web ACL's body inspection limit is raised as far as
    needed (in 16 KB steps, billed beyond the first) for WAF to see every accepted body whole.
    ``requests_per_ip_per_5min`` caps each source address. ``hosting_provider_action`` is what the
    anonymous-IP group does with addresses of hosting and cloud providers: ``count`` (label and log
    them; the default, because machine callers run there) or ``block``; anonymizers (Tor, VPNs,
    proxies) are blocked either way. WAF logs leave out the credentials in ``REDACTED_HEADERS``.

    Attributes: ``web_acl``, ``logs``, ``logging``, ``association``, ``body_inspection_limit``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        stage: apigw.Stage,
        logs_key: kms.IKey,
        log_retention_days: int,
        max_body_bytes: int,
        requests_per_ip_per_5min: int,
        hosting_provider_action: HostingProviderAction = "count",
        problem_type_base: str = problem_types.DEFAULT_PROBLEM_TYPE_BASE,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("ApiFirewall")
        problems.items += firewall_problems(
            name=name,
            max_body_bytes=max_body_bytes,
            requests_per_ip_per_5min=requests_per_ip_per_5min,
            hosting_provider_action=hosting_provider_action,
        )
        try:
            problem_types.checked_problem_type_base(problem_type_base)
        except ValueError as exc:
            problems.check(False, f"problem_type_base: {exc}")
        problems.raise_if_any()

        self.body_inspection_limit = body_inspection_limit(max_body_bytes)
        self.logs = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"aws-waf-logs-{name}",  # the prefix WAF requires of a log group
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        too_large = problem_types.PAYLOAD_TOO_LARGE
        rules = [
            _rule(
                "RateLimitPerIp",
                10,
                wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=requests_per_ip_per_5min, aggregate_key_type="IP", evaluation_window_sec=300
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            ),
            _rule(
                "BodyTooLarge",
                20,
                wafv2.CfnWebACL.StatementProperty(
                    size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                        comparison_operator="GT",
                        size=max_body_bytes,
                        # The inspection limit is at least max_body_bytes, so an oversize body is too long
                        # as well: MATCH blocks it, before any managed rule inspects only its first part.
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                            body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                        ),
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                        ],
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=too_large.status, custom_response_body_key="PayloadTooLarge"
                        )
                    )
                ),
            ),
        ]
        counted = {
            "AWSManagedRulesCommonRuleSet": (CORE_BODY_SIZE_RULE,),
            "AWSManagedRulesAnonymousIpList": (HOSTING_PROVIDER_RULE,)
            if hosting_provider_action == "count"
            else (),
        }
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=3):
            rules.append(_managed_rule(group, priority * 10, counted.get(group, ())))
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=rules,
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit=self.body_inspection_limit
                    )
                }
            ),
            custom_response_bodies={
                "PayloadTooLarge": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=json.dumps(
                        {
                            "type": too_large.uri_under(problem_type_base),
                            "title": too_large.title,
                            "status": too_large.status,
                            "detail": f"the body is larger than {max_body_bytes} bytes",
                        }
                    ),
                )
            },
        )
        self.logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self.logs.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )
        # The ARN is built from Refs to the API and to the stage itself, so the association can only be
        # created after the stage it protects.
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _rule(
    name: str,
    priority: int,
    statement: wafv2.CfnWebACL.StatementProperty,
    *,
    action: wafv2.CfnWebACL.RuleActionProperty,
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name, priority=priority, action=action, statement=statement, visibility_config=_visibility(name)
    )


def _managed_rule(group: str, priority: int, counted: tuple[str, ...]) -> wafv2.CfnWebACL.RuleProperty:
    """An AWS managed group with its own actions, except ``counted`` rules, which only count (and label)."""
    return wafv2.CfnWebACL.RuleProperty(
        name=group,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=group,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in counted
                ]
                or None,
            )
        ),
        visibility_config=_visibility(group),
    )
