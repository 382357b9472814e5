from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from ripsaw.analysis.projection import load_profiles, pick
from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.errors import ConfigError
from ripsaw.records import Outcome
from ripsaw.report import charts as charts_js
from ripsaw.report.exports import summary_json, summary_markdown
from ripsaw.report.html import explorer
from ripsaw.report.table import terminal
from ripsaw.report.write import write_report
from tests.support.cli import ripsaw
from tests.support.synth import Combo, N, outcomes, three_combos, write_run

NAN = re.compile(r"\bnan\b|\binf\b", re.IGNORECASE)


def _no_nan(text: str) -> None:
    assert not NAN.search(text), NAN.search(text)


def _markup(html: str) -> str:
    """The page without the plotly.js bundle, whose code holds "NaN" and URLs of its own."""
    return html.replace(charts_js.plotly_js(), "")


def _reject_constant(name: str) -> float:
    raise AssertionError(f"summary.json holds {name}")


def test_report_writes_every_artefact(three_combo_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    s = summarize(load_runs([three_combo_run]))
    written = write_report(s, out)
    names = {p.name for p in written}
    figures = {
        "pareto_latency_p50",
        "pareto_latency_p90",
        "latency",
        "budget-curves-synth-run-measured",  # pass@budget per combo (time-budget section)
        "budget-solve-synth-run-measured",  # time to solve (Kaplan–Meier)
    }  # no cost figures: every synthetic combo costs $0
    assert {
        "report.html",
        "summary.json",
        "summary.md",
        "attempts.csv",
        "attempts.parquet",
        *(f"{f}.png" for f in figures),
        *(f"{f}.svg" for f in figures),
    } == names
    for p in written:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    doc = json.loads((out / "summary.json").read_text(), parse_constant=_reject_constant)
    assert (doc["schema"], doc["schema_version"]) == ("ripsaw.summary", 1)
    assert [c["name"] for c in doc["combos"]] == ["fast", "accurate", "slowbad"]
    fast = doc["combos"][0]
    assert fast["pass_rate"]["value"] == pytest.approx(0.4) and fast["pass_rate"]["n"] == 20
    assert fast["latency_s"]["p50"]["value"] == pytest.approx(1.05)
    assert fast["goodput"]["value"] == pytest.approx(0.4)  # SLO 1 s: all 8 passes take 0.1-0.8 s
    assert doc["frontiers"][0]["frontier"] == ["fast", "accurate"]
    assert len(doc["comparisons"]) == 3 and doc["headline"] == s.headline
    assert doc["task_suite"] == {"source": "jsonl:synth.jsonl", "count": N, "hash": "suitehash-1"}

    csv = pd.read_csv(out / "attempts.csv")
    assert len(csv) == 3 * N and set(csv["combo"]) == {"fast", "accurate", "slowbad"}
    assert (csv["outcome"] == "passed").sum() == 8 + 15 + 6
    pq = pd.read_parquet(out / "attempts.parquet")
    assert pq.shape == csv.shape and str(pq["prompt_tokens"].dtype) == "Int64"

    md = (out / "summary.md").read_text()
    assert s.headline in md and "| fast |" in md and "Frontier (task latency p50 (s) vs pass@1): fast, accurate" in md

    html = (out / "report.html").read_text()
    for name in ("fast", "accurate", "slowbad"):
        assert f"<strong>{name}</strong>" in html
    # interactive charts: 3 report charts + pass@budget and time to solve per time basis (wall, model only)
    charts = re.findall(r'<div class="chart" id="chart-([^"]+)" data-chart="', html)
    assert len(charts) == 3 + 4 and "pareto_cost_per_task" not in charts and "cost" not in charts
    assert 'id="no-cost"' in html
    # self-contained: plotly.js inlined, nothing else fetched (tests/report/test_chromium.py watches the requests)
    assert charts_js.plotly_js() in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", _markup(html))
    assert "<link" not in html and not re.search(r"<script[^>]* src=", html)
    # the attempt's own text travels as data (the page sets it as text, never as markup)
    details = json.loads(gzip.decompress(base64.b64decode(explorer(s)[1])))
    assert "AssertionError: <wrong> & more" in {d["stderr"] for d in details} and "<wrong>" not in html
    for text in (_markup(html), md, terminal(s.combos)):
        _no_nan(text)


def test_combining_runs_qualifies_shared_combo_names(tmp_path: Path) -> None:
    a = write_run(tmp_path, three_combos()[:2], tasks=N, run_id="run-a")
    b = write_run(tmp_path, [three_combos()[0], three_combos()[2]], tasks=N, run_id="run-b")
    s = summarize(load_runs([a, b]))
    assert [m.name for m in s.combos] == ["fast [run-a]", "accurate", "fast [run-b]", "slowbad"]
    assert [m.run_id for m in s.combos] == ["run-a", "run-a", "run-b", "run-b"]
    same = s.comparison("fast [run-a]", "fast [run-b]")
    assert same is not None and same.passes.pairs == N and same.passes.verdict == "not distinguishable"


def test_runs_on_different_suites_are_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path, three_combos()[:1], tasks=N, run_id="run-a")
    b = write_run(tmp_path, three_combos()[1:2], tasks=N, run_id="run-b", suite_hash="other-suite")
    with pytest.raises(ConfigError, match="different task suites"):
        load_runs([a, b])
    with pytest.raises(ConfigError, match="given twice"):
        load_runs([a, a])
    with pytest.raises(ConfigError, match="not a run directory"):
        load_runs([tmp_path])


def _bad_runs(root: Path) -> dict[str, Path]:
    return {
        "empty": write_run(root, [Combo("a", [], []), Combo("b", [], [])], tasks=3, run_id="empty", status="running"),
        "infra-only": write_run(
            root,
            [Combo("down", [Outcome.INFRA_ERROR] * 3, [0.0] * 3), Combo("up", outcomes(2, 3), [1.0, 2.0, 3.0])],
            tasks=3,
            run_id="infra",
        ),
        "single-combo": write_run(root, [Combo("solo", outcomes(2, 4), [1.0, 2.0, 3.0, 4.0])], tasks=4, run_id="solo"),
        "single-task": write_run(
            root, [Combo("a", outcomes(1, 1), [1.0]), Combo("b", outcomes(0, 1), [2.0])], tasks=1, run_id="one-task"
        ),
        "zero-cost": write_run(
            root,
            [
                Combo("free", outcomes(0, 2), [1.0, 1.0], cost_usd=0.0),
                Combo("paid", outcomes(1, 2), [1.0, 3.0], cost_usd=0.01),
            ],
            tasks=2,
            run_id="cost",
        ),
        "no-timings": write_run(
            root,
            [
                Combo(
                    "plain",
                    outcomes(1, 2),
                    [1.0, 2.0],
                    ttft_s=None,
                    cost_usd=None,
                    completion_tokens=None,
                    prompt_tokens=None,
                ),
                Combo("stream", outcomes(2, 2), [1.0, 1.5]),
            ],
            tasks=2,
            run_id="no-timings",
        ),
    }


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("empty", "No scored attempts yet: nothing to compare."),
        ("infra-only", "up dominates"),
        ("single-combo", "solo: 50.0% [15.0–85.0] of 4, p50 2.5 s per task."),
        ("single-task", "a dominates"),
        ("zero-cost", "At p50 ≤ 1 s, free dominates"),
        ("no-timings", "stream dominates"),
    ],
)
def test_bad_input_gives_a_report_without_nan(tmp_path: Path, case: str, expect: str) -> None:
    run = _bad_runs(tmp_path)[case]
    s = summarize(load_runs([run]))
    assert expect in s.headline
    write_report(s, tmp_path / "out")
    html = _markup((tmp_path / "out" / "report.html").read_text())
    table = terminal(s.combos)
    for text in (html, summary_markdown(s), table):
        _no_nan(text)
    json.loads(summary_json(s), parse_constant=_reject_constant)
    for m in s.combos:
        assert m.name in table and m.name in html


def test_bad_input_details(tmp_path: Path) -> None:
    runs = _bad_runs(tmp_path)
    s = summarize(load_runs([runs["empty"]]))
    assert "run empty is running" in s.warnings[0]
    assert "—" in terminal(s.combos)
    down = summarize(load_runs([runs["infra-only"]])).combos[0]
    assert down.pass_rate.value is None and down.infra_errors == 3
    plain = summarize(load_runs([runs["no-timings"]])).combos[0]
    assert plain.ttft_p50.value is None and plain.tokens.source is None
    solo = summarize(load_runs([runs["single-combo"]]))
    assert "rontier" not in summary_markdown(solo) and "rontier" not in solo.headline  # nothing to choose between
    unpriced = summarize(load_runs([runs["single-task"]]))  # two combos, both $0: no cost frontier
    assert "Frontier (task latency p50" in summary_markdown(unpriced) and "cost per task" not in summary_markdown(
        unpriced
    )
    free, paid = summarize(load_runs([runs["zero-cost"]])).combos
    assert (free.cost_per_task.value, free.cost_per_solved.value) == (0.0, None)
    assert paid.cost_per_solved.value == pytest.approx(0.02)


def test_torn_last_line_is_ignored(three_combo_run: Path) -> None:
    with (three_combo_run / "attempts.jsonl").open("a") as f:
        f.write('{"run_id": "synth-run", "combo": "fast", "task_')
    s = summarize(load_runs([three_combo_run]))
    assert sum(m.attempts for m in s.combos) == 3 * N


def test_cli_report(three_combo_run: Path, tmp_path: Path) -> None:
    r = ripsaw("report", three_combo_run)
    assert r.returncode == 0, r.stderr
    assert "pass@1 [95% CI]" in r.stdout and "40.0% [21.9–61.3]" in r.stdout
    assert "At p50 ≤ 1.05 s, fast dominates" in r.stdout
    assert (three_combo_run / "report.html").is_file()

    out = tmp_path / "json-out"
    r = ripsaw("report", three_combo_run, "--json", "--no-html", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["combos"][1]["name"] == "accurate"
    assert (out / "summary.json").is_file() and not (out / "report.html").exists()


def test_cli_report_errors(three_combo_run: Path, tmp_path: Path) -> None:
    for args, message in [
        ((tmp_path / "missing",), "no such run directory"),
        ((three_combo_run, write_run(tmp_path, three_combos()[:1], tasks=N, run_id="b")), "needs --out"),
        (
            (
                three_combo_run,
                write_run(tmp_path, three_combos()[:1], tasks=N, run_id="c", suite_hash="x"),
                "--out",
                tmp_path / "o",
            ),
            "different task suites",
        ),
    ]:
        r = ripsaw("report", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("ripsaw: error:") and message in r.stderr and "Traceback" not in r.stderr


def test_samples_fill_the_task_matrix_and_pass_at_k(tmp_path: Path) -> None:
    # 2 tasks x 3 samples: task 0 passes 1 of 3, task 1 passes 3 of 3
    outs = [Outcome.PASSED, Outcome.FAILED, Outcome.FAILED] + [Outcome.PASSED] * 3
    run = write_run(tmp_path, [Combo("sampler", outs, [1.0, 2.0, 3.0, 1.0, 1.0, 1.0])], tasks=2, samples=3)
    s = summarize(load_runs([run]))
    k = s.combos[0].pass_at_k
    assert [round(k[i].value or 0, 6) for i in (1, 2, 3)] == [round((1 / 3 + 1) / 2, 6), round((2 / 3 + 1) / 2, 6), 1.0]
    write_report(s, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "@1 66.7%" in html and "@3 100.0%" in html
    index, packed = explorer(s)
    assert index["tasks"] == ["synth/000", "synth/001"] and index["combos"] == ["sampler"]
    passed = index["outcomes"].index("passed")
    assert [(t, c, k, o == passed) for t, c, k, o, _ in index["attempts"]] == [
        (0, 0, 0, True), (0, 0, 1, False), (0, 0, 2, False), (1, 0, 0, True), (1, 0, 1, True), (1, 0, 2, True),
    ]  # fmt: skip
    details = json.loads(gzip.decompress(base64.b64decode(packed)))
    assert [d["anchor"] for d in details] == [a[4] for a in index["attempts"]]
    assert all(re.fullmatch(r"a-[0-9a-f]{12}", d["anchor"]) for d in details)
    assert details[1]["outcome"] == "failed" and "AssertionError" in details[1]["stderr"]
    assert packed in html  # the page carries them, unpacked on demand


def test_cli_slo_override(three_combo_run: Path) -> None:
    r = ripsaw("report", three_combo_run, "--json", "--no-html", "--slo", "0.5")
    assert r.returncode == 0, r.stderr
    fast = json.loads(r.stdout)["combos"][0]
    assert fast["latency_slo_s"] == 0.5 and fast["goodput"]["value"] == pytest.approx(5 / 20)


def test_headline_says_tied_when_the_fastest_combo_only_ties_on_pass_rate(tmp_path: Path) -> None:
    run = write_run(
        tmp_path,
        [Combo("quick", outcomes(2, 4), [1.0, 1.0, 1.0, 1.0]), Combo("slow", outcomes(2, 4), [3.0, 3.0, 3.0, 3.0])],
        tasks=4,
        run_id="tie",
    )
    s = summarize(load_runs([run]))
    assert s.headline.startswith("quick dominates: fastest p50 task latency (1 s) and pass@1 tied with slow (50.0%)")


def test_report_profile_adds_a_labelled_budget_projection(three_combo_run: Path, tmp_path: Path) -> None:
    profile = pick(load_profiles(), ["fast-2000"])
    s = summarize(load_runs([three_combo_run]), profiles=profile)
    out = tmp_path / "out"
    names = {p.name for p in write_report(s, out)}
    assert any(n.startswith("budget-curves-synth-run-") and "measured" not in n for n in names), names
    html = (out / "report.html").read_text()
    assert '<span class="badge bad">PROJECTION</span> fast-2000' in html
    plain = tmp_path / "plain"
    write_report(summarize(load_runs([three_combo_run])), plain)
    assert "PROJECTION</span>" not in (plain / "report.html").read_text()
