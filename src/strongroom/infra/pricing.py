"""List prices behind the synth summary's fixed network cost (dated; re-check before budgeting).

Interface VPC endpoints are billed per endpoint, per Availability Zone, per hour, whether or not
traffic flows; data processed is extra and not a fixed cost. Gateway endpoints (S3, DynamoDB) are free.
"""

from __future__ import annotations

PRICES_AS_OF = "2026-11-23"
SOURCE = "https://aws.amazon.com/privatelink/pricing/ (interface endpoint, per VPC endpoint per AZ, USD)"
HOURS_PER_MONTH = 730  # AWS pricing's convention
INTERFACE_ENDPOINT_USD_PER_AZ_HOUR = {
    "us-east-1": 0.010,
    "eu-west-1": 0.011,
    "eu-west-2": 0.011,
    "eu-central-1": 0.012,
}


def interface_endpoint_monthly_usd(region: str, endpoint_az_count: int) -> float:
    """Fixed monthly cost of ``endpoint_az_count`` endpoint-AZ pairs in ``region``."""
    try:
        hourly = INTERFACE_ENDPOINT_USD_PER_AZ_HOUR[region]
    except KeyError:
        raise KeyError(f"no interface endpoint price for {region}; add it to {__name__}") from None
    return round(endpoint_az_count * hourly * HOURS_PER_MONTH, 2)
