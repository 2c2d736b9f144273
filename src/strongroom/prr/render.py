"""The renderers of ``strongroom check``'s report: Markdown, one self-contained HTML page, SARIF 2.1.0
and AWS Security Finding Format, each a pure function of the report model that the engine writes as
report.json.

The renderers take the report as a plain mapping rather than the engine's types so that a report.json
written by another version, or edited by hand, still renders: every key may be missing or empty, and a
status they do not know renders neutrally instead of failing. The report quotes templates, which come
from whoever wrote them, so every piece of its text is escaped in HTML (and neutralised in Markdown,
whose viewers render inline HTML). Standard library only: the report renders where the CDK is absent.
"""

from __future__ import annotations

import hashlib
import html as _html
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMATS = ("md", "html", "json", "sarif", "asff")
FILES = {
    "json": "report.json",
    "md": "report.md",
    "html": "report.html",
    "sarif": "report.sarif",
    "asff": "report.asff.json",
}

STATUSES = ("pass", "fail", "acknowledged", "not-judged")
STATUS_TITLES = {"pass": "Pass", "fail": "Fail", "acknowledged": "Acknowledged", "not-judged": "Not judged"}
# Statuses a check or a tool can have besides a control's, each drawn with the colour of its meaning.
BADGE_CLASSES = {
    "pass": "pass",
    "ran": "pass",
    "fail": "fail",
    "failed": "fail",
    "blocking": "fail",
    "error": "fail",
    "acknowledged": "ack",
    "warning": "ack",
    "missing": "ack",
    "not-judged": "nj",
    "not-run": "nj",
    "info": "nj",
}

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"blocking": "error", "error": "error", "warning": "warning", "info": "note"}
# Where each tool documents its rules; findings of other tools carry no helpUri unless they name one.
HELP_URIS = {
    "cdk-nag": "https://github.com/cdklabs/cdk-nag/blob/main/RULES.md",
    "cfn-lint": "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md",
}

ASFF_SCHEMA_VERSION = "2018-10-08"
ASFF_TYPES = ["Software and Configuration Checks/AWS Security Best Practices"]
# An info finding still failed a check, which Security Hub's INFORMATIONAL ("no issue found") would hide.
ASFF_SEVERITIES = {"blocking": "CRITICAL", "error": "HIGH", "warning": "MEDIUM", "info": "LOW"}
ASFF_TITLE_MAX = 256
ASFF_DESCRIPTION_MAX = 1024
ASFF_REQUIREMENTS_MAX = 32
ASFF_FIELD_MAX = 1024
ASFF_BATCH = 100  # BatchImportFindings takes at most this many findings a call


# ---------------------------------------------------------------------------------------------------
# Reading the model


def _maps(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list in the report, skipping anything else, so a malformed entry is dropped
    instead of breaking the whole rendering."""
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _strs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list | tuple):
        return []
    return [str(item) for item in value if item is not None and item != ""]


def _text(value: Any, default: str = "") -> str:
    return default if value is None or value == "" else str(value)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return 0


def _summary(report: Mapping[str, Any]) -> Mapping[str, Any]:
    summary = report.get("summary")
    return summary if isinstance(summary, Mapping) else {}


def control_counts(report: Mapping[str, Any]) -> dict[str, int]:
    """Controls by status: the summary's when it has them, else counted from the controls, so the
    cards agree with what the engine decided and a hand-written report still shows numbers."""
    given = _summary(report).get("controls")
    if isinstance(given, Mapping) and given:
        return {status: _int(given.get(status, 0)) for status in STATUSES}
    counts = dict.fromkeys(STATUSES, 0)
    for control in _maps(report.get("controls")):
        status = _text(control.get("status"))
        if status in counts:
            counts[status] += 1
    return counts


def finding_count(report: Mapping[str, Any]) -> int:
    given = _summary(report).get("findings")
    return _int(given) if given is not None else len(_maps(report.get("findings")))


def blocking_count(report: Mapping[str, Any]) -> int:
    given = _summary(report).get("blocking")
    if given is not None:
        return _int(given)
    return sum(
        1
        for finding in _maps(report.get("findings"))
        if finding.get("severity") == "blocking" and not finding.get("acknowledged")
    )


def acknowledged_count(report: Mapping[str, Any]) -> int:
    given = _summary(report).get("acknowledged")
    if given is not None:
        return _int(given)
    return sum(1 for finding in _maps(report.get("findings")) if finding.get("acknowledged"))


def failing_mandatory(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        control
        for control in _maps(report.get("controls"))
        if control.get("mandatory") and control.get("status") == "fail"
    ]


def by_area(report: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Controls grouped by area title, in the order the report lists them."""
    areas: dict[str, list[Mapping[str, Any]]] = {}
    for control in _maps(report.get("controls")):
        title = _text(control.get("areaTitle")) or _text(control.get("area"), "Other")
        areas.setdefault(title, []).append(control)
    return list(areas.items())


def _acknowledgement(finding: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ack = finding.get("acknowledged")
    if isinstance(ack, Mapping):
        return ack
    return {"reason": str(ack)} if ack else None


def _check_text(check: Mapping[str, Any]) -> str:
    found = check.get("findings")
    tail = f", {found}" if found else ""
    return f"{_text(check.get('kind'))} {_text(check.get('id'))} ({_text(check.get('status'), '?')}{tail})"


def _share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


# ---------------------------------------------------------------------------------------------------
# Markdown


def _md(value: Any) -> str:
    """Text fit for a Markdown table cell: one line, no column break, and no raw HTML for a viewer to
    render, since Markdown passes inline HTML through."""
    text = _text(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.replace("|", "\\|").split())


def _md_table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines


def _md_head(report: Mapping[str, Any]) -> list[str]:
    verdict = _text(report.get("verdict"), "no verdict")
    lines = [f"# Production readiness: {_md(verdict)}", ""]
    made_by = " ".join(_strs([report.get("tool"), report.get("version")])) or "strongroom check"
    when = _text(report.get("generatedAt"))
    lines.append(f"Generated by {_md(made_by)}" + (f" at {_md(when)}." if when else "."))
    lines += ["", f"**Verdict: {_md(verdict)}**", ""]
    lines += [f"- {_md(reason)}" for reason in _strs(report.get("verdictReasons"))]
    return lines


def _md_inputs_tools(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Inputs", ""]
    inputs = _maps(report.get("inputs"))
    rows = [[i.get("name"), i.get("kind"), i.get("path"), i.get("resources")] for i in inputs]
    lines += _md_table(["Input", "Kind", "Path", "Resources"], rows) if rows else ["No inputs recorded."]
    lines += ["", "## Tools", ""]
    tools = _maps(report.get("tools"))
    rows = [[t.get("name"), t.get("status"), t.get("detail"), t.get("seconds")] for t in tools]
    lines += _md_table(["Tool", "Status", "Detail", "Seconds"], rows) if rows else ["No tools recorded."]
    return lines


def _md_summary(report: Mapping[str, Any]) -> list[str]:
    counts = control_counts(report)
    lines = ["", "## Summary", ""]
    lines += _md_table(["Status", "Controls"], [[STATUS_TITLES[s], counts[s]] for s in STATUSES])
    mandatory = _summary(report).get("mandatory")
    if isinstance(mandatory, Mapping):
        lines += [
            "",
            f"Mandatory controls: {_int(mandatory.get('pass'))} of {_int(mandatory.get('total'))} pass, "
            f"{_int(mandatory.get('fail'))} fail.",
        ]
    lines += [
        "",
        f"Findings: {finding_count(report)} ({acknowledged_count(report)} acknowledged, "
        f"{blocking_count(report)} blocking).",
        "",
        "## Mandatory controls that fail",
        "",
    ]
    failing = failing_mandatory(report)
    rows = [
        [c.get("id"), c.get("areaTitle") or c.get("area"), c.get("requirement"), c.get("statusReason")]
        for c in failing
    ]
    lines += _md_table(["Control", "Area", "Requirement", "Why"], rows) if rows else ["None."]
    return lines


def _md_controls(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Controls by area"]
    for title, controls in by_area(report):
        lines += ["", f"### {_md(title)}", ""]
        rows = [
            [
                _text(c.get("id")) + (" (mandatory)" if c.get("mandatory") else ""),
                c.get("requirement"),
                _text(c.get("status"), "unknown"),
                "; ".join(_check_text(check) for check in _maps(c.get("checks"))),
                len(_strs(c.get("findings"))),
                ", ".join(_strs(c.get("evidence"))),
            ]
            for c in controls
        ]
        lines += _md_table(["Control", "Requirement", "Status", "Checks", "Findings", "Evidence"], rows)
    if len(lines) == 2:
        lines += ["", "No controls recorded."]
    return lines


def _md_findings(report: Mapping[str, Any]) -> list[str]:
    findings = _maps(report.get("findings"))
    lines = ["", "## Findings", ""]
    rows = [
        [
            f.get("id"),
            f.get("rule"),
            f.get("tool"),
            f.get("severity"),
            f.get("resource") or f.get("logicalId"),
            f.get("message"),
            ", ".join(_strs(f.get("controls"))) or "unmapped",
            "acknowledged" if f.get("acknowledged") else "open",
        ]
        for f in findings
    ]
    head = ["Id", "Rule", "Tool", "Severity", "Resource", "Message", "Controls", "State"]
    lines += _md_table(head, rows) if rows else ["No findings."]
    unmapped = _strs(report.get("unmapped"))
    if unmapped:
        lines += ["", f"Findings mapped to no control: {_md(', '.join(unmapped))}."]
    lines += ["", "## Acknowledgements", ""]
    acknowledged = [(f, ack) for f in findings if (ack := _acknowledgement(f))]
    rows = [
        [
            f.get("id"),
            f.get("rule"),
            f.get("resource") or f.get("logicalId"),
            a.get("reason"),
            a.get("exception"),
            a.get("source"),
            a.get("reviewBy"),
        ]
        for f, a in acknowledged
    ]
    head = ["Finding", "Rule", "Resource", "Reason", "Exception", "Source", "Review by"]
    lines += _md_table(head, rows) if rows else ["None."]
    return lines


def _md_frameworks(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Coverage by framework", ""]
    rows = []
    for fw in _maps(report.get("frameworks")):
        total = _int(fw.get("controls"))
        row: list[Any] = [fw.get("title") or fw.get("key"), total]
        row += [_int(fw.get(status)) for status in STATUSES]
        rows.append([*row, f"{_share(_int(fw.get('pass')), total):.0f}%"])
    head = ["Framework", "Controls", "Pass", "Fail", "Acknowledged", "Not judged", "Passing"]
    lines += _md_table(head, rows) if rows else ["No frameworks recorded."]
    lines += ["", "## Controls that cannot be judged", ""]
    not_judged = _maps(report.get("notJudged"))
    lines += [f"- **{_md(n.get('control'))}**: {_md(n.get('why'))}" for n in not_judged] or ["None."]
    return lines


def _md_checklist(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Readiness checklist"]
    for area in _maps(report.get("checklist")):
        lines += ["", f"### {_md(area.get('title') or area.get('area'))}", ""]
        for item in _maps(area.get("items")):
            mark = "x" if item.get("status") == "pass" else " "
            status = _text(item.get("status"), "unknown")
            tail = " (mandatory)" if item.get("mandatory") else ""
            lines.append(
                f"- [{mark}] **{_md(item.get('control'))}** {_md(item.get('requirement'))}"
                f" — {_md(status)}{tail}"
            )
    return lines


def markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown, for a pull request comment or a wiki: the same sections as the HTML
    page, in plain tables, with the checklist as a task list a reviewer can tick."""
    parts = [_md_head, _md_inputs_tools, _md_summary, _md_controls, _md_findings, _md_frameworks]
    lines: list[str] = []
    for part in [*parts, _md_checklist]:
        lines += part(report)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# HTML

CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --ack: #9a6700; --nj: #6e7781; --line: #d0d7de;
  --soft: #f6f8fa; --ink: #1f2328; --muted: #59636e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0; display: inline; }
.meta { color: var(--muted); margin: 0 0 16px; }
.banner { display: flex; align-items: center; gap: 24px; padding: 18px 24px; border-radius: 10px;
  color: #fff; background: var(--nj); }
.banner.go { background: var(--pass); }
.banner.no-go { background: var(--fail); }
#verdict { font-size: 40px; font-weight: 800; letter-spacing: 1px; white-space: nowrap; }
.banner ul { margin: 0; padding-left: 18px; }
.banner p { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin: 20px 0 8px; }
.card { border: 1px solid var(--line); border-top: 5px solid var(--nj); border-radius: 8px;
  padding: 10px 14px; background: #fff; }
.card.pass { border-top-color: var(--pass); } .card.fail { border-top-color: var(--fail); }
.card.ack { border-top-color: var(--ack); }
.card .count { display: block; font-size: 30px; font-weight: 700; }
.card .label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .5px; }
.note { color: var(--muted); margin: 4px 0 0; }
table { width: 100%; border-collapse: collapse; margin: 8px 0 4px; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line);
  overflow-wrap: break-word; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
code.id, .nowrap { white-space: nowrap; }
tr.acked td { color: var(--muted); }
code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
  padding: 1px 4px; border-radius: 4px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: #fff; background: var(--nj); white-space: nowrap; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); }
.badge.ack { background: var(--ack); }
.mandatory { font-size: 11px; color: var(--fail); font-weight: 600; text-transform: uppercase;
  white-space: nowrap; }
ul.checks { list-style: none; margin: 0; padding: 0; }
ul.checks li { margin: 0 0 3px; display: flex; gap: 6px; align-items: baseline; flex-wrap: wrap; }
ul.checks small { color: var(--muted); }
details.area { border: 1px solid var(--line); border-radius: 8px; margin: 12px 0; padding: 8px 14px; }
details.area > summary { cursor: pointer; padding: 4px 0; }
.tally { margin-left: 10px; }
.coverage { display: flex; align-items: center; gap: 10px; white-space: nowrap; }
.bar { display: flex; flex: 1; height: 14px; min-width: 160px; border-radius: 7px; overflow: hidden;
  background: #eaeef2; }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 13px; margin: 4px 0; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 5px;
  vertical-align: -1px; }
.legend i.pass { background: var(--pass); } .legend i.fail { background: var(--fail); }
.legend i.ack { background: var(--ack); } .legend i.nj { background: #afb8c1; }
.bar span { display: block; height: 100%; }
.bar .pass { background: var(--pass); } .bar .fail { background: var(--fail); }
.bar .ack { background: var(--ack); } .bar .nj { background: #afb8c1; }
.pct { font-weight: 600; }
ul.checklist { list-style: none; padding-left: 4px; }
ul.checklist li { margin: 3px 0; }
.box { display: inline-block; width: 1.4em; font-size: 18px; line-height: 1; vertical-align: -2px;
  font-weight: 700; }
.box.pass { color: var(--pass); } .box.fail { color: var(--fail); } .box.ack { color: var(--ack); }
.box.nj { color: var(--nj); }
.empty { color: var(--muted); font-style: italic; }
@media print {
  body { font-size: 11px; }
  main { max-width: none; padding: 0; }
  .banner, .badge, .bar span, .legend i, .card { -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
  details.area { break-inside: auto; }
  tr, .card { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


def _e(value: Any) -> str:
    return _html.escape(_text(value), quote=True)


def _cls(status: Any) -> str:
    """A CSS class for a status; an unknown one gets the neutral grey and never reaches the markup."""
    return BADGE_CLASSES.get(_text(status), "nj")


def _badge(status: Any) -> str:
    return f'<span class="badge {_cls(status)}">{_e(_text(status, "unknown"))}</span>'


def _table(head: Sequence[str], rows: Sequence[str], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row(*cells: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<tr{attr}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _id(value: Any) -> str:
    """An identifier in code type that never breaks across lines, as 'F000' over '1' reads as two."""
    return f'<code class="id">{_e(value)}</code>'


def _codes(values: Iterable[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return " ".join(f"<code{attr}>{_e(v)}</code>" for v in values)


def _html_banner(report: Mapping[str, Any]) -> str:
    verdict = _text(report.get("verdict"))
    cls = {"GO": "go", "NO-GO": "no-go"}.get(verdict, "unknown")
    reasons = "".join(f"<li>{_e(r)}</li>" for r in _strs(report.get("verdictReasons")))
    body = f"<ul>{reasons}</ul>" if reasons else "<p>No reasons recorded.</p>"
    return f'<section class="banner {cls}"><div id="verdict">{_e(verdict)}</div><div>{body}</div></section>'


def _card(key: str, label: str, count: int, cls: str) -> str:
    return (
        f'<div class="card {cls}"><span class="count" data-count="{key}">{count}</span>'
        f'<span class="label">{_e(label)}</span></div>'
    )


def _html_cards(report: Mapping[str, Any]) -> str:
    counts = control_counts(report)
    cards = [_card(s, f"Controls {STATUS_TITLES[s].lower()}", counts[s], _cls(s)) for s in STATUSES]
    cards.append(_card("findings", "Findings", finding_count(report), "nj"))
    blocking = blocking_count(report)
    cards.append(_card("blocking", "Blocking findings", blocking, "fail" if blocking else "pass"))
    notes = [f"findings acknowledged: {acknowledged_count(report)}"]
    mandatory = _summary(report).get("mandatory")
    if isinstance(mandatory, Mapping):
        notes.insert(
            0,
            f"mandatory controls: {_int(mandatory.get('pass'))} of {_int(mandatory.get('total'))} pass, "
            f"{_int(mandatory.get('fail'))} fail",
        )
    return f'<div class="cards">{"".join(cards)}</div><p class="note">{_e("; ".join(notes))}.</p>'


def _html_inputs_tools(report: Mapping[str, Any]) -> str:
    inputs = [
        _row(
            _e(i.get("name")), _e(i.get("kind")), f"<code>{_e(i.get('path'))}</code>", _e(i.get("resources"))
        )
        for i in _maps(report.get("inputs"))
    ]
    tools = [
        _row(_e(t.get("name")), _badge(t.get("status")), _e(t.get("detail")), _e(t.get("seconds")))
        for t in _maps(report.get("tools"))
    ]
    return (
        "<h2>Inputs</h2>"
        + _table(["Input", "Kind", "Path", "Resources"], inputs, "No inputs recorded.")
        + "<h2>Tools</h2>"
        + _table(["Tool", "Status", "Detail", "Seconds"], tools, "No tools recorded.")
    )


def _html_failing(report: Mapping[str, Any]) -> str:
    rows = [
        _row(
            _id(c.get("id")),
            _e(c.get("areaTitle") or c.get("area")),
            _e(c.get("requirement")),
            _e(c.get("statusReason")),
        )
        for c in failing_mandatory(report)
    ]
    head = ["Control", "Area", "Requirement", "Why"]
    return "<h2>Mandatory controls that fail</h2>" + _table(head, rows, "None.")


def _html_control(control: Mapping[str, Any]) -> str:
    checks = "".join(
        f"<li>{_badge(check.get('status'))}<code>{_e(check.get('id'))}</code>"
        f"<small>{_e(check.get('kind'))}"
        + (f", {_e(check.get('findings'))} found" if check.get("findings") else "")
        + "</small></li>"
        for check in _maps(control.get("checks"))
    )
    ident = _id(control.get("id"))
    if control.get("mandatory"):
        ident += '<br><span class="mandatory">mandatory</span>'
    reason = _text(control.get("statusReason"))
    status = _badge(control.get("status")) + (f"<br><small>{_e(reason)}</small>" if reason else "")
    return _row(
        ident,
        _e(control.get("requirement"))
        + (f"<br><small>{_e(control.get('service'))}</small>" if control.get("service") else ""),
        status,
        f'<ul class="checks">{checks}</ul>',
        str(len(_strs(control.get("findings")))),
        _codes(_strs(control.get("evidence"))),
    )


def _html_controls(report: Mapping[str, Any]) -> str:
    sections = []
    for title, controls in by_area(report):
        tally = " ".join(
            _badge(s) + f" {n}" for s in STATUSES if (n := sum(1 for c in controls if c.get("status") == s))
        )
        rows = [_html_control(c) for c in controls]
        head = ["Control", "Requirement", "Status", "Checks", "Findings", "Evidence"]
        sections.append(
            f'<details class="area" open><summary><h3>{_e(title)}</h3>'
            f'<span class="tally">{tally}</span></summary>{_table(head, rows, "No controls.")}</details>'
        )
    body = "".join(sections) or '<p class="empty">No controls recorded.</p>'
    return "<h2>Controls by area</h2>" + body


def _html_findings(report: Mapping[str, Any]) -> str:
    findings = _maps(report.get("findings"))
    rows = [
        _row(
            _id(f.get("id")),
            _id(f.get("rule")),
            _e(f.get("tool")),
            _badge(f.get("severity")),
            f"<code>{_e(f.get('resource') or f.get('logicalId'))}</code>"
            + (f"<br><small>{_e(f.get('template'))}</small>" if f.get("template") else ""),
            _e(f.get("message")),
            _codes(_strs(f.get("controls")), "id") or "<em>unmapped</em>",
            _badge("acknowledged") if f.get("acknowledged") else "open",
            cls="acked" if f.get("acknowledged") else "",
        )
        for f in findings
    ]
    head = ["Id", "Rule", "Tool", "Severity", "Resource", "Message", "Controls", "State"]
    html_ = "<h2>Findings</h2>" + _table(head, rows, "No findings.")
    unmapped = _strs(report.get("unmapped"))
    if unmapped:
        html_ += f'<p class="note">Findings mapped to no control: {_codes(unmapped)}</p>'
    acks = [
        _row(
            _id(f.get("id")),
            _id(f.get("rule")),
            f"<code>{_e(f.get('resource') or f.get('logicalId'))}</code>",
            _e(a.get("reason")),
            _e(a.get("exception")),
            _e(a.get("source")),
            f'<span class="nowrap">{_e(a.get("reviewBy"))}</span>',
        )
        for f in findings
        if (a := _acknowledgement(f))
    ]
    head = ["Finding", "Rule", "Resource", "Reason", "Exception", "Source", "Review by"]
    return html_ + "<h2>Acknowledgements</h2>" + _table(head, acks, "None.")


def _bar(framework: Mapping[str, Any]) -> str:
    total = _int(framework.get("controls"))
    parts = "".join(
        f'<span class="{_cls(s)}" style="width:{_share(_int(framework.get(s)), total):.1f}%"></span>'
        for s in STATUSES
    )
    return f'<div class="bar" role="img" aria-label="share of controls by status">{parts}</div>'


LEGEND = (
    '<div class="legend">'
    + "".join(f'<span><i class="{BADGE_CLASSES[s]}"></i>{STATUS_TITLES[s]}</span>' for s in STATUSES)
    + "</div>"
)


def _html_frameworks(report: Mapping[str, Any]) -> str:
    rows = []
    for fw in _maps(report.get("frameworks")):
        total = _int(fw.get("controls"))
        rows.append(
            _row(
                _e(fw.get("title") or fw.get("key")),
                str(total),
                *(str(_int(fw.get(s))) for s in STATUSES),
                f'<div class="coverage">{_bar(fw)}'
                f'<span class="pct">{_share(_int(fw.get("pass")), total):.0f}% pass</span></div>',
            )
        )
    head = ["Framework", "Controls", "Pass", "Fail", "Acknowledged", "Not judged", "Passing"]
    not_judged = "".join(
        f"<li>{_id(n.get('control'))}: {_e(n.get('why'))}</li>" for n in _maps(report.get("notJudged"))
    )
    return (
        "<h2>Coverage by framework</h2>"
        + (LEGEND if rows else "")
        + _table(head, rows, "No frameworks recorded.")
        + "<h2>Controls that cannot be judged</h2>"
        + (f"<ul>{not_judged}</ul>" if not_judged else '<p class="empty">None.</p>')
    )


CHECK_MARKS = {"pass": "\u2611", "fail": "\u2612"}  # ballot box with a tick, with an X; else empty


def _html_checklist_item(item: Mapping[str, Any]) -> str:
    status = _text(item.get("status"))
    mark = CHECK_MARKS.get(status, "\u2610")
    mandatory = ' <span class="mandatory">mandatory</span>' if item.get("mandatory") else ""
    return (
        f'<li><span class="box {_cls(status)}">{mark}</span>{_id(item.get("control"))} '
        f"{_e(item.get('requirement'))} {_badge(item.get('status'))}{mandatory}</li>"
    )


def _html_checklist(report: Mapping[str, Any]) -> str:
    areas = []
    for area in _maps(report.get("checklist")):
        items = "".join(_html_checklist_item(i) for i in _maps(area.get("items")))
        areas.append(
            f'<h3>{_e(area.get("title") or area.get("area"))}</h3><ul class="checklist">{items}</ul>'
        )
    body = "".join(areas) or '<p class="empty">No checklist recorded.</p>'
    return "<h2>Readiness checklist</h2>" + body


def html(report: Mapping[str, Any]) -> str:
    """The report as one HTML5 page that needs nothing else: the styles are inline and nothing is
    fetched, so it opens from an artifact store or a mail attachment, offline, and prints on paper."""
    verdict = _text(report.get("verdict"), "no verdict")
    made_by = " ".join(_strs([report.get("tool"), report.get("version")])) or "strongroom check"
    when = _text(report.get("generatedAt"))
    meta = f"Generated by {made_by}" + (f" at {when}" if when else "")
    body = "".join(
        [
            f"<h1>Production readiness: {_e(verdict)}</h1>",
            f'<p class="meta">{_e(meta)}</p>',
            _html_banner(report),
            _html_cards(report),
            _html_failing(report),
            _html_inputs_tools(report),
            _html_controls(report),
            _html_findings(report),
            _html_frameworks(report),
            _html_checklist(report),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Production readiness: {_e(verdict)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------------------------------
# SARIF


def fingerprint(finding: Mapping[str, Any]) -> str:
    """What identifies a finding across runs: its rule and where it is, not its wording or number,
    so a code-scanning service or Security Hub updates a finding instead of opening a new one."""
    key = "\0".join(_text(finding.get(k)) for k in ("rule", "template", "logicalId"))
    return hashlib.sha256(key.encode()).hexdigest()


def _sarif_rule(rule: str, findings: list[Mapping[str, Any]]) -> dict[str, Any]:
    first = findings[0]
    controls = sorted({c for f in findings for c in _strs(f.get("controls"))})
    descriptor: dict[str, Any] = {
        "id": rule,
        "shortDescription": {"text": _text(first.get("message"), rule)},
        "properties": {"controls": controls, "tool": _text(first.get("tool"), "unknown")},
    }
    help_uri = _text(first.get("helpUri")) or HELP_URIS.get(_text(first.get("tool")), "")
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def _sarif_result(finding: Mapping[str, Any], rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if finding.get("template"):
        location["physicalLocation"] = {"artifactLocation": {"uri": _text(finding.get("template"))}}
    if finding.get("logicalId") or finding.get("resource"):
        logical = {"name": _text(finding.get("logicalId") or finding.get("resource")), "kind": "resource"}
        if finding.get("resource"):
            logical["fullyQualifiedName"] = _text(finding.get("resource"))
        location["logicalLocations"] = [logical]
    result: dict[str, Any] = {
        "ruleId": _text(finding.get("rule"), "unknown"),
        "ruleIndex": rule_index,
        "level": SARIF_LEVELS.get(_text(finding.get("severity")), "warning"),
        "message": {"text": _text(finding.get("message"), _text(finding.get("rule"), "finding"))},
        "partialFingerprints": {"strongroom/v1": fingerprint(finding)},
        "properties": {
            "findingId": _text(finding.get("id")),
            "severity": _text(finding.get("severity")),
            "tool": _text(finding.get("tool")),
            "controls": _strs(finding.get("controls")),
        },
    }
    if location:
        result["locations"] = [location]
    ack = _acknowledgement(finding)
    if ack is not None:
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted"}
        suppression["justification"] = _text(ack.get("reason"), "acknowledged")
        extra = {k: _text(ack.get(k)) for k in ("exception", "source", "reviewBy") if ack.get(k)}
        if extra:
            suppression["properties"] = extra
        result["suppressions"] = [suppression]
    return result


def sarif(report: Mapping[str, Any]) -> dict[str, Any]:
    """The findings as a SARIF 2.1.0 log, for code-scanning services: one run, one rule per distinct
    rule id, and acknowledged findings kept but marked suppressed, so the exception stays visible and a
    service does not alert on it."""
    findings = _maps(report.get("findings"))
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        grouped.setdefault(_text(finding.get("rule"), "unknown"), []).append(finding)
    index = {rule: i for i, rule in enumerate(grouped)}
    driver: dict[str, Any] = {
        "name": "strongroom check",
        "rules": [_sarif_rule(rule, group) for rule, group in grouped.items()],
    }
    if report.get("version"):
        driver["version"] = _text(report.get("version"))
    results = [_sarif_result(f, index[_text(f.get("rule"), "unknown")]) for f in findings]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": results,
        "properties": {
            "verdict": _text(report.get("verdict")),
            "generatedAt": _text(report.get("generatedAt")),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


# ---------------------------------------------------------------------------------------------------
# AWS Security Finding Format


def _timestamp(value: str | None) -> str:
    """An ISO 8601 UTC time ending in Z, as Security Hub requires; now when the report has none."""
    moment = datetime.now(UTC)
    if value:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _requirements(
    finding: Mapping[str, Any], controls: Mapping[str, Mapping[str, Any]], titles: Mapping[str, str]
) -> list[str]:
    """The framework requirements the finding's controls map to, named '<framework> <id>' as Security
    Hub names its own standards' requirements, without repeats and within the 32 it accepts."""
    seen: dict[str, None] = {}
    for control_id in _strs(finding.get("controls")):
        frameworks = controls.get(control_id, {}).get("frameworks")
        if not isinstance(frameworks, Mapping):
            continue
        for key, ids in frameworks.items():
            for requirement in _strs(ids):
                seen.setdefault(f"{titles.get(key, key)} {requirement}", None)
    return list(seen)[:ASFF_REQUIREMENTS_MAX]


def _asff_finding(finding: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    rule = _text(finding.get("rule"), "unknown")
    template = _text(finding.get("template"), "template")
    logical_id = _text(finding.get("logicalId") or finding.get("resource"), "resource")
    message = " ".join(_text(finding.get("message"), rule).split())
    control_ids = _strs(finding.get("controls"))
    description = f"{message} Resource {_text(finding.get('resource'), logical_id)} in {template}."
    if control_ids:
        description += f" Controls: {', '.join(control_ids)}."
    fields = {
        "strongroom/controls": ",".join(control_ids) or "unmapped",
        "strongroom/tool": _text(finding.get("tool"), "unknown"),
        "strongroom/severity": _text(finding.get("severity"), "unknown"),
        "strongroom/findingId": _text(finding.get("id"), "unknown"),
    }
    out: dict[str, Any] = {
        "SchemaVersion": ASFF_SCHEMA_VERSION,
        "Id": f"strongroom-check/{fingerprint(finding)}",
        "ProductArn": context["product_arn"],
        "GeneratorId": rule,
        "AwsAccountId": context["account_id"],
        "Types": list(ASFF_TYPES),
        "CreatedAt": context["timestamp"],
        "UpdatedAt": context["timestamp"],
        "Severity": {
            "Label": ASFF_SEVERITIES.get(_text(finding.get("severity")), "MEDIUM"),
            "Original": _text(finding.get("severity"), "unknown"),
        },
        "Title": _clip(f"{rule}: {message}", ASFF_TITLE_MAX),
        "Description": _clip(description, ASFF_DESCRIPTION_MAX),
        "ProductFields": {k: _clip(v, ASFF_FIELD_MAX) for k, v in fields.items()},
        "Resources": [
            {
                "Type": "Other",
                "Id": f"{template}#{logical_id}",
                "Region": context["region"],
                "Details": {
                    "Other": {
                        "template": _clip(template, ASFF_FIELD_MAX),
                        "logicalId": _clip(logical_id, ASFF_FIELD_MAX),
                    }
                },
            }
        ],
        "Compliance": {"Status": "FAILED"},
        "RecordState": "ACTIVE",
    }
    requirements = _requirements(finding, context["controls"], context["titles"])
    if requirements:
        out["Compliance"]["RelatedRequirements"] = requirements
    return out


def asff(
    report: Mapping[str, Any],
    *,
    account_id: str,
    region: str,
    product_arn: str | None = None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """The open findings in AWS Security Finding Format, for Security Hub's BatchImportFindings.

    Acknowledged findings are left out: Security Hub would raise them as new work, and their exception
    is already recorded in the registry. A finding's Id hashes its rule, template and logical id, so an
    import of the next report updates it instead of adding a duplicate.
    """
    context = {
        "account_id": account_id,
        "region": region,
        "product_arn": product_arn
        or f"arn:aws:securityhub:{region}:{account_id}:product/{account_id}/default",
        "timestamp": _timestamp(now or _text(report.get("generatedAt")) or None),
        "controls": {_text(c.get("id")): c for c in _maps(report.get("controls"))},
        "titles": {
            _text(f.get("key")): _text(f.get("title") or f.get("key"))
            for f in _maps(report.get("frameworks"))
        },
    }
    return [_asff_finding(f, context) for f in _maps(report.get("findings")) if not f.get("acknowledged")]


def asff_batches(findings: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The findings in chunks BatchImportFindings accepts, at most 100 a call."""
    return [list(findings[i : i + ASFF_BATCH]) for i in range(0, len(findings), ASFF_BATCH)]


# ---------------------------------------------------------------------------------------------------
# Files


def write(
    report: Mapping[str, Any],
    formats: Iterable[str],
    out_dir: Path,
    *,
    account_id: str = "000000000000",
    region: str = "us-east-1",
) -> list[Path]:
    """Write report.json and the requested renderings into ``out_dir``; returns the paths written.

    Every format is checked before anything is written, so a misspelt one leaves no half-written
    report behind.
    """
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format {', '.join(unknown)}: accepted formats are {', '.join(FORMATS)}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {"json": json.dumps(report, indent=2, ensure_ascii=False) + "\n"}
    for fmt in wanted:
        if fmt == "md":
            texts[fmt] = markdown(report)
        elif fmt == "html":
            texts[fmt] = html(report)
        elif fmt == "sarif":
            texts[fmt] = json.dumps(sarif(report), indent=2, ensure_ascii=False) + "\n"
        elif fmt == "asff":
            findings = asff(report, account_id=account_id, region=region)
            texts[fmt] = json.dumps(findings, indent=2, ensure_ascii=False) + "\n"
    paths = []
    for fmt, text in texts.items():
        path = out_dir / FILES[fmt]
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
