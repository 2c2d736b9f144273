"""The routing stack (docs/adr/0027-dns-routing-and-health-checks.md): Route 53 health checks on every
Region's deep health, built from the configuration; their alarms in us-east-1; the DNS name's records
(latency or failover) only with a hosted zone; ARC routing controls only when asked for; and the app
deploying it after every platform stack, whose outputs it reads."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from strongroom.config import (
    DEFAULT_CHECKER_REGIONS,
    HEALTH_CHECKER_REGIONS,
    MIN_HEALTH_CHECKER_REGIONS,
    PlatformConfig,
    load_config,
)
from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.observability import MonitoredHealthCheck, Observability
from strongroom.infra.stacks.regional import API_HOST_OUTPUT, API_URL_OUTPUT, DNS_TARGET_OUTPUT
from strongroom.infra.stacks.routing import (
    ROUTING_REGION,
    RegionalEndpoint,
    RoutingStack,
    health_check_output,
)
from strongroom.local.events import LocalLambdaContext, rest_proxy_event
from strongroom.runtime import api
from strongroom.runtime.routes import deep_health_search_string
from tests.functional.conftest import REGION as LOCAL_REGION
from tests.functional.conftest import ApiClient, aws_client

from .conftest import REPO, RawBuild, resources

ZONE = "Z0123456789ABCDEFGHIJ"
DNS = {"domain_name": "bank.example", "hosted_zone_id": ZONE}
PLATFORM = {"eu-west-1": "strongroom-eu-west-1", "eu-central-1": "strongroom-eu-central-1"}
ROUTING = "strongroom-routing"


def routing_template(**settings: Any) -> Template:
    """The routing stack alone, for a configuration: cheap, since it names the platform stacks only."""
    from strongroom.infra.app import feature_flags  # noqa: PLC0415

    config = load_config(environ={}, **settings)
    stack = RoutingStack(App(context=feature_flags()), ROUTING, config=config, endpoints=endpoints(config))
    return Template.from_stack(stack)


def endpoints(config: PlatformConfig) -> list[RegionalEndpoint]:
    return [
        RegionalEndpoint(r.name, f"strongroom-{r.name}", f"/v1{config.health_check.path}")
        for r in config.regions
    ]


def deep_health_checks(template: Template) -> dict[str, dict[str, Any]]:
    """Region → HealthCheckConfig of its HTTPS check, by the Region its tags name."""
    checks = {}
    for check in resources(template, "AWS::Route53::HealthCheck").values():
        properties = check["Properties"]
        if properties["HealthCheckConfig"]["Type"] == "HTTPS_STR_MATCH":
            tags = {t["Key"]: t["Value"] for t in properties["HealthCheckTags"]}
            checks[tags["strongroom:region"]] = properties["HealthCheckConfig"]
    return checks


def logical_id_of_check(template: Template, region: str, kind: str) -> str:
    (found,) = [
        logical_id
        for logical_id, check in resources(template, "AWS::Route53::HealthCheck").items()
        if check["Properties"]["HealthCheckConfig"]["Type"] == kind
        and {"Key": "strongroom:region", "Value": region} in check["Properties"]["HealthCheckTags"]
    ]
    return found


def records(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["SetIdentifier"]: r["Properties"]
        for r in resources(template, "AWS::Route53::RecordSet").values()
    }


@pytest.fixture(scope="module")
def default() -> Template:
    return routing_template()


# --- the search string is what the function really answers -------------------------------------------


def deep_health_over_the_wire() -> tuple[int, str]:
    """GET /health/deep through the real handler, as API Gateway would: status and the body's bytes."""
    event = rest_proxy_event(method="GET", raw_path="/health/deep", headers={}, body=b"", region=LOCAL_REGION)
    response = api.handler(event, LocalLambdaContext("strongroom-api", LOCAL_REGION))  # type: ignore[arg-type]
    return response["statusCode"], response["body"]


def test_the_search_string_is_in_a_healthy_body_and_not_in_an_unhealthy_one(client: ApiClient) -> None:
    wanted = deep_health_search_string(LOCAL_REGION)
    # GIVEN a Region whose table and key work
    status, healthy = deep_health_over_the_wire()
    # THEN the body the checkers read carries the string, well within the 5,120 bytes Route 53 searches,
    # and another Region's check would not take it for its own
    assert status == 200
    assert wanted == '"status":"pass","region":"eu-west-1"'
    assert wanted in healthy
    assert healthy.index(wanted) + len(wanted) <= 5120
    assert deep_health_search_string("eu-central-1") not in healthy
    # WHEN its table is gone (its key still works: that check still says "pass")
    aws_client("dynamodb").delete_table(TableName=client.provisioned.transactions_table)
    status, unhealthy = deep_health_over_the_wire()
    # THEN the body says fail, and the string is nowhere in it
    assert status == 503
    assert json.loads(unhealthy)["status"] == "fail"
    assert json.loads(unhealthy)["checks"]["kms"]["status"] == "pass"
    assert wanted not in unhealthy


def test_checker_regions_are_route_53s_own() -> None:
    model = botocore.session.get_session().get_service_model("route53")
    assert set(HEALTH_CHECKER_REGIONS) == set(model.shape_for("HealthCheckRegion").enum)
    assert model.shape_for("HealthCheckRegionList").metadata["min"] == MIN_HEALTH_CHECKER_REGIONS
    assert set(DEFAULT_CHECKER_REGIONS) <= set(HEALTH_CHECKER_REGIONS)


# --- health checks from the configuration -------------------------------------------------------------


def test_one_https_check_per_region_on_its_deep_health(default: Template) -> None:
    checks = deep_health_checks(default)
    assert set(checks) == set(PLATFORM)
    for region, check in checks.items():
        assert check["Type"] == "HTTPS_STR_MATCH"
        assert check["FullyQualifiedDomainName"] == {
            "Fn::GetStackOutput": {
                "StackName": PLATFORM[region],
                "Region": region,
                "OutputName": API_HOST_OUTPUT,
            }
        }
        assert check["ResourcePath"] == "/v1/health/deep"
        assert check["SearchString"] == f'"status":"pass","region":"{region}"'
        assert check["Port"] == 443
        assert check["EnableSNI"] is True
        assert check["RequestInterval"] == 10
        assert check["FailureThreshold"] == 2
        assert check["Regions"] == list(DEFAULT_CHECKER_REGIONS)


def test_health_checks_follow_the_configuration() -> None:
    checks = deep_health_checks(
        routing_template(
            health_check_interval_seconds=30,
            health_check_failure_threshold=3,
            health_checker_regions="us-east-1,us-west-1,sa-east-1,ap-southeast-2",
            rto_seconds=300,  # the slower check still fits the resilience policy
        )
    )
    for check in checks.values():
        assert (check["RequestInterval"], check["FailureThreshold"]) == (30, 3)
        assert check["Regions"] == ["us-east-1", "us-west-1", "sa-east-1", "ap-southeast-2"]


def test_health_checks_are_named_and_their_ids_are_outputs(default: Template) -> None:
    outputs = default.to_json()["Outputs"]
    for region in PLATFORM:
        check_id = logical_id_of_check(default, region, "HTTPS_STR_MATCH")
        tags = resources(default, "AWS::Route53::HealthCheck")[check_id]["Properties"]["HealthCheckTags"]
        assert {"Key": "Name", "Value": f"strongroom-{region}-deep-health"} in tags
        assert outputs[health_check_output(region)]["Value"] == {"Fn::GetAtt": [check_id, "HealthCheckId"]}
    assert health_check_output("eu-central-1") == "HealthCheckEuCentral1"


def test_the_stack_exposes_its_checks_and_alarms() -> None:
    from strongroom.infra.app import feature_flags  # noqa: PLC0415

    config = load_config(environ={}, **DNS)
    stack = RoutingStack(App(context=feature_flags()), ROUTING, config=config, endpoints=endpoints(config))
    assert set(stack.health_checks) == set(stack.health_check_ids) == set(stack.alarms) == set(PLATFORM)
    assert set(stack.records) == set(PLATFORM)
    assert stack.recovery_controls is None
    assert stack.region == ROUTING_REGION == "us-east-1"


def test_endpoints_must_cover_every_region_and_end_at_deep_health() -> None:
    from strongroom.infra.app import feature_flags  # noqa: PLC0415

    config = load_config(environ={})
    with pytest.raises(PropsError) as caught:
        RoutingStack(
            App(context=feature_flags()),
            ROUTING,
            config=config,
            endpoints=[RegionalEndpoint("eu-west-1", "strongroom-eu-west-1", "/v1/health")],
        )
    assert any("one per configured Region (eu-west-1, eu-central-1)" in p for p in caught.value.problems)
    assert any("does not end with /health/deep" in p for p in caught.value.problems)


# --- alarms: in us-east-1, where Route 53 publishes the metric ------------------------------------------


def test_an_alarm_per_region_on_its_health_check_status(default: Template) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(default, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {f"strongroom-routing-{region}-health-check" for region in PLATFORM}
    (topic_id,) = resources(default, "AWS::SNS::Topic")
    for region in PLATFORM:
        alarm = alarms[f"strongroom-routing-{region}-health-check"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "AWS/Route53",
            "HealthCheckStatus",
            "Minimum",
        )
        assert alarm["Dimensions"] == [
            {
                "Name": "HealthCheckId",
                "Value": {
                    "Fn::GetAtt": [logical_id_of_check(default, region, "HTTPS_STR_MATCH"), "HealthCheckId"]
                },
            }
        ]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 1, 1)
        assert alarm["TreatMissingData"] == "breaching"
        assert alarm["AlarmDescription"].endswith("Runbook: docs/runbooks/region-evacuation.md")
        assert (REPO / "docs" / "runbooks" / "region-evacuation.md").is_file()
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]


def test_alarms_notify_a_topic_encrypted_with_the_stacks_own_key(default: Template) -> None:
    (topic,) = resources(default, "AWS::SNS::Topic").values()
    (key_id, key) = next(iter(resources(default, "AWS::KMS::Key").items()))
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    publish = statements["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1][-1].endswith(
        ":alarm:strongroom-routing-*"
    )


def test_alarms_reach_the_configured_email_and_the_topic_in_us_east_1() -> None:
    template = routing_template(
        alarm_email="oncall@bank.example", alarm_topic_arn="arn:aws:sns:eu-west-1:222222222222:incidents"
    )
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"][1] == "arn:aws:sns:us-east-1:222222222222:incidents"
    (subscription,) = resources(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == "oncall@bank.example"


def test_health_check_alarms_are_refused_outside_us_east_1() -> None:
    app = App()
    stack = Stack(app, "Elsewhere", env=Environment(region="eu-west-1"))
    with pytest.raises(PropsError, match="HealthCheckStatus in us-east-1 only"):
        Observability(
            stack,
            "Observability",
            alarm_prefix="strongroom-routing",
            topic_key=kms.Key(stack, "Key"),
            thresholds=load_config(environ={}).alarms,
            health_checks=[
                MonitoredHealthCheck("eu-west-1", "abc", "eu-west-1's deep health", "region-evacuation")
            ],
        )


# --- the DNS name -------------------------------------------------------------------------------------


def test_no_records_without_a_hosted_zone(default: Template) -> None:
    assert records(default) == {}


def test_latency_records_per_region_tied_to_that_regions_check() -> None:
    template = routing_template(**DNS)
    found = records(template)
    assert set(found) == set(PLATFORM)
    for region, record in found.items():
        assert record["Name"] == "api.bank.example."
        assert (record["Type"], record["TTL"], record["HostedZoneId"]) == ("CNAME", "30", ZONE)
        assert record["Region"] == region
        assert "Failover" not in record
        assert record["HealthCheckId"] == {
            "Fn::GetAtt": [logical_id_of_check(template, region, "HTTPS_STR_MATCH"), "HealthCheckId"]
        }
        assert record["ResourceRecords"] == [
            {
                "Fn::GetStackOutput": {
                    "StackName": PLATFORM[region],
                    "Region": region,
                    "OutputName": DNS_TARGET_OUTPUT,
                }
            }
        ]


def test_failover_records_make_the_primary_primary() -> None:
    found = records(
        routing_template(**DNS, dns_routing="failover", dns_record_label="payments", dns_ttl_seconds=20)
    )
    assert {region: record["Failover"] for region, record in found.items()} == {
        "eu-west-1": "PRIMARY",
        "eu-central-1": "SECONDARY",
    }
    for record in found.values():
        assert "Region" not in record
        assert (record["Name"], record["TTL"]) == ("payments.bank.example.", "20")


# --- ARC, only when asked for ---------------------------------------------------------------------------

ARC_TYPES = (
    "AWS::Route53RecoveryControl::Cluster",
    "AWS::Route53RecoveryControl::ControlPanel",
    "AWS::Route53RecoveryControl::RoutingControl",
    "AWS::Route53RecoveryControl::SafetyRule",
)


def test_no_arc_unless_enabled() -> None:
    template = routing_template(**DNS)
    for kind in ARC_TYPES:
        assert resources(template, kind) == {}, kind
    kinds = {
        c["Properties"]["HealthCheckConfig"]["Type"]
        for c in resources(template, "AWS::Route53::HealthCheck").values()
    }
    assert kinds == {"HTTPS_STR_MATCH"}


def test_arc_switches_each_region_out_of_the_records_by_hand() -> None:
    template = routing_template(**DNS, arc_routing_controls=True)
    (cluster_id,) = resources(template, ARC_TYPES[0])
    (panel_id,) = resources(template, ARC_TYPES[1])
    assert resources(template, ARC_TYPES[1])[panel_id]["Properties"]["ClusterArn"] == {
        "Fn::GetAtt": [cluster_id, "ClusterArn"]
    }
    controls = resources(template, ARC_TYPES[2])
    assert {c["Properties"]["Name"] for c in controls.values()} == {f"strongroom-{r}" for r in PLATFORM}
    (rule,) = resources(template, ARC_TYPES[3]).values()
    # at least one Region stays on, whatever an operator does
    assert rule["Properties"]["RuleConfig"] == {"Inverted": False, "Threshold": 1, "Type": "ATLEAST"}
    assert sorted(json.dumps(c) for c in rule["Properties"]["AssertionRule"]["AssertedControls"]) == sorted(
        json.dumps({"Fn::GetAtt": [control_id, "RoutingControlArn"]}) for control_id in controls
    )
    checks = resources(template, "AWS::Route53::HealthCheck")
    for region, record in records(template).items():
        combined = logical_id_of_check(template, region, "CALCULATED")
        assert record["HealthCheckId"] == {"Fn::GetAtt": [combined, "HealthCheckId"]}
        config = checks[combined]["Properties"]["HealthCheckConfig"]
        control_check = logical_id_of_check(template, region, "RECOVERY_CONTROL")
        assert config["HealthThreshold"] == 2  # both: deep health passes AND the control is on
        assert config["ChildHealthChecks"] == [
            {"Fn::GetAtt": [logical_id_of_check(template, region, "HTTPS_STR_MATCH"), "HealthCheckId"]},
            {"Fn::GetAtt": [control_check, "HealthCheckId"]},
        ]
        (control_id,) = [k for k, c in controls.items() if c["Properties"]["Name"] == f"strongroom-{region}"]
        assert checks[control_check]["Properties"]["HealthCheckConfig"]["RoutingControlArn"] == {
            "Fn::GetAtt": [control_id, "RoutingControlArn"]
        }


# --- in the app ---------------------------------------------------------------------------------------


def test_routing_is_deployed_after_every_platform_stack_in_us_east_1(synthesized: Any) -> None:
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())["artifacts"]
    routing = manifest[ROUTING]
    assert routing["environment"].endswith("/us-east-1")
    assert {d for d in routing.get("dependencies", []) if not d.endswith(".assets")} == set(PLATFORM.values())
    order = [s.name for s in synthesized.stacks]
    assert order[-1] == ROUTING  # the summary lists stacks in deploy order
    for stack in PLATFORM.values():  # and no platform stack waits for routing
        assert ROUTING not in manifest[stack].get("dependencies", [])


def test_each_check_reads_an_output_its_platform_stack_has_and_probes_its_stage(synthesized: Any) -> None:
    routing = synthesized.template(ROUTING)
    checks = deep_health_checks(Template.from_json(routing))
    # nothing else crosses a Region: only the outputs named for it are read
    read = {m for m in re.findall(r'"OutputName": "([A-Za-z0-9]+)"', json.dumps(routing))}
    assert read == {API_HOST_OUTPUT}
    for region, stack in PLATFORM.items():
        platform = synthesized.template(stack)
        host = platform["Outputs"][API_HOST_OUTPUT]["Value"]
        (stage,) = [
            r["Properties"]["StageName"]
            for r in platform["Resources"].values()
            if r["Type"] == "AWS::ApiGateway::Stage"
        ]
        assert f".execute-api.{region}." in json.dumps(host)
        assert checks[region]["FullyQualifiedDomainName"]["Fn::GetStackOutput"]["StackName"] == stack
        assert checks[region]["ResourcePath"] == f"/{stage}/health/deep"
        # the base URL signed callers (and `strongroom drill --target aws`) call: host and stage
        url = json.dumps(platform["Outputs"][API_URL_OUTPUT]["Value"])
        assert '"https://"' in url
        assert f"/{stage}" in url
        assert f".execute-api.{region}." in url


def test_with_a_hosted_zone_each_region_serves_the_dns_name_under_its_own_certificate(
    raw_build: RawBuild,
) -> None:
    """raw_build is the app with every optional resource: a hosted zone among them (conftest.ROUTED)."""
    for stack in PLATFORM.values():
        platform = json.loads((raw_build.outdir / f"{stack}.template.json").read_text())
        of_type = {r["Type"]: r["Properties"] for r in platform["Resources"].values()}
        certificate = of_type["AWS::CertificateManager::Certificate"]
        assert certificate["DomainName"] == "api.bank.example"
        assert certificate["ValidationMethod"] == "DNS"
        assert certificate["DomainValidationOptions"] == [
            {"DomainName": "api.bank.example", "HostedZoneId": ZONE}
        ]
        domain = of_type["AWS::ApiGateway::DomainName"]
        assert (domain["DomainName"], domain["SecurityPolicy"]) == ("api.bank.example", "TLS_1_2")
        assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
        assert "AWS::ApiGateway::BasePathMapping" in of_type
        # the health checks keep probing the execute-api endpoint
        (api_props,) = [
            r["Properties"] for r in platform["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"
        ]
        assert api_props.get("DisableExecuteApiEndpoint") is not True
        assert "RegionalDomainName" in json.dumps(platform["Outputs"][DNS_TARGET_OUTPUT])
    routing = json.loads((raw_build.outdir / f"{ROUTING}.template.json").read_text())
    assert len([r for r in routing["Resources"].values() if r["Type"] == "AWS::Route53::RecordSet"]) == 2


def test_without_a_hosted_zone_the_platform_makes_no_certificate(synthesized: Any) -> None:
    for stack in PLATFORM.values():
        kinds = {r["Type"] for r in synthesized.template(stack)["Resources"].values()}
        assert "AWS::CertificateManager::Certificate" not in kinds
        assert "AWS::ApiGateway::DomainName" not in kinds
