"""Operator commands for the pipelines: `strongroom republish` (after a Region is lost).

`strongroom republish --region R --since T [--until T] [--local]` publishes, from Region R's table to
R's event stream, every transaction updated in the window: the failover step that closes the gap when
the surviving Region's stream did not carry the lost Region's writes (docs/adr/0032). Its events have
the ids the stream path gives them, so consumers drop what they already had.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from strongroom.config import load_config
from strongroom.errors import UserError


class OpsError(UserError):
    pass


def parse_time(raw: str, option: str) -> datetime:
    """An ISO 8601 time; naive times are UTC."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise OpsError(f"{option} {raw!r} is not an ISO 8601 time, e.g. 2026-11-30T08:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _clients(region: str, local: bool, state_dir: str | None) -> tuple[Any, Any]:
    if local:
        from strongroom.local.client import read_state  # noqa: PLC0415

        state = read_state(state_dir)
        session = boto3.session.Session(
            aws_access_key_id="local-ops",
            aws_secret_access_key="local-ops",  # noqa: S106 - the emulator checks no key
            region_name=region,
        )
        endpoint = state["emulator"]
        return session.client("dynamodb", endpoint_url=endpoint), session.client(
            "kinesis", endpoint_url=endpoint
        )
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        raise OpsError("no AWS credentials: configure them (profile, SSO or role), or pass --local")
    return session.client("dynamodb"), session.client("kinesis")


def republish(
    *, region: str, since: str, until: str | None, local: bool, state_dir: str | None = None
) -> int:
    from strongroom.runtime.publisher import RepublishIncomplete  # noqa: PLC0415
    from strongroom.runtime.publisher import republish as run  # noqa: PLC0415

    start = parse_time(since, "--since")
    end = parse_time(until, "--until") if until else datetime.now(UTC)
    if end < start:
        raise OpsError(f"--until {until} is before --since {since}")
    names = load_config().names
    dynamodb, kinesis = _clients(region, local, state_dir)
    try:
        result = run(
            dynamodb=dynamodb,
            table=names.transactions_table,
            since=start,
            until=end,
            kinesis=kinesis,
            stream=names.event_stream(region),
            region=region,
        )
    except RepublishIncomplete as exc:
        raise OpsError(f"{exc}; run the same command again: what was published is deduplicated") from None
    document = {"region": region, "scanned": result.scanned, "published": result.published}
    print(json.dumps(document, indent=2))
    return 0
