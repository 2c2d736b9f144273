"""Builders shared by the API tests: a TransactionApi with the props the platform uses, in a small stack."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from strongroom.infra.constructs.api import TransactionApi
from strongroom.runtime.openapi import document
from strongroom.runtime.routes import OPERATIONS

KEY = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"
MODELS = {"CreateTransaction": document()["components"]["schemas"]["CreateTransaction"]}


def handler(stack: Stack) -> lambda_.IFunction:
    return lambda_.Function(
        stack,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


def transaction_api(stack: Stack, **overrides: Any) -> TransactionApi:
    props: dict[str, Any] = {
        "api_name": "strongroom-api",
        "handler": handler(stack),
        "operations": OPERATIONS,
        "models": MODELS,
        "logs_key": kms.Key.from_key_arn(stack, "Key", KEY),
        "log_retention_days": 365,
        "throttle_rate_per_second": 100,
        "throttle_burst": 200,
        "health_throttle_rate_per_second": 10,
        "health_throttle_burst": 20,
        "max_body_bytes": 8192,
        "waf_requests_per_ip_per_5min": 1000,
        **overrides,
    }
    return TransactionApi(stack, "Api", **props)
