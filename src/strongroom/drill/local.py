"""The drills' local target: a whole `strongroom up` platform started in this process for one drill.

Faults go through the same controller `strongroom fault` reaches over HTTP; the health checker and
the DNS answer are the ones `strongroom up` runs, with the drill's time scale.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.config import PlatformConfig
from strongroom.local.client import botocore_credentials, emulator_client
from strongroom.local.health_checker import DnsAnswer, HealthChecker
from strongroom.local.process import free_port_run
from strongroom.local.up import LocalPlatform, local_credentials, local_platform

if TYPE_CHECKING:
    import botocore.credentials
    from mypy_boto3_dynamodb import DynamoDBClient


class LocalTarget:
    name = "local"

    def __init__(self, platform: LocalPlatform, credentials: botocore.credentials.Credentials) -> None:
        self._platform = platform
        self.credentials = credentials

    @property
    def state(self) -> dict[str, Any]:
        return self._platform.state

    @property
    def checker(self) -> HealthChecker:
        return self._platform.checker

    def endpoints(self) -> dict[str, str]:
        return {name: region["url"] for name, region in self.state["regions"].items()}

    def transactions_table(self) -> str:
        return str(next(iter(self.state["regions"].values()))["transactionsTable"])

    def inject(self, fault: str, region: str) -> None:
        self._platform.controller.inject(region, fault)

    def clear(self, region: str | None = None) -> None:
        self._platform.controller.clear(region)

    def replication(self) -> dict[str, Any]:
        return dict(self._platform.controller.status().get("replication", {}))

    def dns_answer(self, preference: list[str], ttl_seconds: float) -> DnsAnswer:
        return DnsAnswer(self.checker, preference, ttl_seconds=ttl_seconds)

    def dynamodb(self, region: str) -> DynamoDBClient:
        client: DynamoDBClient = emulator_client(self.state, "dynamodb", region)
        return client


@contextmanager
def local_target(
    config: PlatformConfig,
    *,
    time_scale: float,
    function_log: Path | None = None,
    say: Callable[[str], None] = print,
) -> Iterator[LocalTarget]:
    """Start the platform on free loopback ports with fresh credentials; stop it on exit. The
    functions' logs go to ``function_log`` (the drill keeps them beside its report)."""
    regions = [r.name for r in config.regions]
    credentials = local_credentials({})
    with (
        tempfile.TemporaryDirectory(prefix="strongroom-drill-") as directory,
        local_platform(
            config,
            regions=regions,
            port=free_port_run(len(regions)),
            credentials=credentials,
            directory=Path(directory),
            time_scale=time_scale,
            function_log=function_log,
            say=say,
        ) as platform,
    ):
        yield LocalTarget(platform, botocore_credentials(credentials))
