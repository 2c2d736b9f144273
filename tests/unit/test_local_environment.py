"""What `strongroom up` tells the local functions: the configured settings, as a deployment would."""

from __future__ import annotations

from strongroom import constants as env
from strongroom.config import load_config
from strongroom.local.provision import ProvisionedRegion
from strongroom.local.up import function_environment

REGION = ProvisionedRegion(
    region="eu-west-1",
    transactions_table="strongroom-transactions",
    audit_table="strongroom-audit",
    key_ids={"data": "arn:aws:kms:eu-west-1:000000000000:key/data"},
    health_canary_ciphertext="Y2FuYXJ5",
)


def test_functions_get_the_configured_problem_type_base() -> None:
    config = load_config(environ={}, problem_type_base="https://docs.example.com/problems#")
    environment = function_environment(config, REGION, "http://127.0.0.1:5000", "s" * 32)
    assert environment[env.ENV_PROBLEM_TYPE_BASE] == "https://docs.example.com/problems#"
