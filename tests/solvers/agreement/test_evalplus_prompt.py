"""The `evalplus` prompt preset sends what EvalPlus itself sends: EvalPlus's own codegen (evalplus 0.3.1, its
OpenAI chat backend) and Ripsaw run against the same reference server, and the requests are compared.

EvalPlus runs in a subprocess, on all 164 HumanEval prompts given to it as a local HumanEval+ file
(HUMANEVAL_OVERRIDE_PATH, with the fields its loader checks), so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ripsaw.solvers.prompts import EVALPLUS_PROMPT, PROMPTS, build_prompt
from ripsaw.tasks.humaneval import load_humaneval
from tests.refserver import RefServer, Reply
from tests.support.reference import evalplus_version

pytestmark = pytest.mark.skipif(
    evalplus_version() is None and os.environ.get("CI") != "true",
    reason="evalplus is not installed (pip install -e '.[test]')",
)


def test_evalplus_preset_is_registered() -> None:
    assert PROMPTS.get("evalplus") is EVALPLUS_PROMPT


def test_evalplus_preset_sends_exactly_what_evalplus_codegen_sends(refserver: RefServer, tmp_path: Path) -> None:
    assert evalplus_version() == "0.3.1"
    tasks = load_humaneval()
    override = tmp_path / "HumanEvalPlus.jsonl"
    override.write_text(
        "".join(
            json.dumps(
                {
                    "task_id": t.id,
                    "prompt": t.prompt,
                    "entry_point": t.entry_point,
                    "canonical_solution": t.canonical_solution,
                    "contract": "",
                    "base_input": [],
                    "plus_input": [],
                    "atol": 0,
                }
            )
            + "\n"
            for t in tasks
        )
    )
    refserver.script = [Reply(text="```python\npass\n```")]
    env = {**os.environ, "HUMANEVAL_OVERRIDE_PATH": str(override), "OPENAI_API_KEY": "none"}
    args = ["--model", "ref-model", "--dataset", "humaneval", "--backend", "openai", "--base_url", refserver.base_url]
    done = subprocess.run(
        [sys.executable, "-m", "evalplus.codegen", *args, "--greedy", "--root", str(tmp_path / "out")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sent = [r.body["messages"] for r in refserver.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == len(tasks)
    for task, messages in zip(tasks, sent, strict=True):
        ours = build_prompt(task, "chat", EVALPLUS_PROMPT).messages
        assert [{"role": m.role, "content": m.content} for m in ours] == messages, task.id
