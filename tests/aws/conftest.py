"""The opt-in ``aws`` tier: checks against a deployed Strongroom on a real account, through boto3 and
the deployed API (docs/adr/0041-deploy-rollback-and-a-reproducible-bundle.md).

Collected by every ``pytest`` run, ``make test`` included, and skipped there with the reason printed
(``-ra``): without AWS credentials there is no account to check, and with credentials but no deployed
platform stack there is nothing deployed to check. ``make test-aws`` runs only this tier. The Regions
and names come from the same configuration the deploy used (``STRONGROOM_*`` variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from strongroom.config import PlatformConfig, load_config

TIER = "/tests/aws/"


@cache
def _credentials_reason() -> str | None:
    import boto3  # noqa: PLC0415

    if boto3.session.Session().get_credentials() is None:
        return (
            "aws tier: no AWS credentials (boto3 found none: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY for an account where `strongroom deploy` ran, then `make test-aws`)"
        )
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this tier's tests ``aws``, and skip them all, saying why, when there are no credentials."""
    mine = [item for item in items if TIER in str(item.path)]
    if not mine:
        return
    reason = _credentials_reason()
    for item in mine:
        item.add_marker(pytest.mark.aws)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class DeployedRegion:
    """One Region's deployed platform stack: its name, outputs and physical resources by type."""

    region: str
    stack: str
    outputs: dict[str, str]
    resources: dict[str, list[str]]  # CloudFormation type -> physical ids


@pytest.fixture(scope="session")
def platform_config() -> PlatformConfig:
    return load_config()


@pytest.fixture(scope="session")
def deployed(platform_config: PlatformConfig) -> dict[str, DeployedRegion]:
    """Every configured Region's platform stack, read from CloudFormation; skip (with the reason) when
    the account has none: credentials alone do not make a deployment."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    found: dict[str, DeployedRegion] = {}
    for region in platform_config.regions:
        name = f"{platform_config.names.prefix}-{region.name}"  # src/strongroom/infra/app.py
        cloudformation = boto3.client("cloudformation", region_name=region.name)
        try:
            (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            pytest.skip(f"aws tier: {name} is not deployed in {region.name} ({exc}); run `strongroom deploy`")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        resources: dict[str, list[str]] = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                if "PhysicalResourceId" in resource:
                    resources.setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
        found[region.name] = DeployedRegion(region.name, name, outputs, resources)
    return found


def client(service: str, region: str) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client(service, region_name=region)  # type: ignore[call-overload]  # any service, by name
