"""mini-swe-agent, unchanged, on a bundled repository task through the timing proxy, on a real engine: the scripted
reference server plays the model (answering each turn by reading the conversation mini-swe-agent sends), mini-swe-agent
inspects, fixes and submits, every call it made is timed and recorded, and the verdict scores its workspace; a
scaffold that never submits is stopped by the deadline and its workspace still scored.

The first run builds the scaffold's image (its wheels downloaded by the host's pip) and the task's derivation of it;
later runs reuse them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.spec import load_spec
from tests.refserver import RefServer, Reply
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
TASKS = Path(__file__).resolve().parents[2] / "tasks" / "repo"
FIX = "sed -i 's/slug = slug.lstrip(separator)/slug = slug.strip(separator)/' textkit/slug.py"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def mini(commands: list[str]) -> Any:
    """A model that answers mini-swe-agent's turns with `commands` in order, in its text format."""

    def reply(body: dict[str, Any]) -> Reply:
        n = sum(1 for m in body["messages"] if m["role"] == "user") - 1  # observations seen so far
        command = commands[min(n, len(commands) - 1)]
        return Reply(text=f"THOUGHT: step {n + 1}.\n\n```mswea_bash_command\n{command}\n```\n", rate=2000)

    return reply


def _spec(tmp_path: Path, server: RefServer, budget_s: float = 120, scaffold: str = "mini-swe-agent") -> Path:
    spec = tmp_path / "scaffold.toml"
    spec.write_text(
        f"""
name = "scaffold-e2e"
[[combos]]
name = "scripted"
provider = "openai"
model = "ref-model"
base_url = "{server.base_url}"

[tasks]
source = "repo:{TASKS}"
ids = ["slugify-edges"]

[run]
strategy = "scaffold:{scaffold}"
budget_s = {budget_s}
command_timeout_s = 30
output_dir = "{tmp_path / "reports"}"
run_id = "scaffold"
"""
    )
    return spec


async def _run(spec: Path) -> Attempt:
    result = await run_eval(load_spec(spec), spec.parent / "reports" / "scaffold", progress=False)
    [attempt] = RunStore(result.run_dir).attempts()
    return attempt


async def test_mini_swe_agent_fixes_a_task_through_the_proxy_with_every_call_timed(
    refserver: RefServer, tmp_path: Path
) -> None:
    require_docker()
    refserver.script = mini(["cat textkit/slug.py", FIX, "python3 -m pytest -q 2>&1 | tail -3", SUBMIT])
    attempt = await _run(_spec(tmp_path, refserver))
    agent = attempt.agent
    assert agent is not None, attempt.detail
    assert attempt.outcome is Outcome.PASSED, (attempt.detail, agent.scaffold_log[-2000:])
    assert attempt.strategy == "scaffold:mini-swe-agent" and agent.scaffold == "mini-swe-agent"
    assert attempt.stop_reason == "submitted" and agent.submitted
    # Four model calls, each one forwarded, timed at the wire and counted by the server.
    assert len(refserver.requests) == 4 and len(attempt.calls) == 4
    assert all(c.timing.t_send_wire and c.timing.first_any_ns is not None for c in attempt.calls)
    assert all(c.usage.source == "server" and c.usage.completion_tokens for c in attempt.calls)
    assert [(r.api, r.status, r.call) for r in agent.requests] == [("chat", 200, i) for i in range(4)]
    assert [t.action for t in agent.turns] == ["model_call"] * 4
    # mini-swe-agent's own conversation reached the model: its system prompt, the task, then the observations.
    sent = refserver.requests[1].body["messages"]
    assert sent[0]["role"] == "system" and "mswea_bash_command" in sent[0]["content"]
    assert "def slugify" in sent[-1]["content"]
    # The fix was snapshotted when mini-swe-agent next asked the model, and that snapshot passes.
    assert agent.snapshots and "slug.strip(separator)" in attempt.code
    assert agent.verdict is not None and agent.verdict.trust == "tests" and not agent.verdict.tampered
    assert agent.solved_at_s is not None and agent.solved_at_s < agent.wall_s
    assert agent.wall_s == pytest.approx(agent.model_time_s + agent.tool_time_s + agent.overhead_s)
    assert "ripsaw-scaffold-exit: Submitted" in agent.scaffold_log


async def test_a_scaffold_that_never_submits_is_cut_at_the_deadline(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = mini([FIX, "sleep 1; echo still working"])
    attempt = await _run(_spec(tmp_path, refserver, budget_s=20))
    agent = attempt.agent
    assert agent is not None
    assert attempt.stop_reason == "budget" and not agent.submitted
    assert agent.wall_s < 20 + 10
    # The workspace it left is scored all the same: the fix was in it.
    assert attempt.outcome is Outcome.PASSED, attempt.detail
    assert len(attempt.calls) >= 2
