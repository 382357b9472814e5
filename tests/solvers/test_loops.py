"""The repair and sample-k loops end to end: spec → runner → reference server (real sockets) → process sandbox
→ store, then the budget curves, crossover and projections of that run, checked against the recorded turns.

Two scripted combos on two tasks ("double" and "triple"), strategy repair, max_turns 2:
- fast (TTFT 0.05 s, 1000 tok/s): wrong then right on double; wrong twice on triple.
- slow (TTFT 2 s, 20 tok/s): right first time on both.
So fast solves double after one repair, well before slow's first answer; slow then draws level with its
first answer and overtakes with its second. Expected values come from the recorded times; the scripted
timings only decide the order, which the test checks with wide margins.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ripsaw.analysis import format as fmt
from ripsaw.analysis.budgets import Crossover, Step, analyze
from ripsaw.analysis.projection import HardwareProfile, project
from ripsaw.analysis.run_budgets import run_budgets
from ripsaw.analysis.runs import load_run
from ripsaw.cli import main
from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.report.budget_section import budget_figures, sections, transcript
from ripsaw.report.html import _environment as report_environment
from ripsaw.spec import load_spec
from tests.refserver import RefServer, Reply, split_tokens

P, F = Outcome.PASSED, Outcome.FAILED


def calls(arg: int, expected: int) -> dict[str, Any]:
    return {"args": [arg], "expected": expected}


TASKS = [
    {
        "id": "t/double",
        "prompt": 'def double(n: int) -> int:\n    """Return twice n."""\n',
        "entry_point": "double",
        "tests": {"calls": [calls(4, 8), calls(0, 0), calls(-3, -6)]},
        "public_tests": {"calls": [{"args": [4], "expected": 8}]},
    },
    {
        "id": "t/triple",
        "prompt": 'def triple(n: int) -> int:\n    """Return three times n."""\n',
        "entry_point": "triple",
        "tests": {"calls": [calls(2, 6), calls(0, 0), calls(-1, -3)]},
        "public_tests": {"calls": [{"args": [2], "expected": 6}]},
    },
    {
        "id": "t/half",  # no public tests: the loops fall back to single
        "prompt": 'def half(n: int) -> int:\n    """Return n // 2."""\n',
        "entry_point": "half",
        "tests": {"calls": [{"args": [4], "expected": 2}, {"args": [5], "expected": 2}]},
    },
]


def fenced(body: str) -> str:
    return f"```python\n{body}\n```"


RIGHT = {
    "double": fenced("def double(n):\n    return 2 * n"),
    "triple": fenced("def triple(n):\n    return 3 * n"),
    "half": fenced("def half(n):\n    return n // 2"),
}
WRONG = {  # each fails its public test
    "double": fenced("def double(n):\n    return n + 2"),
    "triple": fenced("def triple(n):\n    return n * 4"),
    "half": fenced("def half(n):\n    return n / 2"),
}
LONG = fenced("def double(n):\n" + "    x = 0\n" * 200 + "    return 2 * n")


def entry_point(body: dict[str, Any]) -> str:
    text = body["prompt"] if "prompt" in body else body["messages"][1]["content"]
    return next(name for name in RIGHT if f"def {name}(" in text)


def is_repair(body: dict[str, Any]) -> bool:
    if "prompt" in body:
        return body["prompt"].startswith("# A previous attempt failed the public tests.")
    return len(body["messages"]) > 2


def write_spec(tmp_path: Path, base_url: str, combos: list[dict[str, Any]], **run: Any) -> Path:
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    lines = ['name = "loops"']
    for c in combos:
        lines += ["[[combos]]", f'name = "{c["name"]}"', 'provider = "openai"', f'model = "{c["name"]}"',
                  f'base_url = "{base_url}"', f'prompt_mode = "{c.get("prompt_mode", "chat")}"',
                  f'strategy = "{c.get("strategy", "repair")}"', "[combos.params]",
                  f"temperature = {c.get('temperature', 0)}", "max_tokens = 2048"]  # fmt: skip
        if "seed" in c:
            lines.append(f"seed = {c['seed']}")
        if "stop" in c:
            lines.append(f"stop = {json.dumps(c['stop'])}")
    lines += ["[tasks]", 'source = "jsonl:tasks.jsonl"', "[run]", 'sandbox = "process"', "concurrency = 2"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in run.items()]
    path = tmp_path / "spec.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def run(tmp_path: Path, server: RefServer, script: Callable[[dict[str, Any]], Reply],
              combos: list[dict[str, Any]], **settings: Any) -> dict[tuple[str, str], Attempt]:  # fmt: skip
    server.reset(script)
    spec = load_spec(write_spec(tmp_path, server.base_url, combos, **settings))
    run_dir = tmp_path / "reports" / "run"
    result = await run_eval(spec, run_dir, progress=False)
    assert result.infra_errors == 0, [a.detail for a in RunStore(run_dir).attempts()]
    return {(a.combo, a.task_id.removeprefix("t/")): a for a in RunStore(run_dir).attempts()}


FAST = {"ttft_s": 0.05, "rate": 1000.0}
SLOW = {"ttft_s": 2.0, "rate": 20.0}


def race(body: dict[str, Any]) -> Reply:
    name = entry_point(body)
    if body["model"] == "slow":
        return Reply(text=RIGHT[name], **SLOW)
    right = name == "double" and is_repair(body)
    return Reply(text=RIGHT[name] if right else WRONG[name], **FAST)


@pytest.mark.timeout(120)
async def test_fast_repair_leads_early_and_slow_overtakes_exactly_as_recorded(
    tmp_path: Path, refserver: RefServer
) -> None:
    got = await run(
        tmp_path, refserver, race, [{"name": "fast"}, {"name": "slow"}], budget_s=8, max_turns=2, test_timeout_s=5
    )

    # The loops did what the script makes them do.
    fd, ft, sd, st = got["fast", "double"], got["fast", "triple"], got["slow", "double"], got["slow", "triple"]
    assert [(t.kind, t.public_outcome, t.hidden_outcome) for t in fd.turns] == [("generate", F, F), ("repair", P, P)]
    assert [(t.public_outcome, t.hidden_outcome) for t in ft.turns] == [(F, F), (F, F)]
    assert [(t.public_outcome, t.hidden_outcome) for t in sd.turns + st.turns] == [(P, P), (P, P)]
    assert (fd.outcome, fd.stop_reason, ft.outcome, ft.stop_reason) == (P, "public_pass", F, "max_turns")
    assert fd.detail.startswith("repair: 2 turns, passed the public tests; answer from turn 2")
    assert ft.code == "def triple(n):\n    return n * 4\n"
    # The repair turn showed the model its candidate and the public-test failure.
    feedback = fd.turns[0].public_feedback
    assert "(4) returned 6, expected 8" in feedback
    repair = next(r.body for r in refserver.requests if r.body["model"] == "fast" and is_repair(r.body)
                  and entry_point(r.body) == "double")  # fmt: skip
    assert [m["role"] for m in repair["messages"]] == ["system", "user", "assistant", "user"]
    assert "def double(n):\n    return n + 2" in repair["messages"][2]["content"]
    assert feedback in repair["messages"][3]["content"]
    assert fd.turns[1].prompt_delta.startswith("[assistant]\n```python\ndef double(n):\n    return n + 2")
    # Token counts are the server's, one per scripted token; times add up.
    for a in got.values():
        for t in a.turns:
            assert t.completion_tokens == len(split_tokens(t.reply)) and t.token_source == "server"
            assert t.submitted_at_s is not None and t.model_elapsed_s is not None
            assert t.submitted_at_s >= t.started_at_s + t.model_time_s - 1e-6
        assert a.model_time_s == pytest.approx(sum(t.model_time_s for t in a.turns))
        assert len(a.calls) == len(a.turns)
        if a.stop_reason != "single":  # a single call's sandbox time is its hidden run; a loop's, its public runs
            assert a.sandbox_time_s == pytest.approx(sum(t.sandbox_time_s for t in a.turns))
    assert fd.turns[1].started_at_s >= fd.turns[0].submitted_at_s + fd.turns[0].sandbox_time_s - 1e-6

    # The scripted timings put fast's repaired answer well before slow's first answer (TTFT 2 s + 6 tokens at 20/s).
    t_fast = fd.turns[1].submitted_at_s
    t_slow = sorted(t.submitted_at_s for t in sd.turns + st.turns if t.submitted_at_s is not None)
    assert t_fast is not None and t_fast < 1.5 and t_slow[0] > 2.25

    attempts = list(got.values())
    for basis, when in (("wall", "submitted_at_s"), ("model", "model_elapsed_s")):
        view = analyze(attempts, 8.0).views[basis]
        tf = getattr(fd.turns[1], when)
        ts = sorted(getattr(t, when) for t in sd.turns + st.turns)
        # t/half has no public tests: both combos answer it in one call, wrong for fast, right for slow
        th_slow = getattr(got["slow", "half"].turns[0], when)
        assert view.curve("fast").steps == (Step(0.0, 0, 3), Step(tf, 1, 3))
        slow_times = sorted([*ts, th_slow])
        assert view.curve("slow").steps == tuple(
            [Step(0.0, 0, 3)] + [Step(t, k, 3) for k, t in enumerate(slow_times, 1)]
        )
        # fast leads from its repair until slow's first answer, level until slow's second, then slow ahead
        assert view.crossovers == [Crossover(slow_times[1], "slow", "fast", slow_times[0], True)]
        assert view.curve("fast").exact_until_s == view.curve("slow").exact_until_s == 8.0

    # Projection: both combos served at TTFT 0.3 s and 2,000 tok/s; sandbox time as measured.
    profile = HardwareProfile("fast-2000", output_tokens_per_s=2000.0, ttft_s=0.3)
    projected = project(attempts, profile, 8.0)

    def call(t: Any) -> float:
        return 0.3 + (t.completion_tokens - 1) / 2000.0

    wall = projected.views["wall"]
    tf = call(fd.turns[0]) + fd.turns[0].sandbox_time_s + call(fd.turns[1])
    assert wall.curve("fast").steps == (Step(0.0, 0, 3), Step(pytest.approx(tf), 1, 3))
    slow_times = sorted(call(a.turns[0]) for a in (sd, st, got["slow", "half"]))
    assert [s.budget_s for s in wall.curve("slow").steps] == pytest.approx([0.0, *sorted(set(slow_times))])
    assert wall.curve("slow").steps[-1].passed == 3
    assert wall.crossovers == []  # served as fast, the right-first-time model leads at every budget
    assert projected.label == "PROJECTION: fast-2000 (TTFT 0.3 s, 2,000 tok/s)"

    # The command and the report section show the same numbers, projections apart and labelled.
    run_dir = tmp_path / "reports" / "run"
    result = CliRunner().invoke(main, ["budget", str(run_dir), "--at", "1", "--profile", "fast-2000", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (measured,), (projection,) = data["measured"], data["projections"]
    expected = analyze(attempts, 8.0, marks=(1.0,))
    assert measured["views"]["wall"]["crossovers"] == [x.to_dict() for x in expected.views["wall"].crossovers]
    assert measured["views"]["wall"]["pass_at_budget"][1]["at"][0]["value"] == 0.0  # slow at 1 s
    assert projection["measured"] is False and projection["label"].startswith("PROJECTION: fast-2000")
    assert projection["views"]["wall"]["pass_at_budget"][1]["at"][0]["value"] == 1.0
    shown = CliRunner().invoke(main, ["budget", str(run_dir)]).stdout
    first_slow = expected.views["wall"].crossovers[0]
    assert f"crossover: slow overtakes fast at {fmt.secs(first_slow.at_s)}" in shown
    assert CliRunner().invoke(main, ["budget", str(run_dir), "--at", "9"]).exit_code == 2

    run_record = load_run(run_dir)
    analyses = run_budgets(run_record, [profile])
    figures = budget_figures(run_record, analyses)
    assert [f.name for f in figures] == [
        "budget-curves-run-measured", "budget-solve-run-measured",
        "budget-curves-run-projection-fast-2000", "budget-solve-run-projection-fast-2000",
    ]  # fmt: skip
    assert "PROJECTION" not in figures[0].svg and "PROJECTION" in figures[2].svg
    turns = transcript(fd)
    assert [(t["kind"], t["public"], t["hidden"]) for t in turns] == [("generate", "failed", "failed"),
                                                                        ("repair", "passed", "passed")]  # fmt: skip
    assert turns[0]["public_feedback"] == feedback and turns[1]["ttft_s"] is not None

    # The template partials render with the report's own environment (strict: any missing name fails).
    env = report_environment()
    page = env.from_string('{% include "_budgets.html.j2" %}').render(budgets=sections([run_record], [profile]),
                                                                       paid=False)  # fmt: skip
    # per analysis (measured, projection) and time basis (wall, model only): pass@budget and time to solve
    assert page.count('data-chart="') == 8 and page.count('<span class="badge bad">PROJECTION</span>') == 1
    assert f"slow overtakes fast at {fmt.secs(first_slow.at_s)}" in page


def mechanics(body: dict[str, Any]) -> Reply:
    name, model = entry_point(body), body["model"]
    if model == "cut":  # a quick wrong answer, then a repair that streams far past the budget
        return Reply(text=LONG, ttft_s=0.05, rate=20.0) if is_repair(body) else Reply(text=WRONG[name], ttft_s=0.05)
    if model == "base":  # complete mode: wrong body, then a right one after the repair prompt
        body_text = "    return 2 * n\n" if is_repair(body) else "    return n + 2\n"
        return Reply(text=[body_text])
    # sample-k: a sample is right when its seed is odd, so seeds 10, 11 give wrong then right
    return Reply(text=RIGHT[name] if body.get("seed", 0) % 2 else WRONG[name])


@pytest.mark.timeout(120)
async def test_cut_mid_stream_sample_k_complete_mode_and_no_public_tests(tmp_path: Path, refserver: RefServer) -> None:
    got = await run(
        tmp_path,
        refserver,
        mechanics,
        [
            {"name": "cut"},
            {"name": "samples", "strategy": "sample-k", "temperature": 0.8, "seed": 10},
            {"name": "greedy", "strategy": "sample-k"},
            {"name": "base", "prompt_mode": "complete", "stop": ["\ndef "]},
        ],
        budget_s=3,
        max_turns=3,
        test_timeout_s=5,
    )
    # The budget cut the repair stream: the first (wrong) candidate stands.
    cut = got["cut", "double"]
    assert [t.cut for t in cut.turns] == [None, "budget"] and cut.turns[1].submitted_at_s is None
    assert cut.stop_reason == "budget" and cut.outcome is F and cut.code.endswith("return n + 2\n")
    assert "the 3 s budget ended; answer from turn 1" in cut.detail
    assert 3.0 - 0.1 < cut.turns[1].started_at_s + cut.turns[1].model_time_s < 3.0 + 1.0
    wall, model = (analyze([cut], 3.0).views[b].curves[0] for b in ("wall", "model"))
    assert wall.exact_until_s == 3.0
    assert model.exact_until_s == pytest.approx(cut.turns[0].model_time_s + cut.turns[1].model_time_s)

    # sample-k: seeds advance per sample, same prompt each time, first public pass ends the loop.
    s = got["samples", "double"]
    assert [(t.kind, t.public_outcome) for t in s.turns] == [("generate", F), ("sample", P)]
    assert (s.outcome, s.stop_reason) == (P, "public_pass") and "seeds 10..12, one per sample" in s.detail
    sent = [r.body for r in refserver.requests if r.body["model"] == "samples" and entry_point(r.body) == "double"]
    assert [b["seed"] for b in sent] == [10, 11] and sent[0]["messages"] == sent[1]["messages"]
    assert s.turns[1].prompt_delta == ""
    # Greedy samples are identical: all three fail, and the detail says why.
    g = got["greedy", "double"]
    assert [t.public_outcome for t in g.turns] == [F, F, F] and g.stop_reason == "max_turns"
    assert "temperature 0: the samples are likely identical" in g.detail

    # complete mode repairs with a continuation prompt that quotes the attempt and the failure as comments.
    b = got["base", "double"]
    assert [(t.public_outcome, t.hidden_outcome) for t in b.turns] == [(F, F), (P, P)] and b.outcome is P
    prompts = [r.body["prompt"] for r in refserver.requests if r.body["model"] == "base"]
    second = [p for p in prompts if entry_point({"prompt": p}) == "double"][1]
    assert second.startswith("# A previous attempt failed the public tests.\n# Attempt:\n")
    feedback = b.turns[0].public_feedback
    assert "(4) returned 6, expected 8" in feedback and second.endswith(TASKS[0]["prompt"])
    assert "# Test output:\n" + "".join(f"#     {line}\n" for line in feedback.splitlines()) in second
    assert b.code == TASKS[0]["prompt"] + "    return 2 * n\n"
    assert b.turns[1].prompt_delta == second[: -len(TASKS[0]["prompt"])]

    # No public tests: every loop falls back to one call, and says so.
    for combo in ("cut", "samples", "greedy", "base"):
        half = got[combo, "half"]
        assert half.detail.startswith("the task has no public tests: solved as single")
        assert len(half.turns) == 1 and half.stop_reason == "single" and half.strategy != "single"
    assert Counter(r.body["model"] for r in refserver.requests if entry_point(r.body) == "half") == {
        "cut": 1, "samples": 1, "greedy": 1, "base": 1,
    }  # fmt: skip
