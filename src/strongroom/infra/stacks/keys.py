"""A Region's key stack: its customer-managed keys, deployed before anything that encrypts with them.

Who administers, who may destroy and who may use the keys comes from the configuration
(docs/adr/0020-key-policies-with-separation-of-duties.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from constructs import Construct

from strongroom.config import PlatformConfig, RegionConfig, ResourceNames
from strongroom.infra.constructs.keys import DEFAULT_KEY_USES, DirectUse, Keys, KeyUse
from strongroom.infra.stacks._base import StrongroomStack
from strongroom.runtime.adapters.kms import CANARY_CONTEXT


def platform_key_uses(names: ResourceNames) -> Mapping[str, KeyUse]:
    """What the platform's own roles do with the data key themselves (not through a service)."""
    return {
        **DEFAULT_KEY_USES,
        "data": replace(
            DEFAULT_KEY_USES["data"],
            direct=(
                # Lambda decrypts a function's environment with the function's role, under this context.
                DirectUse(
                    sid="FunctionsDecryptTheirEnvironment",
                    actions=("kms:Decrypt",),
                    encryption_context={"LambdaFunctionName": f"{names.prefix}-*"},
                ),
                # The deep health check proves the key decrypts (strongroom.runtime.adapters.kms).
                DirectUse(
                    sid="FunctionsRunTheHealthCanary",
                    actions=("kms:Encrypt", "kms:Decrypt"),
                    encryption_context=CANARY_CONTEXT,
                ),
            ),
        ),
    }


class KeyStack(StrongroomStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, region: RegionConfig
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            region=region.name,
            description=f"Strongroom keys ({region.name}): one customer-managed key per data class",
        )
        self.keys = Keys(
            self,
            "Keys",
            names=config.names,
            key_admin_role=config.security.key_admin_role,
            break_glass_role=config.security.break_glass_role,
            workload_roles=config.names.workload_roles(region.name),
            # Replicas (global tables, the secret) may be written through another Region's endpoint.
            service_regions=[r.name for r in config.regions],
            uses=platform_key_uses(config.names),
        )
