"""`strongroom.client` is for callers who do not run the platform: it imports the standard library and
botocore only, never the runtime, local mode, the infrastructure, boto3 or pydantic."""

from __future__ import annotations

import subprocess
import sys

PLATFORM = ("strongroom.runtime", "strongroom.local", "strongroom.infra", "strongroom.bench")
HEAVY = ("boto3", "pydantic", "aws_lambda_powertools", "moto", "aws_cdk")


def test_importing_the_client_pulls_in_nothing_of_the_platform() -> None:
    probe = (
        "import sys, strongroom.client; "
        f"print(sorted(m for m in sys.modules if m.startswith({PLATFORM + HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_client_works_when_the_platforms_dependencies_cannot_be_imported() -> None:
    # GIVEN an interpreter where importing boto3, pydantic or Powertools fails
    probe = (
        "import sys\n"
        f"for name in {HEAVY!r}: sys.modules[name] = None\n"
        "from strongroom.client import StrongroomClient\n"
        "from botocore.credentials import Credentials\n"
        "client = StrongroomClient({'eu-west-1': 'https://api.example.com/prod'}, Credentials('AKIA', 's'))\n"
        "print(client.regions)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    # THEN the client still imports and builds
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('eu-west-1',)"
