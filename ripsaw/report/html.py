"""report.html: one self-contained page (inline CSS and SVG, no script, no network) rendered with jinja2."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from ripsaw import __version__
from ripsaw.analysis import format as fmt
from ripsaw.analysis.extraction import attempt_anchor, describe
from ripsaw.analysis.metrics import Estimate
from ripsaw.analysis.summary import Summary, run_info
from ripsaw.records import Attempt, Outcome
from ripsaw.report import plots
from ripsaw.report.budget_section import BudgetSection, transcript
from ripsaw.report.exports import attempt_row

# What a cell shows of an attempt's text; the full text is in attempts.csv / attempts.parquet.
_CODE_LIMIT = 20_000
_OUTPUT_LIMIT = 8_000


def build_plots(summary: Summary) -> list[plots.Plot]:
    out = [plots.render(f"pareto_{f.x.key}", f"{f.y.label} vs {f.x.label}", plots.pareto(f)) for f in summary.frontiers]
    names = [m.name for m in summary.combos]
    by_combo = summary.attempts_by_combo()
    out.append(plots.render("latency", "Task latency distribution", plots.latency_distribution(names, by_combo)))
    out.append(plots.render("cost", "Cost per task", plots.cost(summary.combos)))
    return out


def _clip(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else f"{text[:limit]}\n… ({len(text) - limit:,} more characters in attempts.csv)"


@dataclass(slots=True)
class Cell:
    label: str  # "passed", "2/3"
    css: str  # "ok", "bad", "mixed", "infra", "none"
    samples: list[dict[str, Any]] = field(default_factory=list)


def _cell(attempts: Sequence[Attempt]) -> Cell:
    if not attempts:
        return Cell(fmt.DASH, "none")
    scored = [a for a in attempts if a.outcome.scored]
    passed = sum(a.outcome is Outcome.PASSED for a in scored)
    if len(attempts) == 1:
        o = attempts[0].outcome
        css = "ok" if o is Outcome.PASSED else "infra" if o is Outcome.INFRA_ERROR else "bad"
        label = o.value
    elif not scored:
        label, css = "infra", "infra"
    else:
        label = f"{passed}/{len(scored)}"
        css = "ok" if passed == len(scored) else "bad" if passed == 0 else "mixed"
    samples = []
    for a in sorted(attempts, key=lambda a: a.sample):
        row = attempt_row(a)
        samples.append(
            {
                "sample": a.sample,
                "anchor": attempt_anchor(a.attempt_id),
                "extraction": describe(a.extraction) if a.extraction is not None else "",
                "turns": transcript(a),
                "outcome": a.outcome.value,
                "detail": a.detail,
                "code": _clip(a.code, _CODE_LIMIT),
                "completion": _clip(a.completion, _CODE_LIMIT) if not a.code else "",
                "stderr": _clip(row["stderr"], _OUTPUT_LIMIT),
                "stdout": _clip(row["stdout"], _OUTPUT_LIMIT),
                "timings": [
                    ("task", fmt.secs(a.task_time_s)),
                    ("model", fmt.secs(a.model_time_s)),
                    ("sandbox", fmt.secs(a.sandbox_time_s)),
                    ("TTFT", fmt.secs(row["ttft_s"])),
                    ("speed", fmt.speed(row["output_tokens_per_s"])),
                    (
                        "tokens in/out",
                        f"{fmt.count(row['prompt_tokens'])}/{fmt.count(row['completion_tokens'])}"
                        + (" (estimated)" if row["token_source"] == "estimated" else ""),
                    ),
                    ("calls", str(row["calls"])),
                    ("retries", str(row["retries"])),
                    ("cost", fmt.usd(a.cost_usd)),
                ],
            }
        )
    return Cell(label, css, samples)


def task_matrix(summary: Summary) -> tuple[list[str], list[tuple[str, list[Cell]]]]:
    """(combo names, [(task id, one cell per combo)]), tasks in suite order then any extra ones sorted."""
    names = [m.name for m in summary.combos]
    grouped: dict[tuple[str, str], list[Attempt]] = defaultdict(list)
    for a in summary.runset.attempts:
        grouped[(a.task_id, a.combo)].append(a)
    suite_ids = [str(t) for t in summary.runset.suite.get("ids") or []]
    seen = {t for t, _ in grouped}
    order = [t for t in suite_ids if t in seen] + sorted(seen - set(suite_ids))
    return names, [(t, [_cell(grouped.get((t, n), [])) for n in names]) for t in order]


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
    return env


def render_html(summary: Summary, figures: Sequence[plots.Plot], budgets: Sequence[BudgetSection] = ()) -> str:
    names, matrix = task_matrix(summary)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            s=summary,
            plots={p.name: p for p in figures},
            budgets=list(budgets),
            names=names,
            matrix=matrix,
            manifests=[
                (r.run_id, json.dumps(r.manifest, indent=2, sort_keys=True, default=str)) for r in summary.runset.runs
            ],
            summary_runs=[run_info(r) for r in summary.runset.runs],
            version=__version__,
            outcome_names=[o.value for o in Outcome],
            abbrev=fmt.OUTCOME_ABBREV,
            DASH=fmt.DASH,
        )
    )
