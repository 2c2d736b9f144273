"""A Python client of the Strongroom API for callers that sign with SigV4 (IAM), across Regions.

A SigV4 signature names one Region, so DNS failover of one hostname cannot carry signed calls: this
client knows every Region's endpoint, signs each request for the Region it sends it to, and fails over
with the same Idempotency-Key, which the API answers as a replay, never a second transaction
(docs/adr/0024-client-driven-routing-for-sigv4-callers.md).

    from decimal import Decimal
    import botocore.session
    from strongroom.client import StrongroomClient

    client = StrongroomClient(
        {"eu-west-1": "https://…eu-west-1…/prod", "eu-central-1": "https://…eu-central-1…/prod"},
        botocore.session.get_session().get_credentials(),
    )
    result = client.create_transaction(
        amount=Decimal("12.34"), currency="EUR", customer_id="cust-0042", type="debit", reference="rent"
    )
    result.idempotency_key  # keep it with the business operation; pass it again to retry

Imports only the standard library and botocore: a caller needs nothing else of the platform.
"""

from __future__ import annotations

from strongroom.client.core import CredentialSource, StrongroomClient
from strongroom.client.policy import BackoffSettings, BreakerSettings, BreakerState, Outcome
from strongroom.client.results import (
    AllRegionsUnavailable,
    ApiProblem,
    Attempt,
    CallRecord,
    CreateResult,
    FieldError,
    Page,
    StrongroomClientError,
    Transaction,
)

__all__ = [
    "AllRegionsUnavailable",
    "ApiProblem",
    "Attempt",
    "BackoffSettings",
    "BreakerSettings",
    "BreakerState",
    "CallRecord",
    "CreateResult",
    "CredentialSource",
    "FieldError",
    "Outcome",
    "Page",
    "StrongroomClient",
    "StrongroomClientError",
    "Transaction",
]
