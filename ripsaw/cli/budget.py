"""`ripsaw budget RUN_DIR`: pass@budget at chosen budgets, crossovers, time to solve, and hardware what-ifs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ripsaw.cli import options
from ripsaw.errors import ConfigError

if TYPE_CHECKING:
    from ripsaw.analysis.budgets import BudgetAnalysis
    from ripsaw.analysis.projection import HardwareProfile
    from ripsaw.records import Attempt

# scipy, pandas and matplotlib are imported inside the functions: `ripsaw --help` should not wait for them.


def text(analysis: BudgetAnalysis) -> str:
    from ripsaw.analysis import format as fmt
    from ripsaw.analysis.budgets import BASIS_LABELS

    lines: list[str] = []
    for view in analysis.views.values():
        lines.append(
            f"{analysis.label}: pass@budget, {BASIS_LABELS[view.basis]} (max budget {analysis.max_budget_s:g} s)"
        )
        marks = analysis.marks
        width = max([5, *(len(c.combo) for c in view.curves)])
        head = f"  {'combo':<{width}}  {'n':>4}" + "".join(f"{f'{m:g} s':>9}" for m in marks)
        lines.append(head + f"{'median solve':>14}{'exact to':>10}")
        for c, km in zip(view.curves, view.time_to_solve, strict=True):
            cells = "".join(f"{fmt.pct(c.at(m).rate, 0):>9}" for m in marks)
            exact = "" if c.exact_until_s >= analysis.max_budget_s else fmt.secs(c.exact_until_s)
            lines.append(f"  {c.combo:<{width}}  {c.n:>4}{cells}{fmt.secs(km.median_s):>14}{exact:>10}")
        for x in view.crossovers:
            level = f" (level from {fmt.secs(x.level_from_s)})" if x.level_from_s < x.at_s else ""
            caveat = "" if x.exact else " [beyond the exact range]"
            lines.append(f"  crossover: {x.leader} overtakes {x.overtaken} at {fmt.secs(x.at_s)}{level}{caveat}")
        best = [
            f"{fmt.secs(lead.from_s)}–{fmt.secs(lead.to_s)}: {', '.join(lead.combos)} ({fmt.pct(lead.rate, 0)})"
            for lead in view.leaders
            if len(lead.combos) < len(view.curves)
        ]
        if best:
            lines.append("  best per budget: " + "; ".join(best))
        lines.append("")
    lines += [f"note: {n}" for n in analysis.notes]
    return "\n".join(lines).rstrip()


def show_budgets(
    run_dir: Path,
    *,
    at: Sequence[float] = (),
    profile_names: Sequence[str] = (),
    profile_files: Sequence[Path] = (),
    as_json: bool = False,
) -> list[BudgetAnalysis]:
    from ripsaw.analysis.projection import load_profiles, pick
    from ripsaw.analysis.run_budgets import budget_json, function_level, max_budget_s, run_budgets
    from ripsaw.analysis.runs import load_run

    run = load_run(run_dir)
    if not function_level(run.attempts):
        profiles = pick(load_profiles(*profile_files), profile_names) if profile_names else []
        _show_agents(run.attempts, profiles, as_json)
        return []
    budget = max_budget_s(run)
    over = [b for b in at if b > budget]
    if over:
        raise ConfigError(f"--at {over[0]:g}: beyond the run's budget of {budget:g} s; a run says nothing past it")
    profiles = pick(load_profiles(*profile_files), profile_names) if profile_names else []
    analyses = run_budgets(run, profiles, marks=sorted(set(at)) or None)
    if as_json:
        click.echo(json.dumps(budget_json(run, analyses), indent=2, sort_keys=True))
    else:
        click.echo("\n\n".join(text(a) for a in analyses))
    return analyses


def _show_agents(attempts: Sequence[Attempt], profiles: Sequence[HardwareProfile], as_json: bool) -> None:
    """An agent run's pass@budget (its snapshots scored at each mark) and, per profile, the projected wall time."""
    from ripsaw.analysis import format as fmt
    from ripsaw.analysis.agents import agent_metrics, project

    by_combo: dict[str, list[Attempt]] = {}
    for a in attempts:
        by_combo.setdefault(a.combo, []).append(a)
    out: list[dict[str, Any]] = []
    for combo, mine in by_combo.items():
        m = agent_metrics(combo, mine)
        if m is None:
            continue
        projections = [p for p in (project(combo, mine, profile) for profile in profiles) if p is not None]
        out.append({**m.to_dict(), "projections": [p.to_dict() for p in projections]})
        if as_json:
            continue
        click.echo(f"{combo}: agent, {m.solved} of {m.attempts} solved ({fmt.pct_ci(m.pass_at_1)})")
        for r in m.marks:
            click.echo(f"  pass@{r.budget_s:g} s  {fmt.pct_ci(r.rate)}  (the workspace as the agent left it by then)")
        share = fmt.pct(m.amdahl_share)
        click.echo(f"  model generation was {share} of wall time (Amdahl: the most a faster model can take off)")
        for p in projections:
            click.echo(
                f"  PROJECTION at {p.profile.name} ({p.profile.summary}): median wall {fmt.secs(p.measured_wall_s)} "
                f"-> {fmt.secs(p.projected_wall_s)} ({p.speedup or 0:.2f}x sooner; tool and overhead time as measured)"
            )
    if as_json:
        click.echo(json.dumps({"agents": out}, indent=2, sort_keys=True))


@click.command("budget")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--at",
    "at",
    type=click.FloatRange(min=0, min_open=True),
    multiple=True,
    metavar="SECONDS",
    help="Budgets for the table (repeatable; default 5, 10, 30, 60, 120, 300, 600 s below the run's budget, "
    "and the budget itself).",
)
@options.profiles
@click.option("--json", "as_json", is_flag=True, help="Print the analyses as JSON.")
def command(
    run_dir: Path, at: tuple[float, ...], profile_names: tuple[str, ...], profile_files: tuple[Path, ...], as_json: bool
) -> None:
    """Score a run as an anytime curve: pass@budget(b) for every budget b up to the run's own.

    The answer at budget b is the last candidate an attempt submitted by b, scored on the hidden tests; curves
    are shown on model + sandbox time (what the budget counted) and on model time only (sandbox time is the
    test machine's, not the combo's). With --profile, every model call is re-timed at the profile's TTFT and
    output speed and the curves recomputed: a PROJECTION, kept apart from the measured figures.
    """
    show_budgets(run_dir, at=at, profile_names=profile_names, profile_files=profile_files, as_json=as_json)
