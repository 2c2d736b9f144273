"""The drill's report on disk: drill.json with every key figure, drill.md with the verdict and links
that resolve to the repository's runbooks, and a 1200 x 700 timeline.png."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from strongroom.drill.model import DrillResult, Event, ReadBack, Restore, Sample, judge, runbooks_for
from strongroom.drill.report import render_markdown, repository_root, runbook_link, write_report

REPOSITORY = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ERROR_RED = (0xE7 / 255, 0x4C / 255, 0x3C / 255)  # the chart's colour for errors per second
FAULT = 20.0
KEY_FIGURES = (
    "scenario",
    "consistency",
    "target",
    "time_scale",
    "detection_seconds",
    "rto_seconds",
    "dns_rto_seconds",
    "rto_budget_seconds",
    "client_errors",
    "acknowledged_writes",
    "acknowledged_lost",
    "duplicates",
    "verdict",
)
ALL_RUNBOOKS = (
    "docs/runbooks/region-evacuation.md",
    "docs/runbooks/failback.md",
    "docs/runbooks/restore.md",
    "docs/runbooks/replication-lag-incident.md",
    "docs/runbooks/reconciliation.md",
)


def outage(*, dns_rto: float = 35.0) -> DrillResult:
    """A minute of a region-outage drill: 10 client calls a second, the fault at 20 s, two seconds of
    timeouts, then answers from the other Region; the DNS path fails until its failover at 55 s."""
    rnd = random.Random(7)
    samples = []
    for i in range(600):
        t = i / 10
        if FAULT <= t < FAULT + 2:
            samples.append(Sample(t, "client", False, 2.0 + rnd.random(), error="timeout"))
        else:
            region = "eu-west-1" if t < FAULT else "eu-central-1"
            samples.append(Sample(t, "client", True, 0.03 + rnd.random() * 0.05, region, 201))
    for second in range(60):
        t = float(second)
        if FAULT <= t < 55:
            samples.append(Sample(t, "dns", False, 5.0, error="timeout"))
        else:
            samples.append(Sample(t, "dns", True, 0.06, "eu-west-1" if t < FAULT else "eu-central-1", 200))
    figures: dict[str, Any] = {
        "acknowledged_lost": 0,
        "duplicates": 0,
        "rto_seconds": 2.1,
        "dns_rto_seconds": dns_rto,
        "rto_budget_seconds": 60.0,
    }
    verdict, reasons = judge(
        scenario="region-outage", consistency="strong", acknowledged_writes=580, **figures
    )
    return DrillResult(
        scenario="region-outage",
        consistency="strong",
        target="local",
        time_scale=1.0,
        started_at="2026-11-23T12:00:00Z",
        duration_seconds=60.0,
        detection_seconds=25.0,
        client_errors=20,
        acknowledged_writes=580,
        verdict=verdict,
        reasons=reasons,
        policy={"rto_seconds": 60.0, "rpo_seconds": 0.0},
        events=[
            Event(FAULT, "fault", "eu-west-1", "API and data stopped"),
            Event(FAULT + 2.1, "failover", "eu-central-1", "first client success after the fault"),
            Event(FAULT + 25, "detected", "eu-west-1", "health check unhealthy"),
            Event(55.0, "dns-failover", "eu-central-1", "failed over, TTL expired"),
        ],
        samples=samples,
        read_back=ReadBack.of(acknowledged=580, lost_ids=[]),
        regions=["eu-west-1", "eu-central-1"],
        faulted_region="eu-west-1",
        runbooks=list(ALL_RUNBOOKS),
        notes=["a synthetic drill"],
        **figures,
    )


def links(markdown: str) -> dict[str, str]:
    """Markdown links: text → target."""
    return dict(re.findall(r"\[([^\]]+)\]\(([^)]+)\)", markdown))


def pixels_of(png: Path, colour: tuple[float, float, float]) -> int:
    """How many pixels of the image are ``colour`` (RGB in 0..1), give or take rounding."""
    from matplotlib.image import imread  # noqa: PLC0415 - the report's own dependency, only here

    image = imread(png)
    close = (abs(image[:, :, :3] - colour) < 0.02).all(axis=2)
    return int(close.sum())


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, which always comes first."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # GIVEN a realistic result WHEN the report is written into a folder that does not exist yet
    out = tmp_path_factory.mktemp("drill") / "runs" / "outage"
    return write_report(outage(), out)


def test_the_report_writes_three_files_in_the_folder_it_creates(report: dict[str, Path]) -> None:
    out = report["json"].parent

    assert {name: path.name for name, path in report.items()} == {
        "json": "drill.json",
        "markdown": "drill.md",
        "timeline": "timeline.png",
    }
    assert all(path.parent == out and path.is_file() for path in report.values())


def test_the_json_holds_the_key_figures(report: dict[str, Path]) -> None:
    document = json.loads(report["json"].read_text())

    assert set(KEY_FIGURES) <= set(document)
    assert {key: document[key] for key in KEY_FIGURES} == {
        "scenario": "region-outage",
        "consistency": "strong",
        "target": "local",
        "time_scale": 1.0,
        "detection_seconds": 25.0,
        "rto_seconds": 2.1,
        "dns_rto_seconds": 35.0,
        "rto_budget_seconds": 60.0,
        "client_errors": 20,
        "acknowledged_writes": 580,
        "acknowledged_lost": 0,
        "duplicates": 0,
        "verdict": "pass",
    }
    assert len(document["samples"]) == 660
    assert len(document["series"]["client"]) == len(document["series"]["dns"]) == 60
    assert document["series"]["client"][int(FAULT)]["errors"] == 10


def test_the_json_is_indented_and_stable(report: dict[str, Path], tmp_path: Path) -> None:
    again = write_report(outage(), tmp_path)

    assert report["json"].read_text().startswith('{\n  "scenario": "region-outage",')
    assert again["json"].read_bytes() == report["json"].read_bytes()


def test_the_markdown_gives_the_verdict_figures_timeline_and_reasons(report: dict[str, Path]) -> None:
    markdown = report["markdown"].read_text()

    assert markdown.startswith("# Drill: region-outage (strong, target local) — **PASS**")
    assert "| Client RTO (fault → first client success after it) | 2.1 s (goal ≤ 15 s) |" in markdown
    assert "| DNS RTO (fault → health-check failover + TTL, modelled) | 35 s (budget ≤ 60 s) |" in markdown
    assert "| 20.00 | fault | eu-west-1 | API and data stopped |" in markdown
    assert "| 580 | 580 | 0 | 0 |" in markdown
    assert "- client RTO 2.1 s is within the goal of 15 s" in markdown
    assert "- a synthetic drill" in markdown


def test_a_failed_drill_says_so_and_why(tmp_path: Path) -> None:
    markdown = write_report(outage(dns_rto=75.0), tmp_path)["markdown"].read_text()

    assert "— **FAIL**" in markdown
    assert "## Verdict: **FAIL**" in markdown
    assert "- DNS RTO 75 s exceeds the budget of 60 s" in markdown


def test_runbook_links_resolve_from_the_report_to_the_repositorys_runbooks(report: dict[str, Path]) -> None:
    out = report["markdown"].parent
    found = links(report["markdown"].read_text())

    assert set(found) == set(ALL_RUNBOOKS)
    for path, link in found.items():
        assert not Path(link).is_absolute()
        resolved = (out / link).resolve()
        assert resolved == (REPOSITORY / path).resolve()
        if (REPOSITORY / path).is_file():  # being written alongside: checked once it exists
            assert resolved.is_file()


def test_runbook_links_from_inside_the_repository_are_short() -> None:
    out = REPOSITORY / "drills" / "outage"  # not created: only the relative path is computed

    assert runbook_link("docs/runbooks/restore.md", out, REPOSITORY) == "../../docs/runbooks/restore.md"


def test_without_a_checkout_the_links_are_the_repository_relative_paths(tmp_path: Path) -> None:
    markdown = render_markdown(outage(), tmp_path, root=None)

    assert links(markdown) == {path: path for path in ALL_RUNBOOKS}
    assert (
        "- [docs/runbooks/failback.md](docs/runbooks/failback.md) (`docs/runbooks/failback.md` in" in markdown
    )


def test_the_checkout_is_found_from_the_package() -> None:
    assert repository_root() == REPOSITORY


def test_every_scenarios_runbooks_are_linked(tmp_path: Path) -> None:
    for scenario in ("replication-lag", "restore"):
        result = dataclasses.replace(outage(), scenario=scenario, runbooks=runbooks_for(scenario))
        assert set(links(render_markdown(result, tmp_path, root=REPOSITORY))) == set(runbooks_for(scenario))


def test_restore_figures_are_reported(tmp_path: Path) -> None:
    restored = Restore(
        items=500,
        restore_seconds=41.5,
        reconcile_seconds=2.25,
        total_seconds=43.75,
        only_in_restored=0,
        only_in_live=20,
        differing=0,
        identical=500,
        restore_point="2026-11-23T12:00:30Z",
        expected_missing_from_restore=0,
        expected_differing=0,
    )
    result = dataclasses.replace(outage(), scenario="restore", restore=restored)

    markdown = render_markdown(result, tmp_path, root=REPOSITORY)

    assert "## Restore" in markdown
    assert "| Restore (to a new table) | 41.5 s |" in markdown
    assert "| Acknowledged before the restore point, missing (must be 0) | 0 |" in markdown


def test_the_timeline_is_a_1200_by_700_png(report: dict[str, Path]) -> None:
    data = report["timeline"].read_bytes()

    assert png_size(data) == (1200, 700)
    assert pixels_of(report["timeline"], ERROR_RED) > 5_000  # the outage's error bars are drawn


def test_a_result_without_samples_still_draws(tmp_path: Path) -> None:
    empty = dataclasses.replace(outage(), samples=[], events=[], read_back=None)

    paths = write_report(empty, tmp_path)

    assert png_size(paths["timeline"].read_bytes()) == (1200, 700)
    assert pixels_of(paths["timeline"], ERROR_RED) < 1_000  # the legend's swatch, no bars
    assert "Not measured." in paths["markdown"].read_text()
