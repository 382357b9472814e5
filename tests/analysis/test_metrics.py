from __future__ import annotations

import math

import pytest
from scipy.stats import beta

from ripsaw.analysis.metrics import combo_metrics, pass_at_k, pass_at_k_over_tasks, percentile, proportion, run_metrics
from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from tests.support.synth import Combo, make_attempt, outcomes, task_ids

Z95 = 1.959963984540054


def test_pass_at_k_equals_the_binomial_definition() -> None:
    for n in range(1, 12):
        for c in range(n + 1):
            for k in range(1, n + 1):
                expected = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n() -> None:
    # C(200, 100) overflows a float; the product form does not.
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)
    assert pass_at_k(200, 0, 100) == 0.0
    assert pass_at_k(200, 101, 100) == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(3, 1, 0), (3, 1, 4), (3, 4, 1), (0, 0, 1)])
def test_pass_at_k_rejects_impossible_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_pass_at_k_over_tasks_leaves_out_tasks_with_too_few_samples() -> None:
    e = pass_at_k_over_tasks({"a": (3, 1), "b": (3, 0), "c": (2, 2)}, 3)
    assert e.value == pytest.approx(0.5)  # a: 1.0, b: 0.0; c has only 2 samples
    assert e.n == 2
    assert "1 tasks with fewer than 3" in e.method


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (8, 20), (1, 1)])
def test_wilson_interval_matches_the_closed_form(k: int, n: int) -> None:
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    e = proportion(k, n)
    assert e.value == pytest.approx(p)
    assert e.lo == pytest.approx(max(0.0, centre - half), abs=1e-9)
    assert e.hi == pytest.approx(min(1.0, centre + half), abs=1e-9)
    assert e.n == n and "Wilson" in e.method


def test_clopper_pearson_matches_beta_quantiles() -> None:
    e = proportion(8, 20, "clopper-pearson")
    assert e.lo == pytest.approx(beta.ppf(0.025, 8, 13))
    assert e.hi == pytest.approx(beta.ppf(0.975, 9, 12))


def test_proportion_of_nothing_is_undefined() -> None:
    e = proportion(0, 0)
    assert (e.value, e.lo, e.hi, e.n) == (None, None, None, 0)


def test_percentile_values_and_guards() -> None:
    values = [(i + 1) / 10 for i in range(20)]
    p50 = percentile(values, 50)
    assert p50.value == pytest.approx(1.05)
    assert percentile(values, 90).value == pytest.approx(1.81)
    assert p50.lo is not None and p50.hi is not None and p50.lo <= 1.05 <= p50.hi
    assert percentile(values, 50) == p50  # fixed seed: reproducible
    assert "bootstrap" in p50.method and p50.n == 20
    assert percentile([], 50).value is None
    one = percentile([3.0], 90)
    assert (one.value, one.lo, one.hi, one.n) == (3.0, None, None, 1)
    flat = percentile([2.0, 2.0, 2.0], 50)
    assert (flat.value, flat.lo, flat.hi) == (2.0, 2.0, 2.0)


def _metrics(c: Combo, tasks: int, samples: int = 1, slo: float | None = None):  # type: ignore[no-untyped-def]
    ids = task_ids(tasks)
    attempts = [
        make_attempt("r", c, ids[i // samples], i % samples, Outcome(o), t)
        for i, (o, t) in enumerate(zip(c.outcomes, c.task_times, strict=True))
    ]
    return combo_metrics(c.name, attempts, samples=samples, latency_slo_s=slo)


def test_combo_metrics_on_known_data() -> None:
    times = [(i + 1) / 10 for i in range(20)]
    outs = outcomes(8, 18) + [Outcome.INFRA_ERROR] * 2
    m = _metrics(Combo("fast", outs, times, cost_usd=0.002), 20, slo=0.5)
    assert (m.attempts, m.scored, m.passed, m.infra_errors, m.tasks) == (20, 18, 8, 2, 18)
    assert m.outcomes["passed"] == 8 and m.outcomes["failed"] == 10 and m.outcomes["timeout"] == 0
    assert m.pass_rate.value == pytest.approx(8 / 18) and m.pass_rate.n == 18
    assert m.pass_at_k[1].value == pytest.approx(8 / 18)
    # task latency over the 18 scored attempts only: 0.1 .. 1.8 s
    assert m.latency_p50.value == pytest.approx(0.95)
    assert m.ttft_p50.value == pytest.approx(0.25)
    assert m.speed_median.value == pytest.approx(50.0)  # (101 - 1) tokens over 2 s, by construction
    assert "server-reported" in m.speed_median.method
    assert m.tokens.completion == 18 * 101 and m.tokens.prompt == 18 * 200 and m.tokens.reasoning is None
    assert m.tokens.source == "server"
    assert m.cost_per_task.value == pytest.approx(0.002)
    assert m.cost_per_solved.value == pytest.approx(18 * 0.002 / 8)
    assert m.cost_total_usd == pytest.approx(20 * 0.002)  # infra errors cost money too
    # passed tasks are 0-7 with times 0.1-0.8 s: 5 of them within 0.5 s, over 18 scored
    assert m.goodput.value == pytest.approx(5 / 18)


def test_token_sources_are_labelled() -> None:
    m = _metrics(Combo("c", outcomes(1, 2), [1.0, 2.0], token_source="estimated"), 2)
    assert m.tokens.source == "estimated" and m.tokens.approximate
    assert "estimated by Ripsaw" in m.speed_median.method
    m = _metrics(Combo("c", outcomes(1, 2), [1.0, 2.0], token_source="tokenizer"), 2)
    assert m.tokens.source == "tokenizer" and not m.tokens.approximate
    assert "model's tokenizer" in m.speed_median.method


def test_pass_at_k_with_samples() -> None:
    # 2 tasks x 3 samples: task 0 passes once, task 1 never
    outs = [Outcome.PASSED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED]
    m = _metrics(Combo("c", outs, [1.0] * 6), 2, samples=3)
    assert m.pass_at_k[1].value == pytest.approx((1 / 3 + 0) / 2)
    assert m.pass_at_k[2].value == pytest.approx((2 / 3 + 0) / 2)
    assert m.pass_at_k[3].value == pytest.approx(0.5)
    assert sorted(m.pass_at_k) == [1, 2, 3]


def test_missing_timings_and_costs_are_undefined_not_nan() -> None:
    m = _metrics(Combo("plain", outcomes(1, 3), [1.0, 2.0, 3.0], ttft_s=None, cost_usd=None), 3)
    assert m.ttft_p50.value is None and m.speed_median.value is None
    assert m.cost_per_task.value is None and m.cost_per_solved.value is None and m.cost_total_usd is None
    assert any("no streaming timings" in w for w in m.warnings)
    assert any("cost unknown for 3 of 3" in w for w in m.warnings)
    assert m.goodput.value is None and m.goodput.method == "no latency SLO set"


def test_only_infra_errors() -> None:
    m = _metrics(Combo("down", [Outcome.INFRA_ERROR] * 4, [0.1] * 4), 4)
    assert (m.scored, m.infra_errors) == (0, 4)
    assert m.pass_rate.value is None and m.latency_p50.value is None and m.pass_at_k[1].value is None
    assert any("infra error" in w for w in m.warnings)


def test_zero_cost_without_passes() -> None:
    m = _metrics(Combo("free", outcomes(0, 3), [1.0, 1.0, 1.0], cost_usd=0.0), 3)
    assert m.cost_per_task.value == 0.0 and m.cost_per_solved.value is None


def test_run_metrics_lists_manifest_combos_even_without_attempts(three_combo_run) -> None:  # type: ignore[no-untyped-def]
    store = RunStore(three_combo_run)
    manifest = store.manifest()
    manifest["combos"].append({"name": "never-ran", "provider": "openai", "model": "m", "hardware": "gpu"})
    ms = run_metrics(manifest, store.attempts())
    assert [m.name for m in ms] == ["fast", "accurate", "slowbad", "never-ran"]
    empty = ms[-1]
    assert (empty.attempts, empty.pass_rate.value, empty.hardware) == (0, None, "gpu")
    assert ms[0].latency_slo_s == 1.0  # from the manifest's run table
    assert ms[0].goodput.value == pytest.approx(8 / 20)  # fast passes tasks 0-7 at 0.1-0.8 s
