"""Logging, metrics and tracing for the handlers, with PII kept out of logs.

Tracing costs nothing at import when disabled: the X-Ray SDK is imported only when tracing is on.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from strongroom import constants as env

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

SERVICE = "strongroom-api"
NAMESPACE = "Strongroom"

logger = Logger(service=os.environ.get(env.ENV_SERVICE_NAME, SERVICE))
metrics = Metrics(namespace=os.environ.get(env.ENV_METRICS_NAMESPACE, NAMESPACE))
# Reads publish no metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def customer_ref(customer_id: str, key: bytes) -> str:
    """A stable, keyed pseudonym for a customer id: logs can be correlated without carrying the id,
    and without the key a guessable id (cust-0042) cannot be recovered by hashing candidates."""
    return "c_" + hmac.new(key, customer_id.encode(), hashlib.sha256).hexdigest()[:12]


def tracing_enabled(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    disabled = environ.get(env.ENV_TRACING, "").lower() in {"1", "true", "yes"}
    return not disabled and "AWS_LAMBDA_FUNCTION_NAME" in environ


def make_tracer() -> Tracer | None:
    if not tracing_enabled():
        return None
    from aws_lambda_powertools.tracing import Tracer  # noqa: PLC0415 - import only when tracing is on

    # Patch only botocore: the default patches every supported library it can import (~200 modules).
    return Tracer(service=SERVICE, patch_modules=("botocore",))
