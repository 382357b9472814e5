"""The reference agent (tests.refserver.solutions_script): the built-in agent whose "model" plays each repository
task's known fix, the workspace's tests and `submit`. How it picks the task and phrases each turn; then, on a real
engine, forged tasks solved through the whole pipeline, beside a control where the wrong task's fix is played."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.spec import load_spec
from tests.refserver import SOLUTION_CHECK, RefServer, solutions_script
from tests.sandboxes.conftest import require_docker

FORGED = Path(__file__).resolve().parents[2] / "tasks" / "forged"
FENCED = "#!/bin/bash\ncat > notes.md <<'EOF'\n```python\nx = 1\n```\nEOF\n"


def _suite(root: Path, tasks: dict[str, tuple[str, str]]) -> Path:
    for name, (instruction, solve) in tasks.items():
        (root / name / "solution").mkdir(parents=True)
        (root / name / "instruction.md").write_text(instruction)
        (root / name / "solution" / "solve.sh").write_text(solve)
    return root


def _body(instruction: str, observations: int, *, tools: bool) -> dict[str, Any]:
    messages = [{"role": "system", "content": "You are a software engineer."}, {"role": "user", "content": instruction}]
    for i in range(observations):
        messages.append({"role": "assistant", "content": f"step {i}"})
        messages.append({"role": "tool" if tools else "user", "content": f"Exit status 0 ({i})"})
    body: dict[str, Any] = {"model": "ref-model", "messages": messages}
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "bash"}}]
    return body


def _command(body: dict[str, Any], script: Any) -> str:
    reply = script(body)
    assert reply.status == 200, reply.error_message
    if body.get("tools"):
        [call] = reply.native_tool_calls
        assert call["name"] == "bash"
        return str(json.loads(call["arguments"])["command"])
    [block] = re.findall(r"```bash\n(.*?)\n```", reply.text, re.DOTALL)
    return str(block)


def test_each_conversation_gets_its_own_tasks_fix_then_the_tests_then_submit(tmp_path: Path) -> None:
    root = _suite(tmp_path, {"a": ("# Bug A\n\nFix a.", "sed -i s/1/2/ a.py\n"), "b": ("# Bug B", "echo b\n")})
    script = solutions_script(root)
    for tools in (True, False):
        a = [_command(_body("# Bug A\n\nFix a.", n, tools=tools), script) for n in range(4)]
        assert a == ["sed -i s/1/2/ a.py\n", SOLUTION_CHECK, "submit", "submit"]
        assert _command(_body("# Bug B", 0, tools=tools), script) == "echo b\n"
    refused = script(_body("# A bug no task has", 0, tools=True))
    assert refused.status == 400 and "no task under" in refused.error_message


def test_a_fix_holding_a_fence_goes_base64_in_text_mode_and_verbatim_as_a_tool_call(tmp_path: Path) -> None:
    script = solutions_script(_suite(tmp_path, {"a": ("# Bug A", FENCED)}))
    assert _command(_body("# Bug A", 0, tools=True), script) == FENCED
    text = _command(_body("# Bug A", 0, tools=False), script)
    encoded = re.fullmatch(r"echo (\S+) \| base64 -d \| bash", text)
    assert encoded is not None and base64.b64decode(encoded.group(1)).decode() == FENCED


def test_tasks_that_read_alike_or_no_solutions_are_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the same instruction as another task"):
        solutions_script(_suite(tmp_path / "twins", {"a": ("# Same", "echo a\n"), "b": ("# Same", "echo b\n")}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no task directory with solution/solve\.sh"):
        solutions_script(tmp_path / "empty")


def test_every_shipped_forged_task_reads_unlike_the_others() -> None:
    assert solutions_script(FORGED)  # raises on two tasks with one instruction


def _spec(tmp_path: Path, server: RefServer, source: Path, ids: list[str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "reference.toml"
    spec.write_text(
        f"""
name = "reference-agent"
[[combos]]
name = "reference-agent"
provider = "openai"
model = "ref-model"
base_url = "{server.base_url}"
tool_mode = "native"

[tasks]
source = "repo:{source}"
ids = {json.dumps(ids)}

[run]
strategy = "agent"
budget_s = 300
max_turns = 5
command_timeout_s = 120
output_dir = "{tmp_path / "reports"}"
run_id = "reference"
"""
    )
    return spec


async def _attempts(spec: Path) -> dict[str, Attempt]:
    result = await run_eval(load_spec(spec), spec.parent / "reports" / "reference", progress=False)
    return {a.task_id: a for a in RunStore(result.run_dir).attempts()}


@pytest.mark.docker
async def test_forged_tasks_pass_through_the_pipeline_and_the_wrong_fix_fails(
    refserver: RefServer, tmp_path: Path
) -> None:
    require_docker()
    ids = ["toolz-pluck", "cachetools-ttl-cache"]
    refserver.script = solutions_script(FORGED)
    attempts = await _attempts(_spec(tmp_path / "right", refserver, FORGED, ids))
    assert sorted(attempts) == sorted(ids)
    for attempt in attempts.values():
        agent = attempt.agent
        assert agent is not None
        assert attempt.outcome is Outcome.PASSED, attempt.detail
        assert attempt.stop_reason == "submitted"
        assert [t.action for t in agent.turns] == ["command", "command", "submit"]
        assert agent.turns[0].exit_code == 0 and agent.turns[0].snapshot == 0  # the fix applied and was snapshotted
        assert agent.verdict is not None and agent.verdict.trust == "tests" and not agent.verdict.tampered

    # Control: the same task, its conversation answered with another task's fix (its patch does not apply here).
    wrong = _suite(tmp_path / "wrong", {
        "cachetools-ttl-cache": (
            (FORGED / "cachetools-ttl-cache" / "instruction.md").read_text(),
            (FORGED / "cachetools-fifo-cache" / "solution" / "solve.sh").read_text(),
        )
    })  # fmt: skip
    refserver.reset(solutions_script(wrong))
    [control] = (await _attempts(_spec(tmp_path / "control", refserver, FORGED, ids[1:]))).values()
    assert control.outcome is Outcome.FAILED
    assert control.agent is not None and control.agent.turns[0].exit_code != 0
