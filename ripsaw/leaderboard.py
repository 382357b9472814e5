"""A static leaderboard over runs: index.html (sortable table, Pareto plot on top), leaderboard.json, .csv.

One row per combo per run, with its provenance (ripsaw version, task suite and hash, sandbox, host, date),
so a reader can tell which rows were measured under the same conditions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from ripsaw import __version__
from ripsaw.analysis import comparability
from ripsaw.analysis import format as fmt
from ripsaw.analysis.metrics import ComboMetrics
from ripsaw.analysis.pareto import LATENCY_P50, PASS_RATE, Frontier
from ripsaw.analysis.runs import Run, RunSet, combo_names
from ripsaw.analysis.summary import Summary
from ripsaw.names import utc_now
from ripsaw.report import plots

LEADERBOARD_SCHEMA = "ripsaw.leaderboard"
LEADERBOARD_SCHEMA_VERSION = 1


def _run_of(runset: RunSet, m: ComboMetrics) -> Run:
    return next(r for r in runset.runs if r.run_id == m.run_id)


def rows(summary: Summary, front: Frontier) -> list[dict[str, Any]]:
    out = []
    for m in summary.combos:
        run = _run_of(summary.runset, m)
        suite, host = run.suite, run.manifest.get("host") or {}
        sandbox = run.manifest.get("sandbox") or {}
        out.append(
            {
                "combo": m.name,
                "model": m.model,
                "provider": m.provider,
                "hardware": m.hardware,
                "strategy": m.strategy,
                "attempts": m.attempts,
                "scored": m.scored,
                "passed": m.passed,
                "infra_errors": m.infra_errors,
                "pass_rate": m.pass_rate.value,
                "pass_rate_lo": m.pass_rate.lo,
                "pass_rate_hi": m.pass_rate.hi,
                "latency_p50_s": m.latency_p50.value,
                "latency_p90_s": m.latency_p90.value,
                "ttft_p50_s": m.ttft_p50.value,
                "output_tokens_per_s": m.speed_median.value,
                "token_source": m.tokens.source,
                "cost_per_task_usd": m.cost_per_task.value,
                "frontier": front.status_of(m.name),
                "run_id": run.run_id,
                "run_status": run.status,
                "ripsaw_version": run.ripsaw_version,
                "task_suite": suite.get("source"),
                "task_suite_hash": suite.get("hash"),
                "task_count": suite.get("count"),
                "sandbox": sandbox.get("kind"),
                "host_cpu": host.get("cpu"),
                "host_cores": host.get("cores"),
                "host_os": host.get("os"),
                "host_id": host.get("hostname_hash"),
                "date": run.manifest.get("started_at"),
            }
        )
    # Best first: pass rate, then lower p50 latency; rows without a pass rate last.
    return sorted(out, key=lambda r: (r["pass_rate"] is None, -(r["pass_rate"] or 0), r["latency_p50_s"] or 0))


def _cells(r: dict[str, Any]) -> list[tuple[str, Any]]:
    """(display text, sort key) per column, in the order of COLUMNS; None sort keys sort last."""
    ci = (
        f"{fmt.pct(r['pass_rate'])} [{fmt.pct(r['pass_rate_lo'])}–{fmt.pct(r['pass_rate_hi'])}]"
        if r["pass_rate_lo"] is not None
        else fmt.pct(r["pass_rate"])
    )
    host = f"{r['host_cpu'] or fmt.DASH} ({r['host_cores'] or fmt.DASH} cores, {r['host_id'] or fmt.DASH})"
    return [
        (r["combo"], r["combo"]),
        (r["model"], r["model"]),
        (r["hardware"], r["hardware"]),
        (ci, r["pass_rate"]),
        (str(r["scored"]), r["scored"]),
        (fmt.secs(r["latency_p50_s"]), r["latency_p50_s"]),
        (fmt.secs(r["latency_p90_s"]), r["latency_p90_s"]),
        (fmt.secs(r["ttft_p50_s"]), r["ttft_p50_s"]),
        (fmt.speed(r["output_tokens_per_s"]), r["output_tokens_per_s"]),
        (fmt.usd(r["cost_per_task_usd"]), r["cost_per_task_usd"]),
        (r["frontier"], r["frontier"]),
        (r["ripsaw_version"], r["ripsaw_version"]),
        (f"{r['task_suite']} ({str(r['task_suite_hash'] or '')[:12]})", r["task_suite"]),
        (r["sandbox"] or fmt.DASH, r["sandbox"]),
        (host, host),
        ((r["date"] or fmt.DASH)[:10], r["date"]),
        (r["run_id"], r["run_id"]),
    ]


COLUMNS = (
    "combo",
    "model",
    "hardware",
    "pass@1 [95% CI]",
    "n",
    "p50",
    "p90",
    "TTFT p50",
    "speed",
    "cost/task",
    "frontier",
    "ripsaw",
    "task suite",
    "sandbox",
    "host",
    "date",
    "run",
)
_NUMERIC = {"pass@1 [95% CI]", "n", "p50", "p90", "TTFT p50", "speed", "cost/task"}


def comparable(runs: RunSet, allow: frozenset[str]) -> list[str]:
    """Refuse to rank combos made differently (each differing field named); return the differences allowed."""
    keyed = [(name, comparability.key(r.manifest, name)) for r in runs.runs for name in combo_names(r.manifest)]
    if not keyed:
        return []
    first, reference = keyed[0]
    found = [
        (f"{name}: {d.describe(first, name)}", d)
        for name, k in keyed[1:]
        for d in comparability.mismatches(reference, k, allow, comparability.LEADERBOARD_FIELDS)
    ]
    return comparability.enforce(
        found, "these combos were not asked or scored the same way", "rank them anyway (the page says so)"
    )


def build(summary: Summary, out: Path, *, allowed_mismatches: Sequence[str] = ()) -> list[Path]:
    """Write index.html, leaderboard.json, leaderboard.csv and pareto.png into out."""
    out.mkdir(parents=True, exist_ok=True)
    front = summary.frontier(f"{LATENCY_P50.key}_vs_{PASS_RATE.key}")
    table = rows(summary, front)
    plot = plots.render("pareto", "pass@1 vs task latency p50", plots.pareto(front))
    generated = utc_now()
    suites = sorted({str(r["task_suite_hash"]) for r in table})
    doc = {
        "schema": LEADERBOARD_SCHEMA,
        "schema_version": LEADERBOARD_SCHEMA_VERSION,
        "generated_at": generated,
        "generated_by": f"ripsaw {__version__}",
        "mixed": summary.runset.mixed_suites or len({r["ripsaw_version"] for r in table}) > 1,
        "task_suites": suites,
        "allowed_mismatches": list(allowed_mismatches),
        "frontier": front.to_dict(),
        "rows": table,
    }
    paths = [out / "index.html", out / "leaderboard.json", out / "leaderboard.csv", out / "pareto.png"]
    paths[1].write_text(json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n", encoding="utf-8")
    pd.DataFrame(table).to_csv(paths[2], index=False)
    paths[3].write_bytes(plot.png)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ripsaw.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    page = env.get_template("leaderboard.html.j2").render(
        columns=COLUMNS,
        numeric=_NUMERIC,
        rows=[_cells(r) for r in table],
        plot=plot,
        doc=doc,
        headline=summary.headline,
        warnings=summary.warnings,
        version=__version__,
    )
    paths[0].write_text(page, encoding="utf-8")
    return paths
