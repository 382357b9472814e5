"""The executor seam without a cluster: an attempt rebuilt in a fresh runtime from its pickled plain config is the
same attempt the runner records; executors come from their registry, and Ray is an extra named when missing."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from ripsaw.errors import ConfigError, SpecError
from ripsaw.execution import attempt as seam
from ripsaw.execution.attempt import AttemptConfig, close_runtimes, run_attempt
from ripsaw.execution.executor import LocalExecutor, create_executor
from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt
from ripsaw.solvers.base import AttemptUnit
from ripsaw.spec import load_spec
from ripsaw.tasks import load_spec_tasks
from ripsaw.types import RunSpec
from tests.refserver import RefServer, Reply

REPO = Path(__file__).resolve().parents[2]
STARTER = REPO / "tasks" / "starter.jsonl"


def _spec_file(tmp_path: Path, base_url: str, run: str = "") -> Path:
    path = tmp_path / "seam.toml"
    path.write_text(
        f'name = "seam"\n[[combos]]\nname = "ref"\nprovider = "openai"\nmodel = "ref-model"\nbase_url = "{base_url}"\n'
        f'[tasks]\nsource = "jsonl:{STARTER}"\nlimit = 3\n[run]\nsandbox = "process"\nbudget_s = 30\n{run}'
    )
    return path


def _answer(request: dict[str, Any]) -> Reply:
    # A fixed wrong answer for every task but starter/0's (`def add`), whose reference body passes.
    content = request["messages"][-1]["content"]
    if "def add(" in content:
        return Reply(text="```python\ndef add(a, b):\n    return a + b\n```\n")
    return Reply(text="```python\nx = 1\n```\n")


async def test_run_attempt_from_pickled_config_matches_the_runner(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = _answer
    spec = load_spec(_spec_file(tmp_path, refserver.base_url))
    result = await run_eval(spec, tmp_path / "run", progress=False, executor=LocalExecutor())
    assert result.status == "complete"
    recorded = {a.attempt_id: a for a in RunStore(tmp_path / "run").attempts()}
    assert {a.placement.executor for a in recorded.values() if a.placement} == {"local"}

    config = pickle.loads(pickle.dumps(AttemptConfig("run", spec, tuple(load_spec_tasks(spec)), "process")))
    try:
        rebuilt = {}
        for task in config.tasks:
            unit = AttemptUnit("ref", task.id, 0)
            rebuilt[unit.key] = await run_attempt(unit, config, executor="test", node_id="n1", dispatch_s=0.5)
        assert len(seam._RUNTIMES) == 1  # one runtime per process and run, reused by every attempt
    finally:
        await close_runtimes()
    assert not seam._RUNTIMES
    assert {k: a.outcome for k, a in rebuilt.items()} == {k: a.outcome for k, a in recorded.items()}
    assert sum(a.outcome.value == "passed" for a in rebuilt.values()) == 1
    where = next(iter(rebuilt.values())).placement
    assert where is not None and (where.executor, where.node_id, where.dispatch_s) == ("test", "n1", 0.5)
    assert where.cpu_model and where.cpus and where.host
    again = Attempt.from_dict(next(iter(rebuilt.values())).to_dict())
    assert again.placement == where


def test_executors_come_from_the_registry(tmp_path: Path) -> None:
    assert isinstance(create_executor(RunSpec()), LocalExecutor)
    with pytest.raises(SpecError, match=r"run\.executor: unknown executor 'rya'; did you mean 'ray'\?"):
        load_spec(_spec_file(tmp_path, "http://127.0.0.1:9/v1", 'executor = "rya"\n'))


def test_ray_executor_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as it does where it is not installed
    with pytest.raises(ConfigError, match=r'pip install "ripsaw\[ray\]"'):
        create_executor(RunSpec(executor="ray"))
