"""mini-swe-agent, unchanged, on a real local model through the timing proxy: Ripsaw starts llama.cpp with
Qwen2.5-Coder-0.5B-Instruct, relays the scaffold's requests to it, and records every call as a direct one would be
(wire timing, tokens counted by the model's tokenizer and the server's prompt count). A small budget: the model need
not solve the task, and a call the deadline cuts is recorded too."""

from __future__ import annotations

from pathlib import Path

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from ripsaw.spec import load_spec
from tests.sandboxes.conftest import require_docker

pytestmark = [pytest.mark.slow, pytest.mark.docker]
REPO = Path(__file__).resolve().parents[2]


async def test_mini_swe_agent_on_a_local_model_has_every_call_recorded(tmp_path: Path) -> None:
    require_docker()
    spec = tmp_path / "scaffold-local.toml"
    shipped = (REPO / "evals" / "scaffold-local.toml").read_text()
    spec.write_text(
        shipped.replace('source = "repo:../tasks/repo"', f'source = "repo:{REPO / "tasks" / "repo"}"')
        .replace("budget_s = 300 ", "budget_s = 150 ")
        .replace("max_turns = 10 ", "max_turns = 3 ")
        + f'output_dir = "{tmp_path / "reports"}"\nrun_id = "local"\n'
    )
    result = await run_eval(load_spec(spec), tmp_path / "reports" / "local", progress=False)
    [attempt] = RunStore(result.run_dir).attempts()
    agent = attempt.agent
    assert agent is not None and agent.scaffold == "mini-swe-agent"
    assert attempt.outcome is not Outcome.INFRA_ERROR, (attempt.detail, agent.scaffold_log[-2000:])
    assert "Building agent config" in agent.scaffold_log  # the scaffold's own log, kept
    assert attempt.calls, agent.scaffold_log[-2000:]
    for call in attempt.calls:
        assert call.timing.t_send_wire and call.timing.first_any_ns is not None and call.timing.first_any_ns > 0
        assert call.usage.source == "tokenizer" and call.usage.completion_tokens
        if call.cut is None:  # a finished answer carries the server's count of the prompt it read
            assert call.usage.prompt_tokens is not None and call.usage.prompt_tokens > 500  # mini's system prompt
            assert call.usage.completion_tokens <= 384  # the combo's limit, as mini-swe-agent sets none
    # Every request the scaffold made was forwarded and made a call (one after the deadline would be refused).
    forwarded = [r for r in agent.requests if r.call is not None]
    assert [r.call for r in forwarded] == list(range(len(attempt.calls)))
    assert all(r.status in (200, 400) for r in agent.requests)
    assert [t.action for t in agent.turns] == ["model_call"] * len(attempt.calls)
    assert 0 < agent.model_time_s <= agent.wall_s
