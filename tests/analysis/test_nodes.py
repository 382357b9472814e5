"""Latency by cluster node and the bias rule (ripsaw.analysis.nodes), on attempts whose placement and speed are set
by hand: a slow node and a fast one, combos spread evenly or not."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ripsaw.analysis.nodes import node_breakdown
from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome, Placement
from ripsaw.report.exports import summary_markdown
from ripsaw.report.html import build_charts, render_html
from tests.support.synth import Combo, make_attempt, write_run

SLOW, FAST = "a" * 56, "b" * 56


def attempts(combo: str, on_slow: int, on_fast: int, *, slow_factor: float = 1.5) -> list[Attempt]:
    """`on_slow` attempts on SLOW (calls `slow_factor` times longer per token), `on_fast` on FAST."""
    out = []
    for i, node in enumerate([SLOW] * on_slow + [FAST] * on_fast):
        speed = 50.0 / (slow_factor if node == SLOW else 1.0)
        a = make_attempt("run", Combo(combo, [], [], speed_tok_s=speed), f"t/{i}", 0, Outcome.PASSED, 2.0)
        a.placement = Placement("ray", host=node[:4], node_id=node, cpu_model="cpu " + node[0], cpus=2)
        out.append(a)
    return out


def test_even_spread_over_differing_nodes_is_measured_but_not_flagged() -> None:
    b = node_breakdown(attempts("x", 5, 5) + attempts("y", 5, 5))
    assert b is not None and [n.node_id for n in b.nodes] == [SLOW, FAST]
    slow, fast = b.nodes
    assert slow.speed_index is not None and fast.speed_index is not None
    # E2E per output token: 0.25 s to the first token, then 100 tokens at 50 or 33.3 tokens a second.
    assert slow.speed_index / fast.speed_index == pytest.approx((0.25 + 3.0) / (0.25 + 2.0))
    assert {(r.combo, r.node_id, r.attempts, r.share) for r in b.rows} == {
        (c, n, 5, 0.5) for c in ("x", "y") for n in (SLOW, FAST)
    }
    assert b.warnings == []


def test_a_combo_gathered_on_the_slow_node_is_flagged() -> None:
    b = node_breakdown(attempts("x", 9, 1) + attempts("y", 1, 9))
    assert b is not None and len(b.warnings) == 2
    x = next(w for w in b.warnings if w.startswith("x:"))
    assert "90% of its attempts ran on node aaaaaaaa (the run: 50%)" in x
    assert "node aaaaaaaa takes 44% longer per output token than node bbbbbbbb" in x


def test_uneven_over_alike_nodes_is_not_flagged() -> None:
    b = node_breakdown(attempts("x", 9, 1, slow_factor=1.05) + attempts("y", 1, 9, slow_factor=1.05))
    assert b is not None and b.warnings == []


def test_nodes_no_combo_shares_cannot_be_compared_and_that_is_flagged() -> None:
    b = node_breakdown(attempts("x", 10, 0) + attempts("y", 0, 10))  # one combo per node: the worst case
    assert b is not None and all(n.speed_index is None for n in b.nodes)
    assert len(b.warnings) == 2 and all("no combo ran both on node" in w for w in b.warnings)


def test_one_node_or_the_local_executor_has_no_breakdown() -> None:
    assert node_breakdown(attempts("x", 4, 0)) is None
    local = [dataclasses.replace(a, placement=Placement("local")) for a in attempts("x", 2, 2)]
    assert node_breakdown(local) is None


def test_the_summary_json_markdown_and_report_carry_it(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, [Combo("x", [], []), Combo("y", [], [])], tasks=10, run_id="run")
    with RunStore(run_dir) as store:
        for a in attempts("x", 9, 1) + attempts("y", 1, 9):
            store.append(a)
    summary = summarize(load_runs([run_dir]))
    assert summary.to_dict()["nodes"]["rule"] == {"uneven_share": 0.2, "nodes_differ": 0.2}
    assert len(summary.to_dict()["nodes"]["by_combo"]) == 4
    assert any("its latencies are biased by where it ran" in w for w in summary.warnings)
    assert "x: 90% of its attempts ran on node aaaaaaaa" in summary_markdown(summary)
    page = render_html(summary, build_charts(summary), plotly=False)
    assert 'id="nodes"' in page and "Latency by node" in page
    assert '<td><code>aaaaaaaa</code></td><td class="num">9 (90%)</td>' in page  # combo x on the slow node
