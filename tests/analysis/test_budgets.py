"""The budget maths on hand-made turns: curves, exactness, Kaplan–Meier, crossovers, leaders, projections."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from ripsaw.analysis.budgets import (
    BudgetCurve,
    Candidate,
    Crossover,
    Lead,
    Step,
    Timeline,
    analyze,
    budget_curve,
    crossovers,
    time_to_solve,
    timeline,
    timelines,
)
from ripsaw.analysis.projection import HardwareProfile, load_profiles, project
from ripsaw.errors import ConfigError
from ripsaw.records import Attempt, CallTiming, ModelCall, Outcome, StopReason, Turn, Usage
from ripsaw.types import PriceCard

P, F = Outcome.PASSED, Outcome.FAILED


def turn(
    index: int,
    start: float,
    model: float,
    sandbox: float,
    hidden: Outcome | None,
    *,
    tokens: int = 10,
    model_before: float = 0.0,
    cut: bool = False,
) -> Turn:
    """A turn whose call started at `start` and took `model` s; its candidate's public run took `sandbox` s."""
    return Turn(
        index=index,
        kind="generate" if index == 0 else "repair",
        started_at_s=start,
        model_time_s=model,
        sandbox_time_s=sandbox,
        submitted_at_s=None if cut else start + model,
        model_elapsed_s=None if cut else model_before + model,
        hidden_outcome=None if cut else hidden,
        prompt_tokens=100,
        completion_tokens=tokens,
        call=index,
        cut="budget" if cut else None,
    )


def attempt(combo: str, task: str, turns: list[Turn], stop: StopReason, outcome: Outcome | None = None) -> Attempt:
    final = [t for t in turns if t.submitted_at_s is not None]
    out = outcome or (final[-1].hidden_outcome if final else Outcome.BUDGET_EXCEEDED)
    assert out is not None
    return Attempt(
        run_id="r", combo=combo, task_id=task, sample=0, outcome=out, strategy="repair", turns=turns, stop_reason=stop
    )


# fast: task a wrong at 1.0 (public run 0.5 s), right at 2.0; task b wrong at 1.0, wrong at 2.0 (max turns).
FAST = [
    attempt("fast", "a", [turn(0, 0.0, 1.0, 0.5, F), turn(1, 1.5, 0.5, 0.25, P, model_before=1.0)], "public_pass"),
    attempt("fast", "b", [turn(0, 0.0, 1.0, 0.5, F), turn(1, 1.5, 0.5, 0.5, F, model_before=1.0)], "max_turns"),
]
# slow: right first time, at 3.0 on a and 4.0 on b.
SLOW = [
    attempt("slow", "a", [turn(0, 0.0, 3.0, 0.5, P)], "public_pass"),
    attempt("slow", "b", [turn(0, 0.0, 4.0, 0.5, P)], "public_pass"),
]


def test_answer_at_a_budget_is_the_last_candidate_submitted_by_then() -> None:
    line = timeline(FAST[0], "wall", max_budget_s=10)
    assert [(c.at_s, c.passed) for c in line.candidates] == [(1.0, False), (2.0, True)]
    assert [line.passes_at(b) for b in (0.0, 0.99, 1.0, 1.99, 2.0, 10.0)] == [False] * 4 + [True] * 2
    assert line.solved_s == 2.0
    assert line.horizon_s == math.inf  # the loop ended on its own: the record is complete


def test_a_later_failing_candidate_replaces_a_passing_one() -> None:
    a = attempt("x", "t", [turn(0, 0.0, 1.0, 0.1, P), turn(1, 1.1, 1.0, 0.1, F, model_before=1.0)], "max_turns")
    curve = budget_curve("x", [timeline(a, max_budget_s=5)], 5)
    assert curve.steps == (Step(0.0, 0, 1), Step(1.0, 1, 1), Step(2.1, 0, 1))
    km = time_to_solve("x", [timeline(a, max_budget_s=5)], 5)
    assert km.solved_by(5.0) == 1.0  # solved once, so time to solve counts it; pass@budget(5) does not


def test_curves_on_both_bases() -> None:
    analysis = analyze(FAST + SLOW, 10.0, marks=(1.0, 2.5, 3.5, 10.0))
    wall, model = analysis.views["wall"], analysis.views["model"]
    assert wall.curve("fast").steps == (Step(0.0, 0, 2), Step(2.0, 1, 2))
    assert wall.curve("slow").steps == (Step(0.0, 0, 2), Step(3.0, 1, 2), Step(4.0, 2, 2))
    # model time only: fast's second candidates come at 1.0 + 0.5 model seconds, the 0.5 s public run left out
    assert model.curve("fast").steps == (Step(0.0, 0, 2), Step(1.5, 1, 2))
    assert model.curve("slow").steps == wall.curve("slow").steps
    assert [wall.curve("fast").at(b).rate for b in (1.99, 2.0, 10.0)] == [0.0, 0.5, 0.5]
    assert all(c.exact_until_s == 10.0 for v in (wall, model) for c in v.curves)
    assert analysis.label == "measured" and analysis.notes == []
    rows = analysis.to_dict()["views"]["wall"]["pass_at_budget"]
    assert [a["value"] for a in rows[1]["at"]] == [0.0, 0.0, 0.5, 1.0]


def test_crossover_and_leaders() -> None:
    view = analyze(FAST + SLOW, 10.0).views["wall"]
    # fast leads on [2, 3), level on [3, 4), slow ahead from 4
    assert view.crossovers == [Crossover(4.0, "slow", "fast", 3.0, True)]
    assert view.leaders == [
        Lead(0.0, 2.0, ("fast", "slow"), 0, 2),
        Lead(2.0, 3.0, ("fast",), 1, 2),
        Lead(3.0, 4.0, ("fast", "slow"), 1, 2),
        Lead(4.0, 10.0, ("slow",), 2, 2),
    ]
    model = analyze(FAST + SLOW, 10.0).views["model"]
    assert model.crossovers == [Crossover(4.0, "slow", "fast", 3.0, True)]


def test_crossover_compares_rates_exactly_across_different_denominators() -> None:
    a = BudgetCurve("a", "wall", 10, (Step(0, 0, 3), Step(1, 1, 3), Step(5, 2, 3)), 10)
    b = BudgetCurve("b", "wall", 10, (Step(0, 0, 6), Step(2, 3, 6)), 10)
    # a 1/3 leads b 0/6 at 1; b 3/6 overtakes at 2; a 2/3 overtakes again at 5
    assert crossovers(a, b) == [Crossover(2, "b", "a", 2, True), Crossover(5, "a", "b", 5, True)]
    c = BudgetCurve("c", "wall", 10, (Step(0, 0, 6), Step(1, 2, 6)), 10)
    assert crossovers(a, c) == []  # level at 1 (1/3 = 2/6) then a ahead: nobody was overtaken


def test_budget_cut_loops_limit_exactness_on_the_model_basis() -> None:
    # The budget (5 s) stopped this loop mid-stream in turn 2, after 1 + 2.5 model seconds and a 1.5 s test run.
    cut = attempt(
        "x", "t", [turn(0, 0.0, 1.0, 1.5, F), turn(1, 2.5, 2.5, 0.0, None, model_before=1.0, cut=True)], "budget"
    )
    assert cut.outcome is F
    wall = timeline(cut, "wall", max_budget_s=5.0)
    model = timeline(cut, "model", max_budget_s=5.0)
    assert wall.horizon_s == 5.0 and model.horizon_s == 3.5
    analysis = analyze([cut], 5.0)
    assert analysis.views["wall"].curves[0].exact_until_s == 5.0
    assert analysis.views["model"].curves[0].exact_until_s == 3.5
    assert "beyond 3.5 s" in analysis.notes[0]


def test_kaplan_meier_censors_unsolved_attempts_where_their_record_ends() -> None:
    lines = [
        timeline(a, "model", max_budget_s=10.0)
        for a in [
            attempt("x", "1", [turn(0, 0, 1.0, 0, P)], "public_pass"),
            attempt(
                "x", "2", [turn(0, 0, 2.0, 0, F), turn(1, 2, 1.0, 0, None, model_before=2.0, cut=True)], "budget"
            ),  # censored at 3.0 model seconds
            attempt("x", "3", [turn(0, 0, 4.0, 0, P)], "public_pass"),
            attempt("x", "4", [turn(0, 0, 5.0, 0, F)], "max_turns"),  # censored at the budget
        ]
    ]
    km = time_to_solve("x", lines, 10.0, "model")
    assert km.times == (1.0, 4.0)
    assert km.at_risk == (4, 2) and km.events == (1, 1) and km.censored == 2
    # S(1) = 3/4; S(4) = 3/4 * (1 - 1/2) = 3/8
    assert km.solved == pytest.approx((0.25, 0.625))
    assert km.median_s == 4.0 and km.quantile(0.7) is None
    assert km.solved_by(0.5) == 0.0 and km.solved_by(3.9) == pytest.approx(0.25)
    lo, hi = km.lo[0], km.hi[0]
    assert lo is not None and hi is not None and 0 < lo < 0.25 < hi < 1


def test_records_without_turns_count_as_one_candidate_at_their_model_time() -> None:
    call = ModelCall(text="x", usage=Usage(10, 20), timing=CallTiming())
    single = Attempt(
        run_id="r", combo="s", task_id="t", sample=0, outcome=P, model_time_s=1.25, sandbox_time_s=0.5, calls=[call]
    )
    line = timeline(single, "wall", max_budget_s=10.0)
    assert [(c.at_s, c.passed) for c in line.candidates] == [(1.25, True)] and line.horizon_s == math.inf
    cut = Attempt(
        run_id="r",
        combo="s",
        task_id="t",
        sample=0,
        outcome=Outcome.BUDGET_EXCEEDED,
        model_time_s=10.0,
        calls=[ModelCall(text="x", cut="budget")],
    )
    line = timeline(cut, "model", max_budget_s=10.0)
    assert line.candidates == () and line.horizon_s == 10.0


def test_infra_errors_are_left_out() -> None:
    broken = attempt("fast", "c", [turn(0, 0.0, 1.0, 0.0, P)], "error", outcome=Outcome.INFRA_ERROR)
    lines = timelines([*FAST, broken], "wall", max_budget_s=10.0)
    assert [line.task_id for line in lines["fast"]] == ["a", "b"]


def test_spend_by_budget_and_per_budget_frontier() -> None:
    prices = {"fast": PriceCard(1.0, 2.0), "slow": PriceCard(10.0, 20.0)}
    analysis = analyze(FAST + SLOW, 10.0, prices=prices, marks=(1.0, 5.0))
    # A call is paid for once sent: fast's second call goes out at 1.5 s. One call = 100 in + 10 out tokens.
    fast_call, slow_call = (100 * 1.0 + 10 * 2.0) / 1e6, (100 * 10.0 + 10 * 20.0) / 1e6
    early, late = analysis.views["wall"].frontiers
    assert early.label == "budget 1 s" and late.label == "budget 5 s"
    assert {p.name: p.x.value for p in early.points} == pytest.approx({"fast": fast_call, "slow": slow_call})
    assert {p.name: p.x.value for p in late.points} == pytest.approx({"fast": 2 * fast_call, "slow": slow_call})
    # at 1 s nobody passes: fast is as good and cheaper; at 5 s slow passes more, fast is cheaper: both on it
    assert early.status_of("fast") == "frontier" and early.status_of("slow") != "frontier"
    assert [p.name for p in late.members] == ["fast", "slow"]
    unpriced = analyze(FAST, 10.0).views["wall"].frontiers
    assert unpriced == []


def test_spend_prices_cached_input_at_its_rate() -> None:
    one = attempt("c", "a", [turn(0, 0.0, 1.0, 0.0, P)], "public_pass")
    one.calls = [ModelCall(text="x", usage=Usage(100, 10, cached_tokens=80), timing=CallTiming())]
    card = PriceCard(in_per_mtok=1.0, out_per_mtok=2.0, cached_in_per_mtok=0.1)
    (line,) = timelines([one], "wall", max_budget_s=10.0, prices={"c": card})["c"]
    assert line.spend == ((0.0, pytest.approx((20 * 1.0 + 80 * 0.1 + 10 * 2.0) / 1e6)),)
    uncached = PriceCard(in_per_mtok=1.0, out_per_mtok=2.0)
    (line,) = timelines([one], "wall", max_budget_s=10.0, prices={"c": uncached})["c"]
    assert line.spend == ((0.0, pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)),)


def test_projection_retimes_each_call_and_keeps_sandbox_time() -> None:
    profile = HardwareProfile("p", output_tokens_per_s=100.0, ttft_s=0.5)
    analysis = project(FAST + SLOW, profile, 10.0)
    # every call: 0.5 + (10 - 1) / 100 = 0.59 s. fast/a passes at 0.59 + 0.5 (public run) + 0.59 on the wall basis
    assert analysis.views["wall"].curve("fast").steps == (Step(0.0, 0, 2), Step(pytest.approx(1.68), 1, 2))
    assert analysis.views["model"].curve("fast").steps == (Step(0.0, 0, 2), Step(pytest.approx(1.18), 1, 2))
    assert analysis.views["wall"].curve("slow").steps == (Step(0.0, 0, 2), Step(pytest.approx(0.59), 2, 2))
    assert analysis.views["wall"].crossovers == []  # projected, the slow combo leads from its first answer
    assert analysis.label == "PROJECTION: p (TTFT 0.5 s, 100 tok/s)"
    assert analysis.to_dict()["measured"] is False
    assert all(c.projection == "p" for v in analysis.views.values() for c in v.curves)
    assert analysis.notes[0].startswith("PROJECTION, not a measurement")


def test_projection_of_a_budget_cut_loop_is_exact_only_until_the_cut() -> None:
    cut = attempt(
        "x", "t", [turn(0, 0.0, 1.0, 1.5, F), turn(1, 2.5, 2.5, 0.0, None, model_before=1.0, cut=True)], "budget"
    )
    fast = HardwareProfile("fast", output_tokens_per_s=1000.0, ttft_s=0.1)
    analysis = project([cut], fast, 5.0)
    one_call = 0.1 + 9 / 1000
    # re-timed: call 1, its 1.5 s public run, then the partial call 2; nothing is known after that
    assert analysis.views["wall"].curves[0].exact_until_s == pytest.approx(one_call + 1.5 + one_call)
    assert analysis.views["model"].curves[0].exact_until_s == pytest.approx(2 * one_call)


def test_prefill_speed_adds_prompt_time() -> None:
    p = HardwareProfile("p", output_tokens_per_s=10.0, ttft_s=0.2, prefill_tokens_per_s=1000.0)
    assert p.call_time_s(500, 11) == pytest.approx(0.2 + 0.5 + 1.0)
    assert p.call_time_s(500, 0) == pytest.approx(0.7)
    assert p.retime(Turn(0, "generate", prompt_tokens=None, completion_tokens=None, reply="")) == pytest.approx(0.2)


def test_shipped_profiles_load_and_say_where_they_come_from() -> None:
    profiles = load_profiles()
    assert {"cerebras-llama3.1-405b", "fast-2000"} <= set(profiles)
    assert all(p.source and p.output_tokens_per_s > 0 for p in profiles.values())
    assert profiles["cerebras-llama3.1-405b"].ttft_s == 0.24


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[profiles.x]\nttft_s = 0.1\n", "profiles.x.output_tokens_per_s: missing"),
        ("[profiles.x]\nttft_s = 0.1\noutput_tokens_per_s = 0\n", "must be > 0"),
        ('[profiles.x]\nttft_s = "fast"\noutput_tokens_per_s = 5\n', "ttft_s: expected a number"),
        ("[profiles.x]\nttft_s = 0.1\noutput_tokens_per_s = 5\nspeed = 3\n", "speed: unknown key"),
        ("[other]\n", "other: unknown key"),
        ("profiles = 1\n", "no [profiles.NAME] tables"),
        ("[profiles\n", "invalid TOML"),
    ],
)
def test_profile_file_errors_name_file_key_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"mine\.toml") as e:
        load_profiles(path)
    assert problem in str(e.value)


def test_user_profiles_add_to_and_replace_shipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[profiles."fast-2000"]\nttft_s = 0.05\noutput_tokens_per_s = 2500\n'
        '[profiles.home]\nttft_s = 1\noutput_tokens_per_s = 30\nsource = "my desk"\n'
    )
    profiles = load_profiles(path)
    assert profiles["fast-2000"].ttft_s == 0.05 and profiles["home"].source == "my desk"
    assert "groq-llama2-70b" in profiles


def test_the_curve_sweep_agrees_with_reading_every_line_at_every_budget() -> None:
    # Random lines, candidate times not always increasing (a candidate stands only once all earlier ones have),
    # ties between lines, candidates past the maximum budget: the one-pass sweep must equal passes_at everywhere.
    rng = random.Random(7)
    for _ in range(50):
        lines = [
            Timeline("c", f"t{i}", 0, tuple(Candidate(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 9.0, rng.uniform(0, 10)]),
                                                      rng.random() < 0.5) for _ in range(rng.randint(0, 4))))
            for i in range(rng.randint(1, 12))
        ]  # fmt: skip
        curve = budget_curve("c", lines, 8.0)
        budgets = sorted({0.0, 8.0, *(c.at_s for line in lines for c in line.candidates if c.at_s <= 8.0)})
        for b in budgets:
            assert curve.at(b).passed == sum(line.passes_at(b) for line in lines), (b, lines)
        assert [s.budget_s for s in curve.steps] == sorted({s.budget_s for s in curve.steps})


def test_the_closed_form_wilson_interval_is_scipys() -> None:
    from scipy.stats import binomtest

    from ripsaw.analysis.metrics import proportion

    for n in (1, 2, 7, 20, 164, 2500):
        for k in {0, 1, n // 3, n - 1, n}:
            ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
            e = proportion(k, n)
            assert e.lo == pytest.approx(ci.low, abs=1e-12) and e.hi == pytest.approx(ci.high, abs=1e-12)
