"""A Region's key stack: its customer-managed keys, deployed before anything that encrypts with them."""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from strongroom.config import PlatformConfig, RegionConfig
from strongroom.infra.constructs.keys import Keys


class KeyStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, region: RegionConfig
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(region=region.name),
            description=f"Strongroom keys ({region.name}): one customer-managed key per data class",
            termination_protection=True,
        )
        self.keys = Keys(self, "Keys", names=config.names)
