from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from strongroom.config import load_config
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.network import PrivateNetwork

from .conftest import resources, stack_template

CONFIG = load_config(environ={})
REGION = CONFIG.region("eu-west-1")
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:111111111111:table/strongroom-transactions"
BUCKET_ARN = "arn:aws:s3:::strongroom-ingest"
LOGS_KEY = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"


def _network(stack: Stack, **overrides: Any) -> PrivateNetwork:
    key = kms.Key.from_key_arn(stack, "LogsKey", LOGS_KEY)
    props: dict[str, Any] = {
        "region": REGION,
        "logs_key": key,
        "log_retention_days": 365,
        "interface_services": ("kms", "xray"),
        **overrides,
    }
    network = PrivateNetwork(stack, "Network", **props)
    network.allow_through_gateway("dynamodb", ["dynamodb:GetItem"], [TABLE_ARN])
    network.allow_through_gateway("s3", ["s3:GetObject"], [f"{BUCKET_ARN}/*"])
    return network


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(_network)


def _by_id(template: Template, kind: str, fragment: str) -> dict[str, Any]:
    (found,) = [v for k, v in resources(template, kind).items() if fragment in k]
    return found


def test_vpc_uses_the_regions_cidr_and_three_isolated_subnets_on_explicit_azs(template: Template) -> None:
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.1.0.0/16"})
    subnets = resources(template, "AWS::EC2::Subnet").values()
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets) == list(REGION.availability_zones)
    assert sorted(s["Properties"]["CidrBlock"] for s in subnets) == sorted(REGION.subnet_cidrs())
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)


def test_nothing_reaches_the_internet(template: Template) -> None:
    for kind in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::EgressOnlyInternetGateway",
    ):
        template.resource_count_is(kind, 0)
    for route in resources(template, "AWS::EC2::Route").values():
        assert "GatewayId" not in route["Properties"]
        assert "NatGatewayId" not in route["Properties"]


def test_gateway_endpoint_policies_name_only_our_tables_and_buckets(template: Template) -> None:
    gateways = [
        e
        for e in resources(template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert len(gateways) == 2
    named = set()
    for endpoint in gateways:
        for statement in endpoint["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert "*" not in str(statement["Action"])
            named.update(
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
    assert named == {TABLE_ARN, f"{BUCKET_ARN}/*"}


def test_interface_endpoints_use_private_dns_in_every_subnet(template: Template) -> None:
    interfaces = [
        e
        for e in resources(template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert len(interfaces) == 2
    for endpoint in interfaces:
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert len(endpoint["Properties"]["SubnetIds"]) == 3


def test_endpoint_group_admits_443_only_from_the_function_group(template: Template) -> None:
    endpoint_sg = _by_id(template, "AWS::EC2::SecurityGroup", "EndpointSecurityGroup")
    assert "SecurityGroupIngress" not in endpoint_sg["Properties"]
    (ingress,) = resources(template, "AWS::EC2::SecurityGroupIngress").values()
    assert ingress["Properties"]["FromPort"] == ingress["Properties"]["ToPort"] == 443
    assert "FunctionSecurityGroup" in ingress["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
    assert "EndpointSecurityGroup" in ingress["Properties"]["GroupId"]["Fn::GetAtt"][0]


def test_function_group_sends_443_only_to_endpoints_and_prefix_lists(template: Template) -> None:
    function_sg = _by_id(template, "AWS::EC2::SecurityGroup", "FunctionSecurityGroup")
    assert "SecurityGroupEgress" not in function_sg["Properties"]  # no allow-all default
    egress = [e["Properties"] for e in resources(template, "AWS::EC2::SecurityGroupEgress").values()]
    assert len(egress) == 3
    assert all(e["FromPort"] == e["ToPort"] == 443 and e["IpProtocol"] == "tcp" for e in egress)
    assert all("FunctionSecurityGroup" in e["GroupId"]["Fn::GetAtt"][0] for e in egress)
    assert sorted(e["DestinationPrefixListId"] for e in egress if "DestinationPrefixListId" in e) == [
        "pl-6da54004",
        "pl-6fa54006",
    ]
    (to_endpoints,) = [e for e in egress if "DestinationSecurityGroupId" in e]
    assert "EndpointSecurityGroup" in to_endpoints["DestinationSecurityGroupId"]["Fn::GetAtt"][0]


def test_flow_logs_capture_all_traffic_into_an_encrypted_retained_log_group(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"}
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"KmsKeyId": LOGS_KEY, "RetentionInDays": 365},
            "DeletionPolicy": "Retain",
        },
    )


def test_default_security_group_is_closed(template: Template) -> None:
    template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_nacl_allows_only_https_and_its_return_traffic(template: Template) -> None:
    entries = [e["Properties"] for e in resources(template, "AWS::EC2::NetworkAclEntry").values()]
    assert len(entries) == 4
    for entry in entries:
        assert entry["RuleAction"] == "allow"
        assert entry["Protocol"] == 6
        ports = (entry["PortRange"]["From"], entry["PortRange"]["To"])
        assert ports in {(443, 443), (1024, 65535)}
        if ports == (443, 443) and not entry["Egress"]:
            assert entry["CidrBlock"] == REGION.cidr
    template.resource_count_is("AWS::EC2::SubnetNetworkAclAssociation", 3)


def test_dns_firewall_allows_aws_domains_and_blocks_the_rest(template: Template) -> None:
    lists = {
        tuple(d["Properties"]["Domains"])
        for d in resources(template, "AWS::Route53Resolver::FirewallDomainList").values()
    }
    assert lists == {("amazonaws.com", "*.amazonaws.com", "*.api.aws"), ("*",)}
    template.has_resource_properties(
        "AWS::Route53Resolver::FirewallRuleGroup",
        {
            "FirewallRules": [
                Match.object_like({"Action": "ALLOW", "Priority": 100}),
                Match.object_like({"Action": "BLOCK", "BlockResponse": "NXDOMAIN", "Priority": 200}),
            ]
        },
    )
    template.has_resource_properties(
        "AWS::Route53Resolver::FirewallRuleGroupAssociation", {"MutationProtection": "ENABLED"}
    )


def test_a_gateway_endpoint_without_policy_fails_synthesis() -> None:
    def build(stack: Stack) -> None:
        key = kms.Key.from_key_arn(stack, "LogsKey", LOGS_KEY)
        network = PrivateNetwork(
            stack, "Network", region=REGION, logs_key=key, log_retention_days=365, interface_services=()
        )
        network.allow_through_gateway("dynamodb", ["dynamodb:GetItem"], [TABLE_ARN])

    with pytest.raises(RuntimeError, match="s3 gateway endpoint has no policy"):
        stack_template(build)


def test_invalid_props_fail_once_with_every_problem() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _network(
                stack,
                region=CONFIG.region("eu-central-1"),
                interface_services=("kms", "kms", "s3"),
                vpc_props={"nat_gateways": 1},
            )
        )
    problems = error.value.problems
    assert len(problems) == 4, problems
    assert any("does not match the stack's Region" in p for p in problems)
    assert any("repeats" in p for p in problems)
    assert any("s3 is served by a gateway endpoint" in p for p in problems)
    assert any("vpc_props.nat_gateways" in p for p in problems)
