"""The zero-trust network of one Region: isolated subnets, endpoints, and nothing that reaches out.

No internet gateway, no NAT. Functions reach AWS only through VPC endpoints: gateway endpoints for S3
and DynamoDB (whose policies name only our buckets and tables) and an interface endpoint per other
service a function calls. A missing endpoint is a timeout in production, so the list is explicit and a
test derives it from the functions' IAM actions. Flow logs record all traffic; the default security
group is closed; NACLs allow only HTTPS and its return traffic; DNS Firewall resolves only AWS domains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53resolver as resolver
from constructs import Construct

from strongroom.config import RegionConfig
from strongroom.infra.constructs._props import Check, Problems, acknowledge, merge, retention, skip_checkov

HTTPS = 443
EPHEMERAL = (1024, 65535)

# AWS-managed prefix lists of the gateway-endpoint services, per Region. Security groups can only
# name them by id and CloudFormation cannot look them up (and we do no context lookups), so they are
# data. Verify with `aws ec2 describe-managed-prefix-lists --region <region>`; ids are stable.
MANAGED_PREFIX_LISTS: Mapping[str, Mapping[str, str]] = {
    "eu-west-1": {"s3": "pl-6da54004", "dynamodb": "pl-6fa54006"},
    "eu-central-1": {"s3": "pl-6ea54007", "dynamodb": "pl-66a5400f"},
}

GATEWAY_SERVICES = ("s3", "dynamodb")

# DNS names the functions may resolve: AWS service endpoints (private DNS of the interface endpoints
# answers inside the VPC). Everything else gets NXDOMAIN.
AWS_DOMAINS = ("amazonaws.com", "*.amazonaws.com", "*.api.aws")

_REQUIRED_VPC_PROPS = (
    "ip_addresses",
    "availability_zones",
    "subnet_configuration",
    "nat_gateways",
    "restrict_default_security_group",
    "create_internet_gateway",
)


class PrivateNetwork(Construct):
    """VPC, endpoints, security groups, NACLs, flow logs and DNS Firewall for one Region.

    Give ``existing_vpc`` to harden a VPC made elsewhere (its isolated subnets are used), or let the
    construct create one from ``region`` (CIDR and explicit availability zones), tuned by ``vpc_props``.

    Attributes: ``vpc``, ``subnets``, ``function_security_group``, ``endpoint_security_group``,
    ``interface_endpoints`` (service → endpoint), ``gateway_endpoints`` (service → endpoint),
    ``flow_log_group``, ``network_acl``, ``dns_firewall_rule_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region: RegionConfig,
        logs_key: kms.IKey,
        log_retention_days: int,
        interface_services: Sequence[str],
        existing_vpc: ec2.IVpc | None = None,
        vpc_props: Mapping[str, Any] | None = None,
        prefix_lists: Mapping[str, str] | None = None,
        allowed_domains: Sequence[str] = AWS_DOMAINS,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix_lists = dict(prefix_lists or MANAGED_PREFIX_LISTS.get(region.name, {}))
        problems = Problems("PrivateNetwork")
        problems.check(
            Stack.of(self).region == region.name,
            f"region {region.name} does not match the stack's Region {Stack.of(self).region}",
        )
        problems.check(len(region.availability_zones) >= 2, "region needs at least two availability zones")
        problems.check(
            len(set(interface_services)) == len(interface_services),
            f"interface_services {list(interface_services)} repeats a service",
        )
        for service in interface_services:
            problems.check(
                service not in GATEWAY_SERVICES,
                f"interface_services: {service} is served by a gateway endpoint; remove it",
            )
        for service in GATEWAY_SERVICES:
            problems.check(
                service in prefix_lists,
                f"prefix_lists: no {service} prefix list id for {region.name}; pass prefix_lists="
                "{...} (aws ec2 describe-managed-prefix-lists)",
            )
        problems.check(bool(allowed_domains), "allowed_domains must name at least one domain")
        problems.check(existing_vpc is None or vpc_props is None, "give existing_vpc or vpc_props, not both")
        problems.locked(vpc_props, dict.fromkeys(_REQUIRED_VPC_PROPS), "vpc_props")
        problems.raise_if_any()

        self.vpc: ec2.IVpc = existing_vpc or ec2.Vpc(
            self,
            "Vpc",
            **merge(
                {"enable_dns_hostnames": True, "enable_dns_support": True},
                vpc_props,
                {
                    "ip_addresses": ec2.IpAddresses.cidr(region.cidr),
                    "availability_zones": list(region.availability_zones),
                    "subnet_configuration": [
                        ec2.SubnetConfiguration(
                            name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                        )
                    ],
                    "nat_gateways": 0,
                    "create_internet_gateway": False,
                    "restrict_default_security_group": True,
                },
            ),
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self._explain_default_group_closer()
        self.prefix_lists = prefix_lists

        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="VPC flow logs: write to the flow-log group only",
        )
        iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            roles=[flow_log_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, flow_log_role.without_policy_updates()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            max_aggregation_interval=ec2.FlowLogMaxAggregationInterval.ONE_MINUTE,
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS in from functions only",
            allow_all_outbound=False,
        )
        self.function_security_group = ec2.SecurityGroup(
            self,
            "FunctionSecurityGroup",
            vpc=self.vpc,
            description="Functions: HTTPS out to VPC endpoints only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            self.function_security_group, ec2.Port.tcp(HTTPS), "HTTPS from functions"
        )
        self.function_security_group.add_egress_rule(
            self.endpoint_security_group, ec2.Port.tcp(HTTPS), "HTTPS to interface endpoints"
        )
        for service in GATEWAY_SERVICES:
            self.function_security_group.add_egress_rule(
                ec2.Peer.prefix_list(prefix_lists[service]),
                ec2.Port.tcp(HTTPS),
                f"HTTPS to the {service} gateway endpoint",
            )

        self.gateway_endpoints: dict[str, ec2.GatewayVpcEndpoint] = {
            "s3": self.vpc.add_gateway_endpoint(
                "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
            ),
            "dynamodb": self.vpc.add_gateway_endpoint(
                "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=[self.subnets]
            ),
        }
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            service: self.vpc.add_interface_endpoint(
                f"{service.title().replace('-', '')}Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=self.subnets,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )
            for service in interface_services
        }

        self._gateway_statements = dict.fromkeys(GATEWAY_SERVICES, 0)
        for service in GATEWAY_SERVICES:
            # Without a statement the endpoint would get AWS's default allow-all policy.
            self.node.add_validation(Check(self._policy_problem(service)))
        self.network_acl = self._network_acl(region)
        self.dns_firewall_rule_group = self._dns_firewall(allowed_domains)

    def _explain_default_group_closer(self) -> None:
        """CDK closes the default security group with a deploy-time custom resource (a Lambda function
        outside the VPC); say why checkov's function rules do not apply to it."""
        provider = Stack.of(self).node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.try_find_child("Handler") if provider else None
        if handler is None:
            return
        reason = (
            "CDK's deploy-time custom resource that removes the default security group's rules (the only "
            "way to close it, docs/adr/0016). It runs during deployments only, calls only EC2 control-plane "
            "APIs on that one group, and no event source or caller can invoke it."
        )
        for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
            skip_checkov(handler, check, reason)

    def allow_through_gateway(self, service: str, actions: Sequence[str], resources: Sequence[str]) -> None:
        """Let the gateway endpoint of ``service`` carry ``actions`` on ``resources`` (ours only)."""
        if service not in self.gateway_endpoints:
            raise KeyError(f"no gateway endpoint for {service!r}; gateway services are {GATEWAY_SERVICES}")
        if not actions or not resources or any("*" in a for a in actions):
            raise ValueError(f"{service} endpoint policy needs explicit actions and resources, got {actions}")
        self._gateway_statements[service] += 1
        self.gateway_endpoints[service].add_to_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=list(resources),
                conditions={"StringEquals": {"aws:PrincipalAccount": Stack.of(self).account}},
            )
        )

    def _policy_problem(self, service: str) -> Callable[[], str | None]:
        def problem() -> str | None:
            if self._gateway_statements[service]:
                return None
            return f"the {service} gateway endpoint has no policy; call allow_through_gateway()"

        return problem

    def _network_acl(self, region: RegionConfig) -> ec2.NetworkAcl:
        """Stateless backstop behind the security groups: HTTPS out and in, and the return traffic."""
        acl = ec2.NetworkAcl(self, "Acl", vpc=self.vpc, subnet_selection=self.subnets)
        acknowledge(
            acl,
            "AwsSolutions-VPC3",
            "Deliberate (docs/adr/0016): a stateless backstop behind the security groups that "
            "admits only HTTPS and its return traffic; the security groups stay the primary control.",
        )
        entries: list[tuple[int, ec2.AclCidr, ec2.AclTraffic, ec2.TrafficDirection]] = [
            # Functions → interface endpoints (same VPC) and → S3/DynamoDB via the gateway (public ranges).
            (100, ec2.AclCidr.any_ipv4(), ec2.AclTraffic.tcp_port(HTTPS), ec2.TrafficDirection.EGRESS),
            # Interface endpoints answer functions on their ephemeral ports, inside the VPC only.
            (
                110,
                ec2.AclCidr.ipv4(region.cidr),
                ec2.AclTraffic.tcp_port_range(*EPHEMERAL),
                ec2.TrafficDirection.EGRESS,
            ),
            # Interface endpoints accept HTTPS from inside the VPC only.
            (
                100,
                ec2.AclCidr.ipv4(region.cidr),
                ec2.AclTraffic.tcp_port(HTTPS),
                ec2.TrafficDirection.INGRESS,
            ),
            # Return traffic of the functions' HTTPS calls (NACLs are stateless; S3 and DynamoDB answer
            # from public ranges that no CIDR list can pin). Security groups still admit no new flows.
            (
                110,
                ec2.AclCidr.any_ipv4(),
                ec2.AclTraffic.tcp_port_range(*EPHEMERAL),
                ec2.TrafficDirection.INGRESS,
            ),
        ]
        for number, cidr, traffic, direction in entries:
            acl.add_entry(
                f"{direction.name.title()}{number}",
                rule_number=number,
                cidr=cidr,
                traffic=traffic,
                direction=direction,
                rule_action=ec2.Action.ALLOW,
            )
        return acl

    def _dns_firewall(self, allowed_domains: Sequence[str]) -> resolver.CfnFirewallRuleGroup:
        allowed = resolver.CfnFirewallDomainList(self, "AwsDomains", domains=list(allowed_domains))
        everything = resolver.CfnFirewallDomainList(self, "AllDomains", domains=["*"])
        group = resolver.CfnFirewallRuleGroup(
            self,
            "DnsFirewall",
            firewall_rules=[
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="ALLOW", firewall_domain_list_id=allowed.attr_id, priority=100
                ),
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="BLOCK",
                    block_response="NXDOMAIN",
                    firewall_domain_list_id=everything.attr_id,
                    priority=200,
                ),
            ],
        )
        resolver.CfnFirewallRuleGroupAssociation(
            self,
            "DnsFirewallAssociation",
            firewall_rule_group_id=group.attr_id,
            vpc_id=self.vpc.vpc_id,
            priority=101,
            mutation_protection="ENABLED",
        )
        return group
