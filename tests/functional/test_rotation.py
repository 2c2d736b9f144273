"""The rotation function's four steps against moto's Secrets Manager: a new signing key with the
previous one still live, every step safe to retry, and nothing rotated that should not be."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from strongroom import constants as env
from strongroom.runtime import rotation
from strongroom.runtime.keys import LEGACY_KEY_ID, ApplicationSecret, CursorKey
from strongroom.runtime.rotation import CURRENT, PENDING, RotationError
from tests.functional.conftest import Output
from tests.functional.rotation_driver import LAMBDA_STUB, SECRET_NAME, RotationDriver, rotation_function

REGION = "eu-west-1"
PSEUDONYM = b"p" * 40
FIRST = CursorKey("k1", b"a" * 43)
INITIAL = ApplicationSecret((FIRST,), PSEUDONYM)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv(env.ENV_AWS_ENDPOINT_URL, raising=False)
    with mock_aws(config=LAMBDA_STUB):
        yield


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def driver(secretsmanager: Any) -> RotationDriver:
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=INITIAL.to_json())
    arn = rotation_function(
        boto3.client("iam", region_name=REGION), boto3.client("lambda", region_name=REGION)
    )
    return RotationDriver(secretsmanager, arn)


def _new_key(key_id: str) -> rotation.NewKey:
    return lambda: CursorKey(key_id, key_id.encode() * 16)


def test_a_rotation_signs_with_a_new_key_and_keeps_the_previous_one_live(driver: RotationDriver) -> None:
    # GIVEN the secret as it is today: one key and the pseudonym secret
    before = driver.stages()

    # WHEN Secrets Manager runs a whole rotation
    token = driver.rotate()

    # THEN the new version is current and holds the new key first, today's key second
    (previous_version,) = [v for v, labels in before.items() if CURRENT in labels]
    assert driver.stages() == {token: [CURRENT], previous_version: ["AWSPREVIOUS"]}
    rotated = driver.value()
    assert rotated.current.id not in {FIRST.id, LEGACY_KEY_ID}
    assert rotated.cursor_keys[1:] == (FIRST,)
    assert rotated.pseudonym_secret == PSEUDONYM


def test_a_second_rotation_drops_the_oldest_key(driver: RotationDriver) -> None:
    driver.rotate()
    middle = driver.value().current
    driver.rotate()
    assert driver.value().cursor_keys[1:] == (middle,)
    assert FIRST not in driver.value().cursor_keys
    assert driver.value().pseudonym_secret == PSEUDONYM


def test_the_first_rotation_turns_a_plain_string_into_the_document(secretsmanager: Any) -> None:
    # GIVEN the secret as CloudFormation generated it before rotation existed
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString="s" * 64)
    arn = rotation_function(
        boto3.client("iam", region_name=REGION), boto3.client("lambda", region_name=REGION)
    )
    driver = RotationDriver(secretsmanager, arn)

    driver.rotate()

    rotated = driver.value()
    assert rotated.cursor_keys[1:] == (CursorKey(LEGACY_KEY_ID, b"s" * 64),)
    assert rotated.pseudonym_secret == b"s" * 64  # log pseudonyms do not change


def test_create_secret_retried_keeps_the_value_it_wrote(driver: RotationDriver) -> None:
    token = driver.start()
    driver.step(token, "createSecret", new_key=_new_key("first-try"))

    driver.step(token, "createSecret", new_key=_new_key("retry"))  # Secrets Manager retries the step

    assert driver.value(PENDING, token).current.id == "first-try"
    assert len(driver.client.list_secret_version_ids(SecretId=SECRET_NAME)["Versions"]) == 2


def test_each_step_retried_after_a_whole_rotation_changes_nothing(driver: RotationDriver) -> None:
    token = driver.rotate()
    stages, value = driver.stages(), driver.value()
    for step in rotation.STEPS:
        driver.step(token, step, new_key=_new_key("never-used"))
    assert (driver.stages(), driver.value()) == (stages, value)


def test_finish_secret_moves_awscurrent_and_takes_awspending_off(driver: RotationDriver) -> None:
    token = driver.start()
    for step in ("createSecret", "setSecret", "testSecret"):
        driver.step(token, step, new_key=_new_key("k2"))
    assert driver.value().current == FIRST  # nothing changes for readers until finishSecret

    driver.step(token, "finishSecret")

    assert driver.stages()[token] == [CURRENT]
    assert driver.value().current.id == "k2"
    assert driver.value("AWSPREVIOUS").current == FIRST


@pytest.mark.parametrize(
    ("pending", "problem"),
    [
        (ApplicationSecret((CursorKey("k2", b"b" * 43),), PSEUDONYM), "keep today's signing key 'k1'"),
        (ApplicationSecret((CursorKey("k2", b"b" * 43), FIRST), b"q" * 40), "changes the pseudonym secret"),
        (ApplicationSecret((FIRST,), PSEUDONYM), "'k1' is not new"),
        (
            ApplicationSecret((CursorKey("k2", b"b" * 43), CursorKey("k1", b"z" * 43)), PSEUDONYM),
            "keep today's",
        ),
    ],
)
def test_test_secret_refuses_an_unsafe_successor(
    driver: RotationDriver, pending: ApplicationSecret, problem: str
) -> None:
    # GIVEN a pending value that something other than createSecret wrote
    token = driver.start()
    driver.client.put_secret_value(
        SecretId=SECRET_NAME,
        ClientRequestToken=token,
        SecretString=pending.to_json(),
        VersionStages=[PENDING],
    )
    # WHEN testSecret runs THEN it refuses, and finishSecret is never reached
    with pytest.raises(RotationError, match=problem):
        driver.step(token, "testSecret")
    assert driver.value().current == FIRST


def test_test_secret_refuses_a_pending_value_the_runtime_cannot_read(driver: RotationDriver) -> None:
    token = driver.start()
    driver.client.put_secret_value(
        SecretId=SECRET_NAME, ClientRequestToken=token, SecretString='{"v": 1}', VersionStages=[PENDING]
    )
    with pytest.raises(RotationError, match=r"AWSPENDING value .* is not valid"):
        driver.step(token, "testSecret")


def test_a_version_that_is_not_this_rotations_is_refused(driver: RotationDriver) -> None:
    driver.start()
    with pytest.raises(RotationError, match="has no staging label"):
        driver.step(str(uuid.uuid4()), "createSecret")


def test_a_version_that_is_no_longer_pending_is_refused(driver: RotationDriver) -> None:
    first = driver.rotate()
    driver.rotate()  # first is AWSPREVIOUS now
    with pytest.raises(RotationError, match="is not AWSPENDING"):
        driver.step(first, "finishSecret")


def test_another_secret_is_never_rotated(driver: RotationDriver) -> None:
    driver.client.create_secret(Name="someone-elses-secret", SecretString="x" * 40)
    other = RotationDriver(driver.client, driver.function_arn, secret_id="someone-elses-secret")
    token = other.start()
    with pytest.raises(RotationError, match=f"rotates only '{SECRET_NAME}'"):
        other.step(token, "createSecret")
    assert other.stages()[token] == [PENDING]  # nothing written


def test_a_secret_without_rotation_enabled_is_refused(driver: RotationDriver) -> None:
    version = driver.client.describe_secret(SecretId=SECRET_NAME)["VersionIdsToStages"]
    (token,) = version
    with pytest.raises(RotationError, match="rotation is not enabled"):
        driver.step(token, "createSecret")


def test_an_unknown_step_is_refused(driver: RotationDriver) -> None:
    token = driver.start()
    with pytest.raises(RotationError, match="unknown step 'deleteSecret'"):
        driver.step(token, "deleteSecret")


class _FailedReplica:
    """The moto client, but DescribeSecret reports a replica whose replication failed."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_secret(self, **kwargs: Any) -> Any:
        failed = {"Region": "eu-central-1", "Status": "Failed", "StatusMessage": "Access denied to KMS key"}
        return {**self._client.describe_secret(**kwargs), "ReplicationStatus": [failed]}


@pytest.mark.parametrize("step", ["createSecret", "testSecret", "finishSecret"])
def test_a_failed_replica_stops_the_rotation(driver: RotationDriver, step: str) -> None:
    token = driver.start()
    steps = rotation.STEPS[: rotation.STEPS.index(step)]
    for earlier in steps:
        driver.step(token, earlier)
    broken = RotationDriver(_FailedReplica(driver.client), driver.function_arn)
    with pytest.raises(
        RotationError, match=r"replication to eu-central-1 \(Access denied to KMS key\) has failed"
    ):
        broken.step(token, step)
    assert driver.value().current == FIRST


def test_the_handler_rotates_the_secret_it_is_deployed_for(
    driver: RotationDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.ENV_CURSOR_SECRET_ID, SECRET_NAME)
    token = driver.start()
    arn = driver.client.describe_secret(SecretId=SECRET_NAME)["ARN"]
    for step in rotation.STEPS:  # Secrets Manager names the secret by ARN
        rotation.handler(
            {"Step": step, "SecretId": arn, "ClientRequestToken": token}, None, client=driver.client
        )
    assert driver.stages()[token] == [CURRENT]


def test_the_handler_refuses_to_run_without_knowing_its_secret(
    driver: RotationDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(env.ENV_CURSOR_SECRET_ID, raising=False)
    token = driver.start()
    event = {"Step": "createSecret", "SecretId": SECRET_NAME, "ClientRequestToken": token}
    with pytest.raises(RotationError, match=env.ENV_CURSOR_SECRET_ID):
        rotation.handler(event, None, client=driver.client)


def test_no_step_logs_a_secret(driver: RotationDriver, stdout: Callable[[], Output]) -> None:
    driver.rotate()
    out = stdout()
    logged = "\n".join(out.lines)
    assert [r["message"] for r in out.logs if r.get("step") == "createSecret"] == [
        "createSecret: pending version written"
    ]
    secrets = [key.secret.decode() for key in driver.value().cursor_keys] + [PSEUDONYM.decode()]
    assert not [secret for secret in secrets if secret in logged]
