"""AWS Backup for the global tables: a locked, key-encrypted vault per Region, and the primary's daily
plan that backs up both tables and copies every recovery point into the other Regions' vaults.

AWS Backup selects a DynamoDB table by its ARN in the plan's Region (``arn:…:dynamodb:<region>:…:
table/<name>``); a global table's ``Arn`` attribute is exactly that replica's ARN. The plan's role is
the platform's own, with a customer-managed policy naming the tables, the vaults and the data key: AWS
Backup's managed service-role policies are AWS managed policies, which the wildcard gate refuses
(docs/adr/0026-table-backups.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from strongroom.infra.constructs._props import Problems

# Daily at 05:00 UTC; a job must start within an hour and finish within eight.
DAILY_SCHEDULE = events.Schedule.cron(minute="0", hour="5")


def locked_vault(
    scope: Construct, construct_id: str, *, name: str, key: kms.IKey, days: int
) -> backup.BackupVault:
    """A vault encrypted with ``key`` whose lock (governance mode: no ``changeable_for``, so the lock
    can still be removed by a principal allowed ``backup:DeleteBackupVaultLockConfiguration``) holds
    every recovery point for at least ``days`` and at most a day more (the lock needs its maximum above
    its minimum). The vault outlives its stack."""
    return backup.BackupVault(
        scope,
        construct_id,
        backup_vault_name=name,
        encryption_key=key,
        lock_configuration=backup.LockConfiguration(
            min_retention=Duration.days(days), max_retention=Duration.days(days + 1)
        ),
        removal_policy=RemovalPolicy.RETAIN,
    )


class TableBackups(Construct):
    """A daily backup plan for ``tables`` (ARNs in this stack's Region) into ``vault``, copying each
    recovery point to the vaults named in ``copy_vault_arns`` (Region → vault ARN).

    Attributes: ``plan``, ``role``, ``policy``, ``selection``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan_name: str,
        role_name: str,
        vault: backup.IBackupVault,
        vault_key: kms.IKey,
        tables: Sequence[str],
        copy_vault_arns: Mapping[str, str],
        retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        here = Stack.of(self).region
        problems = Problems("TableBackups")
        problems.check(bool(tables), "tables: name at least one table ARN")
        problems.check(here not in copy_vault_arns, f"copy_vault_arns: {here} is this plan's own Region")
        problems.check(retention_days >= 1, f"retention_days {retention_days} must be at least 1")
        problems.raise_if_any()

        keep = Duration.days(retention_days)
        copies = {
            region: backup.BackupVault.from_backup_vault_arn(self, f"CopyVault-{region}", arn)
            for region, arn in sorted(copy_vault_arns.items())
        }
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=plan_name,
            backup_vault=vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=DAILY_SCHEDULE,
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(8),
                    delete_after=keep,
                    copy_actions=[
                        backup.BackupPlanCopyActionProps(destination_backup_vault=copy, delete_after=keep)
                        for copy in copies.values()
                    ],
                )
            ],
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup backs up and copies the platform's tables",
        )
        statements = [
            iam.PolicyStatement(
                sid="BackUpTheTables",
                actions=[
                    "dynamodb:DescribeTable",
                    "dynamodb:CreateBackup",
                    "dynamodb:StartAwsBackupJob",
                    "dynamodb:ListTagsOfResource",
                ],
                resources=list(tables),
            ),
            iam.PolicyStatement(
                sid="ManageTheTablesBackups",
                actions=["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"],
                resources=[f"{table}/backup/*" for table in tables],
            ),
            iam.PolicyStatement(
                sid="CopyIntoTheOtherRegionsVaults",
                actions=["backup:DescribeBackupVault", "backup:CopyIntoBackupVault"],
                resources=[vault.backup_vault_arn, *(c.backup_vault_arn for c in copies.values())],
            ),
            iam.PolicyStatement(
                sid="UseTheVaultKey",
                actions=["kms:DescribeKey", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[vault_key.key_arn],
            ),
            iam.PolicyStatement(
                sid="AttachTheVaultKeyToRecoveryPoints",
                actions=["kms:CreateGrant"],
                resources=[vault_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
        # A customer-managed policy, as every platform role has: the gates refuse AWS managed ones.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="What AWS Backup may do to back up and copy the platform's tables",
            statements=statements,
            roles=[self.role],
        )
        self.selection = self.plan.add_selection(
            "Tables",
            backup_selection_name="tables",
            resources=[backup.BackupResource.from_arn(arn) for arn in tables],
            role=self.role,
            allow_restores=False,
            # CDK would attach AWSBackupServiceRolePolicyForBackup, an AWS managed policy the gates refuse.
            disable_default_backup_policy=True,
        )
