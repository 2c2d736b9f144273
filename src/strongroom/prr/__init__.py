"""Production-readiness checks: a cdk-nag 3 rule pack (``ProductionReadinessChecks``) for what the
standard packs miss, with its rules listed in ``RULES`` (docs/adr/0034-production-readiness-rule-pack.md)."""

from __future__ import annotations

from strongroom.prr.pack import PACK, RULES, ProductionReadinessChecks, Rule
from strongroom.prr.policy import Policy

__all__ = ["PACK", "RULES", "Policy", "ProductionReadinessChecks", "Rule"]
