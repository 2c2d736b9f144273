"""PRR-Route53-DeepHealthCheck: an HTTP(S) health check probes the deep health path
(``Policy.deep_health_path``, which exercises the Region's dependencies), not a shallow one."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Route53::HealthCheck",)


def route53_deep_health_check(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    config = _cfn.properties(node).get("HealthCheckConfig") or {}
    if not str(config.get("Type", "")).startswith("HTTP"):
        return NagRuleCompliance.NOT_APPLICABLE  # CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL, TCP
    path = config.get("ResourcePath")
    deep = isinstance(path, str) and path.split("?", 1)[0].rstrip("/").endswith(
        policy.deep_health_path.rstrip("/")
    )
    return NagRuleCompliance.COMPLIANT if deep else NagRuleCompliance.NON_COMPLIANT
