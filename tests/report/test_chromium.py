from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.leaderboard import build
from ripsaw.report.write import write_report
from tests.support.chromium import open_page
from tests.support.synth import N, three_combos, write_run

pytestmark = pytest.mark.chromium

DOMINATED_GREY = np.array([0x8B, 0x94, 0x9E])  # the plots' colour for dominated combos; used nowhere else


def _pixels(png: Path) -> np.ndarray:
    return np.asarray(Image.open(png).convert("RGB"), dtype=int)


def _assert_drawn(png: Path) -> None:
    px = _pixels(png)
    non_white = (px.sum(axis=2) < 3 * 245).mean()
    assert non_white > 0.02, f"screenshot is nearly blank ({non_white:.1%} non-white)"
    grey = (np.abs(px - DOMINATED_GREY).sum(axis=2) < 24).sum()
    assert grey > 100, f"no plot marks in the screenshot ({grey} pixels of the dominated-point colour)"


def test_the_console_check_catches_page_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><p>x</p><script>console.warn("careful"); throw new Error("boom")</script>')
    page = open_page(bad, tmp_path)
    assert page.console == [
        '"careful", source: ' + bad.as_uri() + " (1)",
        '"Uncaught Error: boom", source: ' + bad.as_uri() + " (1)",
    ]


def test_report_renders_offline(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", three_combos(), tasks=N, latency_slo_s=1.0)
    out = tmp_path / "report"
    write_report(summarize(load_runs([run])), out)
    page = open_page(out / "report.html", tmp_path)
    assert page.console == []
    # 5 report plots + the run's pass@budget figures (one per time basis: wall and model-only)
    assert 'id="plot-pareto_latency_p50"' in page.dom and page.dom.count("<svg") == 7
    assert 'id="budgets"' in page.dom
    assert "At p50 ≤ 1.05 s, fast dominates" in page.dom
    for name in ("fast", "accurate", "slowbad"):
        assert f"<strong>{name}</strong>" in page.dom
    _assert_drawn(page.screenshot)


def test_leaderboard_renders_and_its_script_runs(tmp_path: Path) -> None:
    a = write_run(tmp_path / "runs", three_combos()[:2], tasks=N, run_id="run-a")
    b = write_run(tmp_path / "runs", three_combos()[2:], tasks=N, run_id="run-b")
    out = tmp_path / "board"
    build(summarize(load_runs([a, b], same_harness=True)), out)
    page = open_page(out / "index.html", tmp_path, height=900)
    assert page.console == []
    assert 'data-sortable="ready"' in page.dom  # the inline sorting script ran to the end
    for name in ("fast", "accurate", "slowbad"):
        assert f">{name}</td>" in page.dom
    _assert_drawn(page.screenshot)
