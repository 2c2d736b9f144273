"""The OpenAPI document is the API's exact contract: a schemathesis scan of a real `strongroom up`
(tests/e2e/contract_scan.py) finds no request that the document and the API judge differently, and no
answer the document does not describe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from strongroom.runtime.routes import OPERATIONS
from tests.e2e.conftest import Platform

REPO = Path(__file__).resolve().parents[2]


def scan(platform: Platform, *args: str) -> tuple[int, dict[str, Any]]:
    """Run the scan as the pipeline does, in a process of its own; its exit code and JSON report."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.contract_scan", "--state-dir", str(platform.state_dir), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def described(findings: list[dict[str, Any]]) -> str:
    return "\n\n".join(
        f"{f['check']} {f['operation']} ({f['mode']}, {f['phase']}): {f['status']} {f['problem']}\n"
        f"{f['message']}\n{f['request']}"
        for f in findings[:10]
    )


def test_the_api_answers_exactly_as_its_document_says(platform: Platform) -> None:
    code, report = scan(platform)

    assert report["findings"] == [], described(report["findings"])
    assert report["staleGaps"] == []
    assert code == 0
    # The scan reached every operation with schema-valid requests, and with schema-violating ones
    # wherever a request has something to violate (parameters, a body or a signature).
    requests = report["requests"]
    for op in OPERATIONS:
        assert requests.get(f"{op.operation_id} positive", 0) > 0, op.operation_id
        if op.authorized or op.path_parameters or op.request:
            assert requests.get(f"{op.operation_id} negative", 0) > 0, op.operation_id


def test_the_scan_finds_a_currency_the_document_admits_and_the_api_refuses(
    platform: Platform, tmp_path: Path
) -> None:
    # GIVEN the document as it was: any three capital letters make a currency (KGA does not)
    document = platform.client().request("GET", "/openapi.json").json()
    create = document["components"]["schemas"]["CreateTransaction"]
    del create["oneOf"]
    create["properties"]["currency"] = {"type": "string", "pattern": "^[A-Z]{3}$"}
    candidate = tmp_path / "openapi.json"
    candidate.write_text(json.dumps(document))

    # WHEN the API is scanned against it
    code, report = scan(
        platform, "--document", str(candidate), "--operation", "createTransaction", "--examples", "10"
    )

    # THEN schema-valid requests are refused for their currency
    refused = [f for f in report["findings"] if f["check"] == "positive_data_acceptance"]
    assert refused, report
    assert {(f["status"], f["problem"]) for f in refused} == {(422, "validation-error")}
    assert code == 1
