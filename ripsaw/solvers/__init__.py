"""Solvers: how an attempt turns a task into a scored answer (`[run] strategy` / `[[combos]] strategy`).

    single     one completion, as classic harnesses do (single.py)
    repair     generate, run the public tests, show the model the failure, repeat (loops.py)
    sample-k   up to k independent samples; the first to pass the public tests ends the loop (loops.py)
    agent      a tool-using agent in a repository task's container (ripsaw.agents)
    scaffold:NAME  someone else's agent (mini-swe-agent, ...) in that container, timed through the proxy
               (ripsaw.agents.scaffold; the adapters are ripsaw.agents.scaffolds.SCAFFOLDS)

A solver is an async function (AttemptContext, AttemptUnit) -> Attempt (ripsaw.solvers.base.Solver).
prompts.py says what the model is shown; extract.py turns a reply into a candidate program.
Entry-point group: `ripsaw.solvers`.
"""

from __future__ import annotations

from ripsaw.registry import Registry
from ripsaw.solvers.base import Solver
from ripsaw.types import is_agent

__all__ = ["SOLVERS", "Solver", "is_agent", "solver", "strategy_names"]

SOLVERS: Registry[Solver] = Registry(
    "strategy",
    "ripsaw.solvers",
    {
        "single": "ripsaw.solvers.single:solve_single",
        "repair": "ripsaw.solvers.loops:solve_repair",
        "sample-k": "ripsaw.solvers.loops:solve_sample_k",
        "agent": "ripsaw.agents.loop:solve_agent",
    },
)


def strategy_names() -> list[str]:
    """Every strategy a spec may name: the solvers', then "scaffold:NAME" for each scaffold adapter."""
    from ripsaw.agents.scaffolds import strategy_names as scaffolds

    return SOLVERS.names() + scaffolds()


def solver(strategy: str) -> Solver:
    if strategy.startswith("scaffold:"):
        from ripsaw.agents.scaffold import scaffold_solver

        return scaffold_solver(strategy.removeprefix("scaffold:"))
    return SOLVERS.get(strategy)
