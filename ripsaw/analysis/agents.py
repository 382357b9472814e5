"""Agent runs: pass rate against time-to-solve, where the time went, and pass@budget from the snapshots.

Per combo, over its scored agent attempts (strategy "agent"; infra errors are left out as everywhere):
- pass@1 with its Wilson interval; time-to-solve = the wall time of solved attempts (median, bootstrap interval);
- the time split: Σ model, Σ tools, Σ Ripsaw overhead over all attempts, and the Amdahl share = model / wall (the
  most a faster model could save);
- turns, output tokens and cost per solved task (totals over all attempts / solved attempts: what a solve costs);
- stop reasons, tampered verdicts (the sentinel passed), attempts with protected changes dropped, reward-trust ones;
- pass@budget: at each budget mark, the share of attempts whose workspace snapshot in force then passed the hidden
  tests (anytime scoring, one run at the largest budget).

The what-if (`project`) re-times every model call on a hardware profile (ripsaw.analysis.projection) and keeps the
commands' and Ripsaw's time as measured: how much sooner the same turns would have finished. It assumes the same
turns (same weights, same decoding), and is labelled a projection wherever it is shown.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ripsaw.analysis.metrics import Estimate, percentile, proportion
from ripsaw.analysis.projection import HardwareProfile
from ripsaw.records import Attempt, Outcome
from ripsaw.tokens import estimate_tokens


@dataclass(frozen=True, slots=True)
class MarkRate:
    budget_s: float
    rate: Estimate  # share of attempts whose workspace passed at this mark


@dataclass(frozen=True, slots=True)
class AgentMetrics:
    combo: str
    attempts: int  # scored
    solved: int
    pass_at_1: Estimate
    time_to_solve: Estimate  # p50 wall of solved attempts
    model_s: float
    tool_s: float
    overhead_s: float
    wall_s: float
    turns_per_solved: float | None
    tokens_per_solved: float | None
    cost_per_solved: float | None
    stop_reasons: dict[str, int] = field(default_factory=dict)
    tampered: int = 0
    dropped: int = 0
    reward_trust: int = 0
    marks: list[MarkRate] = field(default_factory=list)
    warm_hidden_share: float | None = None  # of the containers' start time, the share the first call hid

    @property
    def amdahl_share(self) -> float | None:
        """The fraction of wall time that was model generation: the most a faster model can take off."""
        return self.model_s / self.wall_s if self.wall_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "combo": self.combo,
            "attempts": self.attempts,
            "solved": self.solved,
            "pass_at_1": self.pass_at_1.to_dict(),
            "time_to_solve_p50_s": self.time_to_solve.to_dict(),
            "time_split_s": {"model": self.model_s, "tools": self.tool_s, "overhead": self.overhead_s},
            "wall_s": self.wall_s,
            "amdahl_share": self.amdahl_share,
            "turns_per_solved": self.turns_per_solved,
            "output_tokens_per_solved": self.tokens_per_solved,
            "cost_per_solved_usd": self.cost_per_solved,
            "stop_reasons": self.stop_reasons,
            "tampered": self.tampered,
            "dropped": self.dropped,
            "reward_trust": self.reward_trust,
            "pass_at_budget": [{"budget_s": m.budget_s, **m.rate.to_dict()} for m in self.marks],
            "warm_hidden_share": self.warm_hidden_share,
        }


def agent_attempts(attempts: Sequence[Attempt]) -> list[Attempt]:
    return [a for a in attempts if a.agent is not None and a.outcome.scored]


def _per_solved(total: float, solved: int) -> float | None:
    return total / solved if solved else None


def agent_metrics(combo: str, attempts: Sequence[Attempt]) -> AgentMetrics | None:
    """The figures of one combo's agent attempts; None when it has none."""
    scored = agent_attempts(attempts)
    if not scored:
        return None
    solved = [a for a in scored if a.outcome is Outcome.PASSED]
    agents = [a.agent for a in scored if a.agent is not None]
    tokens = sum(c.usage.completion_tokens or estimate_tokens(c.text) for a in scored for c in a.calls)
    costs = [a.cost_usd for a in scored]
    budgets = sorted({m.budget_s for g in agents for m in g.marks})
    marks = []
    for b in budgets:
        at = [m for g in agents for m in g.marks if m.budget_s == b]
        marks.append(MarkRate(b, proportion(sum(m.outcome is Outcome.PASSED for m in at), len(at))))
    warm = [(g.warm_s, g.warm_hidden_s) for g in agents if g.warm_s and g.warm_hidden_s is not None]
    return AgentMetrics(
        combo=combo,
        attempts=len(scored),
        solved=len(solved),
        pass_at_1=proportion(len(solved), len(scored)),
        time_to_solve=percentile([a.task_time_s for a in solved], 50),
        model_s=sum(g.model_time_s for g in agents),
        tool_s=sum(g.tool_time_s for g in agents),
        overhead_s=sum(g.overhead_s for g in agents),
        wall_s=sum(g.wall_s for g in agents),
        turns_per_solved=_per_solved(sum(len(g.turns) for g in agents), len(solved)),
        tokens_per_solved=_per_solved(tokens, len(solved)),
        cost_per_solved=None if any(c is None for c in costs) else _per_solved(sum(c or 0 for c in costs), len(solved)),
        stop_reasons=dict(Counter(a.stop_reason or "unknown" for a in scored).most_common()),
        tampered=sum(1 for g in agents if g.verdict is not None and g.verdict.tampered),
        dropped=sum(1 for g in agents if g.verdict is not None and g.verdict.dropped),
        reward_trust=sum(1 for g in agents if g.verdict is not None and g.verdict.trust == "reward"),
        marks=marks,
        warm_hidden_share=sum(h for _, h in warm) / sum(w for w, _ in warm) if warm else None,
    )


@dataclass(frozen=True, slots=True)
class AgentProjection:
    """A combo's agent attempts re-timed on a hardware profile: a projection, not a measurement."""

    combo: str
    profile: HardwareProfile
    measured_wall_s: float  # median over attempts
    projected_wall_s: float
    measured_model_share: float | None
    projected_model_share: float | None

    @property
    def speedup(self) -> float | None:
        return self.measured_wall_s / self.projected_wall_s if self.projected_wall_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "combo": self.combo,
            "profile": self.profile.to_dict(),
            "measured_wall_p50_s": self.measured_wall_s,
            "projected_wall_p50_s": self.projected_wall_s,
            "speedup": self.speedup,
            "measured_model_share": self.measured_model_share,
            "projected_model_share": self.projected_model_share,
            "label": "projection",
        }


def projected_wall_s(attempt: Attempt, profile: HardwareProfile) -> float:
    """The attempt's wall time had each of its model calls taken what `profile` takes for the same tokens; the
    commands and Ripsaw's own time as measured."""
    assert attempt.agent is not None
    model = sum(
        profile.call_time_s(c.usage.prompt_tokens, c.usage.completion_tokens or estimate_tokens(c.text))
        for c in attempt.calls
    )
    return model + attempt.agent.tool_time_s + attempt.agent.overhead_s


def project(combo: str, attempts: Sequence[Attempt], profile: HardwareProfile) -> AgentProjection | None:
    scored = [a for a in agent_attempts(attempts) if a.agent is not None]
    if not scored:
        return None
    measured = [a.agent.wall_s for a in scored if a.agent is not None]
    projected = [projected_wall_s(a, profile) for a in scored]
    model_now = sum(a.agent.model_time_s for a in scored if a.agent is not None)
    model_then = sum(
        p - a.agent.tool_time_s - a.agent.overhead_s for p, a in zip(projected, scored, strict=True) if a.agent
    )
    return AgentProjection(
        combo,
        profile,
        statistics.median(measured),
        statistics.median(projected),
        model_now / sum(measured) if sum(measured) > 0 else None,
        model_then / sum(projected) if sum(projected) > 0 else None,
    )
