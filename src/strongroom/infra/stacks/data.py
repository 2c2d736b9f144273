"""The data every Region uses, declared once in the primary Region: the global tables (a replica in
every Region) and the cursor secret (a replica in every other Region).

Its own stack, so that a Region's platform stack depends on this data and on its own keys only, never
on another Region's platform (docs/adr/0010). Every replica is encrypted with its Region's data key:
the primary's by reference to its key stack, the others' by alias ARN. The platform stacks name these
resources by names derived from the configuration, so this stack exports nothing to them.

AWS Backup backs both tables up daily into the primary's vault and copies every recovery point into
each other Region's vault; the vaults live in the per-Region backup-vault stacks, deployed before this
one, and are named from the configuration (docs/adr/0026-table-backups.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat
from aws_cdk import aws_backup as backup
from aws_cdk import aws_kms as kms
from constructs import Construct

from strongroom.config import PlatformConfig, ResourceNames
from strongroom.infra.constructs import TransactionStore
from strongroom.infra.constructs.backup import TableBackups
from strongroom.infra.constructs.experiments import TRANSACTIONS_TABLE, tag_fault_target
from strongroom.infra.constructs.secret import replicated_secret
from strongroom.infra.stacks._base import StrongroomStack
from strongroom.infra.stacks.backup import BackupVaultStack
from strongroom.infra.stacks.keys import KeyStack


def cursor_secret_name(names: ResourceNames) -> str:
    return f"{names.prefix}/api/cursor-secret"


class GlobalDataStack(StrongroomStack):
    """Attributes: ``store`` (:class:`TransactionStore`), ``cursor_secret``, ``backups``
    (:class:`TableBackups`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        keys: Mapping[str, KeyStack],
        vaults: Mapping[str, BackupVaultStack],
    ) -> None:
        primary = config.primary_region.name
        super().__init__(
            scope,
            construct_id,
            region=primary,
            description=f"Strongroom global data ({primary}): global tables and the replicated cursor secret",
        )
        names = config.names
        data_key = kms.Key.from_key_arn(self, "DataKey", keys[primary].keys.key("data").key_arn)
        remote_keys = {
            r.name: self.format_arn(service="kms", region=r.name, resource=names.key_alias("data"))
            for r in config.regions
            if r.name != primary
        }
        # Every replica's key exists before its table or secret replica (the primary's own key is
        # referenced, the others' are named).
        for key_stack in keys.values():
            self.add_stack_dependency(key_stack, "every replica's key exists before the global tables")
        for vault_stack in vaults.values():
            self.add_stack_dependency(
                vault_stack, "every Region's backup vault exists before the plan uses it"
            )
        # Construct ids keep the logical ids these resources had in the primary's platform stack
        # (Store/…, CursorSecret/Default → CursorSecret), so moving them is a stack refactoring.
        self.store = TransactionStore(
            self,
            "Store",
            transactions_table_name=names.transactions_table,
            audit_table_name=names.audit_table,
            regions=[r.name for r in config.regions],
            consistency=config.consistency,
            witness_region=config.witness_region if config.consistency == "strong" else None,
            table_key=data_key,
            replica_key_arns=remote_keys,
        )
        if config.consistency == "eventual":  # every replica may have its replication paused by a drill
            tag_fault_target(self.store.transactions, names.prefix, TRANSACTIONS_TABLE)
        self.cursor_secret = replicated_secret(
            self,
            "CursorSecret",
            secret_name=cursor_secret_name(names),
            description=(
                "Cursor-signing keys (current and previous) and the log pseudonym secret of the API "
                "(replicated to every Region; rotated by the primary Region)"
            ),
            key=data_key,
            replica_regions=remote_keys,
        )
        self.backups = TableBackups(
            self,
            "Backups",
            plan_name=f"{names.prefix}-tables",
            role_name=names.workload_role(primary, "backup"),
            vault=backup.BackupVault.from_backup_vault_name(self, "TablesVault", names.backup_vault(primary)),
            vault_key=data_key,
            tables=[self.store.transactions.table_arn, self.store.audit.table_arn],
            copy_vault_arns={
                r.name: self.format_arn(
                    service="backup",
                    region=r.name,
                    resource="backup-vault",
                    resource_name=names.backup_vault(r.name),
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                for r in config.regions
                if r.name != primary
            },
            retention_days=config.retention.backup_days,
        )
