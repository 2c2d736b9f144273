"""What every stack of the platform shares: pinned to its Region (no lookups: the account comes at
deploy time), described, protected from deletion, with outputs other tools read by their names."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct


class StrongroomStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, region: str, description: str) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(region=region),
            description=description,
            termination_protection=True,
        )


def named_output(scope: Construct, name: str, value: str, description: str | None = None) -> CfnOutput:
    """An output whose logical id is ``name``, so the deploy tooling, another stack's
    ``Fn::GetStackOutput`` and a reader of the console all find it by that name."""
    output = CfnOutput(scope, name, value=value, description=description)
    output.override_logical_id(name)
    return output
