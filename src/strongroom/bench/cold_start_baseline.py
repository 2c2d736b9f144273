"""Cold-start child, baseline: the least a function can do for the same write: boto3, one client, one PutItem.

Run as a file by ``strongroom.bench.api`` in a fresh interpreter (3.11, or Lambda's 3.13) with the
candidate's environment. The item arrives on stdin as JSON; the client is configured as the API
configures its own and the PutItem carries the same condition, so what the candidate costs beyond
this is the API's own code and libraries. The last line of stdout is the result; the process then
ends without interpreter teardown.
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


def main() -> None:
    request: dict[str, Any] = json.load(sys.stdin)
    import boto3  # noqa: PLC0415 - the import is what is measured
    from botocore.config import Config  # noqa: PLC0415

    imported = time.perf_counter()
    config = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3})
    client = boto3.client("dynamodb", config=config)
    built = time.perf_counter()
    response = client.put_item(
        TableName=request["table"],
        Item=request["item"],
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    done = time.perf_counter()
    result = {
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
        "in_process_s": done - START,
        "phases": {"import boto3": imported - START, "client": built - imported, "PutItem": done - built},
    }
    sys.stdout.write(f"\n{RESULT_MARKER}{json.dumps(result)}\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":  # run as a script, never imported
    main()
