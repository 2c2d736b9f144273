"""What the production-readiness pack measures against: the numbers a rule cannot read from the
template (the log retention and RTO the organisation demands, which health path is the deep one).

Data only; ``Policy.of(config)`` takes them from Strongroom's configuration, and any other app passes
its own ``Policy`` to ``ProductionReadinessChecks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strongroom.config import PlatformConfig


@dataclass(frozen=True, slots=True)
class Policy:
    log_retention_days: int = 365
    rto_seconds: int = 60
    # Parts of the failover time no template shows (a shared health result, the client's retry): added
    # to what the health checks and the record's TTL take before comparing with ``rto_seconds``.
    unobserved_failover_seconds: int = 0
    deep_health_path: str = "/health/deep"
    health_path_prefix: str = "/health"  # methods under it may be public

    @classmethod
    def of(cls, config: PlatformConfig) -> Policy:
        health = config.health_check
        return cls(
            log_retention_days=config.retention.log_days,
            rto_seconds=config.resilience.rto_seconds,
            unobserved_failover_seconds=health.deep_check_sharing_seconds + health.client_retry_seconds,
            deep_health_path=health.path,
        )


DEFAULT = Policy()
