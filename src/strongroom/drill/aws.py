"""The drills' AWS target (`--target aws`): a deployed Strongroom in an AWS account, with faults from
AWS FIS experiment templates. It needs an account: credentials that may read the stacks' outputs,
list and run FIS experiments, read Route 53 health-check status and restore DynamoDB tables.

- each Region's API URL is read from its platform stack's outputs (CloudFormation DescribeStacks);
- a fault is the one FIS experiment template in the Region tagged ``strongroom:scenario`` with the
  scenario's value (:data:`SCENARIO_TAG_VALUES`); clearing it stops the experiment;
- a restore is DynamoDB's point-in-time restore to a new table, waited for until it is ACTIVE;
- the health checkers' view of a Region is Route 53's GetHealthCheckStatus of the health check the
  routing stack outputs.

Every AWS client can be passed in (tests stub them with botocore's Stubber); the time is too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from strongroom.errors import UserError

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_fis import FISClient
    from mypy_boto3_route53 import Route53Client

    from strongroom.config import PlatformConfig

# How the drill finds a scenario's FIS experiment template in a Region: by this tag and value.
SCENARIO_TAG = "strongroom:scenario"
SCENARIO_TAG_VALUES: Mapping[str, str] = {
    "region-outage": "region-outage",
    "data-path-failure": "lambda-errors",
    "replication-lag": "replication-lag",
    "failback": "region-outage",  # the outage, then clear() stops it and traffic returns
}
# The platform stack's output holding the Region's API base URL (with its stage), as the client takes it.
API_URL_OUTPUT = "ApiUrl"
# Route 53 is global; its API is served from us-east-1.
ROUTE53_REGION = "us-east-1"
# Where the routing stack (the health checks) is deployed: us-east-1, where Route 53 publishes the
# health checks' metrics (strongroom.infra.stacks.routing.ROUTING_REGION).
ROUTING_STACK_REGION = "us-east-1"
# Route 53 counts an endpoint healthy while more than this share of its checkers see it healthy.
HEALTHY_CHECKER_SHARE = 0.18
_ACTIVE_EXPERIMENT = frozenset({"pending", "initiating", "running"})
NO_CREDENTIALS = (
    "no AWS credentials: `--target aws` needs an account; configure credentials (environment, profile, "
    "SSO or role) or use --target local"
)


class AwsTargetError(UserError):
    """The AWS target cannot go on; the message names what is missing and the fix."""


class NoAwsCredentials(AwsTargetError):
    def __init__(self) -> None:
        super().__init__(NO_CREDENTIALS)


class StackNotFound(AwsTargetError):
    """A stack the drill reads is not deployed in the Region (or the name prefix differs)."""


class OutputMissing(AwsTargetError):
    """A deployed stack lacks an output the drill reads."""


class TemplateNotFound(AwsTargetError):
    """No FIS experiment template in the Region is tagged for the scenario."""


class AmbiguousTemplate(AwsTargetError):
    """More than one FIS experiment template in the Region is tagged for the scenario."""


class ExperimentFailed(AwsTargetError):
    """An FIS experiment ended before it was running."""


class WaitTimedOut(AwsTargetError):
    """Something the drill waits for did not happen within its bound."""


class AwsCallFailed(AwsTargetError):
    """An AWS call failed for a reason the drill cannot fix (permissions, throttling, service)."""


# --- names the drill reads: kept here, in one place each --------------------------------------------


def regional_stack_name(config: PlatformConfig, region: str) -> str:
    """The Region's platform stack: the same name as ``strongroom.infra.app.regional_stack_name``,
    repeated here because the drill must not import aws_cdk (tests/functional/test_drill_aws.py
    compares these names with the infrastructure's when the infra extra is installed)."""
    return f"{config.names.prefix}-{region}"


def routing_stack_name(config: PlatformConfig) -> str:
    """The stack with the Route 53 health checks (one per Region), as
    ``strongroom.infra.app.routing_stack_name`` names it."""
    return f"{config.names.prefix}-routing"


def health_check_output_key(region: str) -> str:
    """The routing stack's output holding ``region``'s health check id, e.g. ``HealthCheckEuWest1``
    (as ``strongroom.infra.stacks.routing.health_check_output`` names it)."""
    return "HealthCheck" + "".join(part.title() for part in region.split("-"))


def credentials_available(session: boto3.session.Session) -> bool:
    """Whether ``session`` resolves any credentials (without calling AWS)."""
    try:
        return session.get_credentials() is not None
    except BotoCoreError:  # e.g. a profile that names a missing source
        return False


def stack_outputs(cloudformation: CloudFormationClient, stack_name: str, region: str) -> dict[str, str]:
    """``stack_name``'s outputs in ``region`` (key → value)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in str(exc):
            raise StackNotFound(
                f"stack {stack_name} is not deployed in {region}: deploy the platform there "
                "(cdk deploy), or set STRONGROOM_NAME_PREFIX to the prefix it was deployed with"
            ) from None
        raise _failed(f"DescribeStacks {stack_name}", region, exc) from None
    if not stacks:
        raise StackNotFound(f"stack {stack_name} is not deployed in {region}: deploy the platform there")
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", []) if "OutputKey" in o}


def api_url(outputs: Mapping[str, str], stack_name: str) -> str:
    """The API URL among a platform stack's outputs (``ApiUrl``)."""
    if API_URL_OUTPUT in outputs:
        return outputs[API_URL_OUTPUT]
    listed = ", ".join(sorted(outputs)) or "none"
    raise OutputMissing(
        f"stack {stack_name} has no {API_URL_OUTPUT} output (it has: {listed}): "
        "deploy a version of the platform that outputs its API URL"
    )


@dataclass(frozen=True, slots=True)
class HealthView:
    """What Route 53's health checkers last saw of one Region's health check."""

    region: str
    health_check_id: str
    checkers: int
    healthy_checkers: int

    @property
    def healthy(self) -> bool:
        """Route 53's rule: healthy while more than 18% of the checkers report it healthy."""
        return self.checkers > 0 and self.healthy_checkers / self.checkers > HEALTHY_CHECKER_SHARE


@dataclass(frozen=True, slots=True)
class RestoredTable:
    region: str
    name: str
    arn: str
    seconds: float  # from the restore request to the table being ACTIVE


ClientKey = tuple[str, str]  # (service, Region), e.g. ("fis", "eu-west-1"); Route 53 uses ROUTE53_REGION


class AwsTarget:
    """A deployed Strongroom as a drill's target. ``session`` is a boto3 session (default: a new one,
    with boto3's credential chain); ``clients`` maps (service, Region) to a client to use instead of
    one made from the session (tests pass stubbed ones). ``routing_region`` is where the routing stack
    is deployed. ``clock`` and ``sleep`` time the bounded waits.

    Without ``clients``, the session must have credentials: :class:`NoAwsCredentials` otherwise."""

    name = "aws"

    def __init__(
        self,
        config: PlatformConfig,
        *,
        session: boto3.session.Session | None = None,
        clients: Mapping[ClientKey, Any] | None = None,
        routing_region: str = ROUTING_STACK_REGION,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.session = session if session is not None else boto3.session.Session()
        self._clients: dict[ClientKey, Any] = dict(clients or {})
        self.routing_region = routing_region
        self._clock = clock
        self._sleep = sleep
        self._experiments: dict[str, str] = {}  # experiment id → Region, for clear()
        if clients is None and not credentials_available(self.session):
            raise NoAwsCredentials()

    # --- clients ------------------------------------------------------------------------------------

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            if not credentials_available(self.session):
                raise NoAwsCredentials()
            self._clients[key] = self.session.client(service, region_name=region)  # type: ignore[call-overload]
        return self._clients[key]

    def _cloudformation(self, region: str) -> CloudFormationClient:
        return cast("CloudFormationClient", self._client("cloudformation", region))

    def _fis(self, region: str) -> FISClient:
        return cast("FISClient", self._client("fis", region))

    def dynamodb(self, region: str) -> DynamoDBClient:
        return cast("DynamoDBClient", self._client("dynamodb", region))

    def cloudwatch(self, region: str) -> CloudWatchClient:
        return cast("CloudWatchClient", self._client("cloudwatch", region))

    def template_tags(self, region: str, template_id: str) -> dict[str, str]:
        """The tags of one FIS experiment template (its peer-stop alarms among them)."""
        try:
            template = self._fis(region).get_experiment_template(id=template_id)["experimentTemplate"]
        except ClientError as exc:
            raise _failed(f"GetExperimentTemplate {template_id}", region, exc) from None
        return dict(template.get("tags", {}))

    def alarm_in_alarm(self, region: str, alarm_name: str) -> bool:
        """Whether the CloudWatch alarm ``alarm_name`` in ``region`` is in ALARM."""
        try:
            alarms = self.cloudwatch(region).describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
        except ClientError as exc:
            raise _failed(f"DescribeAlarms {alarm_name}", region, exc) from None
        return any(alarm.get("StateValue") == "ALARM" for alarm in alarms)

    def _route53(self) -> Route53Client:
        return cast("Route53Client", self._client("route53", ROUTE53_REGION))

    @property
    def credentials(self) -> Credentials | None:
        """The session's credentials, for the signed load (None without any)."""
        return self.session.get_credentials()

    def transactions_table(self) -> str:
        return self.config.names.transactions_table

    # --- endpoints and health -------------------------------------------------------------------

    def endpoints(self) -> dict[str, str]:
        """Each configured Region's API URL, in the configuration's order (the client's preference)."""
        found = {}
        for region in (r.name for r in self.config.regions):
            stack = regional_stack_name(self.config, region)
            found[region] = api_url(stack_outputs(self._cloudformation(region), stack, region), stack)
        return found

    def health_check_id(self, region: str) -> str:
        """``region``'s Route 53 health check id, from the routing stack's outputs."""
        stack = routing_stack_name(self.config)
        outputs = stack_outputs(self._cloudformation(self.routing_region), stack, self.routing_region)
        key = health_check_output_key(region)
        if key not in outputs:
            raise OutputMissing(
                f"stack {stack} in {self.routing_region} has no {key} output: deploy the routing stack "
                f"with a health check for {region}"
            )
        return outputs[key]

    def health_view(self, region: str) -> HealthView:
        """What Route 53's health checkers last saw of ``region``."""
        check = self.health_check_id(region)
        try:
            observations = self._route53().get_health_check_status(HealthCheckId=check)[
                "HealthCheckObservations"
            ]
        except ClientError as exc:
            raise _failed(f"GetHealthCheckStatus {check}", ROUTE53_REGION, exc) from None
        reports = [o.get("StatusReport", {}).get("Status", "") for o in observations]
        return HealthView(
            region=region,
            health_check_id=check,
            checkers=len(reports),
            healthy_checkers=sum(report.startswith("Success") for report in reports),
        )

    # --- faults ---------------------------------------------------------------------------------

    def find_template(self, region: str, scenario: str) -> str:
        """The id of the one FIS experiment template in ``region`` tagged for ``scenario``."""
        value = _tag_value(scenario)
        fis = self._fis(region)
        matching: list[str] = []
        try:
            for page in fis.get_paginator("list_experiment_templates").paginate():
                matching += [
                    t["id"]
                    for t in page.get("experimentTemplates", [])
                    if t.get("tags", {}).get(SCENARIO_TAG) == value
                ]
        except ClientError as exc:
            raise _failed("ListExperimentTemplates", region, exc) from None
        tag = f"{SCENARIO_TAG}={value}"
        if not matching:
            raise TemplateNotFound(
                f"no AWS FIS experiment template in {region} is tagged {tag}: create the {scenario} "
                f"template in {region} and tag it so, or use --target local"
            )
        if len(matching) > 1:
            raise AmbiguousTemplate(
                f"{len(matching)} AWS FIS experiment templates in {region} are tagged {tag} "
                f"({', '.join(sorted(matching))}): keep the tag on exactly one"
            )
        return matching[0]

    def inject(self, scenario: str, region: str) -> str:
        """Start ``scenario``'s experiment in ``region``; returns the experiment id."""
        template = self.find_template(region, scenario)
        try:
            experiment = self._fis(region).start_experiment(
                clientToken=str(uuid.uuid4()),
                experimentTemplateId=template,
                tags={"strongroom:drill": scenario, "strongroom:region": region},
            )["experiment"]
        except ClientError as exc:
            raise _failed(f"StartExperiment {template}", region, exc) from None
        experiment_id = experiment["id"]
        self._experiments[experiment_id] = region
        return experiment_id

    def wait_running(self, experiment_id: str, *, timeout: float = 120.0, interval: float = 2.0) -> None:
        """Wait until the experiment runs; :class:`ExperimentFailed` if it ended first,
        :class:`WaitTimedOut` after ``timeout`` seconds."""
        region = self._region_of(experiment_id)
        fis = self._fis(region)
        deadline = self._clock() + timeout
        while True:
            try:
                state = fis.get_experiment(id=experiment_id)["experiment"].get("state", {})
            except ClientError as exc:
                raise _failed(f"GetExperiment {experiment_id}", region, exc) from None
            status = state.get("status", "")
            if status == "running":
                return
            if status not in _ACTIVE_EXPERIMENT:
                raise ExperimentFailed(
                    f"FIS experiment {experiment_id} in {region} is {status or 'in no state'} before it "
                    f"ran: {state.get('reason', 'no reason given')}; see it in the FIS console"
                )
            if self._clock() >= deadline:
                raise WaitTimedOut(
                    f"FIS experiment {experiment_id} in {region} is still {status} after {timeout:g} s: "
                    "see it in the FIS console, and stop it if it should not run"
                )
            self._sleep(interval)

    def clear(self, region: str | None = None) -> list[str]:
        """Stop every experiment this target started (in ``region`` only, if given) that is still
        pending, initiating or running; returns the ids it stopped."""
        stopped = []
        for experiment_id, where in list(self._experiments.items()):
            if region is not None and where != region:
                continue
            fis = self._fis(where)
            try:
                status = fis.get_experiment(id=experiment_id)["experiment"].get("state", {}).get("status")
                if status in _ACTIVE_EXPERIMENT:
                    fis.stop_experiment(id=experiment_id)
                    stopped.append(experiment_id)
            except ClientError as exc:
                raise _failed(f"StopExperiment {experiment_id}", where, exc) from None
            del self._experiments[experiment_id]
        return stopped

    def _region_of(self, experiment_id: str) -> str:
        if experiment_id not in self._experiments:
            raise ValueError(f"experiment {experiment_id!r} was not started by this target")
        return self._experiments[experiment_id]

    # --- restore --------------------------------------------------------------------------------

    def restore_table(
        self,
        region: str,
        source: str,
        target: str,
        when: datetime,
        *,
        timeout: float = 3600.0,
        interval: float = 15.0,
    ) -> RestoredTable:
        """Restore ``source`` as it was at ``when`` (timezone-aware) to the new table ``target`` in
        ``region`` and wait until it is ACTIVE (:class:`WaitTimedOut` after ``timeout`` seconds)."""
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware (UTC), e.g. datetime.now(UTC)")
        dynamodb = self.dynamodb(region)
        started = self._clock()
        try:
            arn = dynamodb.restore_table_to_point_in_time(
                SourceTableName=source, TargetTableName=target, RestoreDateTime=when
            )["TableDescription"].get("TableArn", "")
        except ClientError as exc:
            raise _restore_failed(exc, region, source, target, when) from None
        while True:
            try:
                table = dynamodb.describe_table(TableName=target)["Table"]
            except ClientError as exc:
                raise _failed(f"DescribeTable {target}", region, exc) from None
            if table.get("TableStatus") == "ACTIVE":
                return RestoredTable(region, target, table.get("TableArn", arn), self._clock() - started)
            if self._clock() - started >= timeout:
                raise WaitTimedOut(
                    f"restored table {target} in {region} is still {table.get('TableStatus', 'unknown')} "
                    f"after {timeout:g} s: wait for it in the DynamoDB console, then reconcile by hand "
                    "(docs/runbooks/restore.md)"
                )
            self._sleep(interval)


def _tag_value(scenario: str) -> str:
    if scenario not in SCENARIO_TAG_VALUES:
        raise AwsTargetError(
            f"scenario {scenario!r} has no FIS experiment (those that do: {', '.join(SCENARIO_TAG_VALUES)}); "
            "a restore needs none: it restores a table"
        )
    return SCENARIO_TAG_VALUES[scenario]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _failed(action: str, region: str, exc: ClientError) -> AwsCallFailed:
    code = _code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    hint = (
        "allow it to the drill's credentials"
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
        else "retry, or see the service's status"
    )
    return AwsCallFailed(f"{action} in {region} failed ({code}: {message}): {hint}")


def _restore_failed(
    exc: ClientError, region: str, source: str, target: str, when: datetime
) -> AwsTargetError:
    code = _code(exc)
    if code == "TableAlreadyExistsException":
        return AwsTargetError(f"table {target} already exists in {region}: restore to a new table name")
    if code == "PointInTimeRecoveryUnavailableException":
        return AwsTargetError(
            f"point-in-time recovery is not enabled on {source} in {region}: enable it (the data stack does)"
        )
    if code == "InvalidRestoreTimeException":
        return AwsTargetError(
            f"{when.isoformat()} is outside {source}'s restorable window in {region}: choose a time "
            "between its earliest and latest restorable times (DescribeContinuousBackups)"
        )
    if code == "TableNotFoundException":
        return AwsTargetError(f"table {source} is not in {region}: check the Region and the name prefix")
    return _failed(f"RestoreTableToPointInTime {source} → {target}", region, exc)
