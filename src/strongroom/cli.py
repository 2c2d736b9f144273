"""`strongroom` — run the platform locally, break it and drill it, operate it, synthesize it, benchmark it.

Expected failures (bad configuration, busy ports, missing prerequisites) print one line that names
the input and the fix, and exit 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

from strongroom.config import load_config
from strongroom.errors import UserError

EXIT_USAGE = 2


class CliError(UserError):
    """An expected failure: the message says what was wrong and what to do."""


def _cmd_drill(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    if importlib.util.find_spec("moto") is None and args.target == "local":
        raise CliError(
            "a local drill needs the local extra (moto is missing): pip install 'strongroom[local]'"
        )
    drill = importlib.import_module("strongroom.drill.cli")
    return int(
        drill.run(
            scenario=args.scenario,
            out=Path(args.out),
            consistency=args.consistency,
            target=args.target,
            time_scale=args.time_scale,
            duration=args.duration,
            rate=args.rate,
            region=args.region,
            items=args.items,
        )
    )


def _cmd_tail(args: argparse.Namespace) -> int:
    from strongroom.local.tail import tail  # noqa: PLC0415

    return tail(args.region, follow=not args.no_follow, state_dir=args.state_dir)


def _cmd_republish(args: argparse.Namespace) -> int:
    from strongroom.ops import republish  # noqa: PLC0415

    return republish(
        region=args.region, since=args.since, until=args.until, local=args.local, state_dir=args.state_dir
    )


def _cmd_redrive(args: argparse.Namespace) -> int:
    from strongroom.ops import redrive  # noqa: PLC0415

    queues = [args.queue] if args.queue else ["ingest", "publisher"]
    return redrive(
        region=args.region, queues=queues, dry_run=args.dry_run, local=args.local, state_dir=args.state_dir
    )


def _cmd_reconcile(args: argparse.Namespace) -> int:
    drill = importlib.import_module("strongroom.drill.cli")
    return int(
        drill.reconcile_tables(
            region=args.region, table=args.table, against=args.against, local=args.local, out=args.out
        )
    )


def _time_scale(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value:g} is outside 1..100")
    return value


def _number_in(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a number of {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} {what} is outside {low:g}..{high:g}")
        return value

    return parse


_seconds = _number_in(5, 170, "seconds")
_rate = _number_in(1, 100, "transactions per second")


def _positive_count(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number in 1..100000")
    return int(raw)


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..65535")
    return value


def _cmd_up(args: argparse.Namespace) -> int:
    from strongroom.local.up import up  # noqa: PLC0415 - each command imports only what it needs

    config = load_config(consistency=args.consistency)
    return up(
        config,
        regions=args.region,
        port=args.port,
        directory=args.state_dir,
        concurrency=args.concurrency,
        time_scale=args.time_scale,
    )


def _cmd_fault(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from strongroom.local import control  # noqa: PLC0415
    from strongroom.local.client import read_state  # noqa: PLC0415

    state = read_state(args.state_dir)
    if "control" not in state:
        raise CliError("this local.json has no control endpoint: restart the platform with `strongroom up`")
    if args.fault == "status":
        document = control.request(state["control"], "GET", "/status")
    elif args.fault == "clear":
        path = f"/faults/{args.region}" if args.region else "/faults"
        document = control.request(state["control"], "DELETE", path)
    else:
        if not args.region:
            raise CliError(
                f"fault {args.fault} needs --region REGION (one of: {', '.join(state['regions'])})"
            )
        document = control.request(state["control"], "PUT", f"/faults/{args.region}", {"fault": args.fault})
    print(json.dumps(document, indent=2))
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    try:
        synth = importlib.import_module("strongroom.infra.synth")
    except ModuleNotFoundError as exc:
        raise CliError(
            f"synth needs the infrastructure extras ({exc.name} is missing): pip install -e '.[infra]'"
        ) from None
    return int(synth.main(args.rest))


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        check = importlib.import_module("strongroom.prr.check")
        render = importlib.import_module("strongroom.prr.render")
        if importlib.util.find_spec("aws_cdk") is None:  # found, not imported: bad input fails at once
            raise ModuleNotFoundError(name="aws_cdk")
    except ModuleNotFoundError as exc:
        raise CliError(
            f"check needs the infrastructure extras ({exc.name} is missing): pip install -e '.[infra]'"
        ) from None
    return int(check.execute(args, render))


def _cmd_bench(args: argparse.Namespace) -> int:
    # The benchmarks but `check` drive the local emulator: checked before a run half starts, without
    # importing moto.
    if args.suite != "check" and importlib.util.find_spec("moto") is None:
        raise CliError("bench needs the local extra (moto is missing): pip install 'strongroom[local]'")
    bench = importlib.import_module(f"strongroom.bench.{args.suite}")  # imported for this command only
    return int(bench.main(args.rest))


def _cmd_deploy(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from strongroom.deploy import Request, run  # noqa: PLC0415 - boto3 and the CDK CLI: this command only

    version = getattr(args, "to", None) or getattr(args, "version", None)
    assembly = getattr(args, "assembly", None)
    request = Request(
        dry_run=args.dry_run,
        json=args.json,
        regions=tuple(getattr(args, "region", None) or ()),
        version=version,
        signed_bundle=getattr(args, "signed_bundle", None),
        accept_unrouted_alarms=args.accept_unrouted_alarms,
        assembly=Path(assembly) if assembly else None,
    )
    return run(request)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strongroom", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _local_commands(commands)
    _drill_commands(commands)
    _operator_commands(commands)
    _build_commands(commands)
    return parser


Commands = argparse._SubParsersAction  # argparse exposes no public name for it


def _local_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    up = commands.add_parser("up", help="run the platform locally on an embedded AWS emulator")
    up.add_argument(
        "--port", type=_positive, default=8080, help="first Region's port; the next Region takes the next"
    )
    up.add_argument("--region", action="append", help="serve only this configured Region (repeatable)")
    up.add_argument(
        "--consistency", choices=("strong", "eventual"), help="override the configured consistency mode"
    )
    up.add_argument("--concurrency", type=_positive, default=4, help="execution environments per function")
    up.add_argument("--state-dir", help="where to write local.json (default .strongroom)")
    up.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        help="run the health checker and DNS TTL N times faster (1..100; drills use 10)",
    )
    up.set_defaults(run=_cmd_up)

    fault = commands.add_parser(
        "fault", help="take a Region of a running `strongroom up` down, or break its data path, and clear it"
    )
    fault.add_argument("fault", choices=("region-outage", "data-path", "isolation", "clear", "status"))
    fault.add_argument("--region", help="the Region (clear: only this Region's fault)")
    fault.add_argument("--state-dir", help="where `strongroom up` wrote local.json (default .strongroom)")
    fault.set_defaults(run=_cmd_fault)


def _drill_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    drill = commands.add_parser(
        "drill", help="rehearse a Region failure or a restore under load; writes drill.json/md/png"
    )
    drill.add_argument(
        "scenario", choices=("region-outage", "data-path-failure", "replication-lag", "failback", "restore")
    )
    drill.add_argument("--out", required=True, help="directory for drill.json, drill.md and timeline.png")
    drill.add_argument("--consistency", choices=("strong", "eventual"), help="default: the configured mode")
    drill.add_argument("--target", choices=("local", "aws"), default="local")
    drill.add_argument("--time-scale", type=_time_scale, default=10.0, help="DNS-path timers N times faster")
    drill.add_argument("--duration", type=_seconds, default=40.0, help="seconds of load (default 40)")
    drill.add_argument("--rate", type=_rate, default=20.0, help="transactions per second (default 20)")
    drill.add_argument("--region", help="the Region to fault (default: the first configured)")
    drill.add_argument(
        "--items", type=_positive_count, default=10_000, help="restore: transactions to restore"
    )
    drill.set_defaults(run=_cmd_drill)


def _operator_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    tail = commands.add_parser(
        "tail", help="print a running platform's event stream (Kinesis), and follow it"
    )
    tail.add_argument("--region", required=True)
    tail.add_argument("--no-follow", action="store_true", help="print what is there and stop")
    tail.add_argument("--state-dir", help="where `strongroom up` wrote local.json (default .strongroom)")
    tail.set_defaults(run=_cmd_tail)

    republish = commands.add_parser(
        "republish", help="after a Region is lost: publish a window of the survivor's transactions again"
    )
    republish.add_argument("--region", required=True, help="the surviving Region")
    republish.add_argument("--since", required=True, help="ISO 8601 time, e.g. when the other Region failed")
    republish.add_argument("--until", help="ISO 8601 time (default: now)")
    republish.add_argument("--local", action="store_true", help="the running `strongroom up`")
    republish.add_argument("--state-dir", help="with --local: where `strongroom up` wrote local.json")
    republish.set_defaults(run=_cmd_republish)

    redrive = commands.add_parser(
        "redrive", help="show a Region's dead-letter queues and replay their messages idempotently"
    )
    redrive.add_argument("--region", required=True)
    redrive.add_argument("--queue", choices=("ingest", "publisher"), help="default: both")
    redrive.add_argument("--dry-run", action="store_true", help="show the messages, replay nothing")
    redrive.add_argument("--local", action="store_true", help="the running `strongroom up`")
    redrive.add_argument("--state-dir", help="with --local: where `strongroom up` wrote local.json")
    redrive.set_defaults(run=_cmd_redrive)

    reconcile = commands.add_parser("reconcile", help="compare two tables item by item (after a restore)")
    reconcile.add_argument("--region", required=True)
    reconcile.add_argument("--table", required=True, help="e.g. the restored table")
    reconcile.add_argument("--against", required=True, help="e.g. the live table")
    reconcile.add_argument("--local", action="store_true", help="the running `strongroom up`'s emulator")
    reconcile.add_argument("--out", help="also write the result as JSON to this file")
    reconcile.set_defaults(run=_cmd_reconcile)


def _build_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    synth = commands.add_parser("synth", help="synthesize every Region's stacks to cdk.out/ (offline)")
    synth.add_argument("rest", nargs=argparse.REMAINDER)
    synth.set_defaults(run=_cmd_synth)

    check = commands.add_parser(
        "check",
        help="production-readiness review of Strongroom or of CloudFormation templates: GO or NO-GO",
        description="Judge every control of prr/controls.yaml with the cdk-nag packs, the PRR pack, "
        "cfn-lint and checkov, and write the report (exit 1 on NO-GO).",
    )
    from strongroom.prr.check import add_arguments  # noqa: PLC0415 - stdlib only at import

    add_arguments(check)
    check.set_defaults(run=_cmd_check)

    bench = commands.add_parser("bench", help="run a benchmark: `strongroom bench api|ingest|publisher`")
    bench.add_argument("suite", choices=("api", "publisher", "ingest", "check"))
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_cmd_bench)

    deploy = commands.add_parser(
        "deploy",
        help="deploy to AWS with the CDK CLI, Region by Region, verifying each Region's deep health",
        description="Synthesize once, then deploy every stack in docs/adr/0010's order.",
    )
    deploy.add_argument("--region", action="append", help="deploy only this Region's stacks (repeatable)")
    deploy.add_argument("--version", help="deploy the release tagged v<VERSION> instead of this tree")
    deploy.add_argument(
        "--signed-bundle", help="the signed Lambda code, as CDK context strongroom:signed-bundle"
    )
    deploy.add_argument("--assembly", help="an already synthesized cloud assembly of this tree (no synth)")
    rollback = commands.add_parser(
        "rollback",
        help="deploy an earlier release again: its own tree, bundle and templates",
        description="Check out the tag v<VERSION> into a temporary worktree and deploy it as `deploy` does.",
    )
    rollback.add_argument(
        "--to", required=True, metavar="VERSION", help="the release, e.g. 0.1.0 (tag v0.1.0)"
    )
    for command in (deploy, rollback):
        command.add_argument(
            "--dry-run", action="store_true", help="print the plan (and cdk diff with credentials)"
        )
        command.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
        command.add_argument(
            "--accept-unrouted-alarms",
            action="store_true",
            help="deploy even though no alarm subscription is configured (AlarmsReachNobody=acknowledged)",
        )
        command.set_defaults(run=_cmd_deploy)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (UserError, FileNotFoundError) as exc:
        print(f"strongroom {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
