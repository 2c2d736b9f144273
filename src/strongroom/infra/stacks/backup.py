"""A Region's backup-vault stack: the locked vault the tables' recovery points are kept in, encrypted
with the Region's data key. Deployed after the Region's key stack and before the global data stack,
whose plan backs up into the primary's vault and copies into every other Region's, naming each by its
configured name (CloudFormation cannot reference another Region's resources; docs/adr/0026).
"""

from __future__ import annotations

from constructs import Construct

from strongroom.config import PlatformConfig, RegionConfig
from strongroom.infra.constructs.backup import locked_vault
from strongroom.infra.stacks._base import StrongroomStack
from strongroom.infra.stacks.keys import KeyStack


class BackupVaultStack(StrongroomStack):
    """Attributes: ``vault``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        region: RegionConfig,
        keys: KeyStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            region=region.name,
            description=f"Strongroom backup vault ({region.name}): the tables' locked recovery points",
        )
        self.vault = locked_vault(
            self,
            "TablesVault",
            name=config.names.backup_vault(region.name),
            key=keys.keys.key("data"),
            days=config.retention.backup_days,
        )
