"""The README's first command, after install: the quickstart with the real local models, end to end.

It must show what Ripsaw is for: two models, a frontier of two distinct points, a paired difference that is
significant, a headline naming the trade-off, and no infra errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_quickstart_shows_a_real_trade_off(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ripsaw", "run", str(REPO / "evals" / "quickstart.toml"),
         "--output-dir", str(tmp_path), "--no-progress"],
        capture_output=True, text=True, timeout=1100,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    combos = {c["name"]: c for c in summary["combos"]}
    assert len(combos) == 2
    assert all(c["infra_errors"] == 0 and c["scored"] == c["attempts"] == 15 for c in combos.values())
    latency = next(f for f in summary["frontiers"] if f["key"] == "latency_p50_vs_pass_rate")
    assert len(latency["frontier"]) == 2  # one fast, one accurate: neither dominates
    xs = {p["combo"]: p["x"]["value"] for p in latency["points"]}
    ys = {p["combo"]: p["y"]["value"] for p in latency["points"]}
    fast, accurate = sorted(xs, key=xs.__getitem__)
    assert xs[fast] < xs[accurate] and ys[fast] < ys[accurate]
    (comparison,) = summary["comparisons"]
    assert comparison["pass_rate"]["p_value"] < 0.05
    assert "more of 15 tasks" in summary["headline"] and "slower" in summary["headline"]
    assert (run_dir / "logs").is_dir()  # the servers' logs are kept with the run
