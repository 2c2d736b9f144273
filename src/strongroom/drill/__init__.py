"""Resilience drills: `strongroom drill SCENARIO --out DIR` runs signed load through the client and a
model of the DNS path, injects a fault, reads every acknowledged write back and reports.

- :mod:`strongroom.drill.model`: what a drill measured and the verdict's rule (no I/O);
- :mod:`strongroom.drill.report`: `drill.json`, `drill.md` and `timeline.png` in the output folder;
- :mod:`strongroom.drill.aws`: the `--target aws` path (AWS FIS, CloudFormation outputs, Route 53,
  point-in-time restore); it needs an AWS account.

Only the model is imported here: the report draws with matplotlib and the AWS target needs boto3,
and each is imported by the command that uses it.
"""

from __future__ import annotations

from strongroom.drill.model import (
    CLIENT_RTO_GOAL_SECONDS,
    EVENT_KINDS,
    FAULT_SCENARIOS,
    MAX_LISTED,
    PATHS,
    SCENARIOS,
    DrillResult,
    Event,
    EventKind,
    ReadBack,
    Restore,
    Sample,
    SamplePath,
    Scenario,
    Verdict,
    judge,
    per_second,
    percentile,
    policy_of,
    runbooks_for,
)

__all__ = [
    "CLIENT_RTO_GOAL_SECONDS",
    "EVENT_KINDS",
    "FAULT_SCENARIOS",
    "MAX_LISTED",
    "PATHS",
    "SCENARIOS",
    "DrillResult",
    "Event",
    "EventKind",
    "ReadBack",
    "Restore",
    "Sample",
    "SamplePath",
    "Scenario",
    "Verdict",
    "judge",
    "per_second",
    "percentile",
    "policy_of",
    "runbooks_for",
]
