"""Tooling reads the route table, never the Lambda handler module with its import-time side effects."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "strongroom.runtime.routes",
        "strongroom.runtime.openapi",
        "strongroom.local.events",
        "strongroom.local.gateway",
    ],
)
def test_tooling_does_not_import_the_handler_module(module: str) -> None:
    probe = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m == 'strongroom.runtime.api' "
        "or m.startswith('aws_lambda_powertools')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
