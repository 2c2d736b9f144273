from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match

from strongroom.config import ResourceNames
from strongroom.infra.constructs._props import PropsError, flatten_reference
from strongroom.infra.constructs.keys import Keys

from .conftest import resources, stack_template

NAMES = ResourceNames("strongroom")


def _statements(key: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    return statements


def test_one_rotating_retained_key_per_data_class_with_its_alias() -> None:
    template = stack_template(lambda stack: Keys(stack, "Keys", names=NAMES))

    keys = resources(template, "AWS::KMS::Key")
    assert len(keys) == 3
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["Properties"]["PendingWindowInDays"] == 30
        assert key["DeletionPolicy"] == "Retain"
    aliases = sorted(a["Properties"]["AliasName"] for a in resources(template, "AWS::KMS::Alias").values())
    assert aliases == ["alias/strongroom/data", "alias/strongroom/logs", "alias/strongroom/pipeline"]


def test_only_the_account_root_gets_kms_star_and_every_service_is_conditioned() -> None:
    template = stack_template(lambda stack: Keys(stack, "Keys", names=NAMES))

    for key in resources(template, "AWS::KMS::Key").values():
        for statement in _statements(key):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any("*" in action for action in actions):
                assert actions == ["kms:*"]
                assert flatten_reference(statement["Principal"]["AWS"]).endswith(
                    ":iam::<AWS::AccountId>:root"
                )
            else:
                assert "Service" in statement["Principal"]
                assert statement.get("Condition"), f"{statement['Sid']} has no condition"


def test_logs_key_lets_cloudwatch_logs_encrypt_only_this_regions_log_groups() -> None:
    template = stack_template(lambda stack: Keys(stack, "Keys", names=NAMES))

    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "Description": "Strongroom logs key (eu-west-1)",
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "CloudWatchLogsEncryptsThisRegionsLogGroups",
                                "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": Match.any_value(),
                                    }
                                },
                            }
                        ),
                        Match.object_like({"Sid": "CloudWatchAlarmsPublishToEncryptedTopics"}),
                    ]
                )
            },
        },
    )


def test_data_key_has_no_service_principal_statement() -> None:
    template = stack_template(lambda stack: Keys(stack, "Keys", names=NAMES))

    (data_key,) = [
        k
        for k in resources(template, "AWS::KMS::Key").values()
        if "data key" in k["Properties"]["Description"]
    ]
    assert [s["Sid"] for s in _statements(data_key)] == ["EnableIamPoliciesForThisAccount"]


def test_an_existing_key_is_used_and_not_recreated() -> None:
    created: dict[str, Keys] = {}

    def build(stack: Stack) -> None:
        existing = kms.Key.from_key_arn(stack, "Existing", "arn:aws:kms:eu-west-1:111111111111:key/abc")
        created["keys"] = Keys(stack, "Keys", names=NAMES, existing_keys={"data": existing})

    template = stack_template(build)

    assert len(resources(template, "AWS::KMS::Key")) == 2
    assert created["keys"].key("data").key_arn == "arn:aws:kms:eu-west-1:111111111111:key/abc"
    assert sorted(created["keys"].created) == ["logs", "pipeline"]


def test_invalid_props_fail_once_with_every_problem() -> None:
    def build(stack: Stack) -> None:
        Keys(
            stack,
            "Keys",
            names=NAMES,
            data_classes=("data", "data", "Bad Class"),
            existing_keys={"other": kms.Key.from_key_arn(stack, "K", "arn:aws:kms:eu-west-1:1:key/x")},
            key_props={"enable_key_rotation": False},
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)

    problems = error.value.problems
    assert len(problems) == 4
    assert any("repeats" in p for p in problems)
    assert any("'Bad Class'" in p for p in problems)
    assert any("'other'" in p for p in problems)
    assert any("key_props.enable_key_rotation" in p for p in problems)
