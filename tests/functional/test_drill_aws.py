"""The drill's AWS target against real boto3 clients stubbed with botocore's Stubber: no network, fake
credentials. Endpoints from stack outputs, FIS template selection by tag, inject and clear, the
bounded restore wait, Route 53's view and the message without credentials."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.credentials import CredentialResolver
from botocore.stub import ANY, Stubber

from strongroom.config import PlatformConfig, load_config
from strongroom.drill.aws import (
    ROUTE53_REGION,
    ROUTING_STACK_REGION,
    AmbiguousTemplate,
    AwsTarget,
    AwsTargetError,
    ExperimentFailed,
    NoAwsCredentials,
    OutputMissing,
    StackNotFound,
    TemplateNotFound,
    WaitTimedOut,
    credentials_available,
    health_check_output_key,
    regional_stack_name,
    routing_stack_name,
)
from strongroom.errors import UserError

WEST, CENTRAL = "eu-west-1", "eu-central-1"
CREATED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEST_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/"
CENTRAL_URL = "https://def456.execute-api.eu-central-1.amazonaws.com/v1/"
# StartExperiment of the outage template: a fresh client token each time, tags checked elsewhere.
STARTED = {"clientToken": ANY, "experimentTemplateId": "EXToutage", "tags": ANY}


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Stubs:
    """One stubbed client per (service, Region) the target may use."""

    def __init__(self) -> None:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        keys = [(s, r) for s in ("cloudformation", "fis", "dynamodb") for r in (WEST, CENTRAL)]
        keys += [("route53", ROUTE53_REGION), ("cloudformation", ROUTING_STACK_REGION)]
        self.clients = {key: session.client(key[0], region_name=key[1]) for key in keys}  # type: ignore[call-overload]
        self.stubbers = {key: Stubber(client) for key, client in self.clients.items()}
        for stubber in self.stubbers.values():
            stubber.activate()

    def __getitem__(self, key: tuple[str, str]) -> Stubber:
        return self.stubbers[key]

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()
            stubber.deactivate()


@pytest.fixture
def config() -> PlatformConfig:
    return load_config(environ={})


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    stubs = Stubs()
    yield stubs
    stubs.verify()  # every stubbed response was asked for


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def target(config: PlatformConfig, stubs: Stubs, fake_time: FakeTime) -> AwsTarget:
    return AwsTarget(config, clients=stubs.clients, clock=fake_time.clock, sleep=fake_time.sleep)


def stack(name: str, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": CREATED,
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def template(template_id: str, tags: dict[str, str]) -> dict[str, Any]:
    return {"id": template_id, "description": f"template {template_id}", "tags": tags}


def experiment(experiment_id: str, status: str, reason: str = "") -> dict[str, Any]:
    state = {"status": status, **({"reason": reason} if reason else {})}
    return {"experiment": {"id": experiment_id, "experimentTemplateId": "EXT1", "state": state}}


# --- names ------------------------------------------------------------------------------------


def test_stack_and_output_names(config: PlatformConfig) -> None:
    assert regional_stack_name(config, WEST) == "strongroom-eu-west-1"
    assert routing_stack_name(config) == "strongroom-routing"
    assert health_check_output_key(WEST) == "HealthCheckEuWest1"
    assert ROUTING_STACK_REGION == "us-east-1"


# --- endpoints ---------------------------------------------------------------------------------


def test_endpoints_come_from_each_regions_stack_outputs(target: AwsTarget, stubs: Stubs) -> None:
    for region, url in ((WEST, WEST_URL), (CENTRAL, CENTRAL_URL)):
        name = f"strongroom-{region}"
        stubs["cloudformation", region].add_response(
            "describe_stacks", stack(name, {"ApiUrl": url, "Other": "x"}), {"StackName": name}
        )

    assert target.endpoints() == {WEST: WEST_URL, CENTRAL: CENTRAL_URL}


def test_a_stack_without_the_url_output_is_named_with_its_outputs(target: AwsTarget, stubs: Stubs) -> None:
    stubs["cloudformation", WEST].add_response(
        "describe_stacks",
        stack("strongroom-eu-west-1", {"ApiHost": "x", "ApiEndpoint1541504C": WEST_URL}),
        {"StackName": "strongroom-eu-west-1"},
    )

    with pytest.raises(
        OutputMissing,
        match=r"strongroom-eu-west-1 has no ApiUrl output \(it has: ApiEndpoint1541504C, ApiHost\)",
    ):
        target.endpoints()


def test_a_missing_stack_names_the_stack_the_region_and_the_fix(target: AwsTarget, stubs: Stubs) -> None:
    stubs["cloudformation", WEST].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id strongroom-eu-west-1 does not exist",
        http_status_code=400,
    )

    with pytest.raises(
        StackNotFound, match=r"strongroom-eu-west-1 is not deployed in eu-west-1.*NAME_PREFIX"
    ):
        target.endpoints()


def test_access_denied_says_which_call_and_what_to_do(target: AwsTarget, stubs: Stubs) -> None:
    stubs["cloudformation", WEST].add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="not allowed",
        http_status_code=403,
    )

    with pytest.raises(
        UserError, match=r"DescribeStacks strongroom-eu-west-1 in eu-west-1 failed .*allow it"
    ):
        target.endpoints()


# --- FIS templates ------------------------------------------------------------------------------


def test_the_template_is_the_one_tagged_for_the_scenario_across_pages(
    target: AwsTarget, stubs: Stubs
) -> None:
    fis = stubs["fis", WEST]
    fis.add_response(
        "list_experiment_templates",
        {
            "experimentTemplates": [
                template("EXTlambda", {"strongroom:scenario": "lambda-errors"}),
                template("EXTuntagged", {}),
            ],
            "nextToken": "page-2",
        },
        {},
    )
    fis.add_response(
        "list_experiment_templates",
        {"experimentTemplates": [template("EXToutage", {"strongroom:scenario": "region-outage"})]},
        {"nextToken": "page-2"},
    )

    assert target.find_template(WEST, "region-outage") == "EXToutage"


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [("data-path-failure", "EXTlambda"), ("replication-lag", "EXTlag"), ("failback", "EXToutage")],
)
def test_each_scenario_has_its_tag_value(
    target: AwsTarget, stubs: Stubs, scenario: str, expected: str
) -> None:
    stubs["fis", WEST].add_response(
        "list_experiment_templates",
        {
            "experimentTemplates": [
                template("EXToutage", {"strongroom:scenario": "region-outage"}),
                template("EXTlambda", {"strongroom:scenario": "lambda-errors"}),
                template("EXTlag", {"strongroom:scenario": "replication-lag"}),
            ]
        },
        {},
    )

    assert target.find_template(WEST, scenario) == expected


def test_no_tagged_template_is_refused_with_the_tag_to_add(target: AwsTarget, stubs: Stubs) -> None:
    stubs["fis", WEST].add_response(
        "list_experiment_templates", {"experimentTemplates": [template("EXTother", {"team": "x"})]}, {}
    )

    with pytest.raises(TemplateNotFound, match=r"no AWS FIS experiment template in eu-west-1 is tagged "):
        target.find_template(WEST, "data-path-failure")


def test_more_than_one_tagged_template_is_refused_naming_them(target: AwsTarget, stubs: Stubs) -> None:
    tagged = {"strongroom:scenario": "region-outage"}
    stubs["fis", WEST].add_response(
        "list_experiment_templates",
        {"experimentTemplates": [template("EXTb", tagged), template("EXTa", tagged)]},
        {},
    )

    with pytest.raises(
        AmbiguousTemplate, match=r"2 AWS FIS experiment templates .* \(EXTa, EXTb\): keep the tag"
    ):
        target.find_template(WEST, "region-outage")


def test_a_restore_has_no_fis_template(target: AwsTarget) -> None:
    with pytest.raises(AwsTargetError, match="'restore' has no FIS experiment"):
        target.inject("restore", WEST)


# --- inject, wait, clear -----------------------------------------------------------------------


def outage_template(stubs: Stubs, region: str = WEST) -> None:
    stubs["fis", region].add_response(
        "list_experiment_templates",
        {"experimentTemplates": [template("EXToutage", {"strongroom:scenario": "region-outage"})]},
        {},
    )


def test_inject_starts_the_template_with_a_client_token_and_tags(
    target: AwsTarget, stubs: Stubs, fake_time: FakeTime
) -> None:
    outage_template(stubs)
    fis = stubs["fis", WEST]
    fis.add_response(
        "start_experiment",
        experiment("EXP1", "initiating"),
        {
            "clientToken": ANY,
            "experimentTemplateId": "EXToutage",
            "tags": {"strongroom:drill": "region-outage", "strongroom:region": WEST},
        },
    )
    fis.add_response("get_experiment", experiment("EXP1", "initiating"), {"id": "EXP1"})
    fis.add_response("get_experiment", experiment("EXP1", "running"), {"id": "EXP1"})

    experiment_id = target.inject("region-outage", WEST)
    target.wait_running(experiment_id, interval=2.0)

    assert experiment_id == "EXP1"
    assert fake_time.sleeps == [2.0]


def test_an_experiment_that_fails_before_running_says_why(target: AwsTarget, stubs: Stubs) -> None:
    outage_template(stubs)
    stubs["fis", WEST].add_response("start_experiment", experiment("EXP2", "pending"), STARTED)
    stubs["fis", WEST].add_response(
        "get_experiment", experiment("EXP2", "failed", "role cannot stop tables"), {"id": "EXP2"}
    )

    experiment_id = target.inject("region-outage", WEST)
    with pytest.raises(ExperimentFailed, match="EXP2 in eu-west-1 is failed before it ran: role cannot stop"):
        target.wait_running(experiment_id)


def test_waiting_for_an_experiment_is_bounded(target: AwsTarget, stubs: Stubs, fake_time: FakeTime) -> None:
    outage_template(stubs)
    stubs["fis", WEST].add_response("start_experiment", experiment("EXP3", "pending"), STARTED)
    for _ in range(4):  # at 0, 5, 10 s: pending; at 15 s the bound has passed
        stubs["fis", WEST].add_response("get_experiment", experiment("EXP3", "pending"), {"id": "EXP3"})

    experiment_id = target.inject("region-outage", WEST)
    with pytest.raises(WaitTimedOut, match="EXP3 in eu-west-1 is still pending after 15 s"):
        target.wait_running(experiment_id, timeout=15.0, interval=5.0)
    assert fake_time.sleeps == [5.0, 5.0, 5.0]


def test_an_unknown_experiment_is_refused(target: AwsTarget) -> None:
    with pytest.raises(ValueError, match="was not started by this target"):
        target.wait_running("EXP-unknown")


def test_failback_injects_the_outage_and_clear_stops_it_once(target: AwsTarget, stubs: Stubs) -> None:
    outage_template(stubs)
    fis = stubs["fis", WEST]
    fis.add_response("start_experiment", experiment("EXP4", "running"), STARTED)
    fis.add_response("get_experiment", experiment("EXP4", "running"), {"id": "EXP4"})
    fis.add_response("stop_experiment", experiment("EXP4", "stopping"), {"id": "EXP4"})

    target.inject("failback", WEST)

    assert target.clear() == ["EXP4"]
    assert target.clear() == []  # nothing left to stop, and no further calls


def test_clear_leaves_a_finished_experiment_alone(target: AwsTarget, stubs: Stubs) -> None:
    outage_template(stubs, CENTRAL)
    fis = stubs["fis", CENTRAL]
    fis.add_response("start_experiment", experiment("EXP5", "running"), STARTED)
    fis.add_response("get_experiment", experiment("EXP5", "completed"), {"id": "EXP5"})

    target.inject("region-outage", CENTRAL)

    assert target.clear(WEST) == []  # another Region: not even looked at
    assert target.clear(CENTRAL) == []  # completed: no StopExperiment


# --- restore ----------------------------------------------------------------------------------


def test_restore_requests_the_point_in_time_and_waits_until_active(
    target: AwsTarget, stubs: Stubs, fake_time: FakeTime
) -> None:
    when = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)
    arn = "arn:aws:dynamodb:eu-west-1:000000000000:table/strongroom-transactions-restored"
    dynamodb = stubs["dynamodb", WEST]
    dynamodb.add_response(
        "restore_table_to_point_in_time",
        {"TableDescription": {"TableName": "strongroom-transactions-restored", "TableStatus": "CREATING"}},
        {
            "SourceTableName": "strongroom-transactions",
            "TargetTableName": "strongroom-transactions-restored",
            "RestoreDateTime": when,
        },
    )
    for status in ("CREATING", "CREATING", "ACTIVE"):
        dynamodb.add_response(
            "describe_table",
            {
                "Table": {
                    "TableName": "strongroom-transactions-restored",
                    "TableStatus": status,
                    "TableArn": arn,
                }
            },
            {"TableName": "strongroom-transactions-restored"},
        )

    restored = target.restore_table(
        WEST, "strongroom-transactions", "strongroom-transactions-restored", when, interval=10.0
    )

    assert (restored.region, restored.name, restored.arn) == (WEST, "strongroom-transactions-restored", arn)
    assert restored.seconds == 20.0
    assert fake_time.sleeps == [10.0, 10.0]


def test_the_restore_wait_is_bounded(target: AwsTarget, stubs: Stubs) -> None:
    dynamodb = stubs["dynamodb", WEST]
    dynamodb.add_response("restore_table_to_point_in_time", {"TableDescription": {}}, None)
    for _ in range(3):
        dynamodb.add_response("describe_table", {"Table": {"TableStatus": "CREATING"}}, {"TableName": "copy"})

    with pytest.raises(WaitTimedOut, match="restored table copy in eu-west-1 is still CREATING after 60 s"):
        target.restore_table(WEST, "src", "copy", datetime.now(UTC), timeout=60.0, interval=30.0)


def test_restoring_onto_an_existing_table_is_refused(target: AwsTarget, stubs: Stubs) -> None:
    stubs["dynamodb", WEST].add_client_error(
        "restore_table_to_point_in_time",
        service_error_code="TableAlreadyExistsException",
        http_status_code=400,
    )

    with pytest.raises(
        AwsTargetError, match="table copy already exists in eu-west-1: restore to a new table"
    ):
        target.restore_table(WEST, "src", "copy", datetime.now(UTC))


def test_a_naive_restore_time_is_refused(target: AwsTarget) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        target.restore_table(WEST, "src", "copy", datetime(2026, 11, 23, 12, 0))


# --- Route 53 -----------------------------------------------------------------------------------


def observation(status: str) -> dict[str, Any]:
    return {"Region": "eu-west-1", "IPAddress": "192.0.2.1", "StatusReport": {"Status": status}}


@pytest.mark.parametrize(("successes", "healthy"), [(1, True), (0, False)])
def test_the_health_view_reads_the_check_from_the_routing_stack(
    target: AwsTarget, stubs: Stubs, successes: int, healthy: bool
) -> None:
    # GIVEN the routing stack (in us-east-1) names eu-central-1's health check
    stubs["cloudformation", ROUTING_STACK_REGION].add_response(
        "describe_stacks",
        stack("strongroom-routing", {"HealthCheckEuWest1": "hc-west", "HealthCheckEuCentral1": "hc-central"}),
        {"StackName": "strongroom-routing"},
    )
    reports = [observation("Success: HTTP Status Code 200, OK")] * successes
    reports += [observation("Failure: Connection timed out.")] * (3 - successes)
    stubs["route53", ROUTE53_REGION].add_response(
        "get_health_check_status", {"HealthCheckObservations": reports}, {"HealthCheckId": "hc-central"}
    )

    view = target.health_view(CENTRAL)

    assert (view.health_check_id, view.checkers, view.healthy_checkers) == ("hc-central", 3, successes)
    assert view.healthy is healthy  # Route 53: healthy while more than 18% of checkers say so


def test_a_routing_stack_without_the_regions_check_says_so(target: AwsTarget, stubs: Stubs) -> None:
    stubs["cloudformation", ROUTING_STACK_REGION].add_response(
        "describe_stacks", stack("strongroom-routing", {}), {"StackName": "strongroom-routing"}
    )

    with pytest.raises(
        OutputMissing, match="strongroom-routing in us-east-1 has no HealthCheckEuCentral1 output"
    ):
        target.health_view(CENTRAL)


# --- credentials --------------------------------------------------------------------------------


def session_without_credentials() -> boto3.session.Session:
    """A session whose credential chain is empty: nothing from the environment, files or metadata."""
    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver(providers=[]))
    return boto3.session.Session(botocore_session=core, region_name=WEST)


def test_without_credentials_the_aws_target_says_it_needs_an_account(config: PlatformConfig) -> None:
    session = session_without_credentials()

    assert credentials_available(session) is False
    with pytest.raises(NoAwsCredentials) as raised:
        AwsTarget(config, session=session)
    assert str(raised.value) == (
        "no AWS credentials: `--target aws` needs an account; configure credentials (environment, "
        "profile, SSO or role) or use --target local"
    )
    assert isinstance(raised.value, UserError)


def test_a_client_the_target_must_make_needs_credentials_too(config: PlatformConfig, stubs: Stubs) -> None:
    partial = {key: client for key, client in stubs.clients.items() if key[0] != "fis"}
    target = AwsTarget(config, session=session_without_credentials(), clients=partial)

    with pytest.raises(NoAwsCredentials):
        target.find_template(WEST, "region-outage")


def test_static_keys_count_as_credentials() -> None:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")

    assert credentials_available(session) is True
