"""The budget part of a report: pass@budget curves, time to solve, crossovers and projections per run, as
figures (per run: all combos, both time bases) and per-turn transcripts.

    sections(runset.runs, profiles)              # -> [BudgetSection]: one per run, everything below together
    budget_figures(run, analyses)                # -> [Plot]: the PNG/SVG exports (matplotlib)
    budget_charts(run, analyses, combos)         # -> [Chart]: the interactive charts of report.html
(the analyses themselves: ripsaw.analysis.run_budgets)
    transcript(attempt)                          # -> one dict per turn, for the per-task details

Templates: `_budgets.html.j2` renders `budgets` (a list of BudgetSection); report.js renders a transcript's
turns inside an opened attempt.

Projections are separate analyses, labelled in their data, their figure titles and a watermark; they are never
drawn on a measured figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ripsaw.analysis.budgets import BASIS_LABELS, BasisView, BudgetAnalysis
from ripsaw.analysis.projection import HardwareProfile
from ripsaw.analysis.run_budgets import budget_json, function_level, run_budgets
from ripsaw.analysis.runs import Run
from ripsaw.names import slug
from ripsaw.records import Attempt, single_turn
from ripsaw.report import charts as interactive
from ripsaw.report import plots

_TEXT_LIMIT = 8_000  # characters of a reply, prompt or code a transcript cell shows


@dataclass(slots=True)
class BudgetSection:
    run: Run
    analyses: list[BudgetAnalysis]  # measured first, then projections
    figures: list[plots.Plot]  # per analysis: curves, time to solve (static exports)
    charts: list[interactive.Chart] = field(default_factory=list)  # per analysis, per time basis: curves, time to solve

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def figures_of(self, analysis: BudgetAnalysis) -> list[plots.Plot]:
        i = self.analyses.index(analysis)
        return self.figures[2 * i : 2 * i + 2]

    def charts_of(self, analysis: BudgetAnalysis) -> list[interactive.Chart]:
        per = 2 * len(analysis.views)
        i = self.analyses.index(analysis)
        return self.charts[per * i : per * (i + 1)]

    def to_dict(self) -> dict[str, Any]:
        return budget_json(self.run, self.analyses)


def sections(
    runs: Sequence[Run],
    profiles: Sequence[HardwareProfile] = (),
    *,
    figures: bool = True,
    measured: Mapping[str, BudgetAnalysis] | None = None,
) -> list[BudgetSection]:
    """One budget section per run that has scored attempts (figures=False for JSON-only output); `measured`:
    run id -> measured analyses already computed (Summary.measured_budgets)."""
    out = []
    for run in runs:
        if function_level(run.attempts):
            analyses = run_budgets(run, profiles, measured=(measured or {}).get(run.run_id))
            order = list(dict.fromkeys(a.combo for a in run.attempts))
            out.append(
                BudgetSection(
                    run,
                    analyses,
                    budget_figures(run, analyses) if figures else [],
                    budget_charts(run, analyses, order) if figures else [],
                )
            )
    return out


# -- figures ----------------------------------------------------------------------------------------------


def plot_name(run: Run, analysis: BudgetAnalysis, kind: str) -> str:
    which = "measured" if analysis.projection is None else f"projection-{analysis.projection['name']}"
    return slug(f"budget-{kind}-{run.run_id}-{which}")


def budget_figures(run: Run, analyses: Sequence[BudgetAnalysis]) -> list[plots.Plot]:
    out = []
    for a in analyses:
        prefix = f"{a.label} — " if a.projection is not None else ""
        out.append(plots.render(plot_name(run, a, "curves"), f"{prefix}pass@budget, run {run.run_id}", curves(a)))
        out.append(
            plots.render(plot_name(run, a, "solve"), f"{prefix}time to solve, run {run.run_id}", time_to_solve(a))
        )
    return out


def budget_charts(run: Run, analyses: Sequence[BudgetAnalysis], order: Sequence[str]) -> list[interactive.Chart]:
    out = []
    for a in analyses:
        stem, solve = plot_name(run, a, "curves"), plot_name(run, a, "solve")
        for view in a.views.values():
            out.append(interactive.budget_curves(f"{stem}-{view.basis}", stem, a, view, order))
        for view in a.views.values():
            out.append(interactive.time_to_solve(f"{solve}-{view.basis}", solve, a, view, order))
    return out


def curves(analysis: BudgetAnalysis) -> Figure:
    """pass@budget(b) per combo, one panel per time basis; crossovers marked, inexact stretches greyed."""
    return _panels(analysis, _draw_curves, "pass@budget (%)")


def time_to_solve(analysis: BudgetAnalysis) -> Figure:
    """Kaplan–Meier fraction solved by t per combo, with its 95% band, one panel per time basis."""
    return _panels(analysis, _draw_km, "solved by t (%)")


def _panels(analysis: BudgetAnalysis, draw: Callable[[Axes, BudgetAnalysis, BasisView], None], ylabel: str) -> Figure:
    with matplotlib.rc_context(plots._RC):
        fig = Figure(figsize=(9.5, 3.8), layout="constrained")
        axes = fig.subplots(1, len(analysis.views), sharey=True, squeeze=False)[0]
        for ax, view in zip(axes, analysis.views.values(), strict=True):
            draw(ax, analysis, view)
            ax.set_title(BASIS_LABELS[view.basis])
            ax.set_xlabel("budget per task (s)")
            # Log: the curves move in the first seconds and are flat for most of a long budget.
            ax.set_xscale("log")
            ax.set_xlim(_first_moment(view, analysis.max_budget_s) / 1.5, analysis.max_budget_s * 1.05)
            ax.set_ylim(-3, 103)
            ax.grid(alpha=0.25)
        axes[0].set_ylabel(ylabel)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            axes[-1].legend(handles, labels, loc="lower right", frameon=False)
        if analysis.projection is not None:
            fig.suptitle(analysis.label, color="#b42318")
            for ax in axes:
                ax.text(0.5, 0.5, "PROJECTION", transform=ax.transAxes, ha="center", va="center", fontsize=28,
                        color="#b42318", alpha=0.12, rotation=20)  # fmt: skip
    return fig


def _first_moment(view: BasisView, end: float) -> float:
    """The earliest positive time any curve steps at (a log axis cannot start at 0)."""
    times = [s.budget_s for c in view.curves for s in c.steps if s.budget_s > 0]
    times += [t for k in view.time_to_solve for t in k.times if t > 0]
    return max(min(times, default=end), 1e-3)


def _style(analysis: BudgetAnalysis) -> dict[str, Any]:
    return {"ls": "--"} if analysis.projection is not None else {}


def _draw_curves(ax: Axes, analysis: BudgetAnalysis, view: BasisView) -> None:
    for i, c in enumerate(view.curves):
        xs = [s.budget_s for s in c.steps] + [c.max_budget_s]
        ys = [100 * (s.rate or 0.0) for s in c.steps]
        ax.step(
            xs, [*ys, ys[-1]], where="post", color=f"C{i}", lw=1.6, label=f"{c.combo} (n={c.n})", **_style(analysis)
        )
    exact = min((c.exact_until_s for c in view.curves), default=analysis.max_budget_s)
    if exact < analysis.max_budget_s:
        ax.axvspan(exact, analysis.max_budget_s, color="#8b949e", alpha=0.12, lw=0)
        ax.text(exact, 101, " recorded candidates only", fontsize=7, color="#57606a", va="bottom")
    for x in view.crossovers:
        y = 100 * (view.curve(x.leader).at(x.at_s).rate or 0.0)
        ax.plot([x.at_s], [y], marker="x", color="#24292f", ms=7)
        ax.annotate(f"{x.leader} ahead\nfrom {x.at_s:.3g} s", (x.at_s, y), xytext=(6, -18), textcoords="offset points",
                    fontsize=7)  # fmt: skip


def _draw_km(ax: Axes, analysis: BudgetAnalysis, view: BasisView) -> None:
    for i, k in enumerate(view.time_to_solve):
        xs = [0.0, *k.times, analysis.max_budget_s]
        ys = [0.0, *(100 * s for s in k.solved)]
        ax.step(
            xs, [*ys, ys[-1]], where="post", color=f"C{i}", lw=1.6, label=f"{k.combo} (n={k.n})", **_style(analysis)
        )
        if any(lo is not None for lo in k.lo):
            lo = [0.0, *(100 * (v if v is not None else s) for v, s in zip(k.lo, k.solved, strict=True))]
            hi = [0.0, *(100 * (v if v is not None else s) for v, s in zip(k.hi, k.solved, strict=True))]
            ax.fill_between(xs, [*lo, lo[-1]], [*hi, hi[-1]], step="post", color=f"C{i}", alpha=0.12, lw=0)


# -- transcripts ------------------------------------------------------------------------------------------


def _clip(text: str) -> str:
    return (
        text if len(text) <= _TEXT_LIMIT else f"{text[:_TEXT_LIMIT]}\n… ({len(text) - _TEXT_LIMIT:,} more characters)"
    )


def transcript(attempt: Attempt) -> list[dict[str, Any]]:
    """Each turn of an attempt: what was added to the prompt, the reply, the candidate, the public-test output
    (what the model was shown), the hidden verdict and the timing. Records without turns give their one call."""
    out = []
    for t in attempt.turns or [single_turn(attempt)]:
        call = attempt.calls[t.call] if t.call is not None and t.call < len(attempt.calls) else None
        out.append(
            {
                "turn": t.index + 1,
                "kind": t.kind,
                "prompt_delta": _clip(t.prompt_delta),
                "reply": _clip(t.reply),
                "code": _clip(t.code),
                "public": t.public_outcome.value if t.public_outcome else None,
                "public_feedback": _clip(t.public_feedback),
                "hidden": t.hidden_outcome.value if t.hidden_outcome else None,
                "hidden_detail": t.hidden_detail,
                "cut": t.cut,
                "started_at_s": t.started_at_s,
                "submitted_at_s": t.submitted_at_s,
                "model_time_s": t.model_time_s,
                "sandbox_time_s": t.sandbox_time_s,
                "ttft_s": call.timing.ttft_s if call else None,
                "completion_tokens": t.completion_tokens,
                "token_source": t.token_source,
            }
        )
    return out
