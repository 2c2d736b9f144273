"""PRR-CloudWatch-RegionDownMissingData: an alarm on a Route 53 health check's status (a Region-down
alarm) treats missing data as breaching: when the checks stop reporting, the Region is not healthy."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::CloudWatch::Alarm",)


def cloudwatch_region_down_missing_data(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    metrics = [props] + [
        (m.get("MetricStat") or {}).get("Metric") or {} for m in _cfn.listed(props.get("Metrics"))
    ]
    region_down = any(
        m.get("Namespace") == "AWS/Route53"
        and m.get("MetricName") in ("HealthCheckStatus", "HealthCheckPercentageHealthy")
        for m in metrics
    )
    if not region_down:
        return NagRuleCompliance.NOT_APPLICABLE
    return (
        NagRuleCompliance.COMPLIANT
        if props.get("TreatMissingData") == "breaching"
        else NagRuleCompliance.NON_COMPLIANT
    )
