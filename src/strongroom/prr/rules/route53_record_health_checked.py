"""PRR-Route53-RecordHealthChecked: a record that takes part in routing (failover, weighted, latency,
geolocation, multivalue) is tied to a health check, or an alias that evaluates its target's health."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Route53::RecordSet",)
ROUTING = (
    "Failover",
    "Weight",
    "Region",
    "GeoLocation",
    "GeoProximityLocation",
    "MultiValueAnswer",
    "CidrRoutingConfig",
)


def route53_record_health_checked(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if not any(key in props for key in ROUTING):
        return NagRuleCompliance.NOT_APPLICABLE
    if props.get("HealthCheckId"):
        return NagRuleCompliance.COMPLIANT
    alias = props.get("AliasTarget") or {}
    return (
        NagRuleCompliance.COMPLIANT
        if _cfn.truthy(alias.get("EvaluateTargetHealth"))
        else NagRuleCompliance.NON_COMPLIANT
    )
