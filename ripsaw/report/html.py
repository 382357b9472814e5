"""report.html: one self-contained, interactive page rendered with jinja2. It opens offline: plotly.js, the
page's own script and every attempt's details are inlined (the details gzip-compressed, unpacked in the page
when a reader first opens an attempt).

The page is a list of sections (`page_sections`), each a partial template rendered with the page's context; a
new section is one partial plus one entry there.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
import numpy as np

from ripsaw import __version__
from ripsaw.analysis import format as fmt
from ripsaw.analysis import nodes
from ripsaw.analysis.budgets import winner_changes
from ripsaw.analysis.extraction import attempt_anchor, describe
from ripsaw.analysis.metrics import Estimate, priced
from ripsaw.analysis.summary import Summary, run_info
from ripsaw.records import Attempt, Outcome
from ripsaw.report import charts
from ripsaw.report.budget_section import BudgetSection, transcript
from ripsaw.report.exports import attempt_row

# What an attempt's details keep of its text; the full text is in attempts.csv / attempts.parquet.
_CODE_LIMIT = 20_000
_OUTPUT_LIMIT = 8_000
_CHUNK_LIMIT = 2_000  # chunk arrival times kept per call for the timeline (evenly thinned beyond)


@dataclass(frozen=True, slots=True)
class Section:
    id: str  # the section's DOM id and its entry in the page's contents
    title: str
    template: str  # a partial in templates/, rendered with the page's context


def page_sections(summary: Summary, budgets: Sequence[BudgetSection]) -> list[Section]:
    """What the page shows, in order; a section that would only say nothing is left out."""
    several = sum(1 for m in summary.combos if m.scored) > 1
    out = [Section("combos", "Per combo", "_combos.html.j2")]
    if summary.agents:
        out.append(Section("agents", "Agents", "_agents.html.j2"))
    if several:
        out.append(Section("pareto", "Speed vs accuracy", "_pareto.html.j2"))
    if budgets:
        out.append(Section("budgets", "Time budgets", "_budgets.html.j2"))
    out.append(Section("tasks", "Per task", "_tasks.html.j2"))
    out.append(Section("distributions", "Latency and cost", "_distributions.html.j2"))
    if summary.comparisons:
        out.append(Section("comparisons", "Paired comparisons", "_comparisons.html.j2"))
    out.append(Section("extraction", "Extraction", "_extraction.html.j2"))
    if len(summary.schedule()) > 1:
        out.append(Section("schedule", "When each combo ran", "_schedule.html.j2"))
    if summary.nodes is not None:
        out.append(Section("nodes", "Latency by node", "_nodes.html.j2"))
    out.append(Section("runs", "Runs", "_runs.html.j2"))
    return out


def build_charts(summary: Summary) -> list[charts.Chart]:
    """The page's interactive charts (the budget section's come with it): Pareto plots only when there is
    more than one combo to choose between, cost ones only when some combo costs more than $0."""
    names = [m.name for m in summary.combos]
    several = sum(1 for m in summary.combos if m.scored) > 1
    paid = priced(summary.combos)
    out = [charts.pareto(f, names) for f in summary.frontiers if several and (paid or f.x.unit != "usd")]
    out.append(charts.latency(names, summary.attempts_by_combo()))
    if summary.agents:
        out.append(charts.agent_pareto(summary.agents))
        out.append(charts.agent_time_split(summary.agents))
        if any(m.marks for m in summary.agents):
            out.append(charts.agent_pass_at_budget(summary.agents))
    if paid:
        out.append(charts.cost(summary.combos))
    return out


# -- per task ----------------------------------------------------------------------------------------------


def _clip(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else f"{text[:limit]}\n… ({len(text) - limit:,} more characters in attempts.csv)"


def _thin(values: Sequence[int], limit: int) -> list[int]:
    if len(values) <= limit:
        return list(values)
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


def _timeline(a: Attempt) -> dict[str, Any]:
    """Where an attempt's time went: each model call (queued, sent, first token, chunk arrivals, last token)
    placed at its turn's start, then the sandbox runs. Seconds since the attempt started."""
    starts: dict[int, float] = {t.call: t.started_at_s for t in a.turns if t.call is not None}
    calls = []
    at = 0.0
    for i, c in enumerate(a.calls):
        t = c.timing
        start = starts.get(i, at)
        end_s = (t.close_ns or t.last_token_ns or 0) / 1e9
        calls.append(
            {
                "start": start,
                "queue": t.queue_s,
                "first": t.ttft_s,
                "last": t.e2e_s,
                "end": end_s,
                # 0.1 ms is finer than a pixel of the timeline, and keeps the page small
                "chunks": np.round(np.asarray(_thin(t.chunk_ns, _CHUNK_LIMIT)) / 1e9, 4).tolist(),
                "tokens": c.usage.completion_tokens,
                "cut": c.cut,
            }
        )
        at = start + end_s
    public = [(t.started_at_s + t.model_time_s, t.sandbox_time_s) for t in a.turns if t.sandbox_time_s > 0]
    return {
        "calls": calls,
        "public": public,
        "model": a.model_time_s,
        "sandbox": a.sandbox_time_s,
        "task": a.task_time_s,
    }


def _agent_turns(a: Attempt) -> list[dict[str, Any]]:
    """An agent attempt's transcript: each turn's command, what it showed the model, and the turn's times."""
    if a.agent is None:
        return []
    return [
        {
            "turn": t.index,
            "at": round(t.started_at_s, 3),
            "action": t.action,
            "command": _clip(t.command, _OUTPUT_LIMIT),
            "observation": _clip(t.observation, _OUTPUT_LIMIT),
            "model": round(t.model_time_s, 3),
            "tool": round(t.tool_time_s, 3),
            "overhead": round(t.overhead_s, 3),
            "exit": t.exit_code,
            "cut": t.cut,
            "snapshot": t.snapshot,
        }
        for t in a.agent.turns
    ]


def _details(a: Attempt) -> dict[str, Any]:
    """Everything the page shows when an attempt is opened."""
    row = attempt_row(a)
    x = a.extraction
    return {
        "anchor": attempt_anchor(a.attempt_id),
        "combo": a.combo,
        "task": a.task_id,
        "sample": a.sample,
        "outcome": a.outcome.value,
        "detail": a.detail,
        "extraction": describe(x) if x is not None else "",
        "dropped": [{"line": d.line, "kind": d.kind, "text": d.text, "why": d.why} for d in x.dropped] if x else [],
        "prompt": _clip(a.prompt, _CODE_LIMIT),
        "reply": _clip(a.completion, _CODE_LIMIT),
        "code": _clip(a.code, _CODE_LIMIT),
        "stdout": _clip(row["stdout"], _OUTPUT_LIMIT),
        "stderr": _clip(row["stderr"], _OUTPUT_LIMIT),
        "figures": [
            ["task", fmt.secs(a.task_time_s)],
            ["model", fmt.secs(a.model_time_s)],
            ["sandbox", fmt.secs(a.sandbox_time_s)],
            ["TTFT", fmt.secs(row["ttft_s"])],
            ["speed", fmt.speed(row["output_tokens_per_s"])],
            [
                "tokens in/out",
                f"{fmt.count(row['prompt_tokens'])}/{fmt.count(row['completion_tokens'])}"
                + (" (estimated)" if row["token_source"] == "estimated" else ""),
            ],
            ["calls", str(row["calls"])],
            ["retries", str(row["retries"])],
            ["cost", fmt.usd(a.cost_usd)],
        ],
        "turns": transcript(a) if len(a.turns) > 1 else [],
        "agent": _agent_turns(a),
        "timeline": _timeline(a),
    }


def explorer(summary: Summary) -> tuple[dict[str, Any], str]:
    """The per-task explorer's data: a small index the page filters (tasks, combos, each attempt's outcome),
    and every attempt's details as gzip-compressed JSON in base64, unpacked only when one is opened."""
    names = [m.name for m in summary.combos]
    combo_index = {n: i for i, n in enumerate(names)}
    outcomes = [o.value for o in Outcome]
    outcome_index = {o: i for i, o in enumerate(outcomes)}
    suite_ids = [str(t) for t in summary.runset.suite.get("ids") or []]
    attempts = list(summary.runset.attempts)
    present = {a.task_id for a in attempts}
    order = [t for t in suite_ids if t in present] + sorted(present - set(suite_ids))
    task_index = {t: i for i, t in enumerate(order)}
    attempts.sort(key=lambda a: (task_index[a.task_id], combo_index.get(a.combo, len(names)), a.sample))
    index = {
        "combos": names,
        "outcomes": outcomes,
        "scored": [o.scored for o in Outcome],
        "tasks": order,
        # one row per attempt: task, combo, sample, outcome (indices into the lists above), its anchor
        "attempts": [
            [
                task_index[a.task_id],
                combo_index.get(a.combo, -1),
                a.sample,
                outcome_index[a.outcome.value],
                attempt_anchor(a.attempt_id),
            ]
            for a in attempts
        ],
    }
    blob = json.dumps([_details(a) for a in attempts], separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    packed = base64.b64encode(gzip.compress(blob.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")
    return index, packed


# -- rendering ---------------------------------------------------------------------------------------------


def _how(e: Estimate) -> str:
    """Tooltip text: every figure says how many observations it rests on and how it was obtained."""
    return f"n={e.n}; {e.method}" if e.method else f"n={e.n}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ripsaw.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=fmt.pct,
        pct_ci=fmt.pct_ci,
        secs=fmt.secs,
        secs_ci=fmt.secs_ci,
        usd=fmt.usd,
        speed=fmt.speed,
        count=fmt.count,
        how=_how,
        outcomes_short=fmt.outcomes_short,
    )
    env.globals.update(
        DASH=fmt.DASH,
        winner_changes=winner_changes,
        NODE_RULE={"uneven_share": nodes.UNEVEN_SHARE, "nodes_differ": nodes.NODES_DIFFER},
    )
    return env


def _asset(name: str) -> str:
    return (resources.files("ripsaw.report") / "templates" / name).read_text(encoding="utf-8")


def render_html(
    summary: Summary, figures: Sequence[charts.Chart], budgets: Sequence[BudgetSection] = (), *, plotly: bool = True
) -> str:
    """The page. plotly=False leaves plotly.js out (charts then stay empty): for tests of the markup only."""
    index, details = explorer(summary)
    every_chart = [*figures, *(c for b in budgets for c in b.charts)]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            s=summary,
            sections=page_sections(summary, budgets),
            charts={c.id: c for c in every_chart},
            chart_json="{" + ",".join(f"{json.dumps(c.id)}:{c.json()}" for c in every_chart) + "}",
            budgets=list(budgets),
            several=sum(1 for m in summary.combos if m.scored) > 1,
            paid=priced(summary.combos),
            explorer_json=charts._script_safe(json.dumps(index, separators=(",", ":"), ensure_ascii=False)),
            explorer_details=details,
            plotly_js=charts.plotly_js() if plotly else "",
            script=_asset("report.js"),
            manifests=[
                (r.run_id, json.dumps(r.manifest, indent=2, sort_keys=True, default=str)) for r in summary.runset.runs
            ],
            summary_runs=[run_info(r) for r in summary.runset.runs],
            version=__version__,
            outcome_names=[o.value for o in Outcome],
            abbrev=fmt.OUTCOME_ABBREV,
        )
    )
