"""`strongroom` — run the platform locally, synthesize the infrastructure, benchmark.

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
        config, regions=args.region, port=args.port, directory=args.state_dir, concurrency=args.concurrency
    )


def _cmd_synth(args: argparse.Namespace) -> int:
    try:
        synth = importlib.import_module("strongroom.infra.synth")
    except ModuleNotFoundError as exc:
        raise CliError(
            f"synth needs the infrastructure extras ({exc.name} is missing): pip install -e '.[infra]'"
        ) from None
    return int(synth.main(args.rest))


def _cmd_bench(args: argparse.Namespace) -> int:
    # The benchmarks drive the local emulator: checked before a run half starts, without importing moto.
    if importlib.util.find_spec("moto") is None:
        raise CliError("bench needs the local extra (moto is missing): pip install 'strongroom[local]'")
    bench = importlib.import_module(f"strongroom.bench.{args.suite}")  # imported for this command only
    return int(bench.main(args.rest))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strongroom", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    up.set_defaults(run=_cmd_up)

    synth = commands.add_parser("synth", help="synthesize every Region's stacks to cdk.out/ (offline)")
    synth.add_argument("rest", nargs=argparse.REMAINDER)
    synth.set_defaults(run=_cmd_synth)

    bench = commands.add_parser("bench", help="run a benchmark: `strongroom bench api`")
    bench.add_argument("suite", choices=("api",))
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_cmd_bench)
    return parser


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
