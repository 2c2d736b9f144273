"""The Resilience Hub policy's objectives and the FIS drill settings in the platform configuration:
defaults, precedence, and every problem named with its variable and the fix (docs/adr/0028)."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom import constants as env
from strongroom.config import RESILIENCE_TIERS, ConfigError, PlatformConfig, load_config


def config(environ: dict[str, str] | None = None, **overrides: Any) -> PlatformConfig:
    """Hermetic: never reads the real environment."""
    return load_config(environ=environ or {}, **overrides)


def problems(environ: dict[str, str] | None = None, **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config(environ, **overrides)
    return caught.value.problems


def test_defaults_hold_a_mission_critical_policy_and_leave_the_lambda_extension_off() -> None:
    c = config()
    assert c.resilience.tier == "MissionCritical"
    assert (c.resilience.rto_seconds, c.resilience.rpo_seconds) == (60, 0)
    assert (c.resilience.software_rto_seconds, c.resilience.software_rpo_seconds) == (3600, 300)
    assert c.fault_injection.duration_minutes == 10
    assert c.fault_injection.lambda_extension is False


def test_every_setting_comes_from_its_variable_and_an_argument_wins() -> None:
    environ = {
        env.ENV_RESILIENCE_TIER: "critical",  # the case of a tier does not matter
        env.ENV_SOFTWARE_RTO: "7200",
        env.ENV_SOFTWARE_RPO: "0",
        env.ENV_FIS_DURATION: "15",
        env.ENV_FIS_LAMBDA_EXTENSION: "true",
    }
    c = config(environ)
    assert c.resilience.tier == "Critical"
    assert (c.resilience.software_rto_seconds, c.resilience.software_rpo_seconds) == (7200, 0)
    assert c.fault_injection.duration_minutes == 15
    assert c.fault_injection.lambda_extension is True
    overridden = config(environ, resilience_tier="NonCritical", fis_lambda_extension=False)
    assert overridden.resilience.tier == "NonCritical"
    assert overridden.fault_injection.lambda_extension is False


@pytest.mark.parametrize("tier", RESILIENCE_TIERS)
def test_every_tier_resilience_hub_accepts_is_accepted(tier: str) -> None:
    assert config({env.ENV_RESILIENCE_TIER: tier}).resilience.tier == tier


def test_invalid_values_are_reported_together_naming_the_variable() -> None:
    found = problems(
        {
            env.ENV_RESILIENCE_TIER: "gold",
            env.ENV_SOFTWARE_RTO: "0",
            env.ENV_SOFTWARE_RPO: "-1",
            env.ENV_FIS_DURATION: "721",
            env.ENV_FIS_LAMBDA_EXTENSION: "maybe",
        }
    )
    assert len(found) == 5, found
    by_setting = {line.split(" ", 1)[0]: line for line in found}
    assert "is not one of MissionCritical, Critical" in by_setting["resilience_tier"]
    assert env.ENV_RESILIENCE_TIER in by_setting["resilience_tier"]
    assert "outside 1..604800" in by_setting["software_rto_seconds"]
    assert env.ENV_SOFTWARE_RPO in by_setting["software_rpo_seconds"]
    assert "a minute to twelve hours" in by_setting["fis_duration_minutes"]
    assert "is not true or false" in by_setting["fis_lambda_extension"]
    assert env.ENV_FIS_LAMBDA_EXTENSION in by_setting["fis_lambda_extension"]


def test_a_slow_failover_does_not_make_the_drill_settings_invalid() -> None:
    # the synth reports a failover over the policy (docs/adr/0025); the drills still load, as set
    c = config({env.ENV_DNS_TTL: "3600", env.ENV_FIS_DURATION: "1"})
    assert not c.meets_resilience_policy()
    assert c.fault_injection.duration_minutes == 1
