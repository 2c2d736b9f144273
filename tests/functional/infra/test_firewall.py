"""The API's web application firewall (docs/adr/0022-api-firewall.md): what it blocks, what it only
counts, and that it agrees with the API's own body limit."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from strongroom.config import MAX_BODY_BYTES, load_config
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.firewall import (
    BODY_INSPECTION_LIMITS,
    MANAGED_RULE_GROUPS,
    ApiFirewall,
)

from .api_stacks import KEY, transaction_api
from .conftest import resources, stack_template

COUNT: dict[str, dict[str, Any]] = {"Count": {}}


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(transaction_api)


def _acl(template: Template) -> dict[str, Any]:
    (acl,) = resources(template, "AWS::WAFv2::WebACL").values()
    properties: dict[str, Any] = acl["Properties"]
    return properties


def _rules(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in acl["Rules"]}


def _overrides(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statement = rule["Statement"]["ManagedRuleGroupStatement"]
    return {o["Name"]: o["ActionToUse"] for o in statement.get("RuleActionOverrides", [])}


def _inspection_limit(acl: dict[str, Any]) -> str:
    limit: str = acl["AssociationConfig"]["RequestBody"]["API_GATEWAY"]["DefaultSizeInspectionLimit"]
    return limit


# --- rules -------------------------------------------------------------------------------------------


def test_web_acl_has_the_managed_groups_a_rate_rule_and_a_body_size_rule(template: Template) -> None:
    acl = _acl(template)
    rules = _rules(acl)
    assert set(MANAGED_RULE_GROUPS) <= set(rules)
    for group in MANAGED_RULE_GROUPS:
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert (statement["VendorName"], statement["Name"]) == ("AWS", group)
        assert rules[group]["OverrideAction"] == {"None": {}}, group  # the group's own actions apply
    rate = rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["AggregateKeyType"]) == (1000, "IP")
    assert rules["BodyTooLarge"]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 413
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}


def test_hosting_provider_addresses_are_counted_and_anonymizers_still_blocked_by_default(
    template: Template,
) -> None:
    # GIVEN machine callers that run on cloud hosts; WHEN the default configuration is deployed
    anonymous = _rules(_acl(template))["AWSManagedRulesAnonymousIpList"]
    # THEN only the hosting-provider rule counts (and labels); Tor, VPN and proxy addresses block
    assert _overrides(anonymous) == {"HostingProviderIPList": COUNT}
    assert anonymous["OverrideAction"] == {"None": {}}


def test_hosting_provider_addresses_can_be_blocked() -> None:
    template = stack_template(lambda stack: transaction_api(stack, waf_hosting_provider_action="block"))
    anonymous = _rules(_acl(template))["AWSManagedRulesAnonymousIpList"]
    assert _overrides(anonymous) == {}
    assert anonymous["OverrideAction"] == {"None": {}}


def test_the_core_rule_sets_8_kb_body_rule_only_counts(template: Template) -> None:
    core = _rules(_acl(template))["AWSManagedRulesCommonRuleSet"]
    # Its fixed 8 KB limit knows nothing of max_body_bytes; BodyTooLarge enforces the API's own.
    assert _overrides(core) == {"SizeRestrictions_BODY": COUNT}


# --- the body limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_body_bytes", "inspection_limit"),
    [(256, "KB_16"), (8192, "KB_16"), (16384, "KB_16"), (16385, "KB_32"), (40000, "KB_48"), (65536, "KB_64")],
)
def test_waf_inspects_every_byte_the_api_accepts_and_blocks_the_rest(
    max_body_bytes: int, inspection_limit: str
) -> None:
    template = stack_template(lambda stack: transaction_api(stack, max_body_bytes=max_body_bytes))
    acl = _acl(template)
    assert _inspection_limit(acl) == inspection_limit
    assert max_body_bytes <= BODY_INSPECTION_LIMITS[inspection_limit]
    rules = _rules(acl)
    size = rules["BodyTooLarge"]["Statement"]["SizeConstraintStatement"]
    assert (size["ComparisonOperator"], size["Size"]) == ("GT", max_body_bytes)
    # A body longer than the inspection limit is one WAF cannot see the end of: it matches, so blocks.
    assert size["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}
    # ...before any managed rule looks at it: those rules see whole bodies or none.
    assert all(rules["BodyTooLarge"]["Priority"] < rules[group]["Priority"] for group in MANAGED_RULE_GROUPS)


def test_inspection_limits_end_where_the_configuration_ends() -> None:
    assert max(BODY_INSPECTION_LIMITS.values()) == MAX_BODY_BYTES
    assert sorted(BODY_INSPECTION_LIMITS.values()) == [16384, 32768, 49152, 65536]


def test_a_body_limit_the_waf_cannot_inspect_is_refused() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(lambda stack: transaction_api(stack, max_body_bytes=65537))
    assert any("max_body_bytes 65537" in p and "65536" in p for p in error.value.problems)


# --- the construct on its own ------------------------------------------------------------------------


def _stage(stack: Stack) -> apigw.Stage:
    api = apigw.RestApi(stack, "Api", cloud_watch_role=False, deploy=True)
    api.root.add_method("GET", apigw.MockIntegration())
    return api.deployment_stage


def _firewall(stack: Stack, **overrides: Any) -> ApiFirewall:
    props: dict[str, Any] = {
        "name": "payments-api",
        "stage": _stage(stack),
        "logs_key": kms.Key.from_key_arn(stack, "Key", KEY),
        "log_retention_days": 365,
        "max_body_bytes": 8192,
        "requests_per_ip_per_5min": 1000,
        **overrides,
    }
    return ApiFirewall(stack, "Firewall", **props)


def test_firewall_logs_without_credentials_and_protects_the_stage_it_is_given() -> None:
    built: dict[str, ApiFirewall] = {}
    template = stack_template(lambda stack: built.setdefault("firewall", _firewall(stack)))
    firewall = built["firewall"]
    assert firewall.body_inspection_limit == "KB_16"
    (acl_id,) = resources(template, "AWS::WAFv2::WebACL")
    (stage_id,) = resources(template, "AWS::ApiGateway::Stage")
    (association,) = resources(template, "AWS::WAFv2::WebACLAssociation").values()
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (logging,) = resources(template, "AWS::WAFv2::LoggingConfiguration").values()
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    names = [f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]]
    assert names == ["authorization", "x-amz-security-token"]
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "aws-waf-logs-payments-api", "KmsKeyId": KEY, "RetentionInDays": 365},
    )


def test_firewall_props_fail_once_with_every_problem() -> None:
    with pytest.raises(PropsError) as error:
        stack_template(
            lambda stack: _firewall(
                stack,
                name="no spaces",
                max_body_bytes=100,
                requests_per_ip_per_5min=5,
                hosting_provider_action="allow",
                problem_type_base="https://strongroom.dev/problems",
            )
        )
    problems = error.value.problems
    expected = [
        "name 'no spaces'",
        "max_body_bytes 100",
        "requests_per_ip_per_5min 5",
        "hosting_provider_action 'allow'",
        "problem_type_base",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), fragment
    assert len(problems) == len(expected)


# --- the whole app, synthesized once for the session -------------------------------------------------


def test_the_deployed_firewall_follows_the_configuration(synthesized: Any) -> None:
    config = load_config(environ={})  # the session synthesizes the default configuration
    acls = [
        r["Properties"]
        for stack in synthesized.stacks
        for r in synthesized.template(stack.name)["Resources"].values()
        if r["Type"] == "AWS::WAFv2::WebACL"
    ]
    assert len(acls) == len(config.regions)
    for acl in acls:
        rules = _rules(acl)
        assert config.security.waf_anonymous_ip_action == "count"
        assert _overrides(rules["AWSManagedRulesAnonymousIpList"]) == {"HostingProviderIPList": COUNT}
        assert _overrides(rules["AWSManagedRulesCommonRuleSet"]) == {"SizeRestrictions_BODY": COUNT}
        size = rules["BodyTooLarge"]["Statement"]["SizeConstraintStatement"]["Size"]
        assert size == config.api.max_body_bytes
        assert config.api.max_body_bytes <= BODY_INSPECTION_LIMITS[_inspection_limit(acl)]
