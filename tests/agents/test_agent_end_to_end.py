"""The agent end to end on a real engine: a scripted model (the reference server answering each turn by reading the
conversation so far) inspects, fixes and submits a bundled repository task; the same with a wrong fix fails; a
budget cut mid-command kills the command and scores the last snapshot."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.sandboxes.docker import LABEL_RUN
from ripsaw.sandboxes.image import connect
from ripsaw.spec import load_spec
from tests.refserver import RefServer, Reply
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
TASKS = Path(__file__).resolve().parents[2] / "tasks" / "repo"
FIX = "sed -i 's/slug = slug.lstrip(separator)/slug = slug.strip(separator)/' textkit/slug.py"
WRONG = "sed -i 's/slug = slug.lstrip(separator)/slug = slug.rstrip(separator)/' textkit/slug.py"


def _turns(body: dict[str, Any]) -> int:
    """How many observations the agent has seen: the conversation's user turns after the instruction."""
    return sum(1 for m in body["messages"] if m["role"] in ("user", "tool")) - 1


def scripted(commands: list[str]) -> Any:
    """A text-mode agent that runs `commands` in order, one per turn, with some words around each block."""

    def reply(body: dict[str, Any]) -> Reply:
        n = _turns(body)
        command = commands[min(n, len(commands) - 1)]
        return Reply(text=f"Step {n + 1}: let me run this.\n\n```bash\n{command}\n```\n", rate=2000)

    return reply


def _spec(
    tmp_path: Path, server: RefServer, *, budget_s: float = 120, extra: str = "", ids: str = '["slugify-edges"]'
) -> Path:
    spec = tmp_path / "agent.toml"
    spec.write_text(
        f"""
name = "agent-e2e"
[[combos]]
name = "scripted"
provider = "openai"
model = "ref-model"
base_url = "{server.base_url}"

[tasks]
source = "repo:{TASKS}"
ids = {ids}

[run]
strategy = "agent"
budget_s = {budget_s}
command_timeout_s = 30
output_dir = "{tmp_path / "reports"}"
run_id = "agent"
{extra}
"""
    )
    return spec


async def _run(spec: Path) -> Attempt:
    result = await run_eval(load_spec(spec), spec.parent / "reports" / "agent", progress=False)
    [attempt] = RunStore(result.run_dir).attempts()
    return attempt


async def test_a_scripted_agent_inspects_fixes_and_submits(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = scripted(["ls -R textkit | head", "cat textkit/slug.py", FIX, "python3 -m pytest -q", "submit"])
    attempt = await _run(_spec(tmp_path, refserver))
    agent = attempt.agent
    assert agent is not None
    assert attempt.outcome is Outcome.PASSED, attempt.detail
    assert attempt.stop_reason == "submitted" and agent.submitted
    assert attempt.prompt.startswith("[system]\nYou are a software engineer") and "hello-world-" in attempt.prompt
    assert [t.action for t in agent.turns] == ["command"] * 4 + ["submit"]
    assert agent.turns[1].exit_code == 0 and "def slugify" in agent.turns[1].observation
    assert len(agent.snapshots) == 1 and agent.snapshots[0].turn == 2
    assert "+        slug = slug.strip(separator)" in attempt.code or "slug.strip(separator)" in attempt.code
    assert agent.verdict is not None and agent.verdict.trust == "tests" and not agent.verdict.tampered
    assert agent.solved_at_s == agent.snapshots[0].at_s
    # the time split adds up, and the container start overlapped the first model call
    assert agent.wall_s == pytest.approx(agent.model_time_s + agent.tool_time_s + agent.overhead_s)
    assert agent.warm_s is not None and agent.warm_hidden_s is not None
    assert len(attempt.calls) == 5 and all(c.usage.completion_tokens for c in attempt.calls)
    # every mark after the fix passes; the untouched workspace before it fails
    assert agent.marks and agent.marks[-1].outcome is Outcome.PASSED
    workspace = RunStore(tmp_path / "reports" / "agent").manifest()["workspace"]
    assert workspace["limits_by_task"] == {"slugify-edges": {"cpus": 1.0, "memory_mb": 2048}}
    assert workspace["hardening"]["network_mode"] == "none"


async def test_a_wrong_fix_fails_with_the_failing_ids_named(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = scripted([WRONG, "submit"])
    attempt = await _run(_spec(tmp_path, refserver))
    assert attempt.outcome is Outcome.FAILED
    assert attempt.agent is not None and attempt.agent.verdict is not None
    assert attempt.stop_reason == "submitted" and attempt.agent.solved_at_s is None


async def test_format_errors_cost_a_turn_and_max_turns_stops(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()

    def reply(body: dict[str, Any]) -> Reply:
        n = _turns(body)
        texts = ["I will look around first.", "```bash\nls\n```\n```bash\npwd\n```", f"```bash\n{FIX}\n```"]
        return Reply(text=texts[min(n, 2)], rate=2000)

    refserver.script = reply
    attempt = await _run(_spec(tmp_path, refserver, extra="max_turns = 3"))
    agent = attempt.agent
    assert agent is not None
    assert [t.action for t in agent.turns] == ["format_error", "format_error", "command"]
    assert "No ```bash block" in agent.turns[0].observation and "2 ```bash blocks" in agent.turns[1].observation
    assert attempt.stop_reason == "max_turns" and attempt.outcome is Outcome.PASSED  # the fix was in the workspace


async def test_a_budget_cut_mid_command_kills_it_and_scores_the_last_snapshot(
    refserver: RefServer, tmp_path: Path
) -> None:
    require_docker()
    refserver.script = scripted([FIX, "sleep 600", "submit"])
    attempt = await _run(_spec(tmp_path, refserver, budget_s=8))
    agent = attempt.agent
    assert agent is not None
    assert attempt.stop_reason == "budget"
    cut = agent.turns[-1]
    assert cut.command == "sleep 600" and cut.timed_out and cut.cut == "budget"
    assert "time budget ran out" in cut.observation
    assert cut.tool_time_s < 30 and agent.wall_s < 30
    assert attempt.outcome is Outcome.PASSED  # the fix before the cut stands
    assert re.search(r"budget", attempt.stop_reason or "")


def test_kill_9_mid_agent_loses_nothing_and_the_rerun_resumes(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = scripted(["sleep 2", "sleep 2", FIX, "sleep 2", "submit"])
    spec = _spec(tmp_path, refserver, ids='["slugify-edges", "duration-units", "csv-quote"]', extra="concurrency = 1")
    run_dir = tmp_path / "reports" / "agent"
    attempts_file = run_dir / "attempts.jsonl"
    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "ripsaw", "run", str(spec), "--no-progress"]
    proc = subprocess.Popen(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (attempts_file.exists() and attempts_file.read_bytes().count(b"\n")):
        time.sleep(0.05)
    client = connect()
    running: list[Any] = []
    while time.monotonic() < deadline and not running:  # the next attempt is mid-agent: its container is up
        running = client.containers.list(filters={"label": [f"{LABEL_RUN}=agent", "org.ripsaw.sandbox=workspace"]})
        time.sleep(0.05)
    time.sleep(1.0)  # inside a command (every command sleeps 2 s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert running, "no agent container was running when the run was killed"
    before = attempts_file.read_text().splitlines()
    assert 1 <= len(before) < 3

    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = attempts_file.read_text().splitlines()
    assert after[: len(before)] == before  # finished attempts untouched
    ids = [json.loads(line)["attempt_id"] for line in after]
    assert len(ids) == len(set(ids)) == 3  # no duplicates, nothing missing
    assert not client.containers.list(all=True, filters={"label": f"{LABEL_RUN}=agent"})  # the killed run's reaped
    client.close()


async def test_a_native_tool_calling_agent_fixes_and_submits(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    steps = [
        '{"command": "cat textkit/slug.py"',  # malformed JSON: a format error, answered as the call's tool result
        json.dumps({"command": "cat textkit/slug.py"}),
        json.dumps({"command": FIX}),
        json.dumps({"command": "submit"}),
    ]

    def reply(body: dict[str, Any]) -> Reply:
        n = _turns(body)
        return Reply(text="", native_tool_calls=[{"name": "bash", "arguments": steps[min(n, 3)]}], rate=2000)

    refserver.script = reply
    attempt = await _run(_spec(tmp_path, refserver, extra='tool_mode = "native"'))
    agent = attempt.agent
    assert agent is not None and agent.tool_mode == "native"
    assert [t.action for t in agent.turns] == ["format_error", "command", "command", "submit"]
    assert "not valid JSON" in agent.turns[0].observation
    assert attempt.outcome is Outcome.PASSED and attempt.stop_reason == "submitted"
    # what the agent sent back: the bash tool, and each observation as the tool result of its call
    last = refserver.requests[-1].body
    assert [t["function"]["name"] for t in last["tools"]] == ["bash"]
    results = [m for m in last["messages"] if m["role"] == "tool"]
    assert len(results) == 3 and "Format error" in results[0]["content"]
    assert results[1]["content"].startswith("Exit status 0") and "def slugify" in results[1]["content"]
    assert all(m["tool_call_id"] for m in results)


async def test_max_output_tokens_stops_the_agent_before_another_turn(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = scripted(["ls", "ls -la", FIX, "submit"])  # 9 and 10 tokens by the server's count
    attempt = await _run(_spec(tmp_path, refserver, extra="max_output_tokens = 15"))
    assert attempt.stop_reason == "max_output_tokens"
    assert attempt.agent is not None and len(attempt.agent.turns) == 2
    assert sum(c.usage.completion_tokens or 0 for c in attempt.calls) >= 15


async def test_a_conversation_the_endpoint_refuses_is_scored_not_an_infra_error(
    refserver: RefServer, tmp_path: Path
) -> None:
    require_docker()
    fix = scripted([FIX, "ls"])

    def reply(body: dict[str, Any]) -> Reply:
        if _turns(body) >= 2:  # the third request: "the context is full"
            return Reply(status=400, error_message="This model's maximum context length is 2048 tokens")
        return fix(body)

    refserver.script = reply
    attempt = await _run(_spec(tmp_path, refserver))
    assert attempt.stop_reason == "rejected"
    assert attempt.outcome is Outcome.PASSED  # the fix made before the refusal
    assert "refused the conversation after 2 turns" in attempt.detail and "maximum context length" in attempt.detail
    assert attempt.agent is not None and len(attempt.agent.turns) == 2


async def test_a_refused_first_request_is_an_infra_error(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = [Reply(status=400, error_message="unknown parameter")]
    attempt = await _run(_spec(tmp_path, refserver))
    assert attempt.outcome is Outcome.INFRA_ERROR and attempt.stop_reason == "error"
