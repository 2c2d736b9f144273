"""PRR-Lambda-NoInternetPath: a function runs in a VPC, in subnets with no default route (to an
internet or NAT gateway, or anywhere else)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)
DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")


def lambda_no_internet_path(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    vpc = _cfn.properties(node).get("VpcConfig") or {}
    subnets = _cfn.listed(vpc.get("SubnetIds"))
    if not subnets:
        return NagRuleCompliance.NON_COMPLIANT
    own = {_cfn.referenced(s) for s in subnets} - {None}
    if own and _default_route(node, own):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _default_route(node: CfnResource, subnets: set[str | None]) -> bool:
    """Whether a route table associated with one of the stack's ``subnets`` has a default route."""
    tables = {
        _cfn.referenced(a.properties.get("RouteTableId"))
        for a in _cfn.of_type(node, "AWS::EC2::SubnetRouteTableAssociation")
        if _cfn.referenced(a.properties.get("SubnetId")) in subnets
    }
    routes: list[dict[str, Any]] = [r.properties for r in _cfn.of_type(node, "AWS::EC2::Route")]
    return any(
        _cfn.referenced(route.get("RouteTableId")) in tables
        and (
            route.get("DestinationCidrBlock") in DEFAULT_ROUTES
            or route.get("DestinationIpv6CidrBlock") in DEFAULT_ROUTES
        )
        for route in routes
    )
