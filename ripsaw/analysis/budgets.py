"""Anytime scoring: from one run at the maximum budget B, the pass rate at every budget b <= B.

Each attempt is a timeline of candidates, each stamped with the time it was submitted (ripsaw.records.Turn).
A run with budget b would have made exactly the same calls up to b and then been cut, so its answer is the
last candidate submitted by b: pass@budget(b) = the fraction of scored attempts whose answer at b passes
the hidden tests. Infra errors are left out, as everywhere in the metrics.

Two time bases:
- "wall": model time + public-test sandbox time, what the budget actually counted.
- "model": model time only. Sandbox time depends on the test machine, not the combo, so this view does not
  let a slow test machine penalise a fast model.

Exactness: a loop the budget stopped says nothing about the candidates it would have made with more time.
On the wall basis that point is B itself; on the model basis (and in projections, ripsaw.analysis.projection) it comes
earlier, at the attempt's recorded end on that basis. Each curve carries `exact_until_s`, the first such point
over its attempts; beyond it the curve shows what the recorded candidates give, not what a run would give.

Also here: time to solve (Kaplan–Meier: an attempt never solved is censored where its record ends, at most
at B), the budgets where one combo overtakes another, the best combo per budget and per-budget frontiers of
pass rate against money spent by that budget.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from scipy.stats import norm

from ripsaw.analysis.metrics import CONFIDENCE, Estimate, finite, proportion
from ripsaw.analysis.pareto import Axis, Frontier, frontier
from ripsaw.records import Attempt, Outcome, Turn, single_turn
from ripsaw.types import PriceCard

TimeBasis = Literal["wall", "model"]
BASES: tuple[TimeBasis, ...] = ("wall", "model")
BASIS_LABELS: dict[TimeBasis, str] = {"wall": "model + sandbox time", "model": "model time only"}
# Budgets tables show by default (those <= B), plus B itself.
DEFAULT_MARKS_S = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

# Seconds a turn's model call takes on some other hardware (ripsaw.analysis.projection); None keeps the recorded times.
Retime = Callable[[Turn], float]
Prices = Mapping[str, PriceCard]  # combo -> its prices


@dataclass(frozen=True, slots=True)
class Candidate:
    at_s: float  # when it became the attempt's answer
    passed: bool  # its hidden verdict


@dataclass(frozen=True, slots=True)
class Timeline:
    """One attempt on one time basis: its candidates in submission order and what its calls cost when."""

    combo: str
    task_id: str
    sample: int
    candidates: tuple[Candidate, ...]
    horizon_s: float = math.inf  # the record tells nothing after this (the budget stopped the loop here)
    spend: tuple[tuple[float, float | None], ...] = ()  # (call sent at, its cost in USD or None when unknown)

    def passes_at(self, budget_s: float) -> bool:
        """Whether the answer standing at `budget_s` (the last candidate submitted by then) passes."""
        standing = None
        for c in self.candidates:
            if c.at_s > budget_s:
                break
            standing = c
        return standing is not None and standing.passed

    @property
    def solved_s(self) -> float | None:
        """When a passing candidate first became the answer; None when none ever did."""
        return next((c.at_s for c in self.candidates if c.passed), None)

    def spent_by(self, budget_s: float) -> float | None:
        """USD of the calls sent before `budget_s` (a call in flight at the cut is paid for); None if unknown."""
        costs = [cost for at, cost in self.spend if at < budget_s]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)


def budget_stopped(attempt: Attempt) -> bool:
    """Whether the budget ended the attempt's loop (rather than the loop ending on its own)."""
    if attempt.stop_reason is not None:
        return attempt.stop_reason == "budget"
    return single_turn(attempt).cut == "budget" or attempt.outcome is Outcome.BUDGET_EXCEEDED


def timeline(
    attempt: Attempt,
    basis: TimeBasis = "wall",
    *,
    max_budget_s: float,
    retime: Retime | None = None,
    price: PriceCard | None = None,
) -> Timeline:
    """The attempt's candidates on one basis; with `retime`, each call re-timed and the times re-accumulated
    (sandbox time stays as measured on the wall basis; harness overhead between turns is left out)."""
    turns = attempt.turns or [single_turn(attempt)]
    candidates: list[Candidate] = []
    spend: list[tuple[float, float | None]] = []
    t = 0.0  # re-accumulated time (retime), or model time so far (measured, model basis)
    for turn in turns:
        if retime is not None:
            start = t
            t += retime(turn)
            at = t if turn.submitted_at_s is not None else None
            if basis == "wall":
                t += turn.sandbox_time_s
        elif basis == "wall":
            start, at = turn.started_at_s, turn.submitted_at_s
        else:
            start = t
            t += turn.model_time_s
            at = turn.model_elapsed_s if turn.submitted_at_s is not None else None
        if turn.call is not None:
            # Cached input is priced at its own rate, as the attempt's cost was (agent loops resend long prefixes).
            call = attempt.calls[turn.call] if turn.call < len(attempt.calls) else None
            cached = call.usage.cached_tokens if call is not None else None
            cost = None if price is None else price.cost_usd(turn.prompt_tokens, turn.completion_tokens, cached)
            spend.append((start, cost))
        if at is not None:
            candidates.append(Candidate(at, turn.hidden_outcome is Outcome.PASSED))
    horizon = math.inf
    if budget_stopped(attempt):
        horizon = max_budget_s if retime is None and basis == "wall" else t
    return Timeline(attempt.combo, attempt.task_id, attempt.sample, tuple(candidates), horizon, tuple(spend))


def timelines(
    attempts: Iterable[Attempt],
    basis: TimeBasis,
    *,
    max_budget_s: float,
    retime: Retime | None = None,
    prices: Prices | None = None,
) -> dict[str, list[Timeline]]:
    """Scored attempts (infra errors left out) as timelines, per combo in first-seen order."""
    out: dict[str, list[Timeline]] = defaultdict(list)
    for a in attempts:
        if a.outcome.scored:
            price = prices.get(a.combo) if prices is not None else None
            out[a.combo].append(timeline(a, basis, max_budget_s=max_budget_s, retime=retime, price=price))
    return dict(out)


# -- pass@budget curves ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    budget_s: float  # the value holds from this budget until the next step
    passed: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class BudgetCurve:
    """pass@budget(b) for one combo: a step function on [0, max_budget_s], first step at 0."""

    combo: str
    basis: TimeBasis
    max_budget_s: float
    steps: tuple[Step, ...]
    exact_until_s: float
    projection: str | None = None  # the hardware profile's name; None for measured curves

    @property
    def n(self) -> int:
        return self.steps[0].n

    def at(self, budget_s: float) -> Step:
        if budget_s < 0:
            raise ValueError(f"a budget is >= 0, got {budget_s}")
        i = bisect.bisect_right(self.steps, budget_s, key=lambda s: s.budget_s) - 1
        return self.steps[i]

    def estimate(self, budget_s: float) -> Estimate:
        step = self.at(budget_s)
        return proportion(step.passed, step.n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "combo": self.combo,
            "basis": self.basis,
            "projection": self.projection,
            "max_budget_s": self.max_budget_s,
            "exact_until_s": finite(self.exact_until_s),
            "n": self.n,
            "steps": [{"budget_s": s.budget_s, "passed": s.passed, "n": s.n, "rate": s.rate} for s in self.steps],
        }


def budget_curve(
    combo: str,
    lines: Sequence[Timeline],
    max_budget_s: float,
    basis: TimeBasis = "wall",
    *,
    projection: str | None = None,
) -> BudgetCurve:
    # One sweep over every candidate in time order (O(c log c), not a pass over every line at every time). A
    # candidate stands from the moment every candidate before it in its line was submitted (Timeline.passes_at
    # stops at the first later one), so its effective time is the running maximum of its line's times.
    events: list[tuple[float, int, int, bool]] = []
    for i, line in enumerate(lines):
        effective = -math.inf
        for j, c in enumerate(line.candidates):
            effective = max(effective, c.at_s)
            if effective <= max_budget_s:
                events.append((effective, i, j, c.passed))
    events.sort()
    standing = [False] * len(lines)
    passed = 0
    steps = [Step(0.0, 0, len(lines))]
    for k, (t, i, _, ok) in enumerate(events):
        passed += ok - standing[i]
        standing[i] = ok
        if k + 1 < len(events) and events[k + 1][0] == t:
            continue  # the budget t sees every candidate submitted at t
        if t <= 0.0:
            steps[0] = Step(0.0, passed, len(lines))
        elif passed != steps[-1].passed:
            steps.append(Step(t, passed, len(lines)))
    exact = min([max_budget_s, *(line.horizon_s for line in lines)])
    return BudgetCurve(combo, basis, max_budget_s, tuple(steps), exact, projection)


# -- time to solve (Kaplan–Meier) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    """The fraction of attempts solved by time t, with attempts never solved censored where their record ends.

    solved[i] is the fraction solved from times[i] on; lo/hi its pointwise 95% interval (Greenwood's variance
    on the log(-log) scale; None where undefined). An attempt counts as solved at the first moment a passing
    candidate was its answer, so solved(t) >= pass@budget(t) (a later failing candidate can replace it).
    """

    combo: str
    basis: TimeBasis
    n: int
    times: tuple[float, ...]
    at_risk: tuple[int, ...]
    events: tuple[int, ...]
    solved: tuple[float, ...]
    lo: tuple[float | None, ...]
    hi: tuple[float | None, ...]
    censored: int
    projection: str | None = None

    def solved_by(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t) - 1
        return self.solved[i] if i >= 0 else 0.0

    def quantile(self, q: float) -> float | None:
        """The first time by which a fraction q of attempts is solved; None when never reached."""
        return next((t for t, s in zip(self.times, self.solved, strict=True) if s >= q - 1e-12), None)

    @property
    def median_s(self) -> float | None:
        return self.quantile(0.5)

    def to_dict(self) -> dict[str, Any]:
        return {
            "combo": self.combo,
            "basis": self.basis,
            "projection": self.projection,
            "n": self.n,
            "censored": self.censored,
            "median_s": self.median_s,
            "steps": [
                {"t_s": t, "at_risk": r, "events": e, "solved": s, "lo": lo, "hi": hi}
                for t, r, e, s, lo, hi in zip(
                    self.times, self.at_risk, self.events, self.solved, self.lo, self.hi, strict=True
                )
            ],
        }


def time_to_solve(
    combo: str,
    lines: Sequence[Timeline],
    max_budget_s: float,
    basis: TimeBasis = "wall",
    *,
    projection: str | None = None,
) -> KaplanMeier:
    observed: list[tuple[float, bool]] = []  # (time, solved) ; unsolved = censored at that time
    for line in lines:
        end = min(line.horizon_s, max_budget_s)
        solved = line.solved_s
        observed.append((solved, True) if solved is not None and solved <= end else (end, False))
    z = float(norm.ppf(0.5 + CONFIDENCE / 2))
    times: list[float] = []
    at_risk: list[int] = []
    events: list[int] = []
    solved_frac: list[float] = []
    lo: list[float | None] = []
    hi: list[float | None] = []
    survival, greenwood = 1.0, 0.0
    event_times = sorted({t for t, ev in observed if ev})
    ends = sorted(u for u, _ in observed)
    deaths = Counter(u for u, ev in observed if ev)
    for t in event_times:
        r = len(ends) - bisect.bisect_left(ends, t)  # censored at t still at risk at t
        d = deaths[t]
        survival *= 1 - d / r
        greenwood = greenwood + d / (r * (r - d)) if r > d else math.inf
        times.append(t)
        at_risk.append(r)
        events.append(d)
        solved_frac.append(1 - survival)
        band = _loglog_band(survival, greenwood, z)
        lo.append(None if band is None else 1 - band[1])
        hi.append(None if band is None else 1 - band[0])
    censored = sum(1 for _, ev in observed if not ev)
    return KaplanMeier(
        combo, basis, len(lines), tuple(times), tuple(at_risk), tuple(events), tuple(solved_frac),
        tuple(lo), tuple(hi), censored, projection,
    )  # fmt: skip


def _loglog_band(survival: float, greenwood: float, z: float) -> tuple[float, float] | None:
    """Interval for S(t): S^exp(±z·se), se of log(-log S); undefined at S in {0, 1}."""
    if not 0 < survival < 1 or not math.isfinite(greenwood):
        return None
    se = math.sqrt(greenwood) / abs(math.log(survival))
    return survival ** math.exp(z * se), survival ** math.exp(-z * se)


# -- comparisons between curves -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crossover:
    """From budget `at_s` on, `leader` has the strictly higher pass@budget after `overtaken` had led."""

    at_s: float
    leader: str
    overtaken: str
    level_from_s: float  # where the two were first level before it (== at_s when the lead changed at once)
    exact: bool  # within both curves' exact range

    def to_dict(self) -> dict[str, Any]:
        return {
            "at_s": self.at_s,
            "leader": self.leader,
            "overtaken": self.overtaken,
            "level_from_s": self.level_from_s,
            "exact": self.exact,
        }


def _lead(a: Step, b: Step) -> int:
    """+1 when a's rate is higher, -1 when b's is, 0 when level (exact: cross-multiplied counts)."""
    diff = a.passed * b.n - b.passed * a.n
    return (diff > 0) - (diff < 0)


def crossovers(a: BudgetCurve, b: BudgetCurve) -> list[Crossover]:
    """Every budget at which the leader changes between a and b (ties in between are passed through)."""
    exact = min(a.exact_until_s, b.exact_until_s)
    out: list[Crossover] = []
    leader = 0
    level_from: float | None = None
    for t in sorted({s.budget_s for s in (*a.steps, *b.steps)}):
        if t > min(a.max_budget_s, b.max_budget_s):
            break
        sign = _lead(a.at(t), b.at(t))
        if sign == 0:
            if level_from is None:
                level_from = t
            continue
        if leader and sign != leader:
            new, old = (a.combo, b.combo) if sign > 0 else (b.combo, a.combo)
            out.append(Crossover(t, new, old, t if level_from is None else level_from, t <= exact))
        leader, level_from = sign, None
    return out


@dataclass(frozen=True, slots=True)
class Lead:
    """Over [from_s, to_s) the best pass@budget is `rate`, reached by `combos`."""

    from_s: float
    to_s: float
    combos: tuple[str, ...]
    passed: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        return {"from_s": self.from_s, "to_s": self.to_s, "combos": list(self.combos), "rate": self.rate}


def leaders(curves: Sequence[BudgetCurve]) -> list[Lead]:
    """The upper envelope of the curves: which combo to pick for each budget range."""
    if not curves:
        return []
    end = min(c.max_budget_s for c in curves)
    cuts = sorted({s.budget_s for c in curves for s in c.steps if s.budget_s < end})
    out: list[Lead] = []
    for lo, hi in pairwise([*cuts, end]):
        steps = [(c.combo, c.at(lo)) for c in curves if c.n]
        if not steps:
            continue
        best = max(steps, key=lambda cs: cs[1].passed / cs[1].n)[1]
        names = tuple(name for name, s in steps if _lead(s, best) == 0)
        if out and out[-1].combos == names and _lead(Step(0, out[-1].passed, out[-1].n), best) == 0:
            out[-1] = Lead(out[-1].from_s, hi, names, out[-1].passed, out[-1].n)
        else:
            out.append(Lead(lo, hi, names, best.passed, best.n))
    return out


def winner_changes(leads: Sequence[Lead]) -> list[Lead]:
    """The budgets where the best combo changes: consecutive stretches led by the same combos merged into one,
    its rate the best reached by the end of the stretch. What "best per budget" shows instead of every step."""
    out: list[Lead] = []
    for lead in leads:
        if out and out[-1].combos == lead.combos:
            out[-1] = Lead(out[-1].from_s, lead.to_s, lead.combos, lead.passed, lead.n)
        else:
            out.append(lead)
    return out


SPENT = Axis("cost_by_budget", "mean cost per task spent by the budget (USD)", "usd", True, lambda m: m.cost_per_task)
PASS_AT_BUDGET = Axis("pass_at_budget", "pass@budget", "fraction", False, lambda m: m.pass_rate)


def budget_frontier(
    curves: Sequence[BudgetCurve], lines: Mapping[str, Sequence[Timeline]], budget_s: float
) -> Frontier:
    """At one budget: which combos no other beats on both pass@budget and the money spent by that budget."""
    points = []
    for c in curves:
        spent = [line.spent_by(budget_s) for line in lines.get(c.combo, ())]
        known = [s for s in spent if s is not None]
        mean = sum(known) / len(known) if known and len(known) == len(spent) else None
        x = Estimate.of(mean, n=len(known), method="mean over attempts of the calls sent by the budget")
        points.append((c.combo, x, c.estimate(budget_s)))
    return frontier(points, SPENT, PASS_AT_BUDGET, label=f"budget {budget_s:g} s")


# -- everything for one run -----------------------------------------------------------------------------


@dataclass(slots=True)
class BasisView:
    basis: TimeBasis
    curves: list[BudgetCurve]
    time_to_solve: list[KaplanMeier]
    crossovers: list[Crossover]
    leaders: list[Lead]
    frontiers: list[Frontier]

    def curve(self, combo: str) -> BudgetCurve:
        return next(c for c in self.curves if c.combo == combo)

    def to_dict(self, marks: Sequence[float]) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "label": BASIS_LABELS[self.basis],
            "pass_at_budget": [
                {"combo": c.combo, "at": [{"budget_s": b, **c.estimate(b).to_dict()} for b in marks]}
                for c in self.curves
            ],
            "curves": [c.to_dict() for c in self.curves],
            "time_to_solve": [k.to_dict() for k in self.time_to_solve],
            "crossovers": [x.to_dict() for x in self.crossovers],
            "leaders": [lead.to_dict() for lead in self.leaders],
            "frontiers": [f.to_dict() for f in self.frontiers],
        }


@dataclass(slots=True)
class BudgetAnalysis:
    """Budget curves of one run's combos on both bases. `projection` (a profile's facts) marks a what-if."""

    max_budget_s: float
    marks: tuple[float, ...]
    views: dict[TimeBasis, BasisView]
    projection: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.projection is None:
            return "measured"
        return f"PROJECTION: {self.projection['name']} ({self.projection['summary']})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "measured": self.projection is None,
            "projection": self.projection,
            "max_budget_s": self.max_budget_s,
            "marks_s": list(self.marks),
            "views": {basis: view.to_dict(self.marks) for basis, view in self.views.items()},
            "notes": list(self.notes),
        }


def default_marks(max_budget_s: float) -> tuple[float, ...]:
    return tuple(sorted({*(m for m in DEFAULT_MARKS_S if m < max_budget_s), max_budget_s}))


def analyze(
    attempts: Sequence[Attempt],
    max_budget_s: float,
    *,
    prices: Prices | None = None,
    marks: Sequence[float] | None = None,
    retime: Retime | None = None,
    projection: dict[str, Any] | None = None,
) -> BudgetAnalysis:
    """Curves, time to solve, crossovers, leaders and per-budget frontiers for every combo in `attempts`."""
    if max_budget_s <= 0:
        raise ValueError(f"the maximum budget must be > 0, got {max_budget_s}")
    marks = tuple(marks) if marks is not None else default_marks(max_budget_s)
    name = projection["name"] if projection is not None else None
    views: dict[TimeBasis, BasisView] = {}
    for basis in BASES:
        lines = timelines(attempts, basis, max_budget_s=max_budget_s, retime=retime, prices=prices)
        curves = [budget_curve(c, ls, max_budget_s, basis, projection=name) for c, ls in lines.items()]
        kms = [time_to_solve(c, ls, max_budget_s, basis, projection=name) for c, ls in lines.items()]
        crosses = [x for i, a in enumerate(curves) for b in curves[i + 1 :] for x in crossovers(a, b)]
        crosses.sort(key=lambda x: x.at_s)
        fronts = [budget_frontier(curves, lines, m) for m in marks] if prices is not None else []
        views[basis] = BasisView(basis, curves, kms, crosses, leaders(curves), fronts)
    notes = []
    for basis, view in views.items():
        short = [c.combo for c in view.curves if c.exact_until_s < max_budget_s]
        if short:
            until = min(c.exact_until_s for c in view.curves)
            notes.append(
                f"{BASIS_LABELS[basis]}: beyond {until:.3g} s the curves of {', '.join(short)} show the recorded "
                "candidates only; the budget stopped some loops there, so more time could have added candidates"
            )
    return BudgetAnalysis(max_budget_s, marks, views, projection, notes)
