"""PRR-Route53-RtoBudget: a health-checked record fails over within the RTO: its health check's
interval x failure threshold, plus the record's TTL, plus what no template shows
(``Policy.unobserved_failover_seconds``), is at most ``Policy.rto_seconds``
(docs/adr/0025-health-check-timing-and-the-rto-budget.md)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Route53::RecordSet",)
ALIAS_TTL_SECONDS = 60  # an alias answers with its target's TTL; 60 s for AWS targets


def route53_rto_budget(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    check = _cfn.referenced(props.get("HealthCheckId"))
    if check is None:
        return NagRuleCompliance.NOT_APPLICABLE
    for candidate in _cfn.of_type(node, "AWS::Route53::HealthCheck"):
        if candidate.logical_id == check:
            config = candidate.properties.get("HealthCheckConfig") or {}
            interval = int(config.get("RequestInterval", 30))
            threshold = int(config.get("FailureThreshold", 3))
            ttl = int(props["TTL"]) if "TTL" in props else ALIAS_TTL_SECONDS
            seconds = interval * threshold + ttl + policy.unobserved_failover_seconds
            return (
                NagRuleCompliance.COMPLIANT
                if seconds <= policy.rto_seconds
                else NagRuleCompliance.NON_COMPLIANT
            )
    return NagRuleCompliance.NOT_APPLICABLE  # a health check from elsewhere: its timing is not here
