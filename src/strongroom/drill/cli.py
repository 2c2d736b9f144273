"""The `strongroom drill` and `strongroom reconcile` commands: options in, report out, exit status."""

from __future__ import annotations

import json
from pathlib import Path

from strongroom.config import load_config
from strongroom.drill.model import DrillResult
from strongroom.drill.report import write_report
from strongroom.drill.runner import Drill, DrillOptions
from strongroom.errors import UserError

EXIT_FAIL = 1


class DrillError(UserError):
    pass


def _say(line: str) -> None:
    print(line, flush=True)


def run(
    *,
    scenario: str,
    out: Path,
    consistency: str | None,
    target: str,
    time_scale: float,
    duration: float,
    rate: float,
    region: str | None,
    items: int,
) -> int:
    """Run one drill, write its report, print the verdict; 0 on pass, 1 on fail."""
    config = load_config(consistency=consistency)
    if len(config.regions) < 2:
        raise DrillError("a drill needs two Regions: set STRONGROOM_REGIONS to two Regions")
    if scenario == "replication-lag" and config.consistency != "eventual":
        raise DrillError(
            "replication-lag rehearses eventual consistency: pass --consistency eventual "
            "(strong consistency replicates synchronously: there is no lag to lose)"
        )
    options = DrillOptions(
        scenario=scenario,
        out=out,
        consistency=config.consistency,
        target=target,
        time_scale=time_scale,
        duration=duration,
        rate=rate,
        region=region,
        items=items,
    )
    _say(f"drill {scenario} ({config.consistency} consistency, {target} target, time scale {time_scale:g}) …")
    result = _run_local(options, config) if target == "local" else _run_aws(options, config)
    written = write_report(result, out)
    _say(_summary(result))
    for kind, path in written.items():
        _say(f"  {kind}: {path}")
    return 0 if result.verdict == "pass" else EXIT_FAIL


def _run_local(options: DrillOptions, config: object) -> DrillResult:
    from strongroom.config import PlatformConfig  # noqa: PLC0415
    from strongroom.drill.local import local_target  # noqa: PLC0415 - starts moto: only for local drills

    assert isinstance(config, PlatformConfig)
    options.out.mkdir(parents=True, exist_ok=True)
    log = options.out / "functions.log"
    log.unlink(missing_ok=True)
    with local_target(
        config, time_scale=options.time_scale, function_log=log, say=lambda line: _say("  " + line)
    ) as target:
        return Drill(options, config, target, _say).run()


def _run_aws(options: DrillOptions, config: object) -> DrillResult:
    from strongroom.config import PlatformConfig  # noqa: PLC0415
    from strongroom.drill.aws import AwsTarget, credentials_available  # noqa: PLC0415

    assert isinstance(config, PlatformConfig)
    import boto3  # noqa: PLC0415

    session = boto3.session.Session()
    if not credentials_available(session):
        raise DrillError(
            "no AWS credentials: `--target aws` needs an account with the stacks deployed; "
            "configure credentials (profile, SSO or role) or use --target local"
        )
    from strongroom.drill.aws_drill import aws_drill  # noqa: PLC0415

    return aws_drill(options, config, AwsTarget(config, session=session), _say)


def _summary(result: DrillResult) -> str:
    figures = [
        ("verdict", result.verdict.upper()),
        ("client RTO", _s(result.rto_seconds)),
        ("detection", _s(result.detection_seconds)),
        ("DNS RTO", f"{_s(result.dns_rto_seconds)} (budget {result.rto_budget_seconds:g} s)"),
        ("client errors", str(result.client_errors)),
        ("acknowledged", str(result.acknowledged_writes)),
        ("lost", str(result.acknowledged_lost)),
        ("duplicates", str(result.duplicates)),
    ]
    if result.restore is not None:
        figures.append(("restore + reconcile", _s(result.restore.total_seconds)))
    lines = [f"  {name:<20} {value}" for name, value in figures]
    lines += [f"  - {reason}" for reason in result.reasons]
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def reconcile_tables(*, region: str, table: str, against: str, local: bool, out: str | None) -> int:
    """Compare two tables and print the counts (and write them as JSON to ``out``)."""
    import boto3  # noqa: PLC0415

    from strongroom.drill.reconcile import reconcile  # noqa: PLC0415

    if local:
        from strongroom.local.client import emulator_client, read_state  # noqa: PLC0415

        client = emulator_client(read_state(), "dynamodb", region)
    else:
        client = boto3.session.Session(region_name=region).client("dynamodb")
    try:
        result = reconcile(client, table, against)
    except client.exceptions.ResourceNotFoundException as exc:
        raise DrillError(
            f"{exc.response['Error']['Message']}: check --table and --against in {region}"
        ) from None
    document = result.to_json()
    text = json.dumps(document, indent=2)
    if out:
        Path(out).write_text(text + "\n")
    print(text)
    return 0
