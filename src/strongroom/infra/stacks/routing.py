"""The routing stack: a Route 53 health check on every Region's deep health, an alarm on each, and — with
a hosted zone configured — the DNS name for callers that do not sign for one Region, with optional ARC
routing controls (docs/adr/0027-dns-routing-and-health-checks.md).

One stack for all Regions, in us-east-1: Route 53 publishes its health checks' metrics there only, so
the alarms on them must be there. Each Region's API host is read at deploy time from that Region's
platform stack output with ``Fn::GetStackOutput``, which CloudFormation resolves across Regions itself:
no context lookup, no custom resource, no parameter for the deployer to pass. It is a weak reference,
so a platform stack stays deployable on its own; the stack dependencies deploy this stack after all of
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Fn, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53recoverycontrol as arc
from constructs import Construct

from strongroom.config import PlatformConfig
from strongroom.infra.constructs._props import Problems
from strongroom.infra.constructs.keys import Keys, KeyUse
from strongroom.infra.constructs.observability import (
    HEALTH_CHECK_METRICS_REGION,
    MonitoredHealthCheck,
    Observability,
)
from strongroom.infra.stacks._base import StrongroomStack, named_output
from strongroom.infra.stacks.regional import API_HOST_OUTPUT, DNS_TARGET_OUTPUT
from strongroom.runtime.routes import deep_health_search_string

# Where the health checks' metrics, and so their alarms, are.
ROUTING_REGION = HEALTH_CHECK_METRICS_REGION
HTTPS_PORT = 443
RUNBOOK = "region-evacuation"
ALARM_KEY = "alarms"  # the data class of the topic's key: alias/<prefix>/alarms
# How long ARC's safety rule waits after a routing control changes before it evaluates the next change.
SAFETY_RULE_WAIT_MS = 5000


def camel(region: str) -> str:
    """``eu-west-1`` → ``EuWest1``: a Region in an output's or a logical id's name."""
    return "".join(part.title() for part in region.split("-"))


def health_check_output(region: str) -> str:
    """The name of the output holding ``region``'s health check id."""
    return f"HealthCheck{camel(region)}"


@dataclass(frozen=True, slots=True)
class RegionalEndpoint:
    """Where one Region's API answers: its platform stack (whose ``ApiHost`` output names the host, and
    ``DnsNameTarget`` what the DNS name points at) and deep health's path on that host."""

    region: str
    stack_name: str
    health_path: str

    def output(self, name: str) -> str:
        return Fn.get_stack_output(self.stack_name, name, self.region)


@dataclass(frozen=True, slots=True)
class RecoveryControls:
    """ARC: a cluster, a control panel, one routing control per Region and a safety rule keeping at least
    one Region on. ``health_checks`` are the RECOVERY_CONTROL checks (healthy while a control is on)."""

    cluster: arc.CfnCluster
    control_panel: arc.CfnControlPanel
    routing_controls: dict[str, arc.CfnRoutingControl]
    safety_rule: arc.CfnSafetyRule
    health_checks: dict[str, route53.CfnHealthCheck]


class RoutingStack(StrongroomStack):
    """Attributes: ``health_checks`` and ``health_check_ids`` (Region → the HTTPS check on its deep
    health, its id), ``alarms`` (Region → the alarm on that check), ``record_health_checks`` (Region →
    the check its record uses: the HTTPS check, or with ARC a calculated check needing it and the
    Region's routing control), ``records`` (Region → its record; empty without a hosted zone),
    ``recovery_controls`` (or None), ``observability``, ``keys``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        endpoints: Sequence[RegionalEndpoint],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            region=ROUTING_REGION,
            description="Strongroom routing: Route 53 health checks of every Region, alarms, DNS name",
        )
        self._validate(config, endpoints)
        prefix = config.names.prefix
        self.health_checks = {e.region: self._deep_health_check(config, e) for e in endpoints}
        self.health_check_ids = {r: check.attr_health_check_id for r, check in self.health_checks.items()}
        for region, check_id in self.health_check_ids.items():
            named_output(self, health_check_output(region), check_id, f"{region}'s deep health check")

        alarm_prefix = f"{prefix}-routing"
        self.keys = Keys(
            self,
            "Keys",
            names=config.names,
            key_admin_role=config.security.key_admin_role,
            break_glass_role=config.security.break_glass_role,
            data_classes=(ALARM_KEY,),
            uses={ALARM_KEY: KeyUse(services=("sns",), alarm_topics=True)},
            alarm_name_prefix=alarm_prefix,
        )
        self.observability = Observability(
            self,
            "Observability",
            alarm_prefix=alarm_prefix,
            topic_key=self.keys.key(ALARM_KEY),
            thresholds=config.alarms,
            health_checks=[
                MonitoredHealthCheck(
                    e.region, self.health_check_ids[e.region], f"{e.region}'s deep health", RUNBOOK
                )
                for e in endpoints
            ],
            alarm_email=config.security.alarm_email,
            external_topic_arn=config.security.alarm_topic_arn_in(ROUTING_REGION),
        )
        self.alarms: dict[str, cloudwatch.Alarm] = dict(self.observability.health_checks)

        self.recovery_controls = (
            self._recovery_controls(config, endpoints) if config.dns.arc_routing_controls else None
        )
        self.record_health_checks = (
            {e.region: self._both(config, e.region, self.recovery_controls) for e in endpoints}
            if self.recovery_controls is not None
            else dict(self.health_checks)
        )
        self.records = self._records(config, endpoints)

    @staticmethod
    def _validate(config: PlatformConfig, endpoints: Sequence[RegionalEndpoint]) -> None:
        problems = Problems("RoutingStack")
        regions = [e.region for e in endpoints]
        configured = [r.name for r in config.regions]
        problems.check(
            sorted(regions) == sorted(configured),
            f"endpoints: one per configured Region ({', '.join(configured)}), "
            f"got {', '.join(regions) or 'none'}",
        )
        for endpoint in endpoints:
            problems.check(
                not Token.is_unresolved(endpoint.health_path)
                and not Token.is_unresolved(endpoint.stack_name),
                f"endpoints: {endpoint.region}'s stack_name and health_path must be literal text, not tokens "
                "(a token would become a cross-Region reference)",
            )
            problems.check(
                endpoint.health_path.startswith("/")
                and endpoint.health_path.endswith(config.health_check.path),
                f"endpoints: {endpoint.region}'s health_path {endpoint.health_path!r} does not end with "
                f"{config.health_check.path}",
            )
        problems.raise_if_any()

    def _deep_health_check(
        self, config: PlatformConfig, endpoint: RegionalEndpoint
    ) -> route53.CfnHealthCheck:
        h = config.health_check
        return route53.CfnHealthCheck(
            self,
            f"DeepHealth-{endpoint.region}",
            health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                type="HTTPS_STR_MATCH",
                fully_qualified_domain_name=endpoint.output(API_HOST_OUTPUT),
                port=HTTPS_PORT,
                resource_path=endpoint.health_path,
                search_string=deep_health_search_string(endpoint.region),
                # API Gateway serves many APIs on one address: without SNI the TLS handshake fails.
                enable_sni=True,
                request_interval=h.interval_seconds,
                failure_threshold=h.failure_threshold,
                regions=list(h.checker_regions),
                # Connection, TLS and first-byte times per checker Region tell a slow Region from a dead
                # one; it cannot be turned on once the check exists.
                measure_latency=True,
            ),
            health_check_tags=self._tags(config, endpoint.region, "deep-health"),
        )

    @staticmethod
    def _tags(
        config: PlatformConfig, region: str, purpose: str
    ) -> list[route53.CfnHealthCheck.HealthCheckTagProperty]:
        return [
            route53.CfnHealthCheck.HealthCheckTagProperty(
                key="Name", value=f"{config.names.prefix}-{region}-{purpose}"
            ),
            route53.CfnHealthCheck.HealthCheckTagProperty(key="strongroom:region", value=region),
        ]

    def _recovery_controls(
        self, config: PlatformConfig, endpoints: Sequence[RegionalEndpoint]
    ) -> RecoveryControls:
        """An operator turns a Region's routing control off to take it out of the records by hand; the
        safety rule refuses a change that would leave no Region on. New routing controls start off."""
        prefix = config.names.prefix
        cluster = arc.CfnCluster(self, "RecoveryCluster", name=f"{prefix}-routing")
        panel = arc.CfnControlPanel(
            self, "ControlPanel", name=f"{prefix}-regions", cluster_arn=cluster.attr_cluster_arn
        )
        controls = {
            e.region: arc.CfnRoutingControl(
                self,
                f"RoutingControl-{e.region}",
                name=f"{prefix}-{e.region}",
                cluster_arn=cluster.attr_cluster_arn,
                control_panel_arn=panel.attr_control_panel_arn,
            )
            for e in endpoints
        }
        rule = arc.CfnSafetyRule(
            self,
            "AtLeastOneRegionOn",
            name=f"{prefix}-at-least-one-region",
            control_panel_arn=panel.attr_control_panel_arn,
            assertion_rule=arc.CfnSafetyRule.AssertionRuleProperty(
                asserted_controls=[c.attr_routing_control_arn for c in controls.values()],
                wait_period_ms=SAFETY_RULE_WAIT_MS,
            ),
            rule_config=arc.CfnSafetyRule.RuleConfigProperty(inverted=False, threshold=1, type="ATLEAST"),
        )
        checks = {
            region: route53.CfnHealthCheck(
                self,
                f"RoutingControlCheck-{region}",
                health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                    type="RECOVERY_CONTROL", routing_control_arn=control.attr_routing_control_arn
                ),
                health_check_tags=self._tags(config, region, "routing-control"),
            )
            for region, control in controls.items()
        }
        for region, control in controls.items():
            name = f"RoutingControl{camel(region)}"
            named_output(self, name, control.attr_routing_control_arn, f"{region}'s routing control")
        named_output(self, "RecoveryClusterArn", cluster.attr_cluster_arn)
        return RecoveryControls(cluster, panel, controls, rule, checks)

    def _both(
        self, config: PlatformConfig, region: str, controls: RecoveryControls
    ) -> route53.CfnHealthCheck:
        """Healthy only while the Region's deep health passes and its routing control is on."""
        return route53.CfnHealthCheck(
            self,
            f"RecordCheck-{region}",
            health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                type="CALCULATED",
                child_health_checks=[
                    self.health_checks[region].attr_health_check_id,
                    controls.health_checks[region].attr_health_check_id,
                ],
                health_threshold=2,
            ),
            health_check_tags=self._tags(config, region, "deep-health-and-control"),
        )

    def _records(
        self, config: PlatformConfig, endpoints: Sequence[RegionalEndpoint]
    ) -> dict[str, route53.CfnRecordSet]:
        """``<label>.<domain>``: a CNAME per Region to that Region's custom domain, answered only while
        its health check passes. Latency: every healthy Region, the caller's nearest first; failover: the
        primary Region while healthy, else the other. CNAME, not alias, so the configured TTL applies."""
        dns, name = config.dns, config.dns.record_name
        if name is None or dns.hosted_zone_id is None:
            return {}
        primary = config.primary_region.name
        records = {}
        for endpoint in endpoints:
            region = endpoint.region
            latency = dns.routing == "latency"
            records[region] = route53.CfnRecordSet(
                self,
                f"Record-{region}",
                hosted_zone_id=dns.hosted_zone_id,
                name=f"{name}.",
                type="CNAME",
                ttl=str(config.health_check.dns_ttl_seconds),
                resource_records=[endpoint.output(DNS_TARGET_OUTPUT)],
                set_identifier=region,
                health_check_id=self.record_health_checks[region].attr_health_check_id,
                region=region if latency else None,
                failover=None if latency else ("PRIMARY" if region == primary else "SECONDARY"),
            )
        return records
