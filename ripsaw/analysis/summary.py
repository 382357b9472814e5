"""The summary of a run set: per-combo metrics, frontiers, paired comparisons and a one-sentence verdict.

`Summary.to_dict()` is summary.json; its schema is documented in docs/summary-schema.md and versioned by
SUMMARY_SCHEMA_VERSION (bump it when a field changes meaning or disappears; adding fields does not).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ripsaw import __version__
from ripsaw.analysis import format as fmt
from ripsaw.analysis.agents import AgentMetrics, AgentProjection, agent_metrics, project
from ripsaw.analysis.budgets import BudgetAnalysis
from ripsaw.analysis.compare import ALPHA, Comparison, DetectableDifference, compare, detectable_difference
from ripsaw.analysis.metrics import BOOTSTRAP_RESAMPLES, CONFIDENCE, DEFAULT_SEED, ComboMetrics, run_metrics
from ripsaw.analysis.nodes import NodeBreakdown, node_breakdown
from ripsaw.analysis.pareto import LATENCY_P50, Frontier, Point, standard_frontiers
from ripsaw.analysis.projection import HardwareProfile
from ripsaw.analysis.run_budgets import budget_json, function_level, run_budgets
from ripsaw.analysis.runs import Run, RunSet
from ripsaw.names import utc_now
from ripsaw.records import Attempt

SUMMARY_SCHEMA = "ripsaw.summary"
SUMMARY_SCHEMA_VERSION = 1


@dataclass(slots=True)
class Summary:
    runset: RunSet
    combos: list[ComboMetrics]
    frontiers: list[Frontier]
    comparisons: list[Comparison]
    headline: str
    alpha: float
    seed: int
    resamples: int
    latency_slo_override: float | None
    generated_at: str
    warnings: list[str] = field(default_factory=list)
    detectable: DetectableDifference | None = None  # beside the headline: what a gap of this run's size means
    agents: list[AgentMetrics] = field(default_factory=list)  # per combo with agent attempts (ripsaw.analysis.agents)
    nodes: NodeBreakdown | None = None  # latency by cluster node, when attempts ran on several (analysis.nodes)
    # Hardware what-ifs asked for (`ripsaw report --profile`): labelled projections, never measurements.
    profiles: list[HardwareProfile] = field(default_factory=list)
    agent_projections: list[AgentProjection] = field(default_factory=list)  # per agent combo and profile
    _budgets: dict[str, BudgetAnalysis] | None = field(default=None, init=False, repr=False)

    def measured_budgets(self) -> dict[str, BudgetAnalysis]:
        """run id -> the measured time-budget analysis of every run with scored attempts (computed once: the
        JSON and the report's budget section both read it)."""
        if self._budgets is None:
            self._budgets = {r.run_id: run_budgets(r)[0] for r in self.runset.runs if function_level(r.attempts)}
        return self._budgets

    def frontier(self, key: str) -> Frontier:
        return next(f for f in self.frontiers if f.key == key)

    def comparison(self, a: str, b: str) -> Comparison | None:
        return next((c for c in self.comparisons if (c.a, c.b) == (a, b)), None)

    def attempts_by_combo(self) -> dict[str, list[Attempt]]:
        out: dict[str, list[Attempt]] = defaultdict(list)
        for a in self.runset.attempts:
            out[a.combo].append(a)
        return out

    def schedule(self) -> list[dict[str, Any]]:
        """When each combo's attempts started (wall clock, from the records): interleaved remote combos overlap,
        local ones follow each other. Load drift over a run shows here."""
        rows = []
        for name, attempts in self.attempts_by_combo().items():
            starts = sorted(a.started_at for a in attempts if a.started_at)
            if starts:
                rows.append({"combo": name, "first_started_at": starts[0], "last_started_at": starts[-1],
                             "attempts": len(attempts)})  # fmt: skip
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SUMMARY_SCHEMA,
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "generated_at": self.generated_at,
            "generated_by": f"ripsaw {__version__}",
            "headline": self.headline,
            "minimum_detectable_difference": self.detectable.to_dict() if self.detectable else None,
            "settings": {
                "confidence": CONFIDENCE,
                "alpha": self.alpha,
                "bootstrap_resamples": self.resamples,
                "seed": self.seed,
                "latency_slo_s_override": self.latency_slo_override,
            },
            "task_suite": _suite(self.runset),
            "runs": [run_info(r) for r in self.runset.runs],
            "combos": [m.to_dict() for m in self.combos],
            "frontiers": [f.to_dict() for f in self.frontiers],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "budgets": [
                budget_json(r, [self.measured_budgets()[r.run_id]])
                for r in self.runset.runs
                if r.run_id in self.measured_budgets()
            ],
            "warnings": list(self.warnings),
            "schedule": self.schedule(),
            "agents": [m.to_dict() for m in self.agents],
            "nodes": self.nodes.to_dict() if self.nodes else None,
            "agent_projections": [p.to_dict() for p in self.agent_projections],
        }


def _suite(runset: RunSet) -> dict[str, Any]:
    s = runset.suite
    return {"source": s.get("source"), "count": s.get("count"), "hash": s.get("hash")}


def run_info(r: Run) -> dict[str, Any]:
    m = r.manifest
    run = m.get("run") or {}
    return {
        "run_id": r.run_id,
        "dir": str(r.dir),
        "status": r.status,
        "ripsaw_version": r.ripsaw_version,
        "started_at": m.get("started_at"),
        "ended_at": m.get("ended_at"),
        "spec_path": m.get("spec_path"),
        "spec_sha256": m.get("spec_sha256"),
        "sandbox": m.get("sandbox"),
        "host": m.get("host"),
        "samples": run.get("samples"),
        "budget_s": run.get("budget_s"),
        "latency_slo_s": run.get("latency_slo_s"),
        "attempts": len(r.attempts),
        "duplicate_records": r.duplicates,
    }


def summarize(
    runset: RunSet,
    *,
    latency_slo_s: float | None = None,
    alpha: float = ALPHA,
    seed: int = DEFAULT_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
    profiles: Sequence[HardwareProfile] = (),
) -> Summary:
    combos: list[ComboMetrics] = []
    for run in runset.runs:
        combos += run_metrics(run.manifest, run.attempts, latency_slo_s=latency_slo_s, seed=seed, resamples=resamples)
    by_combo: dict[str, list[Attempt]] = defaultdict(list)
    for a in runset.attempts:
        by_combo[a.combo].append(a)
    comparisons = [
        compare(a.name, by_combo[a.name], b.name, by_combo[b.name], alpha=alpha, seed=seed, resamples=resamples)
        for a, b in itertools.combinations(combos, 2)
    ]
    frontiers = standard_frontiers(combos)
    warnings = [
        f"run {r.run_id} is {r.status}: figures cover the attempts recorded so far"
        for r in runset.runs
        if r.status != "complete"
    ]
    warnings += [
        f"run {r.run_id}: {r.duplicates} duplicate record(s) of attempts already scored, ignored "
        "(a scored result is final; the file keeps them)"
        for r in runset.runs
        if r.duplicates
    ]
    warnings += [w for r in runset.runs if (w := _images_warning(r))]
    if len({r.ripsaw_version for r in runset.runs}) > 1:
        warnings.append("runs were made by different ripsaw versions")
    if runset.mixed_suites:
        warnings.append("runs were scored on different task suites: pass rates are not directly comparable")
    warnings += [f"{m.name}: {w}" for m in combos for w in m.warnings]
    summary = Summary(
        runset=runset,
        combos=combos,
        frontiers=frontiers,
        comparisons=comparisons,
        headline="",
        alpha=alpha,
        seed=seed,
        resamples=resamples,
        latency_slo_override=latency_slo_s,
        generated_at=utc_now(),
        warnings=warnings,
    )
    summary.agents = [m for c in combos if (m := agent_metrics(c.name, by_combo[c.name])) is not None]
    summary.profiles = list(profiles)
    summary.agent_projections = [
        p for m in summary.agents for profile in profiles if (p := project(m.combo, by_combo[m.combo], profile))
    ]
    summary.warnings += [
        f"{m.combo}: {m.tampered} agent verdict(s) tampered with (a hidden test that must fail passed): scored failed"
        for m in summary.agents
        if m.tampered
    ]
    summary.nodes = node_breakdown(runset.attempts)
    if summary.nodes is not None:
        summary.warnings += summary.nodes.warnings
    summary.headline = headline(combos, summary.frontier(f"{LATENCY_P50.key}_vs_pass_rate"), summary.comparison)
    summary.detectable = _detectable(combos, comparisons, alpha)
    return summary


def _images_warning(run: Run) -> str | None:
    """A cluster run whose nodes ran different sandbox, workspace or task images (the manifest's executor facts)."""
    executor = run.manifest.get("executor") or {}
    differ = executor.get("images_differ") or (["sandbox image"] if executor.get("sandbox_images_differ") else [])
    if not differ:
        return None
    return (
        f"run {run.run_id}: the cluster's nodes ran different images ({'; '.join(differ)}): a verdict may depend on "
        "the node it was scored on"
    )


def _detectable(combos: list[ComboMetrics], comparisons: list[Comparison], alpha: float) -> DetectableDifference | None:
    """For the run's largest paired comparison (observed discordance); for one combo, its scored attempts."""
    paired = [c.passes for c in comparisons if c.passes.pairs]
    if paired:
        best = max(paired, key=lambda p: p.pairs)
        return detectable_difference(best.pairs, best.a_only + best.b_only, alpha=alpha)
    scored = max((m.scored for m in combos), default=0)
    return detectable_difference(scored, alpha=alpha)


def headline(combos: list[ComboMetrics], latency: Frontier, comparison: Callable[[str, str], Comparison | None]) -> str:
    """One sentence a decision can start from, read off the p50-latency frontier.

    "At p50 ≤ 1.2 s, fast dominates (40.0%); accurate is 7 pts more accurate but 12× slower (p50 14 s)."
    """
    scored = [m for m in combos if m.scored]
    if not scored:
        return "No scored attempts yet: nothing to compare."
    if len(combos) == 1:
        # Nothing to choose between: what it scored, of how many, and how long a task took.
        m = combos[0]
        return f"{m.name}: {fmt.pct_ci(m.pass_rate)} of {m.scored}, p50 {fmt.secs(m.latency_p50)} per task."
    members = latency.members
    if not members:
        return "No combo has both a pass rate and a task latency: no frontier."
    first = members[0]
    parts = []
    if len(members) == 1:
        tied = [m.name for m in scored if m.name != first.name and m.pass_rate.value == first.y.value]
        accuracy = f"pass@1 tied with {', '.join(tied)}" if tied else "highest pass@1"
        text = (
            f"{first.name} dominates: fastest p50 task latency ({fmt.secs(first.x)}) and {accuracy} "
            f"({fmt.pct(first.y)})"
        )
    else:
        text = f"At p50 ≤ {fmt.secs(first.x)}, {first.name} dominates (pass@1 {fmt.pct(first.y)})"
    parts.append(text)
    for prev, nxt in itertools.pairwise(members):
        parts.append(_step(prev, nxt, comparison(prev.name, nxt.name)))
    close = [p.name for p in latency.points if p.status == "not distinguishable"]
    sentence = "; ".join(parts)
    if close:
        sentence += f"; not distinguishable from the frontier: {', '.join(close)}"
    return sentence + "."


def _step(prev: Point, nxt: Point, cmp: Comparison | None) -> str:
    assert prev.x.value is not None and nxt.x.value is not None and prev.y.value is not None and nxt.y.value is not None
    gain = fmt.points(nxt.y.value - prev.y.value)
    slower = (
        f"{fmt.ratio(nxt.x.value / prev.x.value)} slower"
        if prev.x.value > 0
        else f"{fmt.secs(nxt.x.value - prev.x.value)} slower"
    )
    text = f"{nxt.name} is {gain} more accurate but {slower} (p50 {fmt.secs(nxt.x)})"
    if cmp is None or cmp.passes.p_value is None:
        return text
    pairs = cmp.passes
    # cmp compares prev (A) with nxt (B): the tasks only the slower, more accurate combo solves, net.
    more = pairs.b_only - pairs.a_only
    if pairs.verdict == "not distinguishable":
        return text + f", a pass-rate difference that is not significant (McNemar p={pairs.p_value:.2g})"
    return text + f": it solves {more} more of {pairs.pairs} tasks (paired McNemar p={pairs.p_value:.2g})"
