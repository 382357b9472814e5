"""Codex CLI and Claude Code, unchanged, each fixing a bundled repository task through the timing proxy on a real
engine: the scripted reference server plays the model in the scaffold's own dialect (the Responses API for Codex,
the Messages API for Claude Code), calling the scaffold's own tools with the arguments it declares, one step per
tool result it has been sent back; the scaffold runs them in the container, every call it made is timed and
recorded, and the verdict scores its workspace.

The first run downloads each CLI's platform package with the host's npm (about 170 and 190 MB) and builds its
image and the task's derivation of it; later runs reuse them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.spec import load_spec
from tests.conftest import in_ci
from tests.refserver import RefServer, Reply
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
TASKS = Path(__file__).resolve().parents[2] / "tasks" / "repo"
SLUG = "/app/textkit/slug.py"
BUG, FIXED = "slug = slug.lstrip(separator)", "slug = slug.strip(separator)"
TESTS = "python3 -m pytest -q 2>&1 | tail -3"
DONE = "Fixed: the slug is now stripped of the separator at both ends."


def require_npm() -> None:
    require_docker()
    if shutil.which("npm") is None:
        if in_ci():
            pytest.fail("CI=true, but the host has no npm to download the scaffold's package with")
        pytest.skip("no npm on this host")


def scripted(steps: list[dict[str, str] | None], results: Any) -> Any:
    """A model that answers with `steps` in order, one per tool result the scaffold has sent back so far (counted
    by `results(body)`): a tool call {"name", "arguments"}, or None for the final answer."""

    def reply(body: dict[str, Any]) -> Reply:
        n = results(body)
        step = steps[min(n, len(steps) - 1)]
        if step is None:
            return Reply(text=DONE, rate=2000)
        return Reply(text=f"Step {n + 1}.", native_tool_calls=[{**step, "id": f"call_{n}"}], rate=2000)

    return reply


def _responses_results(body: dict[str, Any]) -> int:
    return sum(1 for item in body.get("input") or () if item.get("type") == "function_call_output")


def _messages_results(body: dict[str, Any]) -> int:
    return sum(
        1
        for m in body.get("messages") or ()
        if isinstance(m.get("content"), list)
        for block in m["content"]
        if block.get("type") == "tool_result"
    )


def _spec(tmp_path: Path, server: RefServer, provider: str, scaffold: str, max_turns: int = 10) -> Path:
    spec = tmp_path / "scaffold.toml"
    spec.write_text(
        f"""
name = "scaffold-{scaffold}"
[[combos]]
name = "scripted"
provider = "{provider}"
model = "ref-model"
base_url = "{server.base_url}"

[tasks]
source = "repo:{TASKS}"
ids = ["slugify-edges"]

[run]
strategy = "scaffold:{scaffold}"
budget_s = 180
max_turns = {max_turns}
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


def _assert_solved_with_every_call_timed(attempt: Attempt, server: RefServer, api: str, calls: int) -> None:
    agent = attempt.agent
    assert agent is not None, attempt.detail
    log = agent.scaffold_log[-3000:]
    assert attempt.outcome is Outcome.PASSED, (attempt.detail, log)
    assert attempt.stop_reason == "submitted" and agent.submitted, log
    # Every model call went through the proxy (none refused), forwarded, timed at the wire and counted by the server.
    assert len(server.requests) == calls and len(attempt.calls) == calls, log
    assert [(r.api, r.status, r.call) for r in agent.requests] == [(api, 200, i) for i in range(calls)]
    assert all(c.timing.t_send_wire and c.timing.first_any_ns is not None for c in attempt.calls)
    assert all(c.usage.source == "server" and c.usage.completion_tokens for c in attempt.calls)
    assert FIXED in attempt.code and agent.snapshots
    assert agent.verdict is not None and agent.verdict.trust == "tests" and not agent.verdict.tampered
    assert agent.wall_s == pytest.approx(agent.model_time_s + agent.tool_time_s + agent.overhead_s)


async def test_codex_fixes_a_task_through_the_proxy_with_every_call_timed(refserver: RefServer, tmp_path: Path) -> None:
    require_npm()
    sed = f"sed -i 's/{BUG}/{FIXED}/' textkit/slug.py"
    steps: list[dict[str, str] | None] = [
        {"name": "exec_command", "arguments": json.dumps({"cmd": f"cat {SLUG}"})},
        {"name": "exec_command", "arguments": json.dumps({"cmd": sed})},
        {"name": "exec_command", "arguments": json.dumps({"cmd": TESTS})},
        None,
    ]
    refserver.script = scripted(steps, _responses_results)
    attempt = await _run(_spec(tmp_path, refserver, "openai-responses", "codex"))
    _assert_solved_with_every_call_timed(attempt, refserver, "responses", 4)
    assert attempt.agent is not None and "ripsaw-scaffold-exit: completed" in attempt.agent.scaffold_log
    # Codex's own conversation reached the model: its tools, the task, then each command's output as a result.
    body = refserver.requests[1].body
    assert {"exec_command", "write_stdin"} <= {t.get("name") for t in body["tools"]}
    assert "web_search" not in {t.get("type") for t in body["tools"]}  # configured off
    [output] = [i["output"] for i in body["input"] if i.get("type") == "function_call_output"]
    assert "def slugify" in output
    last = refserver.requests[3].body["input"]
    assert "passed" in [i["output"] for i in last if i.get("type") == "function_call_output"][-1]


async def test_claude_code_fixes_a_task_through_the_proxy_with_every_call_timed(
    refserver: RefServer, tmp_path: Path
) -> None:
    require_npm()
    steps: list[dict[str, str] | None] = [
        {"name": "Read", "arguments": json.dumps({"file_path": SLUG})},
        {"name": "Edit", "arguments": json.dumps({"file_path": SLUG, "old_string": BUG, "new_string": FIXED})},
        {"name": "Bash", "arguments": json.dumps({"command": TESTS, "description": "Run the tests"})},
        None,
    ]
    refserver.script = scripted(steps, _messages_results)
    attempt = await _run(_spec(tmp_path, refserver, "anthropic", "claude-code"))
    _assert_solved_with_every_call_timed(attempt, refserver, "messages", 4)
    assert attempt.agent is not None and "ripsaw-scaffold-exit: success" in attempt.agent.scaffold_log
    body = refserver.requests[1].body
    assert {"Bash", "Read", "Edit", "Write"} <= {t.get("name") for t in body["tools"]}
    assert "context_management" not in body  # experimental betas off: the proxy does not forward their headers
    results = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    [read] = [b for b in results if b.get("type") == "tool_result"]
    assert "def slugify" in json.dumps(read["content"])


async def test_claude_code_stopped_at_its_turn_limit_has_not_submitted(refserver: RefServer, tmp_path: Path) -> None:
    require_npm()
    sed = f"sed -i 's/{BUG}/{FIXED}/' textkit/slug.py"
    steps: list[dict[str, str] | None] = [
        {"name": "Bash", "arguments": json.dumps({"command": sed, "description": "Fix the bug"})},
        {"name": "Bash", "arguments": json.dumps({"command": "sleep 0.1; echo still working", "description": "Wait"})},
    ]
    refserver.script = scripted(steps, _messages_results)
    attempt = await _run(_spec(tmp_path, refserver, "anthropic", "claude-code", max_turns=2))
    agent = attempt.agent
    assert agent is not None, attempt.detail
    # Claude Code's own limit (the run's max_turns) ended it: it said so, and that is not "done".
    assert "ripsaw-scaffold-exit: error_max_turns" in agent.scaffold_log, agent.scaffold_log[-2000:]
    assert attempt.stop_reason == "exited" and not agent.submitted
    assert len(attempt.calls) == 2
    # The workspace it left is scored all the same: the fix was in it.
    assert attempt.outcome is Outcome.PASSED, attempt.detail
