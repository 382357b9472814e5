"""The `swebench:` source on a real engine, with an instance made in the test: `ripsaw tasks validate` proves it (the
base fails, the gold patch passes) and names a broken one; a scripted agent solves it end to end and a wrong fix
fails; the same instance from a prebuilt per-instance image (named as the `swebench` package names them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from ripsaw.sandboxes.image import WORKSPACE, connect, image_tag
from ripsaw.sandboxes.workspace import TASK_REPO_PREFIX
from ripsaw.spec import load_spec
from ripsaw.tasks import RepoTests, load_tasks
from ripsaw.tasks.swebench import CACHE_ENV, prebuilt_images
from ripsaw.types import TasksSpec
from tests.refserver import RefServer, Reply
from tests.sandboxes.conftest import require_docker
from tests.tasks import swebench_fixture as fx

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]
FIX = "sed -i 's/min(x, lo)/min(x, hi)/' calc/ops.py"
WRONG = "sed -i 's/min(x, lo)/min(x, hi + 1)/' calc/ops.py"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    require_docker()
    values = {CACHE_ENV: str(tmp_path / "task-cache"), "RIPSAW_VALIDATED_CACHE": str(tmp_path / "validated")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **values}


def _validate(env: dict[str, str], jsonl: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ripsaw", "tasks", "validate", f"swebench:{jsonl}", "--json", "--no-progress"]
    return subprocess.run([*command, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_tasks_validate_proves_the_instance_and_names_a_broken_one(tmp_path: Path, env: dict[str, str]) -> None:
    f = fx.make(tmp_path)
    done = _validate(env, f.jsonl, "--repo-cache", str(f.cache))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)[0] == {**json.loads(done.stdout)[0], "task": fx.INSTANCE_ID, "ok": True}
    # control: an id that already passes before the fix is not a FAIL_TO_PASS test
    broken = dict(
        f.instance,
        instance_id="acme__calc-8",
        FAIL_TO_PASS=json.dumps([*fx.FAIL_TO_PASS, "tests/test_ops.py::test_mean"]),
        PASS_TO_PASS=json.dumps([t for t in fx.PASS_TO_PASS if t != "tests/test_ops.py::test_mean"]),
    )
    f.jsonl.write_text(json.dumps(broken) + "\n")
    done = _validate(env, f.jsonl, "--repo-cache", str(f.cache), "--runs", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    [result] = json.loads(done.stdout)
    assert result["problems"] == [
        "tests/test_ops.py::test_mean passes on the untouched workspace (it must fail before the fix)"
    ]


def _turns(body: dict[str, Any]) -> int:
    return sum(1 for m in body["messages"] if m["role"] in ("user", "tool")) - 1


def _scripted(commands: list[str]) -> Any:
    def reply(body: dict[str, Any]) -> Reply:
        n = _turns(body)
        return Reply(text=f"Next:\n\n```bash\n{commands[min(n, len(commands) - 1)]}\n```\n", rate=2000)

    return reply


def _spec(tmp_path: Path, server: RefServer, f: fx.Fixture) -> Path:
    spec = tmp_path / "swebench.toml"
    spec.write_text(
        f"""
name = "swebench-e2e"
[[combos]]
name = "scripted"
provider = "openai"
model = "ref-model"
base_url = "{server.base_url}"

[tasks]
source = "swebench:{f.jsonl}"
repo_cache = "{f.cache}"

[run]
strategy = "agent"
budget_s = 120
command_timeout_s = 30
output_dir = "{tmp_path / "reports"}"
run_id = "swebench"
"""
    )
    return spec


async def test_a_scripted_agent_solves_the_instance_and_a_wrong_fix_fails(
    refserver: RefServer, tmp_path: Path, env: dict[str, str]
) -> None:
    f = fx.make(tmp_path)
    refserver.script = _scripted(["pwd && cat calc/ops.py", FIX, "python3 -m pytest -q tests", "submit"])
    spec = load_spec(_spec(tmp_path, refserver, f))
    result = await run_eval(spec, tmp_path / "reports" / "swebench", progress=False)
    [attempt] = RunStore(result.run_dir).attempts()
    assert attempt.outcome is Outcome.PASSED, attempt.detail
    agent = attempt.agent
    assert agent is not None and agent.verdict is not None
    assert "\n/testbed\n" in agent.turns[0].observation and "min(x, lo)" in agent.turns[0].observation
    assert agent.verdict.tests == {t: "passed" for t in (*fx.FAIL_TO_PASS, *fx.PASS_TO_PASS)} | agent.verdict.tests
    assert set(agent.verdict.tests) == {*fx.FAIL_TO_PASS, *fx.PASS_TO_PASS}
    assert set(agent.verdict.tests.values()) == {"passed"} and not agent.verdict.tampered
    assert "min(x, hi)" in attempt.code
    # the hidden tests were not in the agent's workspace: its pytest run saw only the base's tests
    assert "test_upper" not in agent.turns[2].observation and "3 failed" not in agent.turns[2].observation

    refserver.script = _scripted([WRONG, "submit"])
    wrong_dir = tmp_path / "reports" / "wrong"
    result = await run_eval(spec, wrong_dir, progress=False)
    [attempt] = RunStore(result.run_dir).attempts()
    assert attempt.outcome is Outcome.FAILED
    assert attempt.agent is not None and attempt.agent.verdict is not None
    assert attempt.agent.verdict.tests["tests/test_upper.py::TestClampUpper::test_above"] == "failed"


@pytest.fixture
def prebuilt(tmp_path: Path) -> Iterator[fx.Fixture]:
    """A stand-in for the swebench harness's image of the instance: the repository at base_commit in /testbed (a
    git checkout owned by root), tagged with the harness's name; removed afterwards."""
    require_docker()
    f = fx.make(tmp_path, instance_id="acme__calc-9")
    context = tmp_path / "prebuilt"
    subprocess.run(["git", "clone", "-q", str(f.clone), str(context / "testbed")], check=True)
    subprocess.run(["git", "-C", str(context / "testbed"), "checkout", "-q", f.instance["base_commit"]], check=True)
    (context / "Dockerfile").write_text(
        f"FROM {image_tag(WORKSPACE)}\nUSER root\nCOPY testbed/ /testbed/\nWORKDIR /testbed\n"
    )
    tag = prebuilt_images("acme__calc-9")[1]  # as pulled from Docker Hub
    client = connect()
    try:
        client.images.build(path=str(context), tag=tag, rm=True, network_mode="none")
        yield f
    finally:  # the task images built FROM it first, then it
        for name in (f"{TASK_REPO_PREFIX}acme__calc-9", tag.split(":")[0]):
            for image in client.images.list(name=name):
                client.images.remove(image.id, force=True)
        client.close()


def test_a_prebuilt_image_is_the_workspace_when_the_engine_has_it(
    prebuilt: fx.Fixture, tmp_path: Path, env: dict[str, str]
) -> None:
    [task] = load_tasks(TasksSpec(source=f"swebench:{prebuilt.jsonl}"))  # no repository cache at all
    assert isinstance(task.tests, RepoTests)
    assert task.metadata["workspace"] == "image" and task.metadata["image"] == prebuilt_images("acme__calc-9")[1]
    d = Path(task.tests.dir)
    assert (d / "tests" / "tests" / "test_upper.py").read_text() == fx.TEST_NEW_FILE  # read from the image
    assert not (d / "environment" / "repo").exists()
    # with a repository cache too, the image still wins: it holds the repository's dependencies
    [both] = load_tasks(TasksSpec(source=f"swebench:{prebuilt.jsonl}", repo_cache=str(prebuilt.cache)))
    assert both.metadata["workspace"] == "image" and both.tests == task.tests
    done = _validate(env, prebuilt.jsonl, "--runs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
