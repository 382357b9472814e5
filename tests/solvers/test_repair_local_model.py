"""`repair` end to end on the quickstart's real local model (llama.cpp, Gemma 3 270M, complete mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ripsaw.analysis.budgets import analyze
from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from ripsaw.spec import load_spec

STARTER = Path(__file__).resolve().parents[2] / "tasks" / "starter.jsonl"
# Problems the 270M model does not get right at the first try (greedy), so the loop has something to repair.
IDS = ["starter/23", "starter/26", "starter/28"]


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_repair_feeds_real_public_test_output_back_to_the_local_model(tmp_path: Path) -> None:
    spec_path = tmp_path / "repair.toml"
    spec_path.write_text(
        f"""
name = "repair-local"
[[combos]]
name = "gemma3-270m @ 2 threads"
provider = "llamacpp"
model = "gemma3-270m"
prompt_mode = "complete"
strategy = "repair"
[combos.params]
temperature = 0
max_tokens = 256
[combos.options]
threads = 2
startup_timeout_s = 120
[tasks]
source = "jsonl:{STARTER}"
ids = {IDS!r}
[run]
sandbox = "process"
budget_s = 120
max_turns = 2
concurrency = 1
""".replace("'", '"')
    )
    run_dir = tmp_path / "run"
    result = await run_eval(load_spec(spec_path), run_dir, progress=False)
    attempts = RunStore(run_dir).attempts()
    assert result.infra_errors == 0, [a.detail for a in attempts]
    assert len(attempts) == len(IDS)

    repaired = [a for a in attempts if len(a.turns) == 2]
    assert repaired, [a.detail for a in attempts]
    for a in repaired:
        first, second = a.turns
        assert first.public_outcome is not Outcome.PASSED and first.public_feedback
        assert second.kind == "repair"
        # the continuation prompt quoted the failed attempt and the real test output as comments
        assert second.prompt_delta.startswith("# A previous attempt failed the public tests.\n# Attempt:\n")
        for line in first.public_feedback.splitlines():
            assert f"#     {line}".rstrip() in second.prompt_delta
        assert second.prompt_tokens is not None and first.prompt_tokens is not None
        assert second.prompt_tokens > first.prompt_tokens
    for a in attempts:
        assert all(t.hidden_outcome is not None for t in a.turns if t.submitted_at_s is not None)
        assert a.outcome is a.turns[-1].hidden_outcome or a.stop_reason == "budget"

    # At the run's own budget, pass@budget is the attempts' pass rate, on both time bases.
    passed = sum(a.outcome is Outcome.PASSED for a in attempts)
    analysis = analyze(attempts, 120.0)
    for view in analysis.views.values():
        (curve,) = view.curves
        assert (curve.at(120.0).passed, curve.n) == (passed, len(IDS))
