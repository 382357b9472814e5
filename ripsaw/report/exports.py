"""Machine-readable exports: attempts.csv / attempts.parquet (one row per attempt), summary.json, summary.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ripsaw.analysis import format as fmt
from ripsaw.analysis.metrics import one_source, priced
from ripsaw.analysis.summary import Summary
from ripsaw.records import Attempt, Outcome
from ripsaw.report.table import markdown

# Nullable integer columns stay integers (pandas would turn a column with a missing value into floats).
_INT_COLUMNS = (
    "sample",
    "calls",
    "retries",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "sandbox_exit_code",
)


def _sum(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def attempt_row(a: Attempt) -> dict[str, Any]:
    first = a.calls[0].timing if a.calls else None
    sources = {c.usage.source for c in a.calls if c.usage.completion_tokens is not None}
    speeds = [s for s in (c.timing.output_speed(c.usage.completion_tokens) for c in a.calls) if s is not None]
    sb = a.sandbox
    return {
        "run_id": a.run_id,
        "combo": a.combo,
        "task_id": a.task_id,
        "sample": a.sample,
        "outcome": a.outcome.value,
        "scored": a.outcome.scored,
        "detail": a.detail,
        "provider": a.provider,
        "model": a.model,
        "hardware": a.hardware,
        "strategy": a.strategy,
        "prompt_mode": a.prompt_mode,
        "started_at": a.started_at,
        "task_time_s": a.task_time_s,
        "model_time_s": a.model_time_s,
        "sandbox_time_s": a.sandbox_time_s,
        "calls": len(a.calls),
        "retries": sum(c.retries for c in a.calls),
        "ttft_s": first.ttft_s if first else None,
        "ttfat_s": first.ttfat_s if first else None,
        "output_tokens_per_s": sum(speeds) / len(speeds) if speeds else None,
        "prompt_tokens": _sum([c.usage.prompt_tokens for c in a.calls]),
        "completion_tokens": _sum([c.usage.completion_tokens for c in a.calls]),
        "reasoning_tokens": _sum([c.usage.reasoning_tokens for c in a.calls]),
        "token_source": one_source(sources),
        "cost_usd": a.cost_usd,
        "sandbox_kind": sb.kind if sb else None,
        "sandbox_status": sb.status if sb else None,
        "sandbox_exit_code": sb.exit_code if sb else None,
        "code": a.code,
        "completion": a.completion,
        "stdout": sb.stdout if sb else None,
        "stderr": sb.stderr if sb else None,
    }


def attempts_frame(attempts: Sequence[Attempt]) -> pd.DataFrame:
    rows = [attempt_row(a) for a in sorted(attempts, key=lambda a: (a.run_id, a.combo, a.task_id, a.sample))]
    # The columns of a blank attempt: an empty run still exports a header row.
    columns = list(attempt_row(Attempt("", "", "", 0, Outcome.PASSED)).keys())
    df = pd.DataFrame(rows, columns=columns)
    for col in _INT_COLUMNS:
        df[col] = df[col].astype("Int64")
    return df


def summary_json(summary: Summary) -> str:
    # allow_nan=False: a NaN reaching the output is a bug, and must fail loudly rather than print "NaN".
    return json.dumps(summary.to_dict(), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def summary_markdown(summary: Summary) -> str:
    suite = summary.runset.suite
    runs = ", ".join(f"`{r.run_id}` ({r.status})" for r in summary.runset.runs)
    lines = [
        "# Ripsaw report",
        "",
        f"**{summary.headline}**",
        "",
        f"Runs: {runs} · task suite `{suite.get('source')}` ({suite.get('count')} tasks, "
        f"hash `{str(suite.get('hash') or '')[:12]}`)",
        "",
        markdown(summary.combos),
        "",
    ]
    if summary.detectable:
        lines += [summary.detectable.sentence, ""]
    several = sum(1 for m in summary.combos if m.scored) > 1
    paid = priced(summary.combos)
    # One combo has no frontier; a cost frontier of combos that all cost $0 says nothing.
    for front in summary.frontiers if several else []:
        if front.x.unit == "usd" and not paid:
            continue
        names = ", ".join(p.name for p in front.members) or fmt.DASH
        close = ", ".join(p.name for p in front.points if p.status == "not distinguishable")
        lines.append(
            f"- Frontier ({front.x.label} vs {front.y.label}): {names}"
            + (f"; not distinguishable: {close}" if close else "")
        )
    if summary.agents:
        lines += ["", "## Agents", "", *_agent_markdown(summary)]
    if summary.comparisons:
        lines += ["", "## Paired comparisons", ""]
        lines += [f"- {c.sentence}" for c in summary.comparisons]
    if summary.warnings:
        lines += ["", "## Warnings", ""]
        lines += [f"- {w}" for w in summary.warnings]
    return "\n".join(lines) + "\n"


def _agent_markdown(summary: Summary) -> list[str]:
    """Per combo with agent attempts: solved, time to solve, where the time went, what a solve cost."""
    rows = [
        "| combo | solved | time to solve (p50) | model / tools / Ripsaw | turns per solve | cost per solve | stops |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in summary.agents:
        split = (
            " / ".join(fmt.pct(x / m.wall_s, 0) for x in (m.model_s, m.tool_s, m.overhead_s)) if m.wall_s else fmt.DASH
        )
        turns = fmt.DASH if m.turns_per_solved is None else f"{m.turns_per_solved:.1f}"
        stops = ", ".join(f"{reason} {n}" for reason, n in m.stop_reasons.items())
        rows.append(
            f"| {m.combo} | {m.solved}/{m.attempts} ({fmt.pct_ci(m.pass_at_1)}) | {fmt.secs_ci(m.time_to_solve)} "
            f"| {split} | {turns} | {fmt.usd(m.cost_per_solved)} | {stops} |"
        )
    if summary.agent_projections:
        rows += ["", "PROJECTIONS (every model call re-timed on a hardware profile; commands as measured):", ""]
        rows += [
            f"- {p.combo} on {p.profile.name} ({p.profile.summary}): median wall {fmt.secs(p.measured_wall_s)} "
            f"-> {fmt.secs(p.projected_wall_s)} projected ({p.speedup or 0:.1f}x sooner)"
            for p in summary.agent_projections
        ]
    marks = [m for m in summary.agents if m.marks]
    if marks:
        rows += ["", "Pass rate at each budget mark (the workspace as it stood then, judged afterwards):", ""]
        rows += [
            f"- {m.combo}: " + ", ".join(f"{fmt.secs(r.budget_s)} {fmt.pct(r.rate)}" for r in m.marks) for m in marks
        ]
    return rows


def write_exports(summary: Summary, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    df = attempts_frame(summary.runset.attempts)
    written = [out / "attempts.csv", out / "attempts.parquet", out / "summary.json", out / "summary.md"]
    df.to_csv(written[0], index=False)
    df.to_parquet(written[1], index=False)
    written[2].write_text(summary_json(summary), encoding="utf-8")
    written[3].write_text(summary_markdown(summary), encoding="utf-8")
    return written
