"""Agent runs in the analysis, the report and the gate: figures checked against hand-computed values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ripsaw.analysis.agents import agent_metrics, project, projected_wall_s
from ripsaw.analysis.projection import HardwareProfile, load_profiles, pick
from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.report.write import write_report
from tests.support.synth import Combo, agent_attempt, write_run

P, F = Outcome.PASSED, Outcome.FAILED
REPO = Path(__file__).resolve().parents[2]


def _fast() -> list[Attempt]:
    # (model, tools, overhead) seconds; marks at 15 and 60 s
    return [
        agent_attempt("r", "fast", "t0", P, (8.0, 1.5, 0.5), [(15, P), (60, P)]),
        agent_attempt("r", "fast", "t1", P, (16.0, 3.0, 1.0), [(15, F), (60, P)], dropped=["conftest.py"]),
        agent_attempt("r", "fast", "t2", P, (24.0, 4.5, 1.5), [(15, F), (60, P)]),
        agent_attempt("r", "fast", "t3", F, (32.0, 6.0, 2.0), [(15, F), (60, F)], tampered=True, stop="budget"),
    ]


def test_agent_figures_match_hand_computed_values() -> None:
    m = agent_metrics("fast", _fast())
    assert m is not None
    assert (m.attempts, m.solved) == (4, 3) and m.pass_at_1.value == pytest.approx(0.75)
    assert m.time_to_solve.value == pytest.approx(20.0)  # walls of the solved: 10, 20, 30
    assert (m.model_s, m.tool_s, m.overhead_s, m.wall_s) == pytest.approx((80.0, 15.0, 5.0, 100.0))
    assert m.amdahl_share == pytest.approx(0.8)
    assert m.turns_per_solved == pytest.approx((1 + 2 + 2 + 3) / 3)  # one call per 10 s of model time
    assert m.tokens_per_solved == pytest.approx(4 * 100 / 3, abs=2)
    assert m.stop_reasons == {"submitted": 3, "budget": 1}
    assert (m.tampered, m.dropped, m.reward_trust) == (1, 1, 0)
    assert [(r.budget_s, r.rate.value) for r in m.marks] == [(15.0, 0.25), (60.0, 0.75)]


def test_the_projection_retimes_model_calls_and_keeps_tool_time() -> None:
    profile = HardwareProfile("fast-chip", output_tokens_per_s=1000.0, ttft_s=0.1)
    a = _fast()[0]  # one call of 100 tokens, tools 1.5 s, overhead 0.5 s
    assert projected_wall_s(a, profile) == pytest.approx(0.1 + 99 / 1000 + 1.5 + 0.5)
    p = project("fast", _fast(), profile)
    assert p is not None and p.speedup is not None and p.speedup > 4
    assert p.measured_model_share == pytest.approx(0.8)
    assert p.projected_model_share is not None and p.projected_model_share < 0.2


def _agent_run(tmp_path: Path) -> Path:
    run_dir = write_run(tmp_path, [Combo("fast", [], [])], tasks=4, run_id="agents")
    manifest = RunStore(run_dir).manifest()
    manifest["combos"][0]["strategy"] = "agent"
    with RunStore(run_dir) as store:
        store.write_manifest(manifest)
        for a in _fast():
            a.run_id = "agents"
            a.task_id = f"synth/00{a.task_id[1]}"
            store.append(a)
    return run_dir


def test_the_report_has_an_agent_section_and_the_summary_its_figures(tmp_path: Path) -> None:
    run_dir = _agent_run(tmp_path)
    summary = summarize(load_runs([run_dir]))
    assert [m.combo for m in summary.agents] == ["fast"]
    assert any("1 agent verdict(s) tampered" in w for w in summary.warnings)
    out = tmp_path / "out"
    write_report(summary, out)
    html = (out / "report.html").read_text()
    assert 'id="agents"' in html and "Where agent time went" in html and "Model generation was" in html
    assert "pass@1 against median time-to-solve" in html
    doc = json.loads((out / "summary.json").read_text())
    assert doc["agents"][0]["amdahl_share"] == pytest.approx(0.8)
    md = (out / "summary.md").read_text()
    # 3 of 4 solved; the walls of the solved are 10, 20 and 30 s; 80 / 15 / 5 of 100 s
    assert "## Agents" in md and "| fast | 3/4 (75.0%" in md and "| 80% / 15% / 5% |" in md
    assert "- fast: 15 s 25.0%, 60 s 75.0%" in md and "| 20 s [10 s–30 s] |" in md


def test_the_report_shows_agent_projections_labelled(tmp_path: Path) -> None:
    run_dir = _agent_run(tmp_path)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "ripsaw",
        "report",
        str(run_dir),
        "--out",
        str(out),
        "--profile",
        "fast-2000",
        "--json",
    ]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [p] = json.loads(done.stdout)["agent_projections"]
    expected = project("fast", _fast(), pick(load_profiles(), ["fast-2000"])[0])
    assert expected is not None and p["label"] == "projection"
    assert p["projected_wall_p50_s"] == pytest.approx(expected.projected_wall_s) and p["speedup"] > 1
    html = (out / "report.html").read_text()
    assert "PROJECTION: the same turns on other hardware" in html and "fast-2000" in html
    assert "PROJECTIONS" in (out / "summary.md").read_text()


def test_a_run_without_agents_has_no_agent_section(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, [Combo("plain", [P, F], [1.0, 2.0])], tasks=2)
    summary = summarize(load_runs([run_dir]))
    out = tmp_path / "out"
    write_report(summary, out)
    assert not summary.agents and 'id="agents"' not in (out / "report.html").read_text()


def test_the_gate_works_unchanged_on_an_agent_run(tmp_path: Path) -> None:
    run_dir = _agent_run(tmp_path)

    def gate(*args: str) -> int:
        cmd = [sys.executable, "-m", "ripsaw", "gate", str(run_dir), *args]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120).returncode

    assert gate("--min-pass-rate", "0.7") == 0
    assert gate("--min-pass-rate", "0.9") == 1


def test_ripsaw_budget_gives_an_agent_runs_marks_and_a_labelled_projection(tmp_path: Path) -> None:
    run_dir = _agent_run(tmp_path)
    cmd = [sys.executable, "-m", "ripsaw", "budget", str(run_dir), "--profile", "fast-2000", "--json"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [fast] = json.loads(done.stdout)["agents"]
    assert [(m["budget_s"], m["value"]) for m in fast["pass_at_budget"]] == [(15.0, 0.25), (60.0, 0.75)]
    [p] = fast["projections"]
    assert p["label"] == "projection" and p["profile"]["name"] == "fast-2000" and p["speedup"] > 1
