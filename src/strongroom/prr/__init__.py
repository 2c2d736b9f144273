"""Production-readiness checks: a cdk-nag 3 rule pack (``ProductionReadinessChecks``) for what the
standard packs miss, with its rules listed in ``RULES`` (docs/adr/0034-production-readiness-rule-pack.md),
and ``strongroom check`` (docs/adr/0038-strongroom-check.md).

The pack's names load CDK and cdk-nag, so they are imported on first use: the control matrix, the
report renderers and the check's own logic stay importable without the infrastructure extras.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PACK", "RULES", "Policy", "ProductionReadinessChecks", "Rule"]


def __getattr__(name: str) -> Any:
    if name == "Policy":
        from strongroom.prr.policy import Policy  # noqa: PLC0415

        return Policy
    if name in {"PACK", "RULES", "ProductionReadinessChecks", "Rule"}:
        from strongroom.prr import pack  # noqa: PLC0415

        return getattr(pack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
