"""Latency by cluster node, per combo, and when node differences bias a combo (a run on more than one node).

Each attempt records where it ran (`Attempt.placement`). For a run whose attempts ran on two or more nodes:

- Per combo and node: attempts, their share of the combo, p50 task time, p50 TTFT, and the p50 model time per
  output token of its calls (E2E / completion tokens).
- A node's speed index: for each combo that ran on more than one node, the node's median time per output token
  for it over the geometric mean of that combo's per-node medians; the node's index is the median of these over
  combos. 1.0 is typical; of two nodes, the one at 1.2 took 44% longer per token than the one at 0.83 for the
  same combos. Per-node medians first, so a combo's majority node does not set its yardstick; only combos seen on
  several nodes can tell nodes apart (a combo on one node alone would compare the node with itself).
- The rule. A combo's spread is uneven when its share of attempts on some node is more than UNEVEN_SHARE (20
  points) off the run's share on that node. Nodes differ when their speed indexes are more than NODES_DIFFER (20%)
  apart, or when some node's index is unknown (no combo ran both there and elsewhere: nothing says it is alike).
  A combo that is spread unevenly over nodes that differ gets a warning: its latencies carry the nodes' difference,
  not only its own. Ripsaw's Ray executor interleaves combos and balances each over the nodes, so its own runs
  meet the rule unless a node was lost or joined mid-run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ripsaw.records import Attempt, ModelCall

UNEVEN_SHARE = 0.20
NODES_DIFFER = 0.20


@dataclass(slots=True)
class NodeInfo:
    node_id: str
    host: str
    cpu_model: str
    cpus: int | None
    attempts: int
    speed_index: float | None  # see the module doc; None when no combo ran both on it and elsewhere

    @property
    def label(self) -> str:
        return self.node_id[:8]


@dataclass(slots=True)
class ComboOnNode:
    combo: str
    node_id: str
    attempts: int
    share: float  # of the combo's attempts
    p50_task_s: float | None
    p50_ttft_s: float | None
    p50_s_per_token: float | None


@dataclass(slots=True)
class NodeBreakdown:
    nodes: list[NodeInfo]
    rows: list[ComboOnNode]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": {"uneven_share": UNEVEN_SHARE, "nodes_differ": NODES_DIFFER},
            "nodes": [
                {
                    "node_id": n.node_id,
                    "host": n.host,
                    "cpu_model": n.cpu_model,
                    "cpus": n.cpus,
                    "attempts": n.attempts,
                    "speed_index": _round(n.speed_index),
                }
                for n in self.nodes
            ],
            "by_combo": [
                {
                    "combo": r.combo,
                    "node_id": r.node_id,
                    "attempts": r.attempts,
                    "share": round(r.share, 4),
                    "p50_task_s": _round(r.p50_task_s),
                    "p50_ttft_s": _round(r.p50_ttft_s),
                    "p50_s_per_token": _round(r.p50_s_per_token, 6),
                }
                for r in self.rows
            ],
            "warnings": list(self.warnings),
        }


def _round(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(v, digits)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _s_per_token(call: ModelCall) -> float | None:
    n, e2e = call.usage.completion_tokens, call.timing.e2e_s
    return e2e / n if n and e2e is not None and e2e > 0 else None


def node_breakdown(attempts: list[Attempt]) -> NodeBreakdown | None:
    """The breakdown of scored attempts that ran on a cluster node; None when they ran on fewer than two nodes."""
    placed = [a for a in attempts if a.outcome.scored and a.placement is not None and a.placement.node_id]
    by_node: dict[str, list[Attempt]] = defaultdict(list)
    by_combo: dict[str, list[Attempt]] = defaultdict(list)
    for a in placed:
        assert a.placement is not None
        by_node[a.placement.node_id].append(a)
        by_combo[a.combo].append(a)
    if len(by_node) < 2:
        return None

    def node_of(a: Attempt) -> str:
        assert a.placement is not None
        return a.placement.node_id

    # Speed index: from each combo seen on several nodes, each node's median against the combo's typical node.
    ratios: dict[str, list[float]] = defaultdict(list)
    for attempts_of in by_combo.values():
        per_node: dict[str, list[float]] = defaultdict(list)
        for a in attempts_of:
            per_node[node_of(a)] += [t for c in a.calls if (t := _s_per_token(c)) is not None]
        medians = {node: m for node, times in per_node.items() if (m := _median(times))}
        if len(medians) < 2:
            continue
        typical = float(np.exp(np.mean(np.log(list(medians.values())))))
        for node_id, m in medians.items():
            ratios[node_id].append(m / typical)
    nodes = []
    for node_id, on in sorted(by_node.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        where = on[0].placement
        assert where is not None
        nodes.append(
            NodeInfo(node_id, where.host, where.cpu_model, where.cpus, len(on), _median(ratios.get(node_id, [])))
        )

    rows = []
    for combo, attempts_of in by_combo.items():
        for info in nodes:
            on = [a for a in attempts_of if node_of(a) == info.node_id]
            if not on:
                continue
            calls = [c for a in on for c in a.calls]
            rows.append(
                ComboOnNode(
                    combo,
                    info.node_id,
                    len(on),
                    len(on) / len(attempts_of),
                    _median([a.task_time_s for a in on]),
                    _median([t for c in calls if (t := c.timing.ttft_s) is not None]),
                    _median([t for c in calls if (t := _s_per_token(c)) is not None]),
                )
            )
    breakdown = NodeBreakdown(nodes, rows)
    breakdown.warnings = _warnings(breakdown, len(placed))
    return breakdown


def _warnings(b: NodeBreakdown, total: int) -> list[str]:
    indexes = [n.speed_index for n in b.nodes]
    known = [i for i in indexes if i is not None]
    if None in indexes:
        unknown = next(n.label for n in b.nodes if n.speed_index is None)
        differ = f"no combo ran both on node {unknown} and elsewhere"
    elif known and max(known) > (1 + NODES_DIFFER) * min(known):
        slow, fast = max(b.nodes, key=lambda n: n.speed_index or 0), min(b.nodes, key=lambda n: n.speed_index or 0)
        differ = (
            f"node {slow.label} takes {(slow.speed_index or 0) / (fast.speed_index or 1) - 1:.0%} longer per output "
            f"token than node {fast.label}"
        )
    else:
        return []
    run_share = {n.node_id: n.attempts / total for n in b.nodes}
    out = []
    for combo in dict.fromkeys(r.combo for r in b.rows):
        shares = {r.node_id: r.share for r in b.rows if r.combo == combo}
        gaps = {n.node_id: shares.get(n.node_id, 0.0) - run_share[n.node_id] for n in b.nodes}
        worst = max(gaps, key=lambda k: abs(gaps[k]))
        if abs(gaps[worst]) > UNEVEN_SHARE:
            out.append(
                f"{combo}: {shares.get(worst, 0.0):.0%} of its attempts ran on node {worst[:8]} (the run: "
                f"{run_share[worst]:.0%}), and the nodes differ ({differ}): its latencies are biased by where it ran"
            )
    return out
