"""aider, unchanged, on a bundled repository task through the timing proxy, on a real engine: the scripted reference
server plays the model in aider's edit format for a model it has no settings for (whole-file listings). aider asks
for the file, edits it, runs the task's visible tests and stops; every call is timed at the wire and the verdict
scores its workspace. Beside it, a model whose edit breaks a visible test: aider sends the failures back until its
reflection limit, stops without having finished, and the attempt fails for that reason.

The first run builds aider's image (its wheels downloaded by the host's pip) and the task's derivation of it; later
runs reuse them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ripsaw.records import Outcome
from tests.agents.test_scaffold_end_to_end import TASKS, _run, _spec
from tests.refserver import RefServer, Reply
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
SOURCE = (TASKS / "slugify-edges" / "environment" / "repo" / "textkit" / "slug.py").read_text()
BUG = "slug = slug.lstrip(separator)"
FIXED = SOURCE.replace(BUG, "slug = slug.strip(separator)")
BROKEN = SOURCE.replace(BUG, "slug = slug.rstrip(separator)")  # fails the visible test_leading_punctuation


def summarizing(body: dict[str, Any]) -> bool:
    """A request of aider's chat-history summarizer (it runs in the background once the history grows)."""
    return "summarize this partial conversation" in str(body["messages"][0]["content"])


def aider(new_source: str) -> Callable[[dict[str, Any]], Reply]:
    """A model that names the file to change until aider has added it to the chat (its full text is then in the
    conversation, not only the repository map's outline), then answers with the file's new listing; and summarizes
    when asked to."""

    def reply(body: dict[str, Any]) -> Reply:
        if summarizing(body):
            return Reply(text="I asked you to fix the separator in textkit/slug.py.", rate=2000)
        in_chat = any("_NON_WORD.sub(separator" in str(m["content"]) for m in body["messages"] if m["role"] == "user")
        if not in_chat:
            return Reply(text="The separator is stripped only at the start, in textkit/slug.py.", rate=2000)
        return Reply(text=f"Strip it at both ends.\n\ntextkit/slug.py\n```python\n{new_source}```\n", rate=2000)

    return reply


async def test_aider_fixes_a_task_through_the_proxy_with_every_call_timed(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = aider(FIXED)
    attempt = await _run(_spec(tmp_path, refserver, scaffold="aider"))
    agent = attempt.agent
    assert agent is not None, attempt.detail
    log = agent.scaffold_log
    assert attempt.outcome is Outcome.PASSED, (attempt.detail, log[-3000:])
    assert attempt.strategy == "scaffold:aider" and agent.scaffold == "aider"
    assert attempt.stop_reason == "submitted" and agent.submitted, log[-3000:]
    # Two calls for the task: the file named, then the edit (and any of its history summarizer's). Each one forwarded
    # streamed, timed at the wire, counted by the server.
    task_calls = [r for r in refserver.requests if not summarizing(r.body)]
    assert len(task_calls) == 2 and len(attempt.calls) == len(refserver.requests), log[-3000:]
    assert all(r.body["stream"] is True and r.body["model"] == "ref-model" for r in refserver.requests)
    assert all(c.timing.t_send_wire and c.timing.first_any_ns is not None for c in attempt.calls)
    assert all(c.usage.source == "server" and c.usage.completion_tokens for c in attempt.calls)
    assert [(r.api, r.status, r.call) for r in agent.requests] == [("chat", 200, i) for i in range(len(attempt.calls))]
    # aider's own conversation reached the model: its prompt and repository map, then the file it added.
    first, second = (r.body["messages"] for r in task_calls)
    assert "expert software developer" in first[0]["content"]
    assert any("textkit/slug.py" in str(m["content"]) and "def slugify" in str(m["content"]) for m in first)
    assert any(BUG in str(m["content"]) for m in second if m["role"] == "user")
    # It ran the task's visible tests after its edit (auto-test), and they passed.
    assert re.search(r"\d+ passed", log), log[-3000:]
    # The change is the fix; aider's own files stayed out of it (its histories are in the log directory, its caches
    # behind the `.aider*` line it added to .gitignore), and it never tried the network (the model-info download).
    assert "slug.strip(separator)" in attempt.code and "+.aider*" in attempt.code
    assert ".aider.chat" not in attempt.code and "tags.cache" not in attempt.code
    assert "githubusercontent" not in log and "ripsaw-scaffold-exit: 0" in log
    assert agent.verdict is not None and agent.verdict.trust == "tests" and not agent.verdict.tampered
    assert agent.wall_s == pytest.approx(agent.model_time_s + agent.tool_time_s + agent.overhead_s)


async def test_aider_stopped_at_its_reflection_limit_has_not_submitted(refserver: RefServer, tmp_path: Path) -> None:
    require_docker()
    refserver.script = aider(BROKEN)
    attempt = await _run(_spec(tmp_path, refserver, scaffold="aider"))
    agent = attempt.agent
    assert agent is not None, attempt.detail
    log = agent.scaffold_log
    # The file named, then the broken edit three times: each time the visible tests' failure went back to the model.
    # (Its history grew past what aider keeps unsummarized: the summarizer's calls went through the proxy too.)
    task_calls = [r for r in refserver.requests if not summarizing(r.body)]
    assert len(task_calls) == 4 and len(attempt.calls) == len(refserver.requests), log[-3000:]
    for request in task_calls[2:]:
        assert "test_leading_punctuation" in str(request.body["messages"][-1]["content"])
    assert "Only 3 reflections allowed, stopping." in log
    assert attempt.stop_reason == "exited" and not agent.submitted
    # Scored all the same, and failed for the model's edit, not for anything of the run's.
    assert attempt.outcome is Outcome.FAILED, attempt.detail
    assert "slug.rstrip(separator)" in attempt.code
