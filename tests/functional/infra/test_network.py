from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from strongroom import regions
from strongroom.config import RegionConfig, load_config
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.network import FLOW_LOG_FIELDS, PrivateNetwork

from .conftest import resources, stack_template

CONFIG = load_config(environ={})
REGION = CONFIG.region("eu-west-1")
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:111111111111:table/strongroom-transactions"
LOGS_KEY = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"
DATA_KEY = "arn:aws:kms:eu-west-1:111111111111:key/66666666-7777-8888-9999-000000000000"
PREFIX = "/strongroom/network"
ORGANIZATION = "o-abcdefghij"
ACCOUNT = {"Ref": "AWS::AccountId"}
CANARY = {"StringEquals": {"kms:EncryptionContext:purpose": "canary"}}

# What a function in the VPC calls: DynamoDB (gateway), KMS with its own condition, X-Ray (no resource),
# and a KMS call Secrets Manager makes on its behalf (which never crosses the VPC's endpoints).
CALLS = (
    iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[TABLE_ARN]),
    iam.PolicyStatement(actions=["kms:Decrypt"], resources=[DATA_KEY], conditions=CANARY),
    iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]),
    iam.PolicyStatement(
        actions=["kms:Encrypt"],
        resources=[DATA_KEY],
        conditions={"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
    ),
)


def _network(stack: Stack, calls: Sequence[iam.PolicyStatement] = CALLS, **overrides: Any) -> PrivateNetwork:
    key = kms.Key.from_key_arn(stack, "LogsKey", LOGS_KEY)
    props: dict[str, Any] = {
        "region": REGION,
        "logs_key": key,
        "log_retention_days": 365,
        "log_group_prefix": PREFIX,
        "interface_services": ("kms", "xray"),
        **overrides,
    }
    network = PrivateNetwork(stack, "Network", **props)
    network.allow_through_endpoints(calls)
    return network


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(_network)


def _by_id(template: Template, kind: str, fragment: str) -> dict[str, Any]:
    (found,) = [v for k, v in resources(template, kind).items() if fragment in k]
    return found


def _endpoints(template: Template) -> dict[str, dict[str, Any]]:
    """Endpoint service (kms, dynamodb…) → the endpoint's properties."""
    found = {}
    for endpoint in resources(template, "AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]
        service = name.rsplit(".", 1)[-1] if isinstance(name, str) else name["Fn::Join"][1][-1].lstrip(".")
        found[service] = endpoint["Properties"]
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


def test_a_gateway_endpoint_exists_only_for_a_service_the_functions_call(template: Template) -> None:
    # GIVEN functions that call DynamoDB but not S3
    endpoints = _endpoints(template)
    # THEN there is a DynamoDB gateway endpoint, and no S3 endpoint, route or security-group rule
    assert {s for s, e in endpoints.items() if e["VpcEndpointType"] == "Gateway"} == {"dynamodb"}
    assert "s3" not in endpoints
    egress = [e["Properties"] for e in resources(template, "AWS::EC2::SecurityGroupEgress").values()]
    assert [e["DestinationPrefixListId"] for e in egress if "DestinationPrefixListId" in e] == [
        regions.REGIONS["eu-west-1"].prefix_lists["dynamodb"]
    ]


def test_every_endpoint_policy_is_the_functions_calls_for_our_principals_on_our_resources(
    template: Template,
) -> None:
    endpoints = _endpoints(template)
    assert set(endpoints) == {"kms", "xray", "dynamodb"}
    carried = {}
    for service, endpoint in endpoints.items():
        (statement,) = endpoint["PolicyDocument"]["Statement"]  # AWS's allow-all default is gone
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"AWS": "*"}
        equals = statement["Condition"]["StringEquals"]
        assert equals["aws:PrincipalAccount"] == ACCOUNT
        # X-Ray's Put actions name no resource, so there is no resource owner to check
        assert equals.get("aws:ResourceAccount") == (None if statement["Resource"] == "*" else ACCOUNT)
        carried[service] = (statement["Action"], statement["Resource"])
    assert carried == {
        "dynamodb": ("dynamodb:GetItem", TABLE_ARN),
        "kms": ("kms:Decrypt", DATA_KEY),  # not kms:Encrypt: Secrets Manager makes that call itself
        "xray": ("xray:PutTraceSegments", "*"),
    }


def test_a_statements_own_conditions_stay_on_the_endpoint(template: Template) -> None:
    (statement,) = _endpoints(template)["kms"]["PolicyDocument"]["Statement"]
    assert statement["Condition"]["StringEquals"]["kms:EncryptionContext:purpose"] == "canary"


def test_with_an_organization_the_perimeter_is_the_organization() -> None:
    endpoints = _endpoints(stack_template(lambda stack: _network(stack, organization_id=ORGANIZATION)))
    for endpoint in endpoints.values():
        (statement,) = endpoint["PolicyDocument"]["Statement"]
        equals = statement["Condition"]["StringEquals"]
        assert equals["aws:PrincipalOrgID"] == ORGANIZATION
        assert equals.get("aws:ResourceOrgID") == (None if statement["Resource"] == "*" else ORGANIZATION)
        assert "aws:PrincipalAccount" not in equals
        assert "aws:ResourceAccount" not in equals


def test_interface_endpoints_use_private_dns_in_every_subnet(template: Template) -> None:
    interfaces = [e for e in _endpoints(template).values() if e["VpcEndpointType"] == "Interface"]
    assert len(interfaces) == 2
    for endpoint in interfaces:
        assert endpoint["PrivateDnsEnabled"] is True
        assert len(endpoint["SubnetIds"]) == 3


def test_endpoint_group_admits_443_only_from_the_function_group(template: Template) -> None:
    endpoint_sg = _by_id(template, "AWS::EC2::SecurityGroup", "EndpointSecurityGroup")
    assert "SecurityGroupIngress" not in endpoint_sg["Properties"]
    (ingress,) = resources(template, "AWS::EC2::SecurityGroupIngress").values()
    assert ingress["Properties"]["FromPort"] == ingress["Properties"]["ToPort"] == 443
    assert "FunctionSecurityGroup" in ingress["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
    assert "EndpointSecurityGroup" in ingress["Properties"]["GroupId"]["Fn::GetAtt"][0]


def test_function_group_sends_443_only_to_endpoints_and_the_gateway_prefix_list(template: Template) -> None:
    function_sg = _by_id(template, "AWS::EC2::SecurityGroup", "FunctionSecurityGroup")
    assert "SecurityGroupEgress" not in function_sg["Properties"]  # no allow-all default
    egress = [e["Properties"] for e in resources(template, "AWS::EC2::SecurityGroupEgress").values()]
    assert len(egress) == 2
    assert all(e["FromPort"] == e["ToPort"] == 443 and e["IpProtocol"] == "tcp" for e in egress)
    assert all("FunctionSecurityGroup" in e["GroupId"]["Fn::GetAtt"][0] for e in egress)
    (to_endpoints,) = [e for e in egress if "DestinationSecurityGroupId" in e]
    assert "EndpointSecurityGroup" in to_endpoints["DestinationSecurityGroupId"]["Fn::GetAtt"][0]


def test_flow_logs_record_every_field_an_investigation_needs(template: Template) -> None:
    (flow_log,) = resources(template, "AWS::EC2::FlowLog").values()
    properties = flow_log["Properties"]
    assert (properties["TrafficType"], properties["LogDestinationType"]) == ("ALL", "cloud-watch-logs")
    assert properties["MaxAggregationInterval"] == 60
    fields = properties["LogFormat"].split(" ")
    assert fields == [f"${{{field}}}" for field in FLOW_LOG_FIELDS]
    for needed in (
        "pkt-srcaddr",
        "pkt-dst-aws-service",
        "flow-direction",
        "traffic-path",
        "tcp-flags",
        "az-id",
    ):
        assert f"${{{needed}}}" in fields


@pytest.mark.parametrize(
    ("purpose", "fragment"), [("flow-logs", "FlowLogs"), ("dns-queries", "DnsQueryLogs")]
)
def test_network_logs_go_to_named_encrypted_retained_groups(
    template: Template, purpose: str, fragment: str
) -> None:
    group = _by_id(template, "AWS::Logs::LogGroup", fragment)
    assert group["Properties"] == {
        "LogGroupName": f"{PREFIX}/{purpose}",
        "KmsKeyId": LOGS_KEY,
        "RetentionInDays": 365,
    }
    assert group["DeletionPolicy"] == "Retain"


def test_dns_queries_of_the_vpc_are_logged_to_the_query_log_group(template: Template) -> None:
    (config_id, config) = next(
        iter(resources(template, "AWS::Route53Resolver::ResolverQueryLoggingConfig").items())
    )
    destination = config["Properties"]["DestinationArn"]["Fn::Join"][1]
    assert destination[-2] == ":log-group:"  # the group's ARN without a trailing ':*'
    assert "NetworkDnsQueryLogs" in destination[-1]["Ref"]
    template.has_resource_properties(
        "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation",
        {
            "ResolverQueryLogConfigId": {"Fn::GetAtt": [config_id, "Id"]},
            "ResourceId": {"Ref": Match.string_like_regexp("NetworkVpc")},
        },
    )


def test_the_default_group_closer_writes_only_to_its_own_group(template: Template) -> None:
    # CDK's deploy-time function that strips the default security group
    (role,) = [r for k, r in resources(template, "AWS::IAM::Role").items() if "VpcRestrictDefaultSG" in k]
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWSLambdaBasicExecutionRole (logs on *)
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    (logging,) = [s for s in statements if any(a.startswith("logs:") for a in s["Action"])]
    assert logging["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert "DefaultGroupCloserLogs" in logging["Resource"]["Fn::GetAtt"][0]
    (handler,) = [f for k, f in resources(template, "AWS::Lambda::Function").items() if "VpcRestrict" in k]
    assert "DefaultGroupCloserLogs" in handler["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = _by_id(template, "AWS::Logs::LogGroup", "DefaultGroupCloserLogs")
    assert group["Properties"]["LogGroupName"] == f"{PREFIX}/default-sg-closer"
    assert group["Properties"]["KmsKeyId"] == LOGS_KEY


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


def test_an_interface_endpoint_nothing_uses_fails_synthesis() -> None:
    # GIVEN a Secrets Manager endpoint that no function statement uses
    def build(stack: Stack) -> None:
        _network(stack, interface_services=("kms", "xray", "secretsmanager"))

    # THEN synthesis refuses it rather than give it AWS's allow-all default policy
    with pytest.raises(RuntimeError, match="secretsmanager endpoint carries no statement"):
        stack_template(build)


def test_a_call_with_no_endpoint_fails_synthesis() -> None:
    calls = (
        *CALLS,
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["arn:aws:sqs:eu-west-1:1:q"]),
    )
    with pytest.raises(RuntimeError, match=r"sqs is called \(sqs:SendMessage\) but has no endpoint"):
        stack_template(lambda stack: _network(stack, calls=calls))


def test_a_region_without_network_data_needs_its_prefix_lists() -> None:
    # GIVEN a Region that src/strongroom/regions.py does not know, and no prefix_lists prop
    region = RegionConfig("ap-southeast-7", "10.9.0.0/16", ("ap-southeast-7a", "ap-southeast-7b"))
    with pytest.raises(PropsError) as error:
        stack_template(lambda stack: _network(stack, region=region), region="ap-southeast-7")
    # THEN each gateway service's missing prefix list is named, with where to add it
    assert [p for p in error.value.problems if "src/strongroom/regions.py" in p] == [
        p for p in error.value.problems if p.startswith("prefix_lists: no ")
    ]
    assert len(error.value.problems) == len(regions.GATEWAY_SERVICES)


def test_invalid_props_fail_once_with_every_problem() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _network(
                stack,
                region=CONFIG.region("eu-central-1"),
                interface_services=("kms", "kms", "s3"),
                vpc_props={"nat_gateways": 1},
                log_group_prefix="strongroom/",
                organization_id="my-org",
            )
        )
    problems = error.value.problems
    assert len(problems) == 6, problems
    assert any("does not match the stack's Region" in p for p in problems)
    assert any("repeats" in p for p in problems)
    assert any("s3 is served by a gateway endpoint" in p for p in problems)
    assert any("vpc_props.nat_gateways" in p for p in problems)
    assert any("log_group_prefix 'strongroom/'" in p for p in problems)
    assert any("organization_id 'my-org'" in p for p in problems)
