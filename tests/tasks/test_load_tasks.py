from __future__ import annotations

import json
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError
from ripsaw.tasks import load_tasks, suite_hash
from ripsaw.types import TasksSpec

REPO = Path(__file__).resolve().parents[2]


def ids(spec: TasksSpec, base_dir: Path | None = None) -> list[str]:
    return [t.id for t in load_tasks(spec, base_dir)]


def test_humaneval_source() -> None:
    tasks = load_tasks(TasksSpec(source="humaneval"))
    assert len(tasks) == 164
    assert tasks[0].id == "HumanEval/0" and tasks[0].entry_point == "has_close_elements"
    assert suite_hash(tasks).startswith("sha256:")


def test_jsonl_path_is_relative_to_the_spec_directory(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    row = {"id": "a", "prompt": "p", "entry_point": "f", "tests": {"calls": [{"args": [], "expected": 1}]}}
    (tmp_path / "suites" / "mine.jsonl").write_text(json.dumps(row) + "\n")
    assert ids(TasksSpec(source="jsonl:suites/mine.jsonl"), base_dir=tmp_path) == ["a"]
    with pytest.raises(ConfigError, match=r"tasks.source: file not found: 'nope\.jsonl'"):
        load_tasks(TasksSpec(source="jsonl:nope.jsonl"), base_dir=tmp_path)


def test_selection_by_ids_keeps_the_given_order() -> None:
    spec = TasksSpec(source="jsonl:tasks/starter.jsonl", ids=("starter/3", "starter/1"))
    assert ids(spec, REPO) == ["starter/3", "starter/1"]


def test_unknown_ids_are_named() -> None:
    spec = TasksSpec(source="humaneval", ids=("HumanEval/1", "HumanEval/999", "humaneval/2"))
    with pytest.raises(ConfigError, match=r"no task with id 'HumanEval/999', 'humaneval/2' in humaneval"):
        load_tasks(spec)
    with pytest.raises(ConfigError, match="listed more than once"):
        load_tasks(TasksSpec(source="humaneval", ids=("HumanEval/1", "HumanEval/1")))


def test_shuffle_is_deterministic_and_limit_applies_after_it() -> None:
    first = ids(TasksSpec(source="jsonl:tasks/starter.jsonl", shuffle_seed=7, limit=10), REPO)
    again = ids(TasksSpec(source="jsonl:tasks/starter.jsonl", shuffle_seed=7, limit=10), REPO)
    other = ids(TasksSpec(source="jsonl:tasks/starter.jsonl", shuffle_seed=8, limit=10), REPO)
    plain = ids(TasksSpec(source="jsonl:tasks/starter.jsonl", limit=10), REPO)
    assert first == again and len(first) == 10
    assert first != other and first != plain
    assert plain == [f"starter/{i}" for i in range(10)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TasksSpec(source="humaneva"), "unknown task source 'humaneva'; did you mean 'humaneval'?"),
        (TasksSpec(source="ftp:x"), "unknown task source 'ftp:x' (use humaneval, jsonl:PATH, hf:DATASET, repo:PATH"),
        (TasksSpec(source="humaneval:extra"), "'humaneval' takes no argument"),
        (TasksSpec(source="jsonl:"), "'jsonl:' needs a path"),
        (TasksSpec(source="hf:"), "'hf:' needs a dataset name"),
        (TasksSpec(source="mbpp", preset="livecodebench"), "'livecodebench' contradicts the source 'mbpp'"),
        (TasksSpec(source="hf:someone/unknown-set"), "cannot tell the column layout of hf:someone/unknown-set"),
        (TasksSpec(source="hf:x/y", preset="apps"), "unknown preset 'apps'"),
        (TasksSpec(source="humaneval", limit=0), "tasks.limit: must be at least 1"),
    ],
)
def test_config_errors(spec: TasksSpec, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_tasks(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
