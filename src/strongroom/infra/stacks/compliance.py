"""A Region's compliance stack: the AWS Config conformance pack every platform Region is held to, and
in the primary Region the permission boundary for CI/CD deployment roles
(docs/adr/0037-guardrails-as-code.md).

Both come from ``strongroom.infra.guardrails``, the same functions that write policies/, so what is
deployed is what the tests lint. The service control policies are not here: an SCP can only be
created and attached by the organization's management account (or its delegated administrator),
which a workload stack never runs as; that account applies policies/scp/*.json.

The pack needs the account's AWS Config recorder (an account-baseline resource, as CloudTrail is):
without one, CloudFormation fails to create the pack and says so. It has no delivery bucket: Config
keeps the evaluations itself.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_config as config_
from aws_cdk import aws_iam as iam
from constructs import Construct

from strongroom.config import PlatformConfig, RegionConfig
from strongroom.infra import guardrails
from strongroom.infra.stacks._base import StrongroomStack, named_output

BOUNDARY_OUTPUT = "CicdPermissionBoundaryArn"
PACK_OUTPUT = "ConformancePackName"


def conformance_pack_name(config: PlatformConfig) -> str:
    return f"{config.names.prefix}-guardrails"


class ComplianceStack(StrongroomStack):
    """Attributes: ``conformance_pack``; ``permission_boundary`` (the primary Region's stack only, else
    None: IAM is global, and one named policy is what the boundary's own conditions refer to)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, region: RegionConfig
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            region=region.name,
            description=f"Strongroom compliance ({region.name}): AWS Config conformance pack, CI/CD boundary",
        )
        self.conformance_pack = config_.CfnConformancePack(
            self,
            "ConformancePack",
            conformance_pack_name=conformance_pack_name(config),
            template_body=guardrails.render_yaml(guardrails.conformance_pack()),
        )
        named_output(self, PACK_OUTPUT, conformance_pack_name(config), "the Region's Config rules")
        self.permission_boundary: iam.CfnManagedPolicy | None = None
        if region.name == config.primary_region.name:
            self.permission_boundary = iam.CfnManagedPolicy(
                self,
                "CicdPermissionBoundary",
                managed_policy_name=guardrails.boundary_name(config),
                description="Permission boundary of every CI/CD deployment role (docs/adr/0037)",
                policy_document=guardrails.permission_boundary(config, Aws.ACCOUNT_ID),
            )
            named_output(
                self,
                BOUNDARY_OUTPUT,
                self.permission_boundary.ref,
                "attach as the permissions boundary of CI/CD deployment roles",
            )
