"""`strongroom drill --target aws` finds the deployed stacks by names it builds without CDK
(drill/aws.py): they must be the names, outputs and Region the CDK app deploys."""

from __future__ import annotations

from strongroom.config import load_config
from strongroom.drill.aws import (
    API_URL_OUTPUT,
    ROUTING_STACK_REGION,
    health_check_output_key,
    regional_stack_name,
    routing_stack_name,
)
from strongroom.infra import app
from strongroom.infra.stacks import regional, routing


def test_the_names_are_the_ones_the_cdk_app_deploys() -> None:
    config = load_config()
    for region in (r.name for r in config.regions):
        assert regional_stack_name(config, region) == app.regional_stack_name(config, region)
        assert health_check_output_key(region) == routing.health_check_output(region)
    assert routing_stack_name(config) == app.routing_stack_name(config)
    assert routing.ROUTING_REGION == ROUTING_STACK_REGION
    assert regional.API_URL_OUTPUT == API_URL_OUTPUT
