"""AWS Backup for the global tables, asserted on the synthesized app: the compliance gates cannot see
an AWS::DynamoDB::GlobalTable, so these tests are what shows both tables are backed up, locked and
copied to the other Region (docs/adr/0026-table-backups.md)."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.config import load_config
from strongroom.infra.app import backup_stack_name, data_stack_name

CONFIG = load_config({})
PRIMARY, SECONDARY = (r.name for r in CONFIG.regions)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def data(synthesized: Any) -> dict[str, Any]:
    template: dict[str, Any] = synthesized.template(data_stack_name(CONFIG))
    return template


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = _of_type(template, kind).items()
    return found[0], found[1]["Properties"]


def test_plan_backs_up_daily_into_the_primary_vault_and_copies_to_the_other_region(
    data: dict[str, Any],
) -> None:
    _, plan = _only(data, "AWS::Backup::BackupPlan")
    (rule,) = plan["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 5 * * ? *)"  # every day
    assert rule["TargetBackupVault"] == CONFIG.names.backup_vault(PRIMARY)
    assert rule["Lifecycle"] == {"DeleteAfterDays": CONFIG.retention.backup_days}
    (copy,) = rule["CopyActions"]
    destination = "".join(
        p if isinstance(p, str) else "<account>" for p in copy["DestinationBackupVaultArn"]["Fn::Join"][1]
    )
    assert (
        destination
        == f"arn:aws:backup:{SECONDARY}:<account>:backup-vault:{CONFIG.names.backup_vault(SECONDARY)}"
    )
    assert copy["Lifecycle"] == {"DeleteAfterDays": CONFIG.retention.backup_days}


def test_selection_names_both_tables_by_arn_with_the_backup_role(data: dict[str, Any]) -> None:
    tables = {
        logical_id: props["Properties"]["TableName"]
        for logical_id, props in _of_type(data, "AWS::DynamoDB::GlobalTable").items()
    }
    _, selection = _only(data, "AWS::Backup::BackupSelection")
    selected = {
        tables[r["Fn::GetAtt"][0]]
        for r in selection["BackupSelection"]["Resources"]
        if r["Fn::GetAtt"][1] == "Arn"
    }
    assert selected == {CONFIG.names.transactions_table, CONFIG.names.audit_table}
    role_id = selection["BackupSelection"]["IamRoleArn"]["Fn::GetAtt"][0]
    role = data["Resources"][role_id]["Properties"]
    assert role["RoleName"] == CONFIG.names.workload_role(PRIMARY, "backup")
    assert "ManagedPolicyArns" not in role  # no AWS managed policy: only the platform's own


def test_backup_policy_names_the_tables_vaults_and_data_key(data: dict[str, Any]) -> None:
    (policy,) = (p["Properties"] for p in _of_type(data, "AWS::IAM::ManagedPolicy").values())
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        "BackUpTheTables",
        "ManageTheTablesBackups",
        "CopyIntoTheOtherRegionsVaults",
        "UseTheVaultKey",
        "AttachTheVaultKeyToRecoveryPoints",
    }
    for statement in statements.values():
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert "*" not in resources
    assert statements["AttachTheVaultKeyToRecoveryPoints"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}
    }


@pytest.mark.parametrize("region", [r.name for r in CONFIG.regions])
def test_every_region_has_a_locked_vault_encrypted_with_its_data_key(synthesized: Any, region: str) -> None:
    template = synthesized.template(backup_stack_name(CONFIG, region))
    logical_id, vault = _only(template, "AWS::Backup::BackupVault")
    assert vault["BackupVaultName"] == CONFIG.names.backup_vault(region)
    assert vault["LockConfiguration"] == {
        "MinRetentionDays": CONFIG.retention.backup_days,
        "MaxRetentionDays": CONFIG.retention.backup_days + 1,
    }  # governance mode: no ChangeableForDays
    key = vault["EncryptionKeyArn"]["Fn::GetStackOutput"]  # the Region's key stack's data key
    assert (key["StackName"], key["Region"]) == (f"{CONFIG.names.prefix}-keys-{region}", region)
    assert "DataKey" in key["OutputName"]
    assert template["Resources"][logical_id]["DeletionPolicy"] == "Retain"


def test_backup_retention_is_configurable_and_validated() -> None:
    from strongroom import constants as env  # noqa: PLC0415
    from strongroom.config import ConfigError  # noqa: PLC0415

    assert load_config({env.ENV_BACKUP_RETENTION_DAYS: "90"}).retention.backup_days == 90
    with pytest.raises(ConfigError, match=env.ENV_BACKUP_RETENTION_DAYS):
        load_config({env.ENV_BACKUP_RETENTION_DAYS: "3"})
