"""Strongroom's L3 constructs: one per architectural piece, secure by default (see STYLE.md)."""

from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.api import ApiDomain, TransactionApi
from strongroom.infra.constructs.bucket import IngestBucket
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
