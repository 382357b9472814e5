from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ripsaw.analysis.extraction import attempt_anchor
from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.leaderboard import build
from ripsaw.report.write import write_report
from tests.support.chromium import open_page
from tests.support.devtools import Browser
from tests.support.synth import N, three_combos, write_run

pytestmark = pytest.mark.chromium

DOMINATED_GREY = np.array([0x8B, 0x94, 0x9E])  # the plots' colour for dominated combos; used nowhere else
FIRST_COMBO = np.array([0x1F, 0x77, 0xB4])  # the interactive charts' colour of the first combo


def _pixels(png: Path) -> np.ndarray:
    return np.asarray(Image.open(png).convert("RGB"), dtype=int)


def _assert_drawn(png: Path, mark: np.ndarray = DOMINATED_GREY) -> None:
    px = _pixels(png)
    non_white = (px.sum(axis=2) < 3 * 245).mean()
    assert non_white > 0.02, f"screenshot is nearly blank ({non_white:.1%} non-white)"
    marks = (np.abs(px - mark).sum(axis=2) < 24).sum()
    assert marks > 100, f"no plot marks in the screenshot ({marks} pixels of the marks' colour {mark})"


def test_the_devtools_checks_catch_errors_and_requests(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><div style="width:2000px">wide</div>'
                   '<script>console.log("hello"); throw new Error("boom")</script>')  # fmt: skip
    with Browser(tmp_path) as b:
        b.open(bad)
        assert "console.log: hello" in b.console() and any("boom" in m for m in b.console())
        assert "http://127.0.0.1:9/x.png" in b.requests()
        assert not b.js("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_console_check_catches_page_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><p>x</p><script>console.warn("careful"); throw new Error("boom")</script>')
    page = open_page(bad, tmp_path)
    assert page.console == [
        '"careful", source: ' + bad.as_uri() + " (1)",
        '"Uncaught Error: boom", source: ' + bad.as_uri() + " (1)",
    ]


def _page_checks(b: Browser, page: Path) -> None:
    """What every report must do in a real browser at 1280 px: no console message, no request but the page
    itself, no horizontal overflow, every chart drawn."""
    b.open(page)
    b.wait_until("document.body.dataset.charts === 'ready' && document.getElementById('task-matrix').dataset.ready")
    assert b.console() == []
    assert b.requests() == [page.resolve().as_uri()]
    assert b.js("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), b.js(
        "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth).map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    charts = b.js("document.querySelectorAll('div.chart[data-chart]').length")
    assert charts > 0 and b.js("document.querySelectorAll('div.chart .main-svg').length") >= charts


def _hover(b: Browser, chart: str) -> str:
    """Move the mouse onto the first drawn point of a chart; the tooltip's text."""
    b.mouse_move(*b.centre(f"#chart-{chart} .scatterlayer .point, #chart-{chart} .boxlayer .point"))
    text: str = b.wait_until(f"document.querySelector('#chart-{chart} .hoverlayer .hovertext')?.textContent")
    b.mouse_move(1, 1)
    return text


def _rows(b: Browser) -> list[str]:
    rows: list[str] = b.js("Array.from(document.querySelectorAll('#task-matrix tbody tr:not(.detail)'))"
                           ".map(r => r.cells[0].textContent)")  # fmt: skip
    return rows


def _choose(b: Browser, select: str, label: str) -> None:
    b.js(
        f"(() => {{ const s = document.getElementById('{select}'); "
        f"s.value = Array.from(s.options).find(o => o.text === {label!r}).value; "
        "s.dispatchEvent(new Event('change')); })()"
    )


def test_report_is_interactive_offline_and_fits_1280px(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", three_combos(), tasks=N, latency_slo_s=1.0)
    out = tmp_path / "report"
    s = summarize(load_runs([run]))
    write_report(s, out)
    with Browser(tmp_path) as b:
        _page_checks(b, out / "report.html")
        assert "At p50 ≤ 1.05 s, fast dominates" in b.js("document.getElementById('headline').textContent")
        # hover: a point's combo, its n, interval and method
        tip = _hover(b, "pareto_latency_p50")
        assert "fast" in tip and "n=20" in tip and "Wilson" in tip and "[" in tip
        assert "synth/0" in _hover(b, "latency")
        curve = _hover(b, "budget-curves-synth-run-measured-wall")
        assert "pass@budget" in curve and "/20" in curve
        # the budget axes start logarithmic; the legend hides a combo
        assert b.js("document.getElementById('chart-budget-curves-synth-run-measured-wall').layout.xaxis.type") == "log"
        b.click(*b.centre("#chart-pareto_latency_p50 .legend .traces .legendtoggle"))
        b.wait_until("document.getElementById('chart-pareto_latency_p50').data[0].visible === 'legendonly'")

        # per task: every task, then filters
        assert _rows(b) == [f"synth/{i:03d}" for i in range(N)]
        a_only = s.comparison("fast", "accurate")
        assert a_only is not None and a_only.passes.b_only == 7
        _choose(b, "f-disagree", "accurate passes, fast fails")
        assert _rows(b) == [f"synth/{i:03d}" for i in range(8, 15)]  # the 7 discordant pairs of the paired test
        _choose(b, "f-disagree", "fast passes, accurate fails")
        assert _rows(b) == []
        _choose(b, "f-disagree", "none")
        _choose(b, "f-outcome", "passed")
        _choose(b, "f-outcome-combo", "slowbad")
        assert _rows(b) == [f"synth/{i:03d}" for i in range(6)]
        _choose(b, "f-outcome", "any")
        b.js("(() => { const q = document.getElementById('f-search'); q.value = '/01'; "
             "q.dispatchEvent(new Event('input')); })()")  # fmt: skip
        assert _rows(b) == [f"synth/{i:03d}" for i in range(10, 20)]
        # opening a cell unpacks its attempt: outcome, program, test output as text, a timeline
        b.js("document.querySelector('#task-matrix tbody tr td.cell').click()")
        text = b.wait_until("document.querySelector('#task-matrix tr.detail .attempt')?.textContent")
        assert "fast · synth/010 · sample 0: failed" in text and "AssertionError: <wrong> & more" in text
        assert "return 0  # <fast>" in text
        assert b.js("document.querySelectorAll('#task-matrix tr.detail svg.timeline rect').length") >= 2
        assert b.console() == [] and b.requests() == [(out / "report.html").resolve().as_uri()]
        # a link to an attempt (as the extraction examples make) opens it, whatever the filters
        anchor = attempt_anchor(next(a for a in s.runset.attempts if a.combo == "slowbad" and a.task_id == "synth/003"
                                     ).attempt_id)  # fmt: skip
        b.js(f"location.hash = '#{anchor}'")
        opened = b.wait_until(f"document.getElementById('{anchor}')?.textContent")
        assert "slowbad · synth/003 · sample 0: passed" in opened
        b.js("document.getElementById('chart-pareto_latency_p50').scrollIntoView()")
        b.screenshot(tmp_path / "report.png")
    _assert_drawn(tmp_path / "report.png", FIRST_COMBO)


def test_a_single_combo_report_speaks_of_no_frontier_and_draws_no_cost(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", three_combos()[1:2], tasks=N, run_id="solo")
    out = tmp_path / "report"
    write_report(summarize(load_runs([run])), out)
    with Browser(tmp_path) as b:
        _page_checks(b, out / "report.html")
        text = b.js("document.body.innerText")
        assert "accurate: 75.0% [53.1–88.8] of 20, p50 10.5 s per task." in text
        for word in ("frontier", "dominated", "dominates", "Best per budget", "best per budget"):
            assert word not in text
        assert b.js("document.querySelectorAll('#chart-cost, #chart-pareto_latency_p50').length") == 0
        assert "no combo costs more than $0 per task" in text
        assert "accurate" in _hover(b, "latency")


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
