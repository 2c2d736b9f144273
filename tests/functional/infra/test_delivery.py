"""Signed code and canary releases (docs/adr/0039-signed-code-and-canary-releases.md), on the session's
synthesized app; one small extra synth (one Region) for the signed-bundle context."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from strongroom import __version__
from strongroom.config import ConfigError, DeploymentConfig, load_config
from strongroom.infra.app import feature_flags
from strongroom.infra.constructs.delivery import ALIAS_ACTIONS, release_config
from strongroom.infra.packaging import LambdaBundle
from strongroom.infra.signed_bundle import SIGNED_BUNDLE_CONTEXT, signed_bundle_context_key
from strongroom.infra.stacks.artifacts import ArtifactsStack
from strongroom.infra.stacks.keys import KeyStack
from strongroom.infra.stacks.regional import RegionalStack
from strongroom.infra.synth import SynthResult, render

from .conftest import stack_template

PRIMARY, OTHER = "strongroom-eu-west-1", "strongroom-eu-central-1"
# Released functions per platform stack: the rotation runs in the primary Region only.
RELEASED = {
    PRIMARY: {
        "strongroom-api",
        "strongroom-ingest",
        "strongroom-publisher",
        "strongroom-cursor-secret-rotation",
    },
    OTHER: {"strongroom-api", "strongroom-ingest", "strongroom-publisher"},
}
HOOKED = {"api": "api", "ingest": "batch", "publisher": "batch"}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _functions(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Function name → (logical id, properties), for the functions that are ours (named)."""
    return {
        r["Properties"]["FunctionName"]: (k, r["Properties"])
        for k, r in _resources(template, "AWS::Lambda::Function").items()
        if "FunctionName" in r["Properties"]
    }


def _aliases(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Function logical id → (alias logical id, alias resource)."""
    return {
        r["Properties"]["FunctionName"]["Ref"]: (k, r)
        for k, r in _resources(template, "AWS::Lambda::Alias").items()
    }


@pytest.fixture(scope="module", params=[PRIMARY, OTHER])
def platform(request: pytest.FixtureRequest, synthesized: SynthResult) -> tuple[str, dict[str, Any]]:
    return request.param, synthesized.template(request.param)


def test_every_function_enforces_code_signed_by_its_regions_profile(
    platform: tuple[str, dict[str, Any]], synthesized: SynthResult
) -> None:
    name, template = platform
    region = name.removeprefix("strongroom-")
    (csc_id, csc), *others = _resources(template, "AWS::Lambda::CodeSigningConfig").items()
    assert not others
    assert csc["Properties"]["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    (publisher,) = csc["Properties"]["AllowedPublishers"]["SigningProfileVersionArns"]
    output = publisher["Fn::GetStackOutput"]
    assert (output["StackName"], output["Region"]) == (f"strongroom-artifacts-{region}", region)
    artifacts = synthesized.template(f"strongroom-artifacts-{region}")
    ((profile_id, profile),) = _resources(artifacts, "AWS::Signer::SigningProfile").items()
    assert artifacts["Outputs"][output["OutputName"]]["Value"] == {
        "Fn::GetAtt": [profile_id, "ProfileVersionArn"]
    }
    assert profile["Properties"]["PlatformId"] == "AWSLambda-SHA384-ECDSA"
    assert profile["Properties"]["ProfileName"] == "strongroom_lambda"
    assert profile["Properties"]["SignatureValidityPeriod"] == {"Type": "MONTHS", "Value": 135}
    functions = _functions(template)
    assert RELEASED[name] <= set(functions)
    for function, (_, props) in functions.items():
        assert props["CodeSigningConfigArn"] == {"Fn::GetAtt": [csc_id, "CodeSigningConfigArn"]}, function


def test_the_artifacts_bucket_is_versioned_and_encrypted_with_the_pipeline_key(
    synthesized: SynthResult,
) -> None:
    artifacts = synthesized.template("strongroom-artifacts-eu-west-1")
    buckets = _resources(artifacts, "AWS::S3::Bucket")
    (bundles,) = [b for b in buckets.values() if "BucketName" in b["Properties"]]
    props = bundles["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}  # Signer requires it
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "KeysPipelineKey" in json.dumps(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_released_functions_snap_start_their_published_versions_and_hooks_do_not(
    platform: tuple[str, dict[str, Any]],
) -> None:
    name, template = platform
    for function, (_, props) in _functions(template).items():
        expected = {"ApplyOn": "PublishedVersions"} if function in RELEASED[name] else None
        assert props.get("SnapStart") == expected, function
        assert "EphemeralStorage" not in props


def test_each_released_function_has_a_live_alias_on_its_version_described_by_the_release(
    platform: tuple[str, dict[str, Any]],
) -> None:
    name, template = platform
    functions, aliases = _functions(template), _aliases(template)
    versions = _resources(template, "AWS::Lambda::Version")
    for function in RELEASED[name]:
        logical_id, props = functions[function]
        _, alias = aliases[logical_id]
        assert alias["Properties"]["Name"] == "live"
        assert alias["Properties"]["Description"] == f"strongroom {__version__}"
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert versions[version_id]["Properties"]["Description"] == f"strongroom {__version__}"
        assert "ReservedConcurrentExecutions" in props  # reserved concurrency stays on the function
        assert "ProvisionedConcurrencyConfig" not in alias["Properties"]


def test_every_function_is_told_the_release_version(platform: tuple[str, dict[str, Any]]) -> None:
    _, template = platform
    for function, (_, props) in _functions(template).items():
        assert props["Environment"]["Variables"]["STRONGROOM_VERSION"] == __version__, function


def _targets_an_alias(value: Any, alias_ids: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'{{"Ref": "{a}"}}' in text for a in alias_ids) and (
        "Fn::Join" not in text or ":live" in text or "/invocations" in text or "Fn::Select" not in text
    )


def test_every_invoker_targets_the_live_alias(platform: tuple[str, dict[str, Any]]) -> None:
    name, template = platform
    alias_ids = {alias_id for alias_id, _ in _aliases(template).values()}
    methods = _resources(template, "AWS::ApiGateway::Method")
    uris = [
        m["Properties"]["Integration"]["Uri"] for m in methods.values() if "Integration" in m["Properties"]
    ]
    assert uris
    assert all(_targets_an_alias(uri, alias_ids) for uri in uris)
    permissions = _resources(template, "AWS::Lambda::Permission").values()
    assert permissions
    for permission in permissions:
        assert _targets_an_alias(permission["Properties"]["FunctionName"], alias_ids), permission
    mappings = _resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 2
    for mapping in mappings:
        function_name = mapping["Properties"]["FunctionName"]
        assert function_name["Fn::Join"][1][1] == ":live"
        assert _targets_an_alias(function_name, alias_ids)
    schedules = _resources(template, "AWS::SecretsManager::RotationSchedule").values()
    assert len(schedules) == (1 if name == PRIMARY else 0)
    for schedule in schedules:
        assert _targets_an_alias(schedule["Properties"]["RotationLambdaARN"], alias_ids)


def _alarm_names(template: dict[str, Any], group: dict[str, Any]) -> set[str]:
    alarms = template["Resources"]
    return {
        alarms[a["Name"]["Ref"]]["Properties"]["AlarmName"]
        for a in group["Properties"]["AlarmConfiguration"]["Alarms"]
    }


def test_one_deployment_group_per_function_canaries_watches_its_alarms_and_rolls_back(
    platform: tuple[str, dict[str, Any]],
) -> None:
    name, template = platform
    prefix = name  # alarm names are <prefix>-<region>-…, the platform stack's own name
    groups = {
        g["Properties"]["DeploymentGroupName"]: g
        for g in _resources(template, "AWS::CodeDeploy::DeploymentGroup").values()
    }
    labels = {f.removeprefix("strongroom-") for f in RELEASED[name]} - {"cursor-secret-rotation"}
    labels |= {"rotation"} if name == PRIMARY else set()
    assert set(groups) == {f"strongroom-{label}" for label in labels}
    for label in labels:
        group = groups[f"strongroom-{label}"]
        props = group["Properties"]
        assert props["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        assert props["AutoRollbackConfiguration"] == {
            "Enabled": True,
            "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        }
        expected = {f"{prefix}-{label}-release-errors", f"{prefix}-{label}-duration-p99"}
        if label == "api":
            expected.add(f"{prefix}-api-5xx-rate")
        assert _alarm_names(template, group) == expected
        role = template["Resources"][props["ServiceRoleArn"]["Fn::GetAtt"][0]]["Properties"]
        assert "ManagedPolicyArns" not in role  # not AWSCodeDeployRoleForLambdaLimited
        errors = next(
            a["Properties"]
            for a in _resources(template, "AWS::CloudWatch::Alarm").values()
            if a["Properties"]["AlarmName"] == f"{prefix}-{label}-release-errors"
        )
        dimensions = {d["Name"]: d["Value"] for d in errors["Dimensions"]}
        assert "Resource" in dimensions  # the alias's errors, not every version's
        assert (errors["Threshold"], errors["EvaluationPeriods"]) == (1, 1)


def _policy_statements(template: dict[str, Any], policy_id: str) -> dict[str, dict[str, Any]]:
    document = template["Resources"][policy_id]["Properties"]["PolicyDocument"]
    return {s.get("Sid", ""): s for s in document["Statement"]}


def test_hooks_smoke_test_exactly_the_new_version_and_report_to_exactly_their_group(
    platform: tuple[str, dict[str, Any]],
) -> None:
    _, template = platform
    functions, aliases = _functions(template), _aliases(template)
    policies = _resources(template, "AWS::IAM::ManagedPolicy")
    for label, smoke in HOOKED.items():
        target_id, _ = functions[f"strongroom-{label}"]
        _, alias = aliases[target_id]
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        hook_id, hook = functions[f"strongroom-{label}-release-hook"]
        variables = hook["Environment"]["Variables"]
        assert variables["STRONGROOM_HOOK_TARGET"] == {"Ref": version_id}
        assert variables["STRONGROOM_HOOK_SMOKE"] == smoke
        assert hook["Handler"] == "strongroom.delivery_hooks.handler"
        assert "VpcConfig" in hook
        assert hook["TracingConfig"] == {"Mode": "Active"}
        assert hook["ReservedConcurrentExecutions"] >= 1
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["BeforeAllowTrafficHook"] == update["AfterAllowTrafficHook"] == {"Ref": hook_id}
        (hook_policy,) = [
            k
            for k, p in policies.items()
            if f"strongroom-{label}-release-hook" in json.dumps(p["Properties"]["Description"])
        ]
        statements = _policy_statements(template, hook_policy)
        assert statements["SmokeTestTheNewVersion"]["Action"] == "lambda:InvokeFunction"
        assert statements["SmokeTestTheNewVersion"]["Resource"] == {"Ref": version_id}
        report = statements["ReportTheLifecycleEvent"]
        assert report["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"
        assert ":deploymentgroup:strongroom-" in json.dumps(report["Resource"])
        assert json.dumps(report["Resource"]).endswith(f'/strongroom-{label}"]]}}')
        # CodeDeploy's role moves only this alias and runs only this hook.
        group_policy = next(
            k
            for k, p in policies.items()
            if p["Properties"].get("Description") == f"What CodeDeploy may do to release strongroom-{label}"
        )
        role_statements = _policy_statements(template, group_policy)
        assert set(role_statements["MoveTheLiveAlias"]["Action"]) == set(ALIAS_ACTIONS)
        assert json.dumps(role_statements["MoveTheLiveAlias"]["Resource"]).endswith(':live"]]}')
        assert role_statements["RunTheSmokeHook"]["Resource"] == {"Fn::GetAtt": [hook_id, "Arn"]}
        assert role_statements["WatchTheReleaseAlarms"]["Action"] == "cloudwatch:DescribeAlarms"


def test_the_hooks_reach_lambda_and_codedeploy_through_their_own_endpoints(
    platform: tuple[str, dict[str, Any]],
) -> None:
    _, template = platform
    endpoints = _resources(template, "AWS::EC2::VPCEndpoint").values()
    services = {json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].strip('"') for e in endpoints}
    assert {"lambda", "codedeploy"} <= services
    for endpoint in endpoints:
        if json.dumps(endpoint["Properties"]["ServiceName"]).endswith('.codedeploy"'):
            actions = {
                a for s in endpoint["Properties"]["PolicyDocument"]["Statement"] for a in [s["Action"]]
            }
            assert actions == {"codedeploy:PutLifecycleEventHookExecutionStatus"}


def test_synth_says_a_deploy_needs_the_signed_bundle(synthesized: SynthResult) -> None:
    assert synthesized.unsigned_code() == [PRIMARY, OTHER]
    assert f"-c {SIGNED_BUNDLE_CONTEXT}:<region>=" in render(synthesized)


@pytest.fixture(scope="module")
def signed() -> Template:
    """One Region's key, artifacts and platform stacks, with the signed bundle named by context."""
    config = load_config(environ={})
    region = config.region("eu-west-1")
    app = App(
        context={
            **feature_flags(),
            signed_bundle_context_key(
                "eu-west-1"
            ): "s3://strongroom-artifacts-eu-west-1-111111111111/bundles/abc.zip@v3rs10n",
        }
    )
    keys = KeyStack(app, "keys", config=config, region=region)
    artifacts = ArtifactsStack(app, "artifacts", config=config, region=region, keys=keys)
    stack = RegionalStack(
        app,
        "platform",
        config=config,
        region=region,
        keys=keys,
        artifacts=artifacts,
        bundle=LambdaBundle.for_repository(),
    )
    return Template.from_stack(stack)


def test_with_the_signed_bundle_context_every_function_deploys_that_object_version(signed: Template) -> None:
    functions = _functions(dict(signed.to_json()))
    assert RELEASED[PRIMARY] <= set(functions)
    for function, (_, props) in functions.items():
        assert props["Code"] == {
            "S3Bucket": "strongroom-artifacts-eu-west-1-111111111111",
            "S3Key": "bundles/abc.zip",
            "S3ObjectVersion": "v3rs10n",
        }, function


def test_a_malformed_signed_bundle_context_fails_naming_the_key() -> None:
    app = App(context={SIGNED_BUNDLE_CONTEXT: json.dumps({"eu-west-1": "s3://bucket/no-version.zip"})})
    from strongroom.infra.signed_bundle import signed_bundle_for  # noqa: PLC0415

    with pytest.raises(ValueError, match=r"strongroom:signed-bundle\[eu-west-1\]"):
        signed_bundle_for("eu-west-1", app.node.try_get_context)
    assert signed_bundle_for("eu-central-1", app.node.try_get_context) is None


def test_a_canary_of_another_shape_is_a_custom_deployment_configuration() -> None:
    config = load_config(environ={"STRONGROOM_CANARY_PERCENT": "25", "STRONGROOM_CANARY_MINUTES": "20"})
    assert config.deployment == DeploymentConfig(25, 20)
    template = stack_template(
        lambda stack: release_config(stack, config.deployment, "strongroom-canary-25pct-20min")
    )
    template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentConfig",
        {
            "ComputePlatform": "Lambda",
            "DeploymentConfigName": "strongroom-canary-25pct-20min",
            "TrafficRoutingConfig": {
                "Type": "TimeBasedCanary",
                "TimeBasedCanary": {"CanaryInterval": 20, "CanaryPercentage": 25},
            },
        },
    )


@pytest.mark.parametrize(
    ("variable", "value"), [("STRONGROOM_CANARY_PERCENT", "0"), ("STRONGROOM_CANARY_MINUTES", "x")]
)
def test_an_invalid_canary_names_its_setting(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_config(environ={variable: value})


def test_codedeploys_own_canaries_are_named_not_created() -> None:
    app = App(context=feature_flags())
    stack = Stack(app, "S")
    assert release_config(stack, DeploymentConfig(), "x").deployment_config_name.startswith(
        "CodeDeployDefault"
    )


def test_one_signed_bundle_uri_applies_to_the_region_its_bucket_is_named_for() -> None:
    from strongroom.infra.signed_bundle import signed_bundle_for  # noqa: PLC0415

    uri = "s3://strongroom-artifacts-eu-central-1-111111111111/signed/job.zip@abc"
    context = {SIGNED_BUNDLE_CONTEXT: uri}.get
    bundle = signed_bundle_for("eu-central-1", context)
    assert bundle is not None
    assert (bundle.key, bundle.version, bundle.uri) == ("signed/job.zip", "abc", uri)
    assert signed_bundle_for("eu-west-1", context) is None
    # The Region's own key wins over the shared one.
    own = {
        SIGNED_BUNDLE_CONTEXT: uri,
        signed_bundle_context_key("eu-central-1"): "s3://b-eu-central-1/k@v",
    }.get
    assert signed_bundle_for("eu-central-1", own) == signed_bundle_for(
        "eu-central-1", {signed_bundle_context_key("eu-central-1"): "s3://b-eu-central-1/k@v"}.get
    )


def test_the_release_hook_handler_ships_in_the_lambda_bundle() -> None:
    # Without it the hooks could not import their handler, and every release would roll back.
    assert "strongroom/delivery_hooks.py" in LambdaBundle.for_repository().files()
