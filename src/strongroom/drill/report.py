"""Writes a drill's report into its output folder: `drill.json` (everything it measured), `drill.md`
(for the people who run and review the drill) and `timeline.png` (calls per second, p99 latency and
the events, on real seconds since the start).

matplotlib is imported only when the chart is drawn, on its Agg canvas: no display, no pyplot state.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.drill.model import PATHS, DrillResult, Event, ReadBack, Restore, Sample, percentile

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import LineStyleType

JSON_FILE = "drill.json"
MARKDOWN_FILE = "drill.md"
TIMELINE_FILE = "timeline.png"
# 12 x 7 inches at 100 dpi: 1200 x 700 pixels, wide enough for a minute of per-second bars.
CHART_INCHES = (12.0, 7.0)
CHART_DPI = 100

_EVENT_COLOURS = {
    "fault": "#c0392b",
    "detected": "#e67e22",
    "dns-failover": "#8e44ad",
    "failover": "#2471a3",
    "recovered": "#1e8449",
    "cleared": "#1e8449",
    "failback": "#117a65",
    "restore-started": "#7f8c8d",
    "restore-finished": "#34495e",
}
_EVENT_STYLES: dict[str, LineStyleType] = {
    "fault": "-",
    "detected": "--",
    "dns-failover": "-.",
    "failover": "--",
    "failback": "-",
}
_MISSING = "—"
_POLICY_LABELS = {
    "rto_seconds": "RTO",
    "rpo_seconds": "RPO",
    "expected_rpo_seconds": "RPO of the consistency mode",
}


def write_report(result: DrillResult, out: Path) -> dict[str, Path]:
    """Write drill.json, drill.md and timeline.png into ``out`` (created if missing); returns their
    paths under the keys ``json``, ``markdown`` and ``timeline``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / JSON_FILE,
        "markdown": out / MARKDOWN_FILE,
        "timeline": out / TIMELINE_FILE,
    }
    document = result.to_json()
    paths["json"].write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_markdown(result, out, root=repository_root()), encoding="utf-8")
    draw_timeline(result, paths["timeline"])
    return paths


# --- links to the runbooks ------------------------------------------------------------------------


def repository_root() -> Path | None:
    """The checkout this package runs from (src/strongroom/drill → three parents up), or None when the
    package is installed elsewhere and there is no checkout around it."""
    root = Path(__file__).resolve().parents[3]
    is_checkout = (root / "pyproject.toml").is_file() and (root / "src" / "strongroom").is_dir()
    return root if is_checkout else None


def runbook_link(path: str, out: Path, root: Path | None) -> str:
    """The link from a report in ``out`` to the repository-relative ``path``: relative to ``out`` when
    there is a checkout at ``root``, else the repository-relative path itself."""
    if root is None:
        return path
    try:
        return Path(os.path.relpath(root / path, out.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return path


# --- drill.md -------------------------------------------------------------------------------------


def render_markdown(result: DrillResult, out: Path, *, root: Path | None) -> str:
    """The human report. Runbook links are relative to ``out`` given the checkout at ``root``
    (:func:`repository_root`), or repository-relative paths when ``root`` is None."""
    verdict = result.verdict.upper()
    lines = [
        f"# Drill: {result.scenario} ({result.consistency}, target {result.target}) — **{verdict}**",
        "",
        f"Started {result.started_at}; ran {_seconds(result.duration_seconds)} at time scale "
        f"{result.time_scale:g}. Every time in this report is in real seconds.",
        "",
        "## Key figures",
        "",
        *_table(("figure", "value"), _figures(result)),
        "",
        "## Timeline",
        "",
        *_timeline(result.events),
        "",
        "## Read-back",
        "",
        *_read_back(result.read_back),
        "",
    ]
    if result.restore is not None or result.scenario == "restore":
        lines += ["## Restore", "", *_restore(result.restore), ""]
    lines += [f"## Verdict: **{verdict}**", "", *_bullets(result.reasons, "No reasons were given."), ""]
    if result.notes:
        lines += ["## Notes", "", *_bullets(result.notes, ""), ""]
    lines += ["## Runbooks", "", *_runbooks(result.runbooks, out, root), ""]
    return "\n".join(lines)


def _seconds(value: float | None, missing: str = _MISSING) -> str:
    """Seconds to the hundredth, without trailing zeros (as the verdict's reasons write them)."""
    return missing if value is None else f"{round(value, 2):g} s"


def _cell(value: object) -> str:
    """A value safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows),
    ]


def _bullets(items: Sequence[str], empty: str) -> list[str]:
    return [f"- {item}" for item in items] if items else [empty]


def _calls(samples: Sequence[Sample], path: str) -> str | None:
    chosen = [s for s in samples if s.path == path]
    if not chosen:
        return None
    answered = sum(s.ok for s in chosen)
    p99 = percentile([s.latency for s in chosen], 99)
    p99_text = "" if p99 is None else f", p99 latency {p99 * 1000:.0f} ms"
    return f"{len(chosen)} calls: {answered} answered, {len(chosen) - answered} failed{p99_text}"


def _figures(result: DrillResult) -> list[tuple[str, str]]:
    rows = [
        (
            "Client RTO (fault → first client success after it)",
            f"{_seconds(result.rto_seconds, 'not reached')} (goal ≤ {_seconds(result.rto_goal_seconds)})",
        ),
        (
            "DNS RTO (fault → health-check failover + TTL, modelled)",
            f"{_seconds(result.dns_rto_seconds, 'not measured')} "
            f"(budget ≤ {_seconds(result.rto_budget_seconds)})",
        ),
        ("Detection (fault → marked unhealthy)", _seconds(result.detection_seconds, "not measured")),
        ("Client errors", str(result.client_errors)),
        ("Acknowledged writes", str(result.acknowledged_writes)),
        ("Acknowledged writes lost", str(result.acknowledged_lost)),
        ("Duplicate transactions", str(result.duplicates)),
        ("Faulted Region", result.faulted_region or _MISSING),
        ("Regions", ", ".join(result.regions) or _MISSING),
        ("Duration", _seconds(result.duration_seconds)),
    ]
    for path, label in (("client", "Client path"), ("dns", "DNS path")):
        calls = _calls(result.samples, path)
        if calls is not None:
            rows.append((label, calls))
    if result.policy:
        policy = ", ".join(
            f"{_POLICY_LABELS.get(name, name)} {_seconds(value) if name.endswith('_seconds') else value}"
            for name, value in result.policy.items()
        )
        rows.append(("Resilience policy", policy))
    return rows


def _timeline(events: Sequence[Event]) -> list[str]:
    if not events:
        return ["No events were recorded."]
    ordered = sorted(events, key=lambda e: e.t)
    return _table(
        ("t (s)", "event", "Region", "detail"),
        ((f"{e.t:.2f}", e.kind, e.region or _MISSING, e.detail) for e in ordered),
    )


def _listed(label: str, shown: Sequence[str], total: int) -> list[str]:
    if not shown:
        return []
    more = f" (and {total - len(shown)} more)" if total > len(shown) else ""
    return ["", f"{label}{more}: " + ", ".join(f"`{item}`" for item in shown)]


def _read_back(read_back: ReadBack | None) -> list[str]:
    if read_back is None:
        return ["Not measured."]
    return [
        *_table(
            ("acknowledged", "found", "lost", "duplicates"),
            [(read_back.acknowledged, read_back.found, read_back.lost, read_back.duplicates)],
        ),
        *_listed("Lost", read_back.lost_ids, read_back.lost),
        *_listed(
            "Idempotency keys with more than one transaction", read_back.duplicate_keys, read_back.duplicates
        ),
    ]


def _restore(restore: Restore | None) -> list[str]:
    if restore is None:
        return ["No restore figures were recorded."]
    return _table(
        ("figure", "value"),
        [
            ("Restore point", restore.restore_point),
            ("Items in the restored table", restore.items),
            ("Restore (to a new table)", _seconds(restore.restore_seconds)),
            ("Reconciliation", _seconds(restore.reconcile_seconds)),
            ("Total", _seconds(restore.total_seconds)),
            ("Only in the restored table", restore.only_in_restored),
            ("Only in the live table", restore.only_in_live),
            ("Differing", restore.differing),
            ("Identical", restore.identical),
            (
                "Acknowledged before the restore point, missing (must be 0)",
                restore.expected_missing_from_restore,
            ),
            ("Acknowledged before the restore point, differing (must be 0)", restore.expected_differing),
        ],
    )


def _runbooks(runbooks: Sequence[str], out: Path, root: Path | None) -> list[str]:
    if not runbooks:
        return ["None named for this scenario."]
    return [f"- [{path}]({runbook_link(path, out, root)}) (`{path}` in the repository)" for path in runbooks]


# --- timeline.png ---------------------------------------------------------------------------------


def draw_timeline(result: DrillResult, path: Path) -> Path:
    """Draw ``result``'s timeline into ``path`` (PNG, 1200 x 700 px): one panel per path with samples,
    successes and errors per second as stacked bars, p99 latency on a second axis, a vertical line
    per event."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - heavy, only here
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.lines import Line2D  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415

    series = result.series()
    panels = [p for p in PATHS if series[p]] or ["client"]
    figure = Figure(figsize=CHART_INCHES, dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    axes_list: list[Axes] = []
    for index, panel in enumerate(panels):
        shared = axes_list[0] if axes_list else None
        axes = figure.add_subplot(len(panels), 1, index + 1, sharex=shared)
        latency = _draw_panel(axes, series[panel], panel)
        # The twin axis is drawn over the bars: event labels go on it, so nothing covers them.
        _draw_events(axes, latency if index == 0 else None, result.events)
        axes_list.append(axes)
    end = max(result.duration_seconds, len(series["client"]), len(series["dns"]), 1.0)
    axes_list[0].set_xlim(0, end)
    axes_list[-1].set_xlabel(
        "seconds since the drill started (its own clock; DNS-path timers ran time-scale times faster)"
    )
    handles = [
        Patch(color="#27ae60", label="successes per second"),
        Patch(color="#e74c3c", label="errors per second"),
        Line2D([], [], color="#1f3a93", marker=".", label="p99 latency (ms, right axis)"),
    ]
    kinds = dict.fromkeys(e.kind for e in result.events if e.kind in _EVENT_COLOURS)
    handles += [
        Line2D([], [], color=_EVENT_COLOURS[k], linestyle=_EVENT_STYLES.get(k, ":"), label=k) for k in kinds
    ]
    figure.legend(handles=handles, loc="upper center", ncol=min(len(handles), 6), bbox_to_anchor=(0.5, 0.935))
    _title(figure, result)
    figure.subplots_adjust(left=0.07, right=0.92, top=0.8, bottom=0.09, hspace=0.25)
    figure.savefig(path, format="png", dpi=CHART_DPI)
    return path


def _title(figure: Figure, result: DrillResult) -> None:
    colour = "#1e8449" if result.verdict == "pass" else "#c0392b"
    figure.suptitle(
        f"Drill {result.scenario} ({result.consistency}, {result.target}): {result.verdict.upper()}",
        fontsize=14,
        fontweight="bold",
        color=colour,
        y=0.985,
    )


def _draw_panel(axes: Axes, rows: Sequence[dict[str, Any]], panel: str) -> Axes:
    """Stacked bars of successes and errors per second; returns the twin axis of p99 latency."""
    seconds = [row["second"] for row in rows]
    successes = [row["successes"] for row in rows]
    errors = [row["errors"] for row in rows]
    axes.bar(seconds, successes, width=0.95, align="edge", color="#27ae60")
    axes.bar(seconds, errors, width=0.95, align="edge", bottom=successes, color="#e74c3c")
    axes.set_ylabel("client calls / s" if panel == "client" else "DNS-path calls / s")
    axes.grid(axis="y", alpha=0.3)
    latency = axes.twinx()
    p99 = [math.nan if row["p99_ms"] is None else row["p99_ms"] for row in rows]
    latency.plot([s + 0.45 for s in seconds], p99, color="#1f3a93", marker=".", linewidth=1.2)
    latency.set_ylabel("p99 latency (ms)")
    present = [v for v in p99 if not math.isnan(v)]
    # Healthy answers take milliseconds and a timed-out attempt seconds: a log axis shows both.
    if present and max(present) / max(min(present), 1e-3) > 20:
        latency.set_yscale("log")
    if not rows:
        axes.text(0.5, 0.5, "no samples", transform=axes.transAxes, ha="center", va="center")
        axes.set_ylim(0, 1)
        latency.set_yticks([])
    return latency


def _draw_events(axes: Axes, labels: Axes | None, events: Sequence[Event]) -> None:
    """A vertical line per event on ``axes``; its name and Region written on ``labels`` if given."""
    for event in sorted(events, key=lambda e: e.t):
        colour = _EVENT_COLOURS.get(event.kind)
        if colour is None:  # notes stay in the report's timeline, not on the chart
            continue
        axes.axvline(
            event.t, color=colour, linestyle=_EVENT_STYLES.get(event.kind, ":"), linewidth=2.0, zorder=4
        )
        if labels is not None:
            text = event.kind + (f" {event.region}" if event.region else "")
            labels.annotate(
                text,
                xy=(event.t, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -4),
                textcoords="offset points",
                rotation=90,
                va="top",
                ha="left",
                fontsize=9,
                color=colour,
                # Labels sit over the bars: a white box keeps them readable on green and red alike.
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "alpha": 0.9},
                zorder=5,
            )
