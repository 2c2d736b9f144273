"""PRR-ApiGateway-WafAssociated: a REST API stage has a WAF web ACL associated with it in the stack."""

from __future__ import annotations

import json

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::ApiGateway::Stage",)


def api_gateway_waf_associated(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    api = _cfn.referenced(props.get("RestApiId"))
    me = _cfn.logical_id(node)
    stage_name = props.get("StageName")
    for association in _cfn.of_type(node, "AWS::WAFv2::WebACLAssociation"):
        arn = association.properties.get("ResourceArn")
        text = json.dumps(arn)
        names_api = api is None or _cfn.mentions(arn, api)
        names_stage = _cfn.mentions(arn, me) or (
            isinstance(stage_name, str) and f"/stages/{stage_name}" in text
        )
        if names_api and names_stage and association.properties.get("WebACLArn"):
            return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT
