"""Key policies: administration and use kept apart, destruction for break-glass only, the logs key for
the platform's own log groups (docs/adr/0020-key-policies-with-separation-of-duties.md)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from aws_cdk import App, CliCredentialsStackSynthesizer, Environment, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from strongroom.config import ResourceNames, load_config
from strongroom.infra.app import feature_flags, key_stack_name, regional_stack_name
from strongroom.infra.constructs._props import PropsError, flatten_reference
from strongroom.infra.constructs.keys import (
    CRYPTOGRAPHIC_ACTIONS,
    READ_ACTIONS,
    RESOURCE_GRANT_ACTIONS,
    RESTRICTED_ACTIONS,
    DirectUse,
    Keys,
    KeyUse,
)
from strongroom.infra.stacks.keys import KeyStack
from strongroom.runtime.adapters.kms import CANARY_CONTEXT

from .conftest import REGION, resources, stack_template

NAMES = ResourceNames("strongroom")
ADMIN = "strongroom-key-admin"
BREAK_GLASS = "strongroom-break-glass"
ACCOUNT_ROLE = "arn:aws:iam::<AWS::AccountId>:role/"
ADMIN_ARNS = [f"{ACCOUNT_ROLE}{ADMIN}", f"{ACCOUNT_ROLE}*/{ADMIN}"]
BREAK_GLASS_ARNS = [f"{ACCOUNT_ROLE}{BREAK_GLASS}", f"{ACCOUNT_ROLE}*/{BREAK_GLASS}"]
CFN_EXEC_ROLE = (
    "arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-cfn-exec-role-<AWS::AccountId>-eu-west-1"
)
ACCOUNT_ROOT = "arn:aws:iam::<AWS::AccountId>:root"
# What a key user may be allowed: cryptography, reading the key's id, grants for AWS resources.
USER_ACTIONS = {*CRYPTOGRAPHIC_ACTIONS, "kms:DescribeKey", *RESOURCE_GRANT_ACTIONS}


def _keys(stack: Stack, **props: Any) -> Keys:
    return Keys(
        stack, "Keys", **{"names": NAMES, "key_admin_role": ADMIN, "break_glass_role": BREAK_GLASS, **props}
    )


def _template(**props: Any) -> Template:
    return stack_template(lambda stack: _keys(stack, **props))


def _policies(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Data class → the statements of its key's policy."""
    return {
        key["Properties"]["Description"].split()[1]: key["Properties"]["KeyPolicy"]["Statement"]
        for key in resources(template, "AWS::KMS::Key").values()
    }


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _values(value: Any) -> list[str]:
    return [flatten_reference(v) for v in (value if isinstance(value, list) else [value])]


def _principal_arns(statement: dict[str, Any], operator: str = "ArnLike") -> list[str]:
    return _values(statement.get("Condition", {}).get(operator, {}).get("aws:PrincipalArn", []))


def _by_sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements if s.get("Sid") == sid]
    return found


def _is_user_statement(statement: dict[str, Any]) -> bool:
    """Granted for using the key: a service principal, or a condition on how the key is used."""
    condition = statement.get("Condition", {})
    keys = {k for operator in condition.values() for k in operator}
    return "Service" in statement["Principal"] or any(
        k == "kms:ViaService" or k.startswith("kms:EncryptionContext:") for k in keys
    )


def test_one_rotating_retained_key_per_data_class_with_its_alias() -> None:
    template = _template()

    keys = resources(template, "AWS::KMS::Key")
    assert len(keys) == 3
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["Properties"]["PendingWindowInDays"] == 30
        assert key["DeletionPolicy"] == "Retain"
    aliases = sorted(a["Properties"]["AliasName"] for a in resources(template, "AWS::KMS::Alias").values())
    assert aliases == ["alias/strongroom/data", "alias/strongroom/logs", "alias/strongroom/pipeline"]


def test_iam_alone_can_only_read_a_key_and_every_other_allow_is_conditioned() -> None:
    for data_class, statements in _policies(_template()).items():
        allows = [s for s in statements if s["Effect"] == "Allow"]
        assert not any("*" in action for s in allows for action in _actions(s)), data_class
        unconditioned = [s for s in allows if not s.get("Condition")]
        assert len(unconditioned) == 1, data_class
        assert flatten_reference(unconditioned[0]["Principal"]["AWS"]) == ACCOUNT_ROOT
        assert _actions(unconditioned[0]) == set(READ_ACTIONS)


def test_administrators_manage_the_key_but_can_never_use_it() -> None:
    for data_class, statements in _policies(_template()).items():
        admin = _by_sid(statements, "KeyAdministratorsManageTheKey")
        assert _principal_arns(admin) == ADMIN_ARNS
        assert {"kms:EnableKeyRotation", "kms:CancelKeyDeletion"} <= _actions(admin)
        assert not _actions(admin) & set(CRYPTOGRAPHIC_ACTIONS), data_class
        assert not _actions(admin) & {*RESTRICTED_ACTIONS, "kms:CreateGrant"}, data_class
        # Whatever IAM or a grant says: an explicit deny of every use to both administering roles.
        deny = _by_sid(statements, "AdministratorsNeverUseTheKey")
        assert deny["Effect"] == "Deny"
        assert deny["Principal"] == {"AWS": "*"}
        assert _actions(deny) == {*CRYPTOGRAPHIC_ACTIONS, "kms:CreateGrant"}
        assert _principal_arns(deny) == [*ADMIN_ARNS, *BREAK_GLASS_ARNS]


def test_users_get_cryptographic_actions_only() -> None:
    for data_class, statements in _policies(_template()).items():
        users = [s for s in statements if s["Effect"] == "Allow" and _is_user_statement(s)]
        assert users, f"the {data_class} key has no user"
        for statement in users:
            assert _actions(statement) <= USER_ACTIONS, statement["Sid"]
            if _actions(statement) & set(RESOURCE_GRANT_ACTIONS):
                assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
        # …and nobody else gets cryptography.
        others = [s for s in statements if s["Effect"] == "Allow" and not _is_user_statement(s)]
        assert not any(_actions(s) & set(CRYPTOGRAPHIC_ACTIONS) for s in others), data_class


def test_named_services_use_a_key_for_callers_of_this_account_only() -> None:
    policies = _policies(_template())

    via = {
        data_class: _values(
            _by_sid(statements, "AccountUsesTheKeyThroughNamedServices")["Condition"]["StringEquals"][
                "kms:ViaService"
            ]
        )
        for data_class, statements in policies.items()
    }
    assert via == {
        "data": [
            "backup.eu-west-1.amazonaws.com",  # the vault encrypts the tables' recovery points with it
            "dynamodb.eu-west-1.amazonaws.com",
            "lambda.eu-west-1.amazonaws.com",
            "secretsmanager.eu-west-1.amazonaws.com",
        ],
        "logs": ["sns.eu-west-1.amazonaws.com"],
        "pipeline": [
            "kinesis.eu-west-1.amazonaws.com",
            "s3.eu-west-1.amazonaws.com",
            "sqs.eu-west-1.amazonaws.com",
        ],
    }
    for statements in policies.values():
        statement = _by_sid(statements, "AccountUsesTheKeyThroughNamedServices")
        assert flatten_reference(statement["Principal"]["AWS"]) == ACCOUNT_ROOT


def test_only_break_glass_deletes_or_disables_and_only_it_or_cloudformation_replaces_the_policy() -> None:
    for data_class, statements in _policies(_template()).items():
        destroy = _by_sid(statements, "OnlyBreakGlassDeletesOrDisablesTheKey")
        assert (destroy["Effect"], destroy["Principal"]) == ("Deny", {"AWS": "*"})
        assert _actions(destroy) == {"kms:ScheduleKeyDeletion", "kms:DisableKey"}
        assert destroy["Condition"] == {"ArnNotLike": destroy["Condition"]["ArnNotLike"]}
        assert _principal_arns(destroy, "ArnNotLike") == BREAK_GLASS_ARNS

        policy = _by_sid(statements, "OnlyBreakGlassAndCloudFormationReplaceThePolicy")
        assert (policy["Effect"], policy["Principal"]) == ("Deny", {"AWS": "*"})
        assert _actions(policy) == {"kms:PutKeyPolicy"}
        assert _principal_arns(policy, "ArnNotLike") == [*BREAK_GLASS_ARNS, CFN_EXEC_ROLE]

        # The only allows of the three: break-glass, and CloudFormation for the policy.
        granted = {
            s["Sid"]: _actions(s) & set(RESTRICTED_ACTIONS)
            for s in statements
            if s["Effect"] == "Allow" and _actions(s) & set(RESTRICTED_ACTIONS)
        }
        assert granted == {
            "BreakGlassDeletesDisablesOrReplacesThePolicy": set(RESTRICTED_ACTIONS),
            "CloudFormationDeploysTheKey": {"kms:PutKeyPolicy"},
        }, data_class
        break_glass = _by_sid(statements, "BreakGlassDeletesDisablesOrReplacesThePolicy")
        assert _principal_arns(break_glass) == BREAK_GLASS_ARNS
        assert not _actions(break_glass) & set(CRYPTOGRAPHIC_ACTIONS)
        assert _principal_arns(_by_sid(statements, "CloudFormationDeploysTheKey")) == [CFN_EXEC_ROLE]


def test_a_role_arn_with_a_path_is_matched_exactly_in_its_own_account() -> None:
    arn = "arn:aws:iam::111122223333:role/ops/emergency/strongroom-break-glass"

    statements = _policies(_template(break_glass_role=arn))["data"]

    assert _principal_arns(_by_sid(statements, "OnlyBreakGlassDeletesOrDisablesTheKey"), "ArnNotLike") == [
        arn
    ]
    allow = _by_sid(statements, "BreakGlassDeletesDisablesOrReplacesThePolicy")
    assert _principal_arns(allow) == [arn]
    assert allow["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}


def test_the_policy_exception_follows_the_bootstrap_qualifier_or_an_explicit_deploy_role() -> None:
    app = App(context={**feature_flags(), "@aws-cdk/core:bootstrapQualifier": "bank1"})
    stack = Stack(app, "Test", env=Environment(region=REGION))
    _keys(stack)
    bank1 = _policies(Template.from_stack(stack))["data"]
    explicit = _policies(_template(deploy_role="arn:aws:iam::111122223333:role/pipeline/deployer"))["data"]

    sid = "OnlyBreakGlassAndCloudFormationReplaceThePolicy"
    assert _principal_arns(_by_sid(bank1, sid), "ArnNotLike")[-1] == CFN_EXEC_ROLE.replace(
        "hnb659fds", "bank1"
    )
    assert _principal_arns(_by_sid(explicit, sid), "ArnNotLike")[-1] == (
        "arn:aws:iam::111122223333:role/pipeline/deployer"
    )


def test_a_stack_deployed_without_a_cloudformation_role_must_name_its_deployer() -> None:
    app = App(context=feature_flags())
    stack = Stack(app, "Test", env=Environment(region=REGION), synthesizer=CliCredentialsStackSynthesizer())

    with pytest.raises(PropsError) as error:
        _keys(stack)

    assert any(p.startswith("deploy_role:") for p in error.value.problems)


def test_logs_key_lets_cloudwatch_logs_encrypt_only_the_platforms_log_groups() -> None:
    statements = _policies(_template())["logs"]

    logs = _by_sid(statements, "CloudWatchLogsEncryptsThePlatformsLogGroups")
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert list(logs["Condition"]) == ["ArnLike"]
    assert _values(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]) == [
        "arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:/strongroom/*",
        "arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:/aws/lambda/strongroom-*",
        "arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:aws-waf-logs-strongroom-*",
        "arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:API-Gateway-Execution-Logs_*",
    ]
    assert _by_sid(statements, "CloudWatchAlarmsPublishToEncryptedTopics")["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }
    assert not any("Service" in s["Principal"] for s in _policies(_template())["data"])
    # The pipeline key's only service principal is S3 notifying the platform's queues (docs/adr/0033).
    services = [
        s["Principal"]["Service"] for s in _policies(_template())["pipeline"] if "Service" in s["Principal"]
    ]
    assert services == ["s3.amazonaws.com"]


def _key_stack_policies() -> dict[str, list[dict[str, Any]]]:
    config = load_config({})
    app = App(context=feature_flags())
    return _policies(Template.from_stack(KeyStack(app, "Keys", config=config, region=config.regions[0])))


def test_a_replica_written_through_the_other_regions_endpoint_is_admitted() -> None:
    statements = _key_stack_policies()["data"]

    via = _by_sid(statements, "AccountUsesTheKeyThroughNamedServices")["Condition"]["StringEquals"]
    assert _values(via["kms:ViaService"]) == [
        "backup.eu-west-1.amazonaws.com",
        "dynamodb.eu-west-1.amazonaws.com",
        "dynamodb.eu-central-1.amazonaws.com",
        "lambda.eu-west-1.amazonaws.com",  # function environments do not replicate
        "secretsmanager.eu-west-1.amazonaws.com",
        "secretsmanager.eu-central-1.amazonaws.com",
    ]


def test_workload_roles_use_the_data_key_themselves_only_under_their_encryption_contexts() -> None:
    statements = _key_stack_policies()["data"]

    canary = _by_sid(statements, "FunctionsRunTheHealthCanary")
    environment = _by_sid(statements, "FunctionsDecryptTheirEnvironment")
    for statement in (canary, environment):
        assert _principal_arns(statement) == [f"{ACCOUNT_ROLE}strongroom-eu-west-1-*"]
    assert _actions(canary) == {"kms:Encrypt", "kms:Decrypt"}
    assert canary["Condition"]["StringEquals"] == {
        f"kms:EncryptionContext:{k}": v for k, v in CANARY_CONTEXT.items()
    }
    assert _actions(environment) == {"kms:Decrypt"}
    assert environment["Condition"]["StringLike"] == {
        "kms:EncryptionContext:LambdaFunctionName": "strongroom-*"
    }


def test_an_existing_key_is_used_and_not_recreated() -> None:
    created: dict[str, Keys] = {}

    def build(stack: Stack) -> None:
        existing = kms.Key.from_key_arn(stack, "Existing", "arn:aws:kms:eu-west-1:111111111111:key/abc")
        created["keys"] = _keys(stack, existing_keys={"data": existing})

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
            key_admin_role="ops-keys",
            break_glass_role="arn:aws:iam::111122223333:role/ops/ops-keys",
            data_classes=("data", "data", "Bad Class"),
            existing_keys={"other": kms.Key.from_key_arn(stack, "K", "arn:aws:kms:eu-west-1:1:key/x")},
            key_props={"enable_key_rotation": False},
            uses={
                "data": KeyUse(
                    services=("DynamoDB",),
                    direct=(DirectUse("Sneaky", ("kms:Decrypt", "kms:PutKeyPolicy"), {"k": "v"}),),
                )
            },
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)

    problems = error.value.problems
    assert len(problems) == 7, problems
    assert any("repeats" in p for p in problems)
    assert any("'Bad Class'" in p for p in problems)
    assert any("'other'" in p for p in problems)
    assert any("key_props.enable_key_rotation" in p for p in problems)
    assert any(p.startswith("break_glass_role is the same role as key_admin_role") for p in problems)
    assert any("'DynamoDB'" in p for p in problems)
    assert any("Sneaky" in p and "kms:PutKeyPolicy" in p for p in problems)


def test_a_role_that_is_not_a_role_is_refused() -> None:
    with pytest.raises(PropsError) as error:
        _template(key_admin_role="arn:aws:iam::111122223333:user/alice", break_glass_role="no spaces")

    assert [p.split(":")[0] for p in error.value.problems] == ["key_admin_role", "break_glass_role"]


# --- the whole app: what the key policies admit is what the platform creates -----------------------


def _app_templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    return {s.name: synthesized.template(s.name) for s in synthesized.stacks}


def test_every_log_group_the_platform_creates_is_one_its_regions_logs_key_admits(synthesized: Any) -> None:
    config = load_config({})
    templates = _app_templates(synthesized)
    patterns = config.names.log_group_patterns()
    for region in config.regions:
        keys = templates[key_stack_name(config, region.name)]["Resources"]
        (logs_key,) = [
            r
            for r in keys.values()
            if r["Properties"].get("Description", "").startswith("Strongroom logs key")
        ]
        logs = _by_sid(
            logs_key["Properties"]["KeyPolicy"]["Statement"], "CloudWatchLogsEncryptsThePlatformsLogGroups"
        )
        admitted = _values(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
        prefix = f"arn:aws:logs:{region.name}:<AWS::AccountId>:log-group:"
        assert admitted == [prefix + p for p in patterns]

        platform = templates[regional_stack_name(config, region.name)]["Resources"]
        groups = {lid: r["Properties"] for lid, r in platform.items() if r["Type"] == "AWS::Logs::LogGroup"}
        assert groups
        for logical_id, group in groups.items():
            name = flatten_reference(group.get("LogGroupName"))
            assert name, f"{logical_id} has a generated name, which the logs key does not admit"
            assert any(fnmatchcase(name, p) for p in patterns), f"{logical_id}: {name}"


def test_every_function_using_the_data_key_runs_as_a_workload_role_of_its_region(synthesized: Any) -> None:
    config = load_config({})
    templates = _app_templates(synthesized)
    for region in config.regions:
        platform = templates[regional_stack_name(config, region.name)]["Resources"]
        functions = [r["Properties"] for r in platform.values() if r["Type"] == "AWS::Lambda::Function"]
        encrypted = [f for f in functions if "KmsKeyArn" in f]
        assert encrypted
        for function in encrypted:
            role_id = function["Role"]["Fn::GetAtt"][0]
            role_name = platform[role_id]["Properties"].get("RoleName", "")
            assert fnmatchcase(role_name, config.names.workload_roles(region.name)), function["FunctionName"]
