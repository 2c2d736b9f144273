"""A handler for local-mode tests, run in FunctionPool environments by its module path.

The request path says what to do: answer with the event it got, hang, crash the process, raise or
return garbage. ``LOADED`` is drawn once per import, so a test sees whether the module was imported
once per environment (a warm start) or again.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

HANDLER = "tests.functional.fake_functions:handler"
LOADED = str(uuid.uuid4())


def handler(event: dict[str, Any], context: Any) -> Any:
    path = event["path"]
    if path == "/hang":
        time.sleep(3600)
    if path == "/crash":
        os._exit(3)
    if path == "/raise":
        raise RuntimeError("the handler failed")
    if path == "/garbage":
        return "not a proxy response"
    body = {"pid": os.getpid(), "loaded": LOADED, "remainingMs": context.get_remaining_time_in_millis()}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({**body, "event": event}),
    }
