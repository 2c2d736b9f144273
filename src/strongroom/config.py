"""The typed, frozen platform configuration: the single source for CDK, local mode, drills and PRR.

Precedence for every setting: explicit argument to :func:`load_config`, then the environment
(variable names in :mod:`strongroom.constants`), then the default below. Every invalid value is
reported in one :class:`ConfigError` whose lines name the setting and its environment variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from strongroom import constants as env
from strongroom import regions as region_data
from strongroom.errors import UserError
from strongroom.runtime.problems import DEFAULT_PROBLEM_TYPE_BASE, checked_problem_type_base

Consistency = Literal["strong", "eventual"]
CONSISTENCY_MODES: tuple[Consistency, ...] = ("strong", "eventual")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS_ALLOWED = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# Route 53 health checks support exactly these request intervals.
HEALTH_CHECK_INTERVALS_ALLOWED = frozenset({10, 30})
# Route 53 runs health checkers from these Regions only, and a health check names at least three of them
# (botocore's route53 model: HealthCheckRegion, and HealthCheckRegionList's minimum).
HEALTH_CHECKER_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)
MIN_HEALTH_CHECKER_REGIONS = 3
# Route 53's minimum, the nearest to the EU Regions: fewer probes of the throttled /health/deep than all
# eight Regions send (docs/adr/0027-dns-routing-and-health-checks.md).
DEFAULT_CHECKER_REGIONS = ("eu-west-1", "us-east-1", "us-west-2")
DnsRouting = Literal["latency", "failover"]
DNS_ROUTINGS: tuple[DnsRouting, ...] = ("latency", "failover")
# The largest body limit the API's WAF can enforce: it inspects at most 64 KiB of an API Gateway request
# body, so a larger limit could not be checked in front of the function (docs/adr/0022-api-firewall.md).
MAX_BODY_BYTES = 65_536

_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,19}$")

DEFAULT_REGIONS = ("eu-west-1", "eu-central-1")
DEFAULT_CIDRS = {"eu-west-1": "10.1.0.0/16", "eu-central-1": "10.5.0.0/16"}
# PrivateNetwork gives each availability zone one subnet of this size, carved in order from the
# Region's CIDR; load_config refuses a CIDR too small to hold them all.
SUBNET_PREFIX = 20


class ConfigError(UserError, ValueError):
    """One or more settings are invalid; each line names the setting and how to set it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid Strongroom configuration:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True, slots=True)
class RegionConfig:
    """One active Region: its network and the availability zones it uses (explicit: no lookups)."""

    name: str
    cidr: str
    availability_zones: tuple[str, ...]

    def subnet_cidrs(self) -> tuple[str, ...]:
        """One /20 per availability zone, carved from the Region's CIDR in order (as PrivateNetwork
        does); ValueError when the CIDR cannot hold them."""
        return _carve(self.cidr, len(self.availability_zones))


def _carve(cidr: str, zones: int) -> tuple[str, ...]:
    network = ipaddress.ip_network(cidr)
    available = 2 ** (SUBNET_PREFIX - network.prefixlen) if network.prefixlen <= SUBNET_PREFIX else 0
    if available < zones:
        raise ValueError(f"{cidr} holds {available} /{SUBNET_PREFIX} subnet(s), not {zones}")
    subnets = network.subnets(new_prefix=SUBNET_PREFIX)
    return tuple(str(next(subnets)) for _ in range(zones))


@dataclass(frozen=True, slots=True)
class HealthCheckConfig:
    """Route 53 health-check values; the local Region router applies the same ones."""

    path: str = "/health/deep"
    interval_seconds: int = 10
    # Defaults meet a 60 s budget for DNS callers: 10 s x 2 + 5 s shared result + 30 s TTL + 5 s
    # retry (docs/adr/0025 weighs false failovers against detection time).
    failure_threshold: int = 2
    dns_ttl_seconds: int = 30
    client_retry_seconds: int = 5
    # How long a function shares one deep-health result (docs/adr/0005): a flood of anonymous probes
    # costs at most one canary write per execution environment per this many seconds.
    deep_check_sharing_seconds: int = 5
    checker_regions: tuple[str, ...] = DEFAULT_CHECKER_REGIONS  # where Route 53's checkers probe from

    def detection_seconds(self) -> int:
        """Worst case from failure to unhealthy: a shared result can be this much older than the probe."""
        return self.interval_seconds * self.failure_threshold + self.deep_check_sharing_seconds

    def rto_budget_seconds(self) -> int:
        """Worst-case time to move traffic: detect the failure, expire cached DNS, client retries."""
        return self.detection_seconds() + self.dns_ttl_seconds + self.client_retry_seconds


# The tiers an AWS::ResilienceHub::ResiliencyPolicy accepts.
ResilienceTier = Literal["MissionCritical", "Critical", "Important", "CoreServices", "NonCritical"]
RESILIENCE_TIERS: tuple[ResilienceTier, ...] = (
    "MissionCritical",
    "Critical",
    "Important",
    "CoreServices",
    "NonCritical",
)


@dataclass(frozen=True, slots=True)
class ResiliencePolicy:
    """The objectives the Resilience Hub policy holds the platform to (docs/adr/0028). ``rto_seconds`` and
    ``rpo_seconds`` are the Region-failure objectives: ``rto_seconds`` is what the DNS path's budget
    (detection + TTL + retry) must meet; `strongroom synth` fails when it does not. An AZ or hardware
    failure gets the same objectives: whatever a Region cannot absorb, it fails over. A software failure
    (a bad release, a bug that corrupts data) is recovered by redeploying or restoring from PITR."""

    rto_seconds: int = 60
    rpo_seconds: int = 0
    tier: ResilienceTier = "MissionCritical"
    software_rto_seconds: int = 3600
    software_rpo_seconds: int = 300


@dataclass(frozen=True, slots=True)
class FaultInjectionConfig:
    """AWS FIS drills (docs/adr/0028-fault-injection-and-resilience-hub.md): how long each injected fault
    lasts (to show a failover, longer than the RTO budget), and whether the API function carries the
    FIS Lambda extension that the lambda-errors and lambda-latency templates need. The extension is a
    layer in the production function's invocation path, so it is off unless asked for, and those two
    templates exist only when it is on."""

    duration_minutes: int = 10
    lambda_extension: bool = False


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """The DNS name for callers that do not sign for one Region (docs/adr/0027). Without a hosted zone
    and a domain no record is made; the health checks and their alarms are made either way."""

    domain_name: str | None = None  # a domain of the hosted zone, e.g. bank.example
    hosted_zone_id: str | None = None
    record_label: str = "api"  # the record is <label>.<domain>
    # latency: every healthy Region answers, the nearest first; failover: the primary, else the other.
    routing: DnsRouting = "latency"
    # ARC routing controls let an operator switch a Region out of the records by hand. Off by default:
    # an ARC cluster is billed by the hour whether it is used or not.
    arc_routing_controls: bool = False

    @property
    def record_name(self) -> str | None:
        """``<label>.<domain>`` when records are made, else None."""
        if self.domain_name is None or self.hosted_zone_id is None:
            return None
        return f"{self.record_label}.{self.domain_name}"


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    log_days: int = 365  # function and API logs carry audit events: at least a year
    audit_days: int = 2557  # audit-table items expire (TTL) after seven years
    # AWS Backup keeps each daily recovery point of the tables (and its copy in the other Region) this
    # long; the vaults' lock holds every recovery point at least this long (docs/adr/0026-table-backups.md).
    backup_days: int = 35


@dataclass(frozen=True, slots=True)
class ApiLimits:
    max_body_bytes: int = 8192
    page_size_default: int = 20
    page_size_max: int = 100
    throttle_rate_per_second: int = 100
    throttle_burst: int = 200
    # /health* only: public, so capped apart from the money routes (TransactionApi explains the numbers).
    health_throttle_rate_per_second: int = 10
    health_throttle_burst: int = 20
    waf_requests_per_ip_per_5min: int = 1000  # WAF rate-based rule: more from one address is blocked


@dataclass(frozen=True, slots=True)
class FunctionLimits:
    """Sizing of a deployed function: explicit, so cost and blast radius are reviewed, not defaulted."""

    memory_mb: int = 512
    timeout_seconds: int = 10  # API Gateway gives up at 29 s; SDK timeouts and retries fit well inside 10
    reserved_concurrency: int = 50  # at ~50 ms per request, ample for the stage's 100 req/s throttle


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """The ingestion and outbox pipelines (docs/adr/0033-pipeline-infrastructure.md): how many times the
    ingest queue delivers a message before it moves it to the dead-letter queue (SQS maxReceiveCount)."""

    ingest_max_receives: int = 5


# CodeDeploy's predefined Lambda canaries (10 % first, the rest after 5, 10, 15 or 30 minutes); any other
# percentage or interval becomes a custom deployment configuration of the platform stack.
CANARY_PERCENT_RANGE = (1, 99)
CANARY_MINUTES_RANGE = (1, 2880)


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    """How a new release of a function takes traffic (docs/adr/0039-signed-code-and-canary-releases.md):
    CodeDeploy shifts ``canary_percent`` of the ``live`` alias's traffic to the new version, waits
    ``canary_minutes`` watching the release's alarms, then shifts the rest; an alarm or a failed smoke
    hook rolls the alias back. A canary no shorter than the alarms' evaluation (5 one-minute periods)
    gives them time to fire before the rest of the traffic moves."""

    canary_percent: int = 10
    canary_minutes: int = 5

    @property
    def name(self) -> str:
        """CodeDeploy's name for the predefined configuration of this shape."""
        return f"CodeDeployDefault.LambdaCanary{self.canary_percent}Percent{self.canary_minutes}Minutes"


@dataclass(frozen=True, slots=True)
class ServiceQuotas:
    """The account quotas the platform leans on hardest, as the account has them applied (Service
    Quotas cannot be read at synth: set these to the account's values). An alarm fires when usage
    reaches ``alarm_percent`` of a quota, before it binds (docs/adr/0043-service-quota-alarms.md)."""

    lambda_concurrency: int = 1000  # concurrent executions per account and Region
    api_requests_per_second: int = 10_000  # API Gateway's steady-state rate per account and Region
    alarm_percent: int = 80

    def threshold(self, quota: int) -> float:
        return quota * self.alarm_percent / 100


@dataclass(frozen=True, slots=True)
class AlarmThresholds:
    """When an alarm fires. Periods are one minute; an alarm needs 3 breaching minutes out of 5."""

    function_errors: int = 5
    function_throttles: int = 1
    function_p99_duration_ratio: float = 0.8  # of the function's timeout
    api_5xx_rate_percent: float = 1.0
    api_4xx_rate_percent: float = 10.0
    api_p99_latency_ms: int = 2000
    dlq_visible_messages: int = 1
    iterator_age_ms: int = 60_000
    dynamodb_throttled_requests: int = 1
    replication_latency_ms: int = 10_000  # MREC only: MRSC replicates synchronously
    deep_health_failures: int = 1  # failed deep-health runs per minute (each run counts once)


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """Who administers and who may destroy keys, which organization counts as ours, where alarms go,
    how long audit evidence is locked, and how the firewall and secret rotation behave."""

    key_admin_role: str = "strongroom-key-admin"  # a role name in the account, or a role ARN
    break_glass_role: str = "strongroom-break-glass"  # the only principal that may delete or disable keys
    organization_id: str | None = None  # endpoint policies then accept the organization, not just the account
    alarm_email: str | None = None
    # An existing topic (an incident tool, Chatbot) alarms also publish to. CloudWatch publishes only to
    # a topic in the alarm's own Region, so each Region uses the topic of this account and name in that
    # Region: alarm_topic_arn_in(region) (docs/adr/0021-alarms-and-audit-evidence.md).
    alarm_topic_arn: str | None = None
    object_lock_days: int = (
        2557  # governance-mode retention of log and audit objects; default: audit retention
    )
    # The anonymous-IP group's HostingProviderIPList rule: "count" because machine callers run on cloud
    # hosts; Tor, VPN and proxy addresses are blocked either way (docs/adr/0022-api-firewall.md).
    waf_anonymous_ip_action: Literal["count", "block"] = "count"
    secret_rotation_days: int = 30

    def alarm_topic_arn_in(self, region: str) -> str | None:
        """``alarm_topic_arn`` with its Region replaced by ``region`` (None when not configured)."""
        if self.alarm_topic_arn is None:
            return None
        parts = self.alarm_topic_arn.split(":")
        return ":".join([*parts[:3], region, *parts[4:]])


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """Physical names, derived from the prefix so every Region and the local mode agree."""

    prefix: str

    @property
    def transactions_table(self) -> str:
        return f"{self.prefix}-transactions"

    @property
    def audit_table(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def customer_index(self) -> str:
        return "byCustomer"

    def backup_vault(self, region: str) -> str:
        """The tables' backup vault in ``region``: named, so another Region's plan can copy into it."""
        return f"{self.prefix}-tables-{region}"

    def key_alias(self, data_class: str) -> str:
        return f"alias/{self.prefix}/{data_class}"

    # The pipelines (ingestion and the outbox publisher), one of each per Region.
    def ingest_bucket(self, region: str) -> str:
        return f"{self.prefix}-ingest-{region}"

    def ingest_queue(self, region: str) -> str:
        return f"{self.prefix}-ingest-{region}"

    def ingest_dlq(self, region: str) -> str:
        return f"{self.prefix}-ingest-dlq-{region}"

    def event_stream(self, region: str) -> str:
        return f"{self.prefix}-events-{region}"

    def publisher_dlq(self, region: str) -> str:
        return f"{self.prefix}-publisher-dlq-{region}"

    # The logs key admits only log groups matching log_group_patterns() (docs/adr/0020): a group the
    # platform names itself is log_group(...); the other forms are fixed by the AWS service.
    def log_group(self, purpose: str) -> str:
        return f"/{self.prefix}/{purpose}"

    def log_group_patterns(self) -> tuple[str, ...]:
        return (
            self.log_group("*"),  # API access logs, VPC flow logs, DNS query logs
            f"/aws/lambda/{self.prefix}-*",  # Lambda writes to /aws/lambda/<function name>
            f"aws-waf-logs-{self.prefix}-*",  # WAF delivers only to groups named aws-waf-logs-…
            "API-Gateway-Execution-Logs_*",  # API Gateway names it after the API id: unknown beforehand
        )

    # The Region's keys let roles named workload_roles(region) use them directly (docs/adr/0020).
    def workload_role(self, region: str, purpose: str) -> str:
        return f"{self.prefix}-{region}-{purpose}"

    def workload_roles(self, region: str) -> str:
        return self.workload_role(region, "*")


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    names: ResourceNames
    regions: tuple[RegionConfig, ...]
    witness_region: str
    consistency: Consistency
    replication_lag_seconds: float = 1.0
    health_check: HealthCheckConfig = field(default_factory=HealthCheckConfig)
    resilience: ResiliencePolicy = field(default_factory=ResiliencePolicy)
    fault_injection: FaultInjectionConfig = field(default_factory=FaultInjectionConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    api: ApiLimits = field(default_factory=ApiLimits)
    api_function: FunctionLimits = field(default_factory=FunctionLimits)
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    quotas: ServiceQuotas = field(default_factory=ServiceQuotas)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    # Each problem's `type` is this base + slug (docs/adr/0017-problem-type-uris-that-cannot-be-hijacked.md)
    problem_type_base: str = DEFAULT_PROBLEM_TYPE_BASE
    security: SecurityConfig = field(default_factory=SecurityConfig)

    @property
    def primary_region(self) -> RegionConfig:
        return self.regions[0]

    def region(self, name: str) -> RegionConfig:
        for region in self.regions:
            if region.name == name:
                return region
        configured = ", ".join(r.name for r in self.regions)
        raise ConfigError(
            [f"region {name!r} is not configured (configured: {configured}); set {env.ENV_REGIONS}"]
        )

    def function_environment(self) -> dict[str, str]:
        """What every API function is told by the configuration, deployed or local. Whoever creates the
        function adds the resources' names and ``constants.FUNCTION_ENVIRONMENT``."""
        return {
            env.ENV_MAX_BODY_BYTES: str(self.api.max_body_bytes),
            env.ENV_PAGE_SIZE_MAX: str(self.api.page_size_max),
            env.ENV_PROBLEM_TYPE_BASE: self.problem_type_base,
            env.ENV_DEEP_HEALTH_INTERVAL: str(self.health_check.deep_check_sharing_seconds),
        }

    def rpo_seconds(self) -> float:
        """The data loss a Region failure can cause: zero under MRSC, the replication lag under MREC."""
        return 0.0 if self.consistency == "strong" else self.replication_lag_seconds

    def meets_resilience_policy(self) -> bool:
        return (
            self.health_check.rto_budget_seconds() <= self.resilience.rto_seconds
            and self.rpo_seconds() <= self.resilience.rpo_seconds
        )


T = TypeVar("T")


class _Resolver:
    """Applies argument → environment → default and collects every problem before failing."""

    def __init__(self, overrides: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self.overrides = overrides
        self.environ = environ
        self.problems: list[str] = []

    def get(self, setting: str, variable: str, parse: Callable[[str], T], default: T) -> T:
        if setting in self.overrides and self.overrides[setting] is not None:
            raw, source = self.overrides[setting], f"argument {setting}"
        elif variable in self.environ:
            raw, source = self.environ[variable], f"environment {variable}"
        else:
            return default
        try:
            return parse(raw) if isinstance(raw, str) else _validated(parse, raw)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"{setting} ({source}): {exc}; set {variable} or pass {setting}=")
            return default

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(message)


def _validated(parse: Callable[[str], T], value: Any) -> T:
    """Explicit arguments may be typed already; re-run them through the parser as text."""
    if isinstance(value, (tuple, list)):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, Mapping):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    return parse(str(value))


def _int_in(
    low: int, high: int, allowed: frozenset[int] | None = None, *, why: str = ""
) -> Callable[[str], int]:
    """A whole number in low..high (and in ``allowed``); ``why`` explains the bounds in the message."""

    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
        if allowed is not None and value not in allowed:
            raise ValueError(f"{value} is not one of {', '.join(map(str, sorted(allowed)))}")
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}" + (f" ({why})" if why else ""))
        return value

    return parse


def _float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _tier(raw: str) -> ResilienceTier:
    value = raw.strip().lower()
    for tier in RESILIENCE_TIERS:
        if value == tier.lower():
            return tier
    raise ValueError(f"{raw!r} is not one of {', '.join(RESILIENCE_TIERS)}")


def _region(raw: str) -> str:
    value = raw.strip()
    if not _REGION_RE.match(value):
        raise ValueError(f"{value!r} is not an AWS Region name such as eu-west-1")
    return value


def _regions(raw: str) -> tuple[str, ...]:
    names = tuple(_region(part) for part in raw.split(",") if part.strip())
    if len(names) < 1:
        raise ValueError("at least one Region is required")
    if len(set(names)) != len(names):
        raise ValueError(f"{raw!r} names a Region twice")
    return names


def _cidrs(raw: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        region, sep, cidr = part.partition("=")
        if not sep:
            raise ValueError(f"{part!r} is not REGION=CIDR")
        network = ipaddress.ip_network(cidr.strip(), strict=True)
        if not (
            isinstance(network, ipaddress.IPv4Network)
            and network.is_private
            and 16 <= network.prefixlen <= 20
        ):
            raise ValueError(f"{cidr.strip()!r} must be a private IPv4 network from /16 to /20")
        result[_region(region)] = str(network)
    return result


def _consistency(raw: str) -> Consistency:
    value = raw.strip().lower()
    for mode in CONSISTENCY_MODES:
        if value == mode:
            return mode
    raise ValueError(f"{raw!r} is not one of {', '.join(CONSISTENCY_MODES)}")


def _prefix(raw: str) -> str:
    value = raw.strip()
    if not _PREFIX_RE.match(value):
        raise ValueError(
            f"{value!r} must be 2-20 lowercase letters, digits or hyphens, starting with a letter"
        )
    return value


def _region_networks(r: _Resolver, region_names: tuple[str, ...], cidrs: Mapping[str, str]) -> None:
    """Each active Region has network data (src/strongroom/regions.py) and a CIDR that holds one
    /20 subnet per availability zone."""
    for name in region_names:
        data = region_data.REGIONS.get(name)
        if data is None:
            r.check(
                False,
                f"regions ({env.ENV_REGIONS}): {name} has no network data; add its availability zones and "
                f"the ids of its {' and '.join(region_data.GATEWAY_SERVICES)} prefix lists to REGIONS in "
                f"src/strongroom/regions.py (aws ec2 describe-availability-zones / "
                f"describe-managed-prefix-lists --region {name}), or remove it from {env.ENV_REGIONS}",
            )
            continue
        for problem in region_data.problems(name, data):
            r.check(
                False, f"regions ({env.ENV_REGIONS}): {problem}; fix its entry in src/strongroom/regions.py"
            )
        zones = len(data.availability_zones)
        if name in cidrs:
            try:
                _carve(cidrs[name], zones)
            except ValueError:
                largest = SUBNET_PREFIX - (zones - 1).bit_length()
                r.check(
                    False,
                    f"cidrs ({env.ENV_CIDRS}): {name}={cidrs[name]} cannot hold {zones} /{SUBNET_PREFIX} "
                    f"subnets (one per availability zone); give {name} a /{largest} or larger, "
                    f"e.g. {name}=10.x.0.0/16",
                )


def load_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> PlatformConfig:
    """Build the platform configuration. Keyword arguments win over ``environ`` (default ``os.environ``)."""
    r = _Resolver(overrides, os.environ if environ is None else environ)
    prefix = r.get("name_prefix", env.ENV_NAME_PREFIX, _prefix, "strongroom")
    region_names: tuple[str, ...] = r.get("regions", env.ENV_REGIONS, _regions, DEFAULT_REGIONS)
    no_cidrs: dict[str, str] = {}
    cidrs = {**DEFAULT_CIDRS, **r.get("cidrs", env.ENV_CIDRS, _cidrs, no_cidrs)}
    witness = r.get("witness_region", env.ENV_WITNESS_REGION, _region, "eu-west-2")
    default_consistency: Consistency = "strong"
    consistency = r.get("consistency", env.ENV_CONSISTENCY, _consistency, default_consistency)
    health = HealthCheckConfig(
        interval_seconds=r.get(
            "health_check_interval_seconds",
            env.ENV_HEALTH_INTERVAL,
            _int_in(10, 30, HEALTH_CHECK_INTERVALS_ALLOWED),
            10,
        ),
        failure_threshold=r.get(
            "health_check_failure_threshold", env.ENV_HEALTH_FAILURE_THRESHOLD, _int_in(1, 10), 2
        ),
        dns_ttl_seconds=r.get("dns_ttl_seconds", env.ENV_DNS_TTL, _int_in(0, 86400), 30),
        client_retry_seconds=r.get("client_retry_seconds", env.ENV_CLIENT_RETRY, _int_in(0, 600), 5),
        deep_check_sharing_seconds=r.get(
            "deep_check_sharing_seconds", env.ENV_DEEP_HEALTH_INTERVAL, _int_in(0, 30), 5
        ),
        checker_regions=r.get(
            "health_checker_regions",
            env.ENV_HEALTH_CHECKER_REGIONS,
            _checker_regions,
            DEFAULT_CHECKER_REGIONS,
        ),
    )
    resilience = ResiliencePolicy(
        rto_seconds=r.get("rto_seconds", env.ENV_RTO, _int_in(1, 7 * 86400), 60),
        rpo_seconds=r.get("rpo_seconds", env.ENV_RPO, _int_in(0, 86400), 0),
        tier=r.get("resilience_tier", env.ENV_RESILIENCE_TIER, _tier, "MissionCritical"),
        software_rto_seconds=r.get("software_rto_seconds", env.ENV_SOFTWARE_RTO, _int_in(1, 7 * 86400), 3600),
        software_rpo_seconds=r.get("software_rpo_seconds", env.ENV_SOFTWARE_RPO, _int_in(0, 86400), 300),
    )
    fault_injection = FaultInjectionConfig(
        duration_minutes=r.get(
            "fis_duration_minutes",
            env.ENV_FIS_DURATION,
            _int_in(1, 720, why="FIS runs an action for a minute to twelve hours"),
            10,
        ),
        lambda_extension=r.get("fis_lambda_extension", env.ENV_FIS_LAMBDA_EXTENSION, _flag, False),
    )
    retention = RetentionConfig(
        log_days=r.get(
            "log_retention_days",
            env.ENV_LOG_RETENTION_DAYS,
            _int_in(365, 3653, LOG_RETENTION_DAYS_ALLOWED),
            365,
        ),
        audit_days=r.get("audit_retention_days", env.ENV_AUDIT_RETENTION_DAYS, _int_in(365, 3653), 2557),
        backup_days=r.get(
            "backup_retention_days",
            env.ENV_BACKUP_RETENTION_DAYS,
            _int_in(7, 3653, why="a daily backup kept at least a week, at most ten years"),
            35,
        ),
    )
    limits = ApiLimits(
        max_body_bytes=r.get(
            "max_body_bytes",
            env.ENV_MAX_BODY_BYTES,
            _int_in(
                256, MAX_BODY_BYTES, why=f"the API's WAF inspects at most {MAX_BODY_BYTES} bytes of a body"
            ),
            8192,
        ),
        page_size_max=r.get("page_size_max", env.ENV_PAGE_SIZE_MAX, _int_in(1, 1000), 100),
    )
    pipeline = PipelineConfig(
        ingest_max_receives=r.get(
            "ingest_max_receives",
            env.ENV_INGEST_MAX_RECEIVES,
            _int_in(1, 1000, why="SQS moves a message to its dead-letter queue after 1 to 1000 receives"),
            5,
        )
    )
    deployment = DeploymentConfig(
        canary_percent=r.get(
            "canary_percent",
            env.ENV_CANARY_PERCENT,
            _int_in(*CANARY_PERCENT_RANGE, why="the canary is part of the traffic, not none or all of it"),
            10,
        ),
        canary_minutes=r.get(
            "canary_minutes",
            env.ENV_CANARY_MINUTES,
            _int_in(*CANARY_MINUTES_RANGE, why="a longer canary holds every later release back"),
            5,
        ),
    )
    quotas = ServiceQuotas(
        lambda_concurrency=r.get(
            "lambda_concurrency_quota", env.ENV_LAMBDA_CONCURRENCY_QUOTA, _int_in(10, 10_000_000), 1000
        ),
        api_requests_per_second=r.get(
            "api_rate_quota", env.ENV_API_RATE_QUOTA, _int_in(1, 10_000_000), 10_000
        ),
        alarm_percent=r.get(
            "quota_alarm_percent",
            env.ENV_QUOTA_ALARM_PERCENT,
            _int_in(1, 99, why="an alarm at or above the quota fires only once it binds"),
            80,
        ),
    )
    lag = r.get("replication_lag_seconds", env.ENV_REPLICATION_LAG, _float_in(0.0, 3600.0), 1.0)
    problem_type_base = r.get(
        "problem_type_base", env.ENV_PROBLEM_TYPE_BASE, checked_problem_type_base, DEFAULT_PROBLEM_TYPE_BASE
    )
    security = _security(r, prefix, retention.audit_days)
    dns = _dns(r, region_names)
    r.check(
        security.key_admin_role.rsplit("/", 1)[-1] != security.break_glass_role.rsplit("/", 1)[-1],
        f"key_admin_role ({env.ENV_KEY_ADMIN_ROLE}) and break_glass_role ({env.ENV_BREAK_GLASS_ROLE}) "
        "name the same role; key administration and break-glass must be different roles (docs/adr/0020)",
    )

    r.check(
        witness not in region_names,
        f"witness_region ({env.ENV_WITNESS_REGION}): {witness} is also an active Region; "
        "choose a third Region",
    )
    r.check(
        consistency != "strong" or len(region_names) == 2,
        f"consistency ({env.ENV_CONSISTENCY}): strong (MRSC) needs exactly two active Regions "
        f"plus a witness, got {len(region_names)}; set {env.ENV_REGIONS} or use eventual",
    )
    for name in region_names:
        r.check(name in cidrs, f"cidrs ({env.ENV_CIDRS}): no CIDR for {name}; add {name}=10.x.0.0/16")
    _region_networks(r, region_names, cidrs)
    networks = [ipaddress.ip_network(cidrs[n]) for n in region_names if n in cidrs]
    for i, a in enumerate(networks):
        for b in networks[i + 1 :]:
            r.check(
                not a.overlaps(b),
                f"cidrs ({env.ENV_CIDRS}): {a} overlaps {b}; Region networks must be disjoint",
            )
    if r.problems:
        raise ConfigError(r.problems)

    regions = tuple(
        RegionConfig(n, cidrs[n], region_data.REGIONS[n].availability_zones) for n in region_names
    )
    return PlatformConfig(
        names=ResourceNames(prefix),
        regions=regions,
        witness_region=witness,
        consistency=consistency,
        replication_lag_seconds=lag,
        health_check=health,
        resilience=resilience,
        fault_injection=fault_injection,
        dns=dns,
        retention=retention,
        api=limits,
        pipeline=pipeline,
        deployment=deployment,
        quotas=quotas,
        problem_type_base=problem_type_base,
        security=security,
    )


def _security(r: _Resolver, prefix: str, audit_days: int) -> SecurityConfig:
    return SecurityConfig(
        key_admin_role=r.get("key_admin_role", env.ENV_KEY_ADMIN_ROLE, _role, f"{prefix}-key-admin"),
        break_glass_role=r.get("break_glass_role", env.ENV_BREAK_GLASS_ROLE, _role, f"{prefix}-break-glass"),
        organization_id=r.get("organization_id", env.ENV_ORGANIZATION_ID, _matching(_ORG_RE, "o-…"), None),
        alarm_email=r.get("alarm_email", env.ENV_ALARM_EMAIL, _matching(_EMAIL_RE, "ops@example.com"), None),
        alarm_topic_arn=r.get(
            "alarm_topic_arn",
            env.ENV_ALARM_TOPIC_ARN,
            _matching(_TOPIC_RE, "arn:aws:sns:REGION:ACCOUNT:NAME"),
            None,
        ),
        object_lock_days=r.get("object_lock_days", env.ENV_OBJECT_LOCK_DAYS, _int_in(1, 3653), audit_days),
        waf_anonymous_ip_action=r.get(
            "waf_anonymous_ip_action", env.ENV_WAF_ANONYMOUS_IP_ACTION, _waf_action, "count"
        ),
        secret_rotation_days=r.get("secret_rotation_days", env.ENV_SECRET_ROTATION_DAYS, _int_in(1, 365), 30),
    )


_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/([\w+=,.@/-]{1,511})$", re.ASCII)
_ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_TOPIC_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-gov)?-[a-z]+-\d:[0-9]{12}:[\w-]{1,256}$", re.ASCII)


def _role(raw: str) -> str:
    value = raw.strip()
    if not (_ROLE_NAME_RE.match(value) or _ROLE_ARN_RE.match(value)):
        raise ValueError(f"{value!r} is neither an IAM role name nor a role ARN")
    return value


def _matching(pattern: re.Pattern[str], example: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not of the form {example}")
        return value

    return parse


def _waf_action(raw: str) -> Literal["count", "block"]:
    value = raw.strip().lower()
    if value == "count":
        return "count"
    if value == "block":
        return "block"
    raise ValueError(f"{raw!r} is not one of count, block")


# --- DNS for callers that do not sign for one Region (docs/adr/0027-dns-routing-and-health-checks.md) ---

_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTED_ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")


def _dns(r: _Resolver, region_names: tuple[str, ...]) -> DnsConfig:
    """What DNS callers get. Refused: a domain without its zone (or the reverse), routing controls with
    no record to steer, and failover between more than two Regions (one PRIMARY, one SECONDARY)."""
    no_name: str | None = None
    default_routing: DnsRouting = "latency"
    dns = DnsConfig(
        domain_name=r.get("domain_name", env.ENV_DOMAIN_NAME, _domain_name, no_name),
        hosted_zone_id=r.get("hosted_zone_id", env.ENV_HOSTED_ZONE_ID, _hosted_zone_id, no_name),
        record_label=r.get("dns_record_label", env.ENV_DNS_RECORD_LABEL, _dns_label, "api"),
        routing=r.get("dns_routing", env.ENV_DNS_ROUTING, _dns_routing, default_routing),
        arc_routing_controls=r.get("arc_routing_controls", env.ENV_ARC_ROUTING_CONTROLS, _flag, False),
    )
    r.check(
        (dns.domain_name is None) == (dns.hosted_zone_id is None),
        f"domain_name ({env.ENV_DOMAIN_NAME}) and hosted_zone_id ({env.ENV_HOSTED_ZONE_ID}) go together: "
        "give both (the record <label>.<domain> is made in that zone) or neither (no record; the health "
        "checks and their alarms are made either way)",
    )
    r.check(
        not dns.arc_routing_controls or dns.record_name is not None,
        f"arc_routing_controls ({env.ENV_ARC_ROUTING_CONTROLS}): routing controls steer the DNS records, "
        f"and none are made without {env.ENV_DOMAIN_NAME} and {env.ENV_HOSTED_ZONE_ID}; set both, or set "
        f"{env.ENV_ARC_ROUTING_CONTROLS}=false",
    )
    r.check(
        dns.routing != "failover" or len(region_names) == 2,
        f"dns_routing ({env.ENV_DNS_ROUTING}): failover answers with one PRIMARY or one SECONDARY record, "
        f"so it needs exactly two Regions, not {len(region_names)}; set {env.ENV_DNS_ROUTING}=latency, or "
        f"two Regions in {env.ENV_REGIONS}",
    )
    return dns


def _checker_regions(raw: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    allowed = ", ".join(HEALTH_CHECKER_REGIONS)
    unknown = [name for name in names if name not in HEALTH_CHECKER_REGIONS]
    if unknown:
        raise ValueError(
            f"not a Route 53 health-checker Region: {', '.join(unknown)}; choose at least "
            f"{MIN_HEALTH_CHECKER_REGIONS} of {allowed}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{raw!r} names a Region twice")
    if len(names) < MIN_HEALTH_CHECKER_REGIONS:
        raise ValueError(
            f"Route 53 needs at least {MIN_HEALTH_CHECKER_REGIONS} checker Regions, got {len(names)}; "
            f"choose from {allowed}"
        )
    return names


def _domain_name(raw: str) -> str:
    value = raw.strip().lower().removesuffix(".")
    labels = value.split(".")
    if not (len(labels) >= 2 and len(value) <= 200 and all(_DNS_LABEL_RE.match(label) for label in labels)):
        raise ValueError(
            f"{raw.strip()!r} is not a domain name such as bank.example (two or more labels of letters, "
            "digits and inner hyphens, at most 200 characters)"
        )
    return value


def _hosted_zone_id(raw: str) -> str:
    value = raw.strip()
    if not _HOSTED_ZONE_ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ "
            "(aws route53 list-hosted-zones-by-name; the id alone, without /hostedzone/)"
        )
    return value


def _dns_label(raw: str) -> str:
    value = raw.strip().lower()
    if not _DNS_LABEL_RE.match(value):
        raise ValueError(f"{raw.strip()!r} is not one DNS label such as api (letters, digits, inner hyphens)")
    return value


def _dns_routing(raw: str) -> DnsRouting:
    value = raw.strip().lower()
    for routing in DNS_ROUTINGS:
        if value == routing:
            return routing
    raise ValueError(f"{raw!r} is not one of {', '.join(DNS_ROUTINGS)}")


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValueError(f"{raw!r} is not true or false")
