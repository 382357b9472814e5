"""How the report scales: a synthetic run of N attempts (default 10,000: 4 combos x 500 tasks x 5 samples,
each with a realistic reply, program, test output and ~150 timed chunks) written through the real results store,
then `write_report` timed in stages (load, summarize, static figures, interactive page) and the page's size.
Targets: the report in <= 10 s, report.html <= 20 MB. With --browser, the page is also opened in headless
Chromium (the test suite's DevTools driver) and the time until its charts and per-task table are drawn printed.

    python bench/report_scale.py [--attempts N] [--browser]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, machine

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, CallTiming, ModelCall, Outcome, SandboxRun, Usage
from ripsaw.report.budget_section import sections
from ripsaw.report.exports import write_exports
from ripsaw.report.html import build_charts, render_html
from ripsaw.report.plots import report_figures

COMBOS = ("fast-small", "mid", "accurate-large", "remote-api")
OUTCOMES = [Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT, Outcome.SYNTAX_ERROR]


def _attempt(rng: random.Random, run_id: str, combo: int, task: int, sample: int) -> Attempt:
    skill = 0.3 + 0.15 * combo
    outcome = Outcome.PASSED if rng.random() < skill else rng.choice(OUTCOMES[1:])
    tokens = rng.randint(60, 400)
    rate = 200.0 / (1 + combo)
    ttft = rng.uniform(0.05, 0.6) * (1 + combo)
    span = tokens / rate
    chunks = [int((ttft + span * i / 150) * 1e9) for i in range(150)]
    timing = CallTiming(first_any_ns=chunks[0], first_content_ns=chunks[0], last_token_ns=chunks[-1],
                        close_ns=chunks[-1] + 1_000_000, chunks=150, chunk_ns=chunks, queue_ns=2_000_000,
                        t_send_wire=True, n_first=1, n_first_source="server")  # fmt: skip
    body = "\n".join(f"    total += values[{i}] * {rng.randint(1, 9)}" for i in range(rng.randint(5, 25)))
    code = f"def solve(values):\n    total = 0\n{body}\n    return total\n"
    model_time = chunks[-1] / 1e9
    sandbox = rng.uniform(0.02, 0.2)
    return Attempt(
        run_id=run_id,
        combo=COMBOS[combo],
        task_id=f"Bench/{task}",
        sample=sample,
        outcome=outcome,
        detail="" if outcome is Outcome.PASSED else f"{outcome.value} on input {task}",
        hardware="synthetic",
        model=COMBOS[combo],
        provider="openai",
        completion=f"Here is the solution:\n```python\n{code}```\nIt sums the weighted values.",
        code=code,
        calls=[ModelCall(text=code, finish_reason="stop", usage=Usage(180, tokens, None, "server"), timing=timing)],
        sandbox=SandboxRun(
            "process",
            "ok",
            0 if outcome is Outcome.PASSED else 1,
            sandbox,
            stderr=""
            if outcome is Outcome.PASSED
            else "Traceback (most recent call last):\n"
            + '  File "<candidate>", line 3, in solve\n' * 8
            + "AssertionError",
        ),
        model_time_s=model_time,
        sandbox_time_s=sandbox,
        task_time_s=model_time + sandbox,
        cost_usd=(180 * 0.25 + tokens * 0.69) / 1e6 if combo == 3 else 0.0,
        started_at="2026-01-01T00:00:00+00:00",
    )


def make_run(root: Path, attempts: int) -> Path:
    samples = 5
    tasks = max(1, attempts // (len(COMBOS) * samples))
    run_id = "scale"
    store = RunStore(root / run_id)
    ids = [f"Bench/{t}" for t in range(tasks)]
    manifest = {
        "schema_version": 1,
        "run_id": run_id,
        "ripsaw_version": "bench",
        "spec": {"combos": [{"name": c} for c in COMBOS]},
        "task_suite": {"source": "jsonl:bench.jsonl", "count": tasks, "hash": "bench", "ids": ids},
        "combos": [
            {
                "name": c,
                "provider": "openai",
                "model": c,
                "hardware": "synthetic",
                "prompt_mode": "chat",
                "price_in_per_mtok": 0.25 if c == "remote-api" else 0.0,
                "price_out_per_mtok": 0.69 if c == "remote-api" else 0.0,
            }
            for c in COMBOS
        ],
        "run": {"samples": samples, "budget_s": 60.0, "latency_slo_s": None, "concurrency": 4},
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2026-01-01T01:00:00+00:00",
        "status": "complete",
    }
    store.write_manifest(manifest)
    rng = random.Random(0)
    for t in range(tasks):
        for c in range(len(COMBOS)):
            for k in range(samples):
                store.append(_attempt(rng, run_id, c, t, k))
    return root / run_id


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attempts", type=int, default=10_000)
    ap.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_dir = make_run(root, args.attempts)
        out = root / "report"
        stages: list[tuple[str, float]] = []
        t0 = time.perf_counter()
        runset = load_runs([run_dir])
        stages.append(("load the run", time.perf_counter() - t0))
        t = time.perf_counter()
        summary = summarize(runset)
        stages.append(("summarize (metrics, comparisons, bootstrap)", time.perf_counter() - t))
        t = time.perf_counter()
        write_exports(summary, out)
        stages.append(("exports (CSV, Parquet, JSON, Markdown)", time.perf_counter() - t))
        t = time.perf_counter()
        budgets = sections(summary.runset.runs, measured=summary.measured_budgets())
        stages.append(("time-budget analysis and its figures", time.perf_counter() - t))
        t = time.perf_counter()
        static = report_figures(summary)
        for p in [*static, *(plot for b in budgets for plot in b.figures)]:
            (out / f"{p.name}.png").write_bytes(p.png)
            (out / f"{p.name}.svg").write_text(p.svg)
        stages.append(("static PNG/SVG figures", time.perf_counter() - t))
        t = time.perf_counter()
        page = out / "report.html"
        page.write_text(render_html(summary, build_charts(summary), budgets), encoding="utf-8")
        stages.append(("interactive page (charts, explorer, details)", time.perf_counter() - t))
        total = time.perf_counter() - t0
        n = len(summary.runset.attempts)
        size = page.stat().st_size / 1e6
        print(f"\n{n:,} attempts, {len(COMBOS)} combos, {len(runset.suite.get('ids') or [])} tasks x 5 samples")
        for name, s in stages:
            print(f"  {name:<48} {s:6.2f} s")
        print(f"  {'total':<48} {total:6.2f} s   target <= 10 s: {'PASS' if total <= 10 else 'MISS'}")
        print(
            f"report.html {size:.1f} MB (plotly.js 4.8 MB of it)   target <= 20 MB: {'PASS' if size <= 20 else 'MISS'}"
        )
        if args.browser:
            sys.path.insert(0, str(REPO))
            from tests.support.devtools import Browser

            with Browser(root) as b:
                t = time.perf_counter()
                b.open(page)
                b.wait_until("document.body.dataset.charts === 'ready' && "
                             "document.getElementById('task-matrix').dataset.ready", timeout_s=120)  # fmt: skip
                drawn = time.perf_counter() - t
                t = time.perf_counter()
                b.js("document.querySelector('#task-matrix tbody td.cell').click()")
                b.wait_until("!!document.querySelector('#task-matrix tr.detail .attempt')", timeout_s=120)
                opened = time.perf_counter() - t
                errors = b.console()
            print(f"Chromium: page drawn in {drawn:.2f} s; first attempt opened (details unpacked) in {opened:.2f} s;"
                  f" console messages: {len(errors)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
