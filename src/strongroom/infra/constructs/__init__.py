"""Strongroom's L3 constructs: one per architectural piece, secure by default (each validates its
props, fails once with every problem, and exposes what it creates)."""

from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.account_logging import ApiGatewayAccountLogging
from strongroom.infra.constructs.api import ApiDomain, TransactionApi
from strongroom.infra.constructs.bucket import IngestBucket
from strongroom.infra.constructs.firewall import ApiFirewall
from strongroom.infra.constructs.function import Powertools, SecureFunction
from strongroom.infra.constructs.keys import Keys
from strongroom.infra.constructs.network import PrivateNetwork
from strongroom.infra.constructs.observability import (
    MonitoredFunction,
    MonitoredQueue,
    MonitoredTable,
    Observability,
)
from strongroom.infra.constructs.store import TransactionStore

__all__ = [
    "ApiDomain",
    "ApiFirewall",
    "ApiGatewayAccountLogging",
    "IngestBucket",
    "Keys",
    "MonitoredFunction",
    "MonitoredQueue",
    "MonitoredTable",
    "Observability",
    "Powertools",
    "PrivateNetwork",
    "PropsError",
    "SecureFunction",
    "TransactionApi",
    "TransactionStore",
]
