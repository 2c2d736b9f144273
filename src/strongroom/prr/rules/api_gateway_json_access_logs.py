"""PRR-ApiGateway-JsonAccessLogs: a REST API stage writes access logs, as JSON (one object per request,
so a query can read fields rather than parse text)."""

from __future__ import annotations

import json
import re

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::ApiGateway::Stage",)
_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_.]+")


def api_gateway_json_access_logs(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    setting = _cfn.properties(node).get("AccessLogSetting") or {}
    log_format = setting.get("Format")
    if not setting.get("DestinationArn") or not isinstance(log_format, str):
        return NagRuleCompliance.NON_COMPLIANT
    try:  # unquoted variables (numbers) stand in as 0
        parsed = json.loads(_VARIABLE.sub("0", log_format))
    except ValueError:
        return NagRuleCompliance.NON_COMPLIANT
    return (
        NagRuleCompliance.COMPLIANT
        if isinstance(parsed, dict) and parsed
        else NagRuleCompliance.NON_COMPLIANT
    )
