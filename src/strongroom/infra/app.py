"""The CDK app: for every configured Region a key stack, a backup-vault stack, an artifacts stack, a
platform stack and a compliance stack, one global data stack in the primary Region, and one routing
stack in us-east-1.

Deployment order follows docs/adr/0010: every key stack first (the global tables and the secret
encrypt each replica with that Region's key), then every backup-vault stack (the tables' plan copies
into each Region's vault; docs/adr/0026), then the global data stack (tables, replicated secret),
then every Region's platform stack, in any order: each depends on the data stack, its own key stack
and its own artifacts stack only (the signed bundles' bucket and signer, after its keys; the bundle is
signed between the two: docs/adr/0039), so a failure in one Region's platform never blocks another's.
The routing stack (Route 53 health checks, their alarms, the DNS name; docs/adr/0027) comes last: it
reads every platform stack's API host at deploy time. Each Region's compliance stack (its AWS Config
conformance pack; in the primary Region also the CI/CD permission boundary; docs/adr/0037) depends on
nothing and nothing on it: deploying it first lets its Config rules watch the other stacks' resources
from their creation.
``cdk.json`` runs this module; ``strongroom.infra.synth`` builds it in-process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App

from strongroom.config import PlatformConfig, load_config
from strongroom.infra.compliance import register_packs
from strongroom.infra.packaging import LambdaBundle, repository_root
from strongroom.infra.stacks.artifacts import ArtifactsStack
from strongroom.infra.stacks.backup import BackupVaultStack
from strongroom.infra.stacks.compliance import ComplianceStack
from strongroom.infra.stacks.data import GlobalDataStack
from strongroom.infra.stacks.keys import KeyStack
from strongroom.infra.stacks.regional import RegionalStack
from strongroom.infra.stacks.routing import RegionalEndpoint, RoutingStack


def feature_flags(cdk_json: Path | None = None) -> dict[str, Any]:
    """The CDK feature flags in ``cdk.json`` (CDK's recommended set), so in-process synth matches the CLI."""
    path = cdk_json or repository_root() / "cdk.json"
    context: dict[str, Any] = json.loads(path.read_text()).get("context", {})
    return context


def key_stack_name(config: PlatformConfig, region: str) -> str:
    return f"{config.names.prefix}-keys-{region}"


def backup_stack_name(config: PlatformConfig, region: str) -> str:
    return f"{config.names.prefix}-backup-{region}"


def artifacts_stack_name(config: PlatformConfig, region: str) -> str:
    return f"{config.names.prefix}-artifacts-{region}"


def data_stack_name(config: PlatformConfig) -> str:
    return f"{config.names.prefix}-data-{config.primary_region.name}"


def regional_stack_name(config: PlatformConfig, region: str) -> str:
    return f"{config.names.prefix}-{region}"


def routing_stack_name(config: PlatformConfig) -> str:
    return f"{config.names.prefix}-routing"


def compliance_stack_name(config: PlatformConfig, region: str) -> str:
    return f"{config.names.prefix}-compliance-{region}"


def build_app(
    config: PlatformConfig | None = None,
    *,
    outdir: str | None = None,
    bundle: LambdaBundle | None = None,
    compliance: bool = True,
    context: Mapping[str, Any] | None = None,
) -> App:
    config = config or load_config()
    bundle = bundle or LambdaBundle.for_repository()
    settings = {**feature_flags(), **(context or {})}
    app = App(outdir=outdir, context=settings) if outdir else App(context=settings)
    key_stacks = {
        r.name: KeyStack(app, key_stack_name(config, r.name), config=config, region=r) for r in config.regions
    }
    vault_stacks = {
        r.name: BackupVaultStack(
            app, backup_stack_name(config, r.name), config=config, region=r, keys=key_stacks[r.name]
        )
        for r in config.regions
    }
    data = GlobalDataStack(app, data_stack_name(config), config=config, keys=key_stacks, vaults=vault_stacks)
    artifact_stacks = {
        r.name: ArtifactsStack(
            app, artifacts_stack_name(config, r.name), config=config, region=r, keys=key_stacks[r.name]
        )
        for r in config.regions
    }
    regional = {
        r.name: RegionalStack(
            app,
            regional_stack_name(config, r.name),
            config=config,
            region=r,
            keys=key_stacks[r.name],
            artifacts=artifact_stacks[r.name],
            bundle=bundle,
        )
        for r in config.regions
    }
    for stack in regional.values():
        # Named, not referenced: the dependency is what orders them. Its own key stack is referenced.
        stack.add_stack_dependency(data, "the global tables and the cursor secret (replica) exist")
    routing = RoutingStack(
        app,
        routing_stack_name(config),
        config=config,
        endpoints=[
            RegionalEndpoint(name, stack.stack_name, stack.health_path) for name, stack in regional.items()
        ],
    )
    for stack in regional.values():
        # Fn::GetStackOutput reads the platform stack's outputs at deploy time: it must be deployed first.
        routing.add_stack_dependency(stack, "its ApiHost (and DnsNameTarget) outputs exist")
    for r in config.regions:
        ComplianceStack(app, compliance_stack_name(config, r.name), config=config, region=r)
    if compliance:
        register_packs(app)
    return app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
