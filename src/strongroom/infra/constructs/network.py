"""The zero-trust network of one Region: isolated subnets, endpoints, and nothing that reaches out.

No internet gateway, no NAT. Functions reach AWS only through VPC endpoints, and every endpoint's policy
is derived from the statements of the functions' roles (``allow_through_endpoints``): only the actions
they use, only on the resources they name, and only when principal and resource belong to this account
(or to the organization, when one is configured). A gateway endpoint (S3, DynamoDB) and its prefix-list
route exist only while some function calls that service; every other service a function calls has an
explicit interface endpoint, and a test derives the list from the functions' IAM actions. Flow logs (a
custom format with the fields an investigation needs) and DNS query logs record the traffic; the
default security group is closed; NACLs allow only HTTPS and its return traffic; DNS Firewall
resolves only AWS domains (docs/adr/0016-network-endpoints-prefix-lists-and-dns-firewall.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53resolver as resolver
from constructs import Construct

from strongroom import regions
from strongroom.config import SUBNET_PREFIX, RegionConfig
from strongroom.infra.constructs._props import Check, Problems, merge, retention

HTTPS = 443
EPHEMERAL = (1024, 65535)

GATEWAY_SERVICES = regions.GATEWAY_SERVICES
_GATEWAY_ENDPOINTS = {  # service → (construct id, endpoint service)
    "s3": ("S3Endpoint", ec2.GatewayVpcEndpointAwsService.S3),
    "dynamodb": ("DynamoDbEndpoint", ec2.GatewayVpcEndpointAwsService.DYNAMODB),
}

# Interface endpoint services whose name is not their IAM prefix (Kinesis Data Streams' is kinesis-streams).
_INTERFACE_ENDPOINT_SERVICES = {"kinesis": "kinesis-streams"}

# DNS names the functions may resolve: AWS service endpoints (private DNS of the interface endpoints
# answers inside the VPC). Everything else gets NXDOMAIN.
AWS_DOMAINS = ("amazonaws.com", "*.amazonaws.com", "*.api.aws")

# What each flow-log record carries (custom format): the default fields plus where the packet really
# came from and went to (pkt-*, behind NAT-like hops), which AWS service it was, the path it took, its
# direction, TCP flags and the subnet/AZ, so an investigation can tell endpoint traffic from anything else.
FLOW_LOG_FIELDS = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "flow-direction",
    "traffic-path",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
)

# Conditions that mark a permission another AWS service exercises on the caller's behalf (Secrets
# Manager calling KMS, say): that request never leaves through the VPC's endpoints.
_ON_BEHALF_KEYS = ("kms:ViaService", "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast")
_LOG_GROUP_PREFIX_RE = re.compile(r"^/[A-Za-z0-9._/#-]{1,400}[A-Za-z0-9._#-]$")
_ORGANIZATION_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
_DEFAULT_GROUP_CLOSER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"

_REQUIRED_VPC_PROPS = (
    "ip_addresses",
    "availability_zones",
    "subnet_configuration",
    "nat_gateways",
    "restrict_default_security_group",
    "create_internet_gateway",
)


class PrivateNetwork(Construct):
    """VPC, endpoints, security groups, NACLs, flow and DNS query logs and DNS Firewall for one Region.

    Give ``existing_vpc`` to harden a VPC made elsewhere (its isolated subnets are used), or let the
    construct create one from ``region`` (CIDR and explicit availability zones), tuned by ``vpc_props``.
    Log groups are named ``<log_group_prefix>/flow-logs``, ``/dns-queries`` and ``/default-sg-closer``.
    ``interface_services`` are the services (other than S3 and DynamoDB) the functions call; feed the
    functions' statements to ``allow_through_endpoints`` — an endpoint nothing uses, or a call with no
    endpoint, fails synthesis. ``organization_id`` widens the endpoints' perimeter from this account to
    the organization.

    Attributes: ``vpc``, ``subnets``, ``function_security_group``, ``endpoint_security_group``,
    ``interface_endpoints`` (service → endpoint), ``gateway_endpoints`` (service → endpoint, those in
    use), ``flow_log_group``, ``query_log_group``, ``query_logging``, ``network_acl``,
    ``dns_firewall_rule_group``, ``prefix_lists``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region: RegionConfig,
        logs_key: kms.IKey,
        log_retention_days: int,
        log_group_prefix: str,
        interface_services: Sequence[str],
        organization_id: str | None = None,
        existing_vpc: ec2.IVpc | None = None,
        vpc_props: Mapping[str, Any] | None = None,
        prefix_lists: Mapping[str, str] | None = None,
        allowed_domains: Sequence[str] = AWS_DOMAINS,
    ) -> None:
        super().__init__(scope, construct_id)
        known = regions.REGIONS.get(region.name)
        prefix_lists = dict(prefix_lists or (known.prefix_lists if known else {}))
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
                f"prefix_lists: no {service} prefix list id for {region.name}; add the Region to "
                "src/strongroom/regions.py or pass prefix_lists={...} "
                "(aws ec2 describe-managed-prefix-lists)",
            )
        problems.check(
            bool(_LOG_GROUP_PREFIX_RE.match(log_group_prefix)),
            f"log_group_prefix {log_group_prefix!r} must start with '/' and not end with one",
        )
        problems.check(
            organization_id is None or bool(_ORGANIZATION_RE.match(organization_id)),
            f"organization_id {organization_id!r} is not an organization id (o-…)",
        )
        problems.check(bool(allowed_domains), "allowed_domains must name at least one domain")
        problems.check(existing_vpc is None or vpc_props is None, "give existing_vpc or vpc_props, not both")
        problems.locked(vpc_props, dict.fromkeys(_REQUIRED_VPC_PROPS), "vpc_props")
        problems.raise_if_any()

        self.organization_id = organization_id
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
                            name="isolated",
                            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                            cidr_mask=SUBNET_PREFIX,
                        )
                    ],
                    "nat_gateways": 0,
                    "create_internet_gateway": False,
                    "restrict_default_security_group": True,
                },
            ),
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.prefix_lists = prefix_lists
        self._logs_key = logs_key
        self._log_retention_days = log_retention_days
        self._log_group_prefix = log_group_prefix
        self._close_default_group_quietly()

        self.flow_log_group = self._log_group("FlowLogs", "flow-logs")
        self._flow_logs()

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

        # Gateway endpoints (and the security-group rule to their prefix list) appear on first use.
        self.gateway_endpoints: dict[str, ec2.GatewayVpcEndpoint] = {}
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            service: self.vpc.add_interface_endpoint(
                f"{service.title().replace('-', '')}Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(
                    _INTERFACE_ENDPOINT_SERVICES.get(service, service)
                ),
                subnets=self.subnets,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )
            for service in interface_services
        }
        self._carried: dict[str, int] = dict.fromkeys(interface_services, 0)
        self._unreachable: dict[str, set[str]] = {}
        # Without a statement an endpoint would get AWS's default allow-all policy.
        self.node.add_validation(Check(self._endpoint_problem))

        self.network_acl = self._network_acl(region)
        self.dns_firewall_rule_group = self._dns_firewall(allowed_domains)
        self.query_log_group = self._log_group("DnsQueryLogs", "dns-queries")
        self.query_logging = self._dns_query_logging()

    # --- endpoints ---------------------------------------------------------------------------------

    def allow_through_endpoints(self, statements: Sequence[iam.PolicyStatement]) -> None:
        """Let the VPC's endpoints carry what ``statements`` (a function role's calls from inside the
        VPC) allow: the same actions on the same resources, for principals and resources of this account
        (or organization). A gateway endpoint is created for S3 or DynamoDB on first use."""
        for statement in statements:
            if statement.effect != iam.Effect.ALLOW or self._on_behalf(statement):
                continue
            if statement.not_actions or statement.not_resources or not statement.resources:
                raise ValueError(
                    "allow_through_endpoints needs statements with explicit actions and resources, got "
                    f"{statement.to_statement_json()}"
                )
            by_service: dict[str, list[str]] = {}
            for action in statement.actions:
                by_service.setdefault(action.split(":", 1)[0], []).append(action)
            for service, actions in by_service.items():
                if any("*" in action for action in actions):
                    raise ValueError(f"{service} endpoint policy needs named actions, got {actions}")
                endpoint = self._endpoint_for(service)
                if endpoint is None:
                    self._unreachable.setdefault(service, set()).update(actions)
                    continue
                endpoint.add_to_policy(self._perimeter_statement(actions, statement))
                self._carried[service] += 1

    @staticmethod
    def _on_behalf(statement: iam.PolicyStatement) -> bool:
        conditions: Mapping[str, Mapping[str, Any]] = statement.conditions or {}
        return any(key in keys for keys in conditions.values() for key in _ON_BEHALF_KEYS)

    def _endpoint_for(self, service: str) -> ec2.VpcEndpoint | None:
        if service in self.interface_endpoints:
            return self.interface_endpoints[service]
        if service not in GATEWAY_SERVICES:
            return None
        if service not in self.gateway_endpoints:
            construct_id, endpoint_service = _GATEWAY_ENDPOINTS[service]
            self.gateway_endpoints[service] = self.vpc.add_gateway_endpoint(
                construct_id, service=endpoint_service, subnets=[self.subnets]
            )
            self.function_security_group.add_egress_rule(
                ec2.Peer.prefix_list(self.prefix_lists[service]),
                ec2.Port.tcp(HTTPS),
                f"HTTPS to the {service} gateway endpoint",
            )
            self._carried[service] = 0
        return self.gateway_endpoints[service]

    def _perimeter_statement(
        self, actions: Sequence[str], statement: iam.PolicyStatement
    ) -> iam.PolicyStatement:
        """The role's statement, for any principal of ours, on resources of ours. Where the actions name
        no resource (``*``, e.g. X-Ray's Put* calls) there is no resource owner to check; the principal
        check still applies."""
        account = Stack.of(self).account
        names_resources = "*" not in statement.resources
        if self.organization_id:
            perimeter = {"aws:PrincipalOrgID": self.organization_id}
            if names_resources:
                perimeter["aws:ResourceOrgID"] = self.organization_id
        else:
            perimeter = {"aws:PrincipalAccount": account}
            if names_resources:
                perimeter["aws:ResourceAccount"] = account
        own: Mapping[str, Mapping[str, Any]] = statement.conditions or {}
        conditions = {operator: dict(keys) for operator, keys in own.items()}
        conditions["StringEquals"] = {**conditions.get("StringEquals", {}), **perimeter}
        return iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=list(actions),
            resources=list(statement.resources),
            conditions=conditions,
        )

    def _endpoint_problem(self) -> str | None:
        found = [
            f"the {service} endpoint carries no statement (AWS's default would allow everything); "
            "remove it from interface_services or pass the statements that use it to "
            "allow_through_endpoints()"
            for service, count in self._carried.items()
            if count == 0
        ]
        found += [
            f"{service} is called ({', '.join(sorted(actions))}) but has no endpoint in the VPC; add it "
            "to interface_services"
            for service, actions in sorted(self._unreachable.items())
        ]
        return "; ".join(found) or None

    # --- logs --------------------------------------------------------------------------------------

    def _log_group(self, construct_id: str, purpose: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            log_group_name=f"{self._log_group_prefix}/{purpose}",
            encryption_key=self._logs_key,
            retention=retention(self._log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _flow_logs(self) -> None:
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
            log_format=[ec2.LogFormat.custom(" ".join(f"${{{field}}}" for field in FLOW_LOG_FIELDS))],
        )

    def _dns_query_logging(self) -> resolver.CfnResolverQueryLoggingConfig:
        """Every DNS query from the VPC (answered or blocked by the firewall) into the query-log group.
        Resolver delivers through CloudWatch Logs' log delivery, which adds the group to its resource
        policy when the config is created."""
        stack = Stack.of(self)
        config = resolver.CfnResolverQueryLoggingConfig(
            self,
            "DnsQueryLogging",
            name=f"{stack.stack_name}-dns-queries",
            # The group's ARN without the ':*' that its Arn attribute carries, as Resolver expects.
            destination_arn=stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=self.query_log_group.log_group_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        resolver.CfnResolverQueryLoggingConfigAssociation(
            self,
            "DnsQueryLoggingAssociation",
            resolver_query_log_config_id=config.attr_id,
            resource_id=self.vpc.vpc_id,
        )
        return config

    def _close_default_group_quietly(self) -> None:
        """CDK closes the default security group with a deploy-time custom resource (a Lambda function
        outside the VPC). Give it its own encrypted log group and a role that writes only there, in
        place of AWS's AWSLambdaBasicExecutionRole (logs:* actions on every resource). Why checkov's
        function rules do not apply to it is an entry of policies/exceptions.json."""
        provider = Stack.of(self).node.try_find_child(_DEFAULT_GROUP_CLOSER)
        role = provider.node.try_find_child("Role") if provider else None
        handler = provider.node.try_find_child("Handler") if provider else None
        if provider is None or not isinstance(role, CfnResource) or not isinstance(handler, CfnResource):
            return
        group = self._log_group("DefaultGroupCloserLogs", "default-sg-closer")
        role.add_property_deletion_override("ManagedPolicyArns")
        provider.add_to_role_policy(  # type: ignore[attr-defined]
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": group.log_group_arn,
            }
        )
        # The Ref also orders the group before the function, and the role (with its policy) already is.
        handler.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})

    # --- NACLs and DNS -----------------------------------------------------------------------------

    def _network_acl(self, region: RegionConfig) -> ec2.NetworkAcl:
        """Stateless backstop behind the security groups: HTTPS out and in, and the return traffic."""
        acl = ec2.NetworkAcl(self, "Acl", vpc=self.vpc, subnet_selection=self.subnets)
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
