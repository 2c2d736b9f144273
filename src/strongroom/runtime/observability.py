"""Logging, metrics and tracing for the handlers, with PII kept out of logs.

Tracing costs nothing at import when disabled: the X-Ray SDK is imported only when tracing is on.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from strongroom import constants as env

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.tracing import Tracer

    Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

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


class InvocationFailed(Exception):
    """What leaves the function when a handler fails unexpectedly: the failure's type, never its text."""


def _guarded(handler: Handler) -> Handler:
    def guarded(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        except Exception as exc:
            logger.exception("invocation failed")
            raise InvocationFailed(
                f"{type(exc).__name__}; see the function log for this request id"
            ) from None

    return guarded


def traced(handler: Handler) -> Handler:
    """``handler`` with an X-Ray segment per invocation when tracing is on (as deployed).

    The response body (customer id, amount, reference) and exception text are never recorded as
    trace metadata: X-Ray is not a store for customer data. FUNCTION_ENVIRONMENT turns both captures
    off for every function, and they are off here explicitly; but the X-Ray SDK records any exception
    that leaves a subsegment, message included, so an escaping exception is first replaced by one
    that names only its type (and, as Lambda reports it, that is what its error log shows too).
    """
    guarded = _guarded(handler)
    tracer = make_tracer()
    if tracer is None:
        return guarded
    wrapped: Handler = tracer.capture_lambda_handler(guarded, capture_response=False, capture_error=False)
    return wrapped
