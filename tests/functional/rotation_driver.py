"""Secrets Manager's side of a rotation, on moto, for tests of the rotation function.

``RotateSecret`` turns rotation on and stages a new version ``AWSPENDING`` with no value, then calls
the rotation function once per step. moto does that staging; its Lambda stub (no Docker) runs
nothing, so the tests call each step themselves, as Secrets Manager would, or twice, as it does when
it retries one.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from strongroom.runtime import rotation
from strongroom.runtime.keys import ApplicationSecret, parse_application_secret

# moto's Lambda without Docker: an invocation succeeds and runs nothing.
LAMBDA_STUB: Any = {"lambda": {"use_docker": False}}
SECRET_NAME = "strongroom/api/cursor-secret"


def rotation_function(iam: Any, lambda_client: Any) -> str:
    """A function for RotateSecret to name (moto checks it exists); returns its ARN."""
    role = iam.create_role(RoleName="rotation", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("stub.py", "def handler(event, context):\n    return None\n")
    created = lambda_client.create_function(
        FunctionName="strongroom-cursor-secret-rotation",
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="stub.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    arn: str = created["FunctionArn"]
    return arn


@dataclass
class RotationDriver:
    client: Any  # a Secrets Manager client on moto
    function_arn: str
    secret_id: str = SECRET_NAME

    def start(self) -> str:
        """What RotateSecret does before the first step; returns the new version's id (the token)."""
        response = self.client.rotate_secret(
            SecretId=self.secret_id,
            RotationLambdaARN=self.function_arn,
            RotationRules={"AutomaticallyAfterDays": 30},
        )
        token: str = response["VersionId"]
        return token

    def step(self, token: str, step: str, **kwargs: Any) -> None:
        rotation.rotate(
            self.client, secret_id=self.secret_id, token=token, step=step, secret_name=SECRET_NAME, **kwargs
        )

    def rotate(self) -> str:
        """A whole rotation, every step in order; returns the version that is now AWSCURRENT."""
        token = self.start()
        for step in rotation.STEPS:
            self.step(token, step)
        return token

    def stages(self) -> dict[str, list[str]]:
        """Version id → staging labels, for versions that have any."""
        versions = self.client.describe_secret(SecretId=self.secret_id)["VersionIdsToStages"]
        return {version: sorted(labels) for version, labels in versions.items() if labels}

    def value(self, stage: str = rotation.CURRENT, version: str | None = None) -> ApplicationSecret:
        kwargs = {"VersionId": version} if version else {}
        response = self.client.get_secret_value(SecretId=self.secret_id, VersionStage=stage, **kwargs)
        return parse_application_secret(response["SecretString"])
