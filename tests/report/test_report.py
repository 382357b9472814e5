from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.errors import ConfigError
from ripsaw.records import Outcome
from ripsaw.report.exports import summary_json, summary_markdown
from ripsaw.report.table import terminal
from ripsaw.report.write import write_report
from tests.support.cli import ripsaw
from tests.support.synth import Combo, N, outcomes, three_combos, write_run

NAN = re.compile(r"\bnan\b|\binf\b", re.IGNORECASE)


def _no_nan(text: str) -> None:
    assert not NAN.search(text), NAN.search(text)


def _reject_constant(name: str) -> float:
    raise AssertionError(f"summary.json holds {name}")


def test_report_writes_every_artefact(three_combo_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    s = summarize(load_runs([three_combo_run]))
    written = write_report(s, out)
    names = {p.name for p in written}
    assert {
        "report.html",
        "summary.json",
        "summary.md",
        "attempts.csv",
        "attempts.parquet",
        "pareto_latency_p50.png",
        "pareto_latency_p90.png",
        "pareto_cost_per_task.png",
        "latency.png",
        "cost.png",
        "budget-curves-synth-run-measured.png",  # pass@budget per combo (time-budget section)
        "budget-solve-synth-run-measured.png",  # time to solve (Kaplan–Meier)
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
    assert html.count("<svg") == 7  # 5 report plots + 2 time-budget plots
    # self-contained: nothing fetched from the network, no script needed
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html
    # the attempt's own text is escaped, never markup
    assert "&lt;wrong&gt; &amp; more" in html and "<wrong>" not in html
    for text in (html, md, terminal(s.combos)):
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
        ("single-combo", "Single combo solo: pass@1 50.0%"),
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
    html = (tmp_path / "out" / "report.html").read_text()
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
    assert '<span class="badge mixed">1/3</span>' in html and '<span class="badge ok">3/3</span>' in html
    assert len(re.findall(r"<div class=\"attempt\" id=\"a-[0-9a-f]{12}\">", html)) == 6
    assert "@1 66.7%" in html and "@3 100.0%" in html


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
