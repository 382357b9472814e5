from __future__ import annotations

from pathlib import Path

import pytest

from ripsaw.analysis.compare import compare
from ripsaw.analysis.metrics import Estimate
from ripsaw.analysis.pareto import LATENCY_P50, PASS_RATE, frontier
from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.records import Attempt, Outcome
from tests.support.synth import Combo, make_attempt, task_ids


def _attempts(name: str, passed: set[int], times: list[float], *, infra: frozenset[int] = frozenset()) -> list[Attempt]:
    ids = task_ids(len(times))
    c = Combo(name, [], [])
    return [
        make_attempt(
            "r",
            c,
            ids[i],
            0,
            Outcome.INFRA_ERROR if i in infra else Outcome.PASSED if i in passed else Outcome.FAILED,
            t,
        )
        for i, t in enumerate(times)
    ]


def test_exact_mcnemar_on_discordant_pairs() -> None:
    a = _attempts("a", set(range(10)), [1.0] * 20)  # passes 0-9
    b = _attempts("b", {0, 1, 10}, [1.0] * 20)  # passes 0, 1, 10
    cmp = compare("a", a, "b", b)
    p = cmp.passes
    assert (p.pairs, p.both, p.a_only, p.b_only, p.neither) == (20, 2, 8, 1, 9)
    assert p.p_value == pytest.approx(20 / 512)  # 2 * (C(9,0) + C(9,1)) / 2^9
    assert p.verdict == "better"
    assert p.diff == pytest.approx(0.35)
    assert compare("b", b, "a", a).passes.verdict == "worse"
    assert "a is better than b" in cmp.sentence


def test_small_difference_is_not_distinguishable() -> None:
    a = _attempts("a", {0, 1, 2, 3}, [1.0] * 10)
    b = _attempts("b", {0, 1}, [1.0] * 10)
    p = compare("a", a, "b", b).passes
    assert p.p_value == pytest.approx(0.5) and p.verdict == "not distinguishable"


def test_pairs_skip_infra_errors_and_missing_tasks() -> None:
    a = _attempts("a", {0}, [1.0] * 10, infra={3})
    b = _attempts("b", {0}, [1.0] * 8)
    assert compare("a", a, "b", b).passes.pairs == 7
    none = compare("a", a, "c", [])
    assert none.passes.verdict == "no shared attempts" and none.latency.verdict == "no shared attempts"
    assert "no paired comparison" in none.sentence


def test_paired_bootstrap_latency() -> None:
    fast = _attempts("fast", set(), [1.0 + 0.01 * i for i in range(20)])
    slow = _attempts("slow", set(), [10.0 + 0.01 * i for i in range(20)])
    lat = compare("fast", fast, "slow", slow).latency
    assert lat.diff == pytest.approx(-9.0)
    assert lat.hi is not None and lat.hi < 0 and lat.verdict == "faster"
    same = compare("fast", fast, "fast2", _attempts("fast2", set(), [1.0 + 0.01 * i for i in range(20)])).latency
    assert same.verdict == "not distinguishable" and same.diff == 0


def _e(v: float | None, lo: float | None = None, hi: float | None = None) -> Estimate:
    return Estimate.of(v, lo, hi, n=10, method="test")


def test_frontier_membership() -> None:
    points = [
        ("fast", _e(1.0, 0.9, 1.1), _e(0.40, 0.35, 0.45)),
        ("accurate", _e(10.0, 9.0, 11.0), _e(0.75, 0.70, 0.80)),
        ("slowbad", _e(20.0, 19.0, 21.0), _e(0.30, 0.25, 0.35)),  # dominated by both, clearly
        ("close", _e(10.5, 9.5, 11.5), _e(0.72, 0.68, 0.76)),  # dominated by accurate, boxes overlap
        ("twin", _e(1.0), _e(0.40)),  # ties fast exactly: neither dominates the other
        ("unknown", _e(None), _e(0.9)),
    ]
    f = frontier(points, LATENCY_P50, PASS_RATE)
    status = {p.name: p.status for p in f.points}
    assert status == {
        "fast": "frontier",
        "accurate": "frontier",
        "slowbad": "dominated",
        "close": "not distinguishable",
        "twin": "frontier",
        "unknown": "no data",
    }
    by_name = {p.name: p for p in f.points}
    assert by_name["slowbad"].dominated_by == ("fast", "accurate", "twin")
    assert by_name["close"].overlaps == ("accurate",)
    assert [p.name for p in f.members] == ["fast", "twin", "accurate"]
    assert f.key == "latency_p50_vs_pass_rate"


def test_point_without_interval_overlaps_only_when_inside() -> None:
    f = frontier([("a", _e(1.0), _e(0.9)), ("b", _e(2.0), _e(0.8))], LATENCY_P50, PASS_RATE)
    assert f.status_of("b") == "dominated"


def test_frontiers_and_headline_of_synthetic_run(three_combo_run: Path) -> None:
    s = summarize(load_runs([three_combo_run]))
    p50 = s.frontier("latency_p50_vs_pass_rate")
    assert [p.name for p in p50.members] == ["fast", "accurate"]
    assert p50.status_of("slowbad") == "dominated"
    assert [p.name for p in s.frontier("latency_p90_vs_pass_rate").members] == ["fast", "accurate"]
    # every combo costs $0: accurate dominates on cost; fast's pass-rate interval overlaps accurate's
    cost = s.frontier("cost_per_task_vs_pass_rate")
    assert [p.name for p in cost.members] == ["accurate"]
    assert cost.status_of("fast") == "not distinguishable" and cost.status_of("slowbad") == "dominated"
    assert s.headline == (
        "At p50 ≤ 1.05 s, fast dominates (pass@1 40.0%); accurate is 35 pts more accurate but 10× slower (p50 10.5 s): "
        "it solves 7 more of 20 tasks (paired McNemar p=0.016)."
    )
    fa = s.comparison("fast", "accurate")
    assert fa is not None and fa.passes.verdict == "worse" and fa.passes.p_value == pytest.approx(2 / 128)
    assert fa.latency.verdict == "faster"


def test_the_smallest_detectable_difference_shrinks_with_the_run_and_grows_with_disagreement() -> None:
    from ripsaw.analysis.compare import detectable_difference

    small = detectable_difference(15, 8)
    big = detectable_difference(164, 40)
    assert small is not None and big is not None
    # (1.96 + 0.8416) * sqrt(psi / n): 15 pairs, 8 discordant -> 0.5283; 164 pairs, 40 discordant -> 0.1080
    assert abs(small.value - 0.5283) < 1e-3 and abs(big.value - 0.1080) < 1e-3
    assumed = detectable_difference(20)
    assert assumed is not None and assumed.assumed and abs(assumed.value - 0.4430) < 1e-3
    assert "about 11 points" in big.sentence and detectable_difference(0) is None
