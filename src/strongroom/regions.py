"""What each AWS Region offers the platform's network, as data: its availability zones and the ids of
the AWS-managed prefix lists of the gateway-endpoint services.

Synthesis is offline (no context lookups), so these facts cannot be looked up when the templates are
built. Adding a Region is adding an entry here and naming the Region in STRONGROOM_REGIONS (with its
CIDR in STRONGROOM_CIDRS); configuration validates the entry at load and ``PrivateNetwork`` builds the
Region's network from it (docs/adr/0016-network-endpoints-prefix-lists-and-dns-firewall.md).

Plain data, stdlib only: importable without CDK (configuration, local mode and docs read it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# The services reached through gateway endpoints (free, routed by prefix list) rather than interface
# endpoints. A security group can name their address ranges only by prefix-list id.
GATEWAY_SERVICES = ("s3", "dynamodb")

_PREFIX_LIST_RE = re.compile(r"^pl-[0-9a-f]{8}([0-9a-f]{9})?$")


@dataclass(frozen=True, slots=True)
class RegionData:
    """One Region: the availability zones its subnets use (one subnet each, in this order) and, per
    gateway service, the id of ``com.amazonaws.<region>.<service>``.

    Verify with ``aws ec2 describe-availability-zones --region <region>`` and
    ``aws ec2 describe-managed-prefix-lists --region <region>``; the prefix-list ids are the same in
    every account and do not change.
    """

    availability_zones: tuple[str, ...]
    prefix_lists: Mapping[str, str]


REGIONS: Mapping[str, RegionData] = MappingProxyType(
    {
        "eu-west-1": RegionData(
            availability_zones=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
            prefix_lists=MappingProxyType({"s3": "pl-6da54004", "dynamodb": "pl-6fa54006"}),
        ),
        "eu-central-1": RegionData(
            availability_zones=("eu-central-1a", "eu-central-1b", "eu-central-1c"),
            prefix_lists=MappingProxyType({"s3": "pl-6ea54007", "dynamodb": "pl-66a5400f"}),
        ),
    }
)


def problems(name: str, data: RegionData) -> list[str]:
    """What is wrong with one Region's entry (empty when it can carry the platform's network)."""
    found = []
    zones = data.availability_zones
    if len(zones) < 2:
        found.append(f"{name} lists {len(zones)} availability zone(s); the network needs at least two")
    if len(set(zones)) != len(zones):
        found.append(f"{name} lists an availability zone twice: {', '.join(zones)}")
    for zone in zones:
        if not re.fullmatch(rf"{re.escape(name)}[a-z]", zone):
            found.append(f"{name}: {zone!r} is not an availability zone of {name} (e.g. {name}a)")
    for service in GATEWAY_SERVICES:
        pl = data.prefix_lists.get(service)
        if pl is None:
            found.append(f"{name} has no prefix-list id for {service} (com.amazonaws.{name}.{service})")
        elif not _PREFIX_LIST_RE.match(pl):
            found.append(f"{name}: {service} prefix-list id {pl!r} is not of the form pl-0123abcd")
    return found
