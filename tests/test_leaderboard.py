from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.errors import ConfigError
from ripsaw.leaderboard import build
from tests.support.cli import ripsaw
from tests.support.synth import N, three_combos, write_run


def test_leaderboard_files_and_provenance(tmp_path: Path) -> None:
    a = write_run(tmp_path, three_combos()[:2], tasks=N, run_id="run-a")
    b = write_run(tmp_path, three_combos()[2:], tasks=N, run_id="run-b")
    out = tmp_path / "site"
    paths = build(summarize(load_runs([a, b], same_harness=True)), out)
    assert [p.name for p in paths] == ["index.html", "leaderboard.json", "leaderboard.csv", "pareto.png"]
    doc = json.loads((out / "leaderboard.json").read_text())
    assert (doc["schema"], doc["schema_version"], doc["mixed"]) == ("ripsaw.leaderboard", 1, False)
    rows = doc["rows"]
    assert [r["combo"] for r in rows] == ["accurate", "fast", "slowbad"]  # best pass rate first
    assert [r["frontier"] for r in rows] == ["frontier", "frontier", "dominated"]
    assert [r["run_id"] for r in rows] == ["run-a", "run-a", "run-b"]
    top = rows[0]
    assert top["pass_rate"] == pytest.approx(0.75) and top["latency_p50_s"] == pytest.approx(10.5)
    assert (top["task_suite_hash"], top["sandbox"], top["host_id"]) == ("suitehash-1", "process", "abc123")
    assert top["ripsaw_version"] and top["date"] == "2025-01-01T00:00:00+00:00"
    csv = pd.read_csv(out / "leaderboard.csv")
    assert list(csv["combo"]) == ["accurate", "fast", "slowbad"]
    html = (out / "index.html").read_text()
    assert html.count("<svg") == 1 and "<script>" in html and 'data-sort="0.75"' in html


def test_leaderboard_refuses_mixed_runs(tmp_path: Path) -> None:
    a = write_run(tmp_path, three_combos()[:1], tasks=N, run_id="run-a")
    other_suite = write_run(tmp_path, three_combos()[1:2], tasks=N, run_id="run-b", suite_hash="other")
    old = write_run(tmp_path, three_combos()[2:], tasks=N, run_id="run-c", ripsaw_version="0.0.1")
    with pytest.raises(ConfigError, match="different task suites"):
        load_runs([a, other_suite], same_harness=True)
    with pytest.raises(ConfigError, match="different ripsaw versions"):
        load_runs([a, old], same_harness=True)
    s = summarize(load_runs([a, other_suite, old], allow_mixed=True, same_harness=True))
    doc = json.loads((build(s, tmp_path / "site")[1]).read_text())
    assert doc["mixed"] is True and doc["task_suites"] == ["other", "suitehash-1"]
    assert any("different task suites" in w for w in s.warnings)


def test_cli_leaderboard(tmp_path: Path) -> None:
    a = write_run(tmp_path, three_combos()[:1], tasks=N, run_id="run-a")
    b = write_run(tmp_path, three_combos()[1:2], tasks=N, run_id="run-b", suite_hash="other")
    r = ripsaw("leaderboard", a, b, "--out", tmp_path / "site")
    assert r.returncode == 2 and "different task suites" in r.stderr and "pass --allow-mixed" in r.stderr
    r = ripsaw("leaderboard", a, b, "--out", tmp_path / "site", "--allow-mixed")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_leaderboard_refuses_combos_asked_with_different_prompts(tmp_path: Path) -> None:
    a = write_run(tmp_path, three_combos()[:1], tasks=N, run_id="run-a")
    b = write_run(tmp_path, three_combos()[1:2], tasks=N, run_id="run-b")
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["combos"][0].update(prompt_mode="chat", prompt={"preset": "evalplus", "sha256": "sha256:x"})
    (b / "manifest.json").write_text(json.dumps(manifest))
    r = ripsaw("leaderboard", a, b, "--out", tmp_path / "site")
    assert r.returncode == 2 and "not asked or scored the same way" in r.stderr and ": prompt: " in r.stderr
    r = ripsaw("leaderboard", a, b, "--out", tmp_path / "site", "--allow-mismatch", "prompt")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    assert len(doc["allowed_mismatches"]) == 1 and "prompt" in doc["allowed_mismatches"][0]
    assert "Ranked although made differently" in (tmp_path / "site" / "index.html").read_text()
