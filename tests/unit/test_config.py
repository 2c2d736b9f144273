"""Platform configuration: defaults from the architecture, explicit precedence, and every problem at once."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from strongroom import constants as env
from strongroom import regions
from strongroom.config import MAX_BODY_BYTES, ConfigError, PlatformConfig, RegionConfig, load_config


def config(environ: dict[str, str] | None = None, **overrides: Any) -> PlatformConfig:
    """Hermetic: never reads the real environment."""
    return load_config(environ=environ or {}, **overrides)


def config_problems(environ: dict[str, str] | None = None, **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config(environ, **overrides)
    assert caught.value.problems
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


@pytest.fixture(autouse=True)
def eu_north_1_has_network_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several tests add eu-north-1 as an active Region; a Region needs network data to be accepted.
    These ids are made up for the tests: the real entry belongs in src/strongroom/regions.py."""
    zones = ("eu-north-1a", "eu-north-1b", "eu-north-1c")
    made_up = {"s3": "pl-0123456789abcdef0", "dynamodb": "pl-0fedcba9876543210"}
    known = {**regions.REGIONS, "eu-north-1": regions.RegionData(zones, made_up)}
    monkeypatch.setattr(regions, "REGIONS", MappingProxyType(known))


def the_problem_about(problems: list[str], setting: str) -> str:
    matching = [line for line in problems if line.startswith(f"{setting} (")]
    assert len(matching) == 1, problems
    return matching[0]


# --- defaults --------------------------------------------------------------------------------------


def test_defaults_match_the_architecture() -> None:
    c = config()
    assert [r.name for r in c.regions] == ["eu-west-1", "eu-central-1"]
    assert [r.cidr for r in c.regions] == ["10.1.0.0/16", "10.5.0.0/16"]
    assert c.witness_region == "eu-west-2"
    assert c.consistency == "strong"
    assert c.primary_region.name == "eu-west-1"
    assert c.health_check.path == "/health/deep"
    assert c.health_check.interval_seconds == 10
    assert c.health_check.failure_threshold == 2
    assert c.health_check.dns_ttl_seconds == 30
    assert c.resilience.rto_seconds == 60
    assert c.names.prefix == "strongroom"
    assert c.names.transactions_table == "strongroom-transactions"
    assert c.names.customer_index == "byCustomer"
    assert c.names.key_alias("data") == "alias/strongroom/data"
    assert c.retention.log_days == 365
    assert c.api.max_body_bytes == 8192
    assert c.api.page_size_max == 100
    assert (c.api.health_throttle_rate_per_second, c.api.health_throttle_burst) == (10, 20)
    assert c.problem_type_base == "urn:strongroom:problem:"


def test_default_regions_use_three_availability_zones() -> None:
    assert config().region("eu-central-1").availability_zones == (
        "eu-central-1a",
        "eu-central-1b",
        "eu-central-1c",
    )


def test_unknown_region_lookup_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=env.ENV_REGIONS):
        config().region("us-east-1")


# --- derived values --------------------------------------------------------------------------------


def test_rto_budget_is_detection_plus_dns_ttl_plus_client_retry() -> None:
    c = config()
    # detection: two failed checks 10 s apart, on a result shared for up to 5 s
    assert c.health_check.detection_seconds() == 20 + 5
    assert c.health_check.rto_budget_seconds() == 25 + 30 + 5
    assert c.health_check.rto_budget_seconds() <= c.resilience.rto_seconds  # the defaults meet 60 s
    assert c.meets_resilience_policy()


def test_rto_budget_follows_the_settings() -> None:
    c = config(
        health_check_interval_seconds=30,
        health_check_failure_threshold=2,
        dns_ttl_seconds=0,
        client_retry_seconds=5,
        deep_check_sharing_seconds=0,
    )
    assert c.health_check.rto_budget_seconds() == 30 * 2 + 0 + 5


def test_rpo_is_zero_under_strong_consistency() -> None:
    c = config(replication_lag_seconds=2.5)
    assert c.rpo_seconds() == 0.0
    assert c.meets_resilience_policy()


def test_rpo_is_the_replication_lag_under_eventual_consistency() -> None:
    c = config(consistency="eventual", replication_lag_seconds=2.5)
    assert c.rpo_seconds() == 2.5
    assert not c.meets_resilience_policy()  # the default policy asks for RPO 0
    assert config(
        consistency="eventual", replication_lag_seconds=2.5, rpo_seconds=5
    ).meets_resilience_policy()


def test_slow_failover_misses_the_rto_policy() -> None:
    assert not config(dns_ttl_seconds=3600).meets_resilience_policy()


# --- precedence ------------------------------------------------------------------------------------


def test_environment_beats_default() -> None:
    assert config({env.ENV_WITNESS_REGION: "eu-north-1"}).witness_region == "eu-north-1"


def test_argument_beats_environment() -> None:
    c = config({env.ENV_WITNESS_REGION: "eu-north-1"}, witness_region="eu-south-1")
    assert c.witness_region == "eu-south-1"


def test_none_argument_falls_back_to_environment() -> None:
    assert config({env.ENV_WITNESS_REGION: "eu-north-1"}, witness_region=None).witness_region == "eu-north-1"


def test_invalid_argument_is_reported_even_when_the_environment_is_valid() -> None:
    problem = the_problem_about(
        config_problems({env.ENV_WITNESS_REGION: "eu-north-1"}, witness_region="nowhere"), "witness_region"
    )
    assert "argument witness_region" in problem


def test_typed_arguments_are_accepted() -> None:
    c = config(
        regions=("eu-west-1", "eu-north-1"),
        cidrs={"eu-north-1": "10.9.0.0/16"},
        health_check_interval_seconds=30,
    )
    assert [(r.name, r.cidr) for r in c.regions] == [
        ("eu-west-1", "10.1.0.0/16"),
        ("eu-north-1", "10.9.0.0/16"),
    ]
    assert c.health_check.interval_seconds == 30


def test_every_setting_is_read_from_its_environment_variable() -> None:
    c = config(
        {
            env.ENV_NAME_PREFIX: "vault",
            env.ENV_REGIONS: "eu-west-1, eu-north-1",
            env.ENV_CIDRS: "eu-north-1=10.9.0.0/16",
            env.ENV_WITNESS_REGION: "eu-south-1",
            env.ENV_CONSISTENCY: "EVENTUAL",
            env.ENV_HEALTH_INTERVAL: "30",
            env.ENV_HEALTH_FAILURE_THRESHOLD: "5",
            env.ENV_DNS_TTL: "15",
            env.ENV_CLIENT_RETRY: "10",
            env.ENV_DEEP_HEALTH_INTERVAL: "2",
            env.ENV_HEALTH_CHECKER_REGIONS: "us-east-1, us-west-1,sa-east-1",
            env.ENV_RTO: "600",
            env.ENV_RPO: "5",
            env.ENV_REPLICATION_LAG: "0.5",
            env.ENV_LOG_RETENTION_DAYS: "731",
            env.ENV_AUDIT_RETENTION_DAYS: "3653",
            env.ENV_MAX_BODY_BYTES: "4096",
            env.ENV_PAGE_SIZE_MAX: "50",
            env.ENV_PROBLEM_TYPE_BASE: "https://docs.example.com/problems#",
        }
    )
    assert c.names.prefix == "vault"
    assert [r.name for r in c.regions] == ["eu-west-1", "eu-north-1"]
    assert c.region("eu-north-1").cidr == "10.9.0.0/16"
    assert c.witness_region == "eu-south-1"
    assert c.consistency == "eventual"
    assert dataclasses.astuple(c.health_check)[1:] == (
        30,
        5,
        15,
        10,
        2,
        ("us-east-1", "us-west-1", "sa-east-1"),
    )
    assert (c.resilience.rto_seconds, c.resilience.rpo_seconds) == (600, 5)
    assert c.replication_lag_seconds == 0.5
    assert (c.retention.log_days, c.retention.audit_days) == (731, 3653)
    assert (c.api.max_body_bytes, c.api.page_size_max) == (4096, 50)
    assert c.problem_type_base == "https://docs.example.com/problems#"


def test_environ_none_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("STRONGROOM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(env.ENV_WITNESS_REGION, "eu-north-1")
    assert load_config().witness_region == "eu-north-1"


# --- invalid values: each names the setting and its environment variable ---------------------------


@pytest.mark.parametrize(
    ("variable", "value", "setting"),
    [
        (env.ENV_REGIONS, "eu_west_1,eu-central-1", "regions"),
        (env.ENV_REGIONS, "Europe", "regions"),
        (env.ENV_REGIONS, "eu-west-1,eu-west-1", "regions"),
        (env.ENV_REGIONS, ",", "regions"),
        (env.ENV_WITNESS_REGION, "mars-north-1", "witness_region"),
        (env.ENV_CIDRS, "eu-west-1=10.1.0.0/33", "cidrs"),
        (env.ENV_CIDRS, "eu-west-1=10.1.0.1/16", "cidrs"),  # host bits set
        (env.ENV_CIDRS, "eu-west-1=8.8.0.0/16", "cidrs"),  # public
        (env.ENV_CIDRS, "eu-west-1=10.0.0.0/8", "cidrs"),  # too large
        (env.ENV_CIDRS, "eu-west-1=10.1.0.0/24", "cidrs"),  # too small
        (env.ENV_CIDRS, "eu-west-1", "cidrs"),
        (env.ENV_CIDRS, "eu-west-1=fd00::/48", "cidrs"),
        (env.ENV_CONSISTENCY, "linearizable", "consistency"),
        (env.ENV_HEALTH_INTERVAL, "20", "health_check_interval_seconds"),
        (env.ENV_HEALTH_INTERVAL, "ten", "health_check_interval_seconds"),
        (env.ENV_HEALTH_FAILURE_THRESHOLD, "0", "health_check_failure_threshold"),
        (env.ENV_LOG_RETENTION_DAYS, "30", "log_retention_days"),
        (env.ENV_LOG_RETENTION_DAYS, "400.5", "log_retention_days"),
        (env.ENV_LOG_RETENTION_DAYS, "366", "log_retention_days"),
        (env.ENV_NAME_PREFIX, "Strongroom", "name_prefix"),
        (env.ENV_REPLICATION_LAG, "soon", "replication_lag_seconds"),
        (env.ENV_MAX_BODY_BYTES, "10", "max_body_bytes"),
        (env.ENV_PROBLEM_TYPE_BASE, "https://docs.example.com/problems", "problem_type_base"),
        (env.ENV_PROBLEM_TYPE_BASE, "http://docs.example.com/problems/", "problem_type_base"),
        (env.ENV_PROBLEM_TYPE_BASE, "problems/", "problem_type_base"),
    ],
)
def test_invalid_value_names_setting_and_variable(variable: str, value: str, setting: str) -> None:
    problem = the_problem_about(config_problems({variable: value}), setting)
    assert variable in problem
    assert f"pass {setting}=" in problem


@pytest.mark.parametrize("source", ["environment", "argument"])
def test_a_body_limit_the_waf_cannot_inspect_is_refused_at_load(source: str) -> None:
    # GIVEN a limit one byte over what the WAF in front of the API inspects (docs/adr/0022)
    too_large = str(MAX_BODY_BYTES + 1)
    if source == "environment":
        problems = config_problems({env.ENV_MAX_BODY_BYTES: too_large})
    else:
        problems = config_problems(max_body_bytes=too_large)
    # THEN the one problem names the variable and the maximum
    problem = the_problem_about(problems, "max_body_bytes")
    assert env.ENV_MAX_BODY_BYTES in problem
    assert f"{too_large} is outside 256..65536" in problem
    assert "WAF" in problem


def test_the_largest_body_limit_the_waf_can_inspect_is_accepted() -> None:
    assert MAX_BODY_BYTES == 65_536
    assert config({env.ENV_MAX_BODY_BYTES: "65536"}).api.max_body_bytes == 65_536


def test_health_interval_20_lists_the_allowed_values() -> None:
    problem = the_problem_about(
        config_problems(health_check_interval_seconds=20), "health_check_interval_seconds"
    )
    assert "10, 30" in problem
    assert env.ENV_HEALTH_INTERVAL in problem


def test_problem_type_base_argument_beats_environment_and_a_bad_one_shows_a_valid_one() -> None:
    c = config(
        {env.ENV_PROBLEM_TYPE_BASE: "https://docs.example.com/problems#"}, problem_type_base="urn:x-y:p:"
    )
    assert c.problem_type_base == "urn:x-y:p:"
    problem = the_problem_about(config_problems(problem_type_base="http://x/"), "problem_type_base")
    assert "https://docs.example.com/problems#" in problem
    assert env.ENV_PROBLEM_TYPE_BASE in problem


def test_log_retention_30_is_below_the_audit_minimum() -> None:
    problem = the_problem_about(config_problems(log_retention_days=30), "log_retention_days")
    assert "365" in problem
    assert env.ENV_LOG_RETENTION_DAYS in problem


def test_overlapping_cidrs_are_rejected() -> None:
    problem = the_problem_about(config_problems({env.ENV_CIDRS: "eu-central-1=10.1.64.0/18"}), "cidrs")
    assert env.ENV_CIDRS in problem
    assert "overlaps" in problem
    assert "10.1.0.0/16" in problem
    assert "10.1.64.0/18" in problem


def test_active_region_without_a_cidr_is_rejected() -> None:
    problem = the_problem_about(config_problems({env.ENV_REGIONS: "eu-west-1,eu-north-1"}), "cidrs")
    assert "eu-north-1" in problem
    assert env.ENV_CIDRS in problem


@pytest.mark.parametrize("witness", ["eu-west-1", "eu-central-1"])
def test_witness_equal_to_an_active_region_is_rejected(witness: str) -> None:
    problem = the_problem_about(config_problems(witness_region=witness), "witness_region")
    assert env.ENV_WITNESS_REGION in problem
    assert witness in problem


def test_strong_consistency_with_three_regions_is_rejected() -> None:
    problems = config_problems(
        regions="eu-west-1,eu-central-1,eu-north-1",
        cidrs="eu-north-1=10.9.0.0/16",
        witness_region="eu-south-1",
    )
    problem = the_problem_about(problems, "consistency")
    assert env.ENV_CONSISTENCY in problem
    assert "3" in problem
    assert len(problems) == 1


def test_three_regions_are_fine_under_eventual_consistency() -> None:
    c = config(
        regions="eu-west-1,eu-central-1,eu-north-1",
        cidrs="eu-north-1=10.9.0.0/16",
        witness_region="eu-south-1",
        consistency="eventual",
    )
    assert len(c.regions) == 3


def test_multiple_problems_are_reported_together() -> None:
    problems = config_problems(
        {env.ENV_CONSISTENCY: "sometimes"},
        health_check_interval_seconds=20,
        log_retention_days=30,
        witness_region="eu-west-1",
        cidrs="eu-central-1=10.1.0.0/16",
    )
    for setting in (
        "consistency",
        "health_check_interval_seconds",
        "log_retention_days",
        "witness_region",
        "cidrs",
    ):
        the_problem_about(problems, setting)
    assert len(problems) == 5


@given(st.integers(-1000, 1000).filter(lambda n: n not in (10, 30)))
def test_only_route53_health_check_intervals_are_accepted(interval: int) -> None:
    the_problem_about(
        config_problems(health_check_interval_seconds=interval), "health_check_interval_seconds"
    )


# --- shape -----------------------------------------------------------------------------------------


def test_platform_config_is_frozen() -> None:
    c = config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.witness_region = "us-east-1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.health_check.interval_seconds = 30  # type: ignore[misc]
    assert isinstance(c.regions, tuple)


@given(
    octet=st.integers(0, 255),
    prefix=st.integers(16, 20),
    zones=st.integers(1, 6),
)
def test_subnets_are_disjoint_and_inside_the_region_network(octet: int, prefix: int, zones: int) -> None:
    assume(2 ** (20 - prefix) >= zones)  # load_config refuses the rest (next test)
    network = ipaddress.ip_network(f"10.{octet}.0.0/{prefix}", strict=False)
    region = RegionConfig("eu-west-1", str(network), tuple(f"eu-west-1{c}" for c in "abcdef"[:zones]))
    subnets = [ipaddress.ip_network(s) for s in region.subnet_cidrs()]
    assert len(subnets) == zones
    assert all(s.subnet_of(network) for s in subnets)  # type: ignore[arg-type]
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])


@pytest.mark.parametrize(("cidr", "largest"), [("10.5.0.0/19", 18), ("10.5.0.0/20", 18)])
def test_a_cidr_too_small_for_a_slash_20_per_zone_is_refused_at_load(cidr: str, largest: int) -> None:
    # GIVEN eu-central-1's three availability zones, each of which PrivateNetwork gives a /20
    problem = the_problem_about(config_problems({env.ENV_CIDRS: f"eu-central-1={cidr}"}), "cidrs")
    # THEN the problem names the variable, the Region's CIDR and the size that would fit
    assert env.ENV_CIDRS in problem
    assert f"eu-central-1={cidr} cannot hold 3 /20 subnets" in problem
    assert f"a /{largest} or larger" in problem
    with pytest.raises(ValueError, match="holds"):
        RegionConfig("eu-central-1", cidr, ("eu-central-1a", "eu-central-1b", "eu-central-1c")).subnet_cidrs()


def test_a_slash_18_holds_three_slash_20s() -> None:
    region = config({env.ENV_CIDRS: "eu-central-1=10.5.0.0/18"}).region("eu-central-1")
    assert region.subnet_cidrs() == ("10.5.0.0/20", "10.5.16.0/20", "10.5.32.0/20")


def test_a_region_without_network_data_is_refused_naming_the_variable_and_the_data_module() -> None:
    problems = config_problems(
        regions="eu-west-1,ap-southeast-7", cidrs="ap-southeast-7=10.9.0.0/16", consistency="eventual"
    )
    problem = the_problem_about(problems, "regions")
    assert env.ENV_REGIONS in problem
    assert "ap-southeast-7 has no network data" in problem
    assert "src/strongroom/regions.py" in problem
    assert "describe-managed-prefix-lists" in problem
    assert len(problems) == 1


def test_a_broken_region_entry_is_refused_with_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = regions.RegionData(("eu-west-1a", "eu-west-9z"), {"s3": "pl-6da54004", "dynamodb": "nope"})
    monkeypatch.setattr(regions, "REGIONS", MappingProxyType({**regions.REGIONS, "eu-west-1": broken}))
    problems = [p for p in config_problems() if p.startswith("regions (")]
    assert len(problems) == 2, problems
    assert any("'eu-west-9z' is not an availability zone of eu-west-1" in p for p in problems)
    assert any("dynamodb prefix-list id 'nope'" in p for p in problems)


def test_availability_zones_come_from_the_region_data(monkeypatch: pytest.MonkeyPatch) -> None:
    two = regions.RegionData(("eu-west-1b", "eu-west-1c"), regions.REGIONS["eu-west-1"].prefix_lists)
    monkeypatch.setattr(regions, "REGIONS", MappingProxyType({**regions.REGIONS, "eu-west-1": two}))
    assert config().region("eu-west-1").availability_zones == ("eu-west-1b", "eu-west-1c")


def test_default_subnets_are_slash_20s_in_order() -> None:
    assert config().primary_region.subnet_cidrs() == ("10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20")


def test_functions_are_told_the_configured_limits_and_sharing_interval() -> None:
    c = config(max_body_bytes=4096, page_size_max=50, deep_check_sharing_seconds=2)
    assert c.function_environment() == {
        env.ENV_MAX_BODY_BYTES: "4096",
        env.ENV_PAGE_SIZE_MAX: "50",
        env.ENV_PROBLEM_TYPE_BASE: c.problem_type_base,
        env.ENV_DEEP_HEALTH_INTERVAL: "2",
    }


def test_security_defaults_follow_the_prefix_and_the_audit_retention() -> None:
    c = config({env.ENV_NAME_PREFIX: "vault", env.ENV_AUDIT_RETENTION_DAYS: "3000"})
    s = c.security
    assert (s.key_admin_role, s.break_glass_role) == ("vault-key-admin", "vault-break-glass")
    assert (s.organization_id, s.alarm_email, s.alarm_topic_arn) == (None, None, None)
    assert s.object_lock_days == 3000
    assert s.waf_anonymous_ip_action == "count"
    assert s.secret_rotation_days == 30


def test_security_settings_are_read_from_their_environment_variables() -> None:
    s = config(
        {
            env.ENV_KEY_ADMIN_ROLE: "arn:aws:iam::123456789012:role/platform/key-admins",
            env.ENV_BREAK_GLASS_ROLE: "break-glass",
            env.ENV_ORGANIZATION_ID: "o-abcdef1234",
            env.ENV_ALARM_EMAIL: "oncall@bank.example",
            env.ENV_ALARM_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:incidents",
            env.ENV_OBJECT_LOCK_DAYS: "400",
            env.ENV_WAF_ANONYMOUS_IP_ACTION: "BLOCK",
            env.ENV_SECRET_ROTATION_DAYS: "7",
        }
    ).security
    assert s.key_admin_role == "arn:aws:iam::123456789012:role/platform/key-admins"
    assert s.break_glass_role == "break-glass"
    assert s.organization_id == "o-abcdef1234"
    assert (s.alarm_email, s.alarm_topic_arn) == (
        "oncall@bank.example",
        "arn:aws:sns:eu-west-1:123456789012:incidents",
    )
    assert (s.object_lock_days, s.waf_anonymous_ip_action, s.secret_rotation_days) == (400, "block", 7)


def test_each_region_publishes_alarms_to_the_configured_topics_namesake_in_that_region() -> None:
    # CloudWatch alarms publish only to a topic in their own Region (docs/adr/0021)
    s = config({env.ENV_ALARM_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:incidents"}).security
    assert s.alarm_topic_arn_in("eu-west-1") == "arn:aws:sns:eu-west-1:123456789012:incidents"
    assert s.alarm_topic_arn_in("eu-central-1") == "arn:aws:sns:eu-central-1:123456789012:incidents"
    assert config().security.alarm_topic_arn_in("eu-central-1") is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (env.ENV_KEY_ADMIN_ROLE, "arn:aws:iam::123:role/x"),
        (env.ENV_KEY_ADMIN_ROLE, "has space"),
        (env.ENV_BREAK_GLASS_ROLE, "arn:aws:sts::123456789012:assumed-role/x/y"),
        (env.ENV_ORGANIZATION_ID, "123456789012"),
        (env.ENV_ALARM_EMAIL, "not-an-address"),
        (env.ENV_ALARM_TOPIC_ARN, "arn:aws:sqs:eu-west-1:123456789012:q"),
        (env.ENV_OBJECT_LOCK_DAYS, "0"),
        (env.ENV_WAF_ANONYMOUS_IP_ACTION, "allow"),
        (env.ENV_SECRET_ROTATION_DAYS, "0"),
    ],
)
def test_invalid_security_settings_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        config({variable: value})


def test_key_administration_and_break_glass_must_be_different_roles() -> None:
    problems = config_problems(
        {env.ENV_KEY_ADMIN_ROLE: "ops", env.ENV_BREAK_GLASS_ROLE: "arn:aws:iam::123456789012:role/team/ops"}
    )
    assert len(problems) == 1
    assert env.ENV_KEY_ADMIN_ROLE in problems[0]
    assert env.ENV_BREAK_GLASS_ROLE in problems[0]


def test_log_groups_and_workload_roles_are_named_under_the_prefix() -> None:
    names = config(name_prefix="bank").names
    assert names.log_group("api/access-logs") == "/bank/api/access-logs"
    assert names.log_group_patterns() == (
        "/bank/*",
        "/aws/lambda/bank-*",
        "aws-waf-logs-bank-*",
        "API-Gateway-Execution-Logs_*",
    )
    assert names.workload_role("eu-west-1", "api") == "bank-eu-west-1-api"
    assert names.workload_roles("eu-west-1") == "bank-eu-west-1-*"


# --- DNS for callers that do not sign for one Region (docs/adr/0027) -------------------------------

ZONE = "Z0123456789ABCDEFGHIJ"


def test_dns_defaults_make_health_checks_but_no_record() -> None:
    c = config()
    assert c.health_check.checker_regions == ("eu-west-1", "us-east-1", "us-west-2")
    assert (c.dns.domain_name, c.dns.hosted_zone_id, c.dns.record_name) == (None, None, None)
    assert (c.dns.routing, c.dns.arc_routing_controls, c.dns.record_label) == ("latency", False, "api")


def test_dns_settings_are_read_from_their_environment_variables() -> None:
    c = config(
        {
            env.ENV_DOMAIN_NAME: "Bank.Example.",
            env.ENV_HOSTED_ZONE_ID: f" {ZONE} ",
            env.ENV_DNS_RECORD_LABEL: "payments",
            env.ENV_DNS_ROUTING: "Failover",
            env.ENV_ARC_ROUTING_CONTROLS: "true",
        }
    )
    assert (c.dns.domain_name, c.dns.hosted_zone_id) == ("bank.example", ZONE)
    assert c.dns.record_name == "payments.bank.example"
    assert (c.dns.routing, c.dns.arc_routing_controls) == ("failover", True)


def test_arguments_beat_the_dns_environment() -> None:
    c = config(
        {env.ENV_ARC_ROUTING_CONTROLS: "true", env.ENV_DNS_ROUTING: "failover"},
        arc_routing_controls=False,
        dns_routing="latency",
    )
    assert (c.dns.arc_routing_controls, c.dns.routing) == (False, "latency")


@pytest.mark.parametrize(
    ("setting", "variable", "value", "says"),
    [
        ("health_checker_regions", env.ENV_HEALTH_CHECKER_REGIONS, "eu-west-1,us-east-1", "at least 3"),
        (
            "health_checker_regions",
            env.ENV_HEALTH_CHECKER_REGIONS,
            "eu-central-1,us-east-1,us-west-2",
            "eu-central-1",
        ),
        ("health_checker_regions", env.ENV_HEALTH_CHECKER_REGIONS, "us-east-1,us-east-1,us-west-2", "twice"),
        ("domain_name", env.ENV_DOMAIN_NAME, "localhost", "bank.example"),
        ("domain_name", env.ENV_DOMAIN_NAME, "bad_name.example", "bank.example"),
        ("hosted_zone_id", env.ENV_HOSTED_ZONE_ID, "/hostedzone/Z0123", "without /hostedzone/"),
        ("hosted_zone_id", env.ENV_HOSTED_ZONE_ID, "z0123", "Z0123456789ABCDEFGHIJ"),
        ("dns_record_label", env.ENV_DNS_RECORD_LABEL, "api.v2", "one DNS label"),
        ("dns_routing", env.ENV_DNS_ROUTING, "geolocation", "latency, failover"),
        ("arc_routing_controls", env.ENV_ARC_ROUTING_CONTROLS, "maybe", "true or false"),
    ],
)
def test_invalid_dns_settings_name_their_variable_and_what_is_allowed(
    setting: str, variable: str, value: str, says: str
) -> None:
    problem = the_problem_about(config_problems({variable: value}), setting)
    assert variable in problem
    assert says in problem


def test_a_bad_checker_region_lists_the_allowed_ones() -> None:
    problem = the_problem_about(
        config_problems({env.ENV_HEALTH_CHECKER_REGIONS: "eu-central-1,us-east-1,us-west-2"}),
        "health_checker_regions",
    )
    assert (
        "us-east-1, us-west-1, us-west-2, eu-west-1, ap-southeast-1, ap-southeast-2, ap-northeast-1"
        in problem
    )


def test_a_domain_needs_its_hosted_zone_and_the_reverse() -> None:
    for settings in ({"domain_name": "bank.example"}, {"hosted_zone_id": ZONE}):
        problem = the_problem_about(config_problems(**settings), "domain_name")
        assert env.ENV_DOMAIN_NAME in problem
        assert env.ENV_HOSTED_ZONE_ID in problem
    assert config(domain_name="bank.example", hosted_zone_id=ZONE).dns.record_name == "api.bank.example"


def test_routing_controls_need_records_to_steer() -> None:
    problem = the_problem_about(config_problems(arc_routing_controls=True), "arc_routing_controls")
    assert env.ENV_DOMAIN_NAME in problem
    assert f"{env.ENV_ARC_ROUTING_CONTROLS}=false" in problem
    assert config(
        arc_routing_controls=True, domain_name="bank.example", hosted_zone_id=ZONE
    ).dns.arc_routing_controls


def test_failover_needs_exactly_two_regions() -> None:
    three = {
        "regions": "eu-west-1,eu-central-1,eu-north-1",
        "cidrs": {"eu-north-1": "10.9.0.0/16"},
        "consistency": "eventual",
    }
    assert config(**three).dns.routing == "latency"  # latency routes among any number
    problem = the_problem_about(config_problems(**three, dns_routing="failover"), "dns_routing")
    assert env.ENV_REGIONS in problem
    assert "not 3" in problem
    assert config(dns_routing="failover").dns.routing == "failover"


def test_service_quotas_come_from_the_environment_and_alarm_below_the_quota() -> None:
    config = load_config(
        environ={
            env.ENV_LAMBDA_CONCURRENCY_QUOTA: "5000",
            env.ENV_API_RATE_QUOTA: "2000",
            env.ENV_QUOTA_ALARM_PERCENT: "90",
        }
    )
    assert (config.quotas.lambda_concurrency, config.quotas.api_requests_per_second) == (5000, 2000)
    assert config.quotas.threshold(config.quotas.lambda_concurrency) == 4500


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (env.ENV_QUOTA_ALARM_PERCENT, "100"),
        (env.ENV_QUOTA_ALARM_PERCENT, "0"),
        (env.ENV_LAMBDA_CONCURRENCY_QUOTA, "lots"),
        (env.ENV_API_RATE_QUOTA, "0"),
    ],
)
def test_an_invalid_quota_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_config(environ={variable: value})
