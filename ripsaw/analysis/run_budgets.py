"""Budget analyses of a whole run: its budget and prices read from the manifest, measured then projected.

analyses = run_budgets(run, profiles)        # measured first, then one projection per profile
budget_json(run, analyses)                   # -> summary.json "budgets" entry
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ripsaw.analysis.budgets import BudgetAnalysis, Prices, analyze
from ripsaw.analysis.projection import HardwareProfile, project
from ripsaw.analysis.runs import Run
from ripsaw.errors import ConfigError
from ripsaw.records import Attempt
from ripsaw.types import PriceCard


def max_budget_s(run: Run) -> float:
    budget = (run.manifest.get("run") or {}).get("budget_s")
    if not isinstance(budget, int | float) or isinstance(budget, bool) or budget <= 0:
        raise ConfigError(f"{run.dir}: the manifest records no run.budget_s; budget curves need the run's budget")
    return float(budget)


def prices(run: Run) -> Prices:
    out: dict[str, PriceCard] = {}
    for c in run.manifest.get("combos") or []:
        if isinstance(c, dict) and "name" in c:
            cached = c.get("price_cached_in_per_mtok")
            out[str(c["name"])] = PriceCard(
                float(c.get("price_in_per_mtok") or 0),
                float(c.get("price_out_per_mtok") or 0),
                None if cached is None else float(cached),
            )
    return out


def run_budgets(
    run: Run,
    profiles: Sequence[HardwareProfile] = (),
    marks: Sequence[float] | None = None,
    *,
    measured: BudgetAnalysis | None = None,
) -> list[BudgetAnalysis]:
    """The measured analysis of one run (`measured` when already computed), then one projection per profile."""
    budget, cost = max_budget_s(run), prices(run)
    out = [measured if measured is not None else analyze(run.attempts, budget, prices=cost, marks=marks)]
    out += [project(run.attempts, p, budget, prices=cost, marks=marks) for p in profiles]
    return out


def budget_json(run: Run, analyses: Sequence[BudgetAnalysis]) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "max_budget_s": analyses[0].max_budget_s if analyses else None,
        "measured": [a.to_dict() for a in analyses if a.projection is None],
        "projections": [a.to_dict() for a in analyses if a.projection is not None],
    }


def function_level(attempts: Sequence[Attempt]) -> bool:
    """Whether a run has scored attempts of solve loops (agents have their own pass@budget: their marks)."""
    return any(a.outcome.scored and a.agent is None for a in attempts)
