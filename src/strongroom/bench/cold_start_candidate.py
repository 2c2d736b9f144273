"""Cold-start child, candidate: import the API and answer one POST /transactions, as a first invoke.

Run as a file by ``strongroom.bench.api`` in a fresh interpreter (3.11, or Lambda's 3.13) whose
environment points at the emulator. The event arrives on stdin as JSON (Lambda's runtime hands the
handler a parsed event too). The last line of stdout is the result; the process then ends without
interpreter teardown, which Lambda never pays. Stdlib only, and nothing imported before the clock starts.
"""

# ruff: noqa: E402 - the clock starts before anything else is imported
from __future__ import annotations

import time

START = time.perf_counter()

import json
import os
import sys
from typing import Any

RESULT_MARKER = "@@bench-result "


class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name = "strongroom-api"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:strongroom-api"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/strongroom-api"
    log_stream_name = "cold-start"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def main() -> None:
    event: dict[str, Any] = json.load(sys.stdin)
    from strongroom.runtime import api  # noqa: PLC0415 - the import is what is measured

    imported = time.perf_counter()
    api.dependencies()  # what the first request would build anyway; called here to time it apart
    built = time.perf_counter()
    handler: Any = api.handler  # called with a duck-typed context, as Lambda's is
    response = handler(event, LambdaContext())
    done = time.perf_counter()
    result = {
        "status": response["statusCode"],
        "in_process_s": done - START,
        "phases": {
            "import strongroom.runtime.api": imported - START,
            "dependencies() (boto3 import, client)": built - imported,
            "handler": done - built,
        },
    }
    sys.stdout.write(f"\n{RESULT_MARKER}{json.dumps(result)}\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":  # run as a script, never imported
    main()
