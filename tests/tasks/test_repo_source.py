"""The bundled repository tasks load through the `repo:` source, and a malformed task names its file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError
from ripsaw.tasks import RepoTests, load_tasks, suite_hash
from ripsaw.tasks.repo import load_repo_task
from ripsaw.types import TasksSpec

BUNDLED = Path(__file__).resolve().parents[2] / "tasks" / "repo"


def test_every_bundled_task_loads_with_ids_in_its_hidden_tests() -> None:
    tasks = load_tasks(TasksSpec(source=f"repo:{BUNDLED}"))
    assert len(tasks) >= 20
    for task in tasks:
        assert isinstance(task.tests, RepoTests)
        assert task.tests.trust == "tests" and task.tests.fail_to_pass
        assert task.metadata["difficulty"] in ("easy", "medium", "hard")
    assert {t.metadata["difficulty"] for t in tasks} == {"easy", "medium", "hard"}


def test_the_suite_hash_does_not_depend_on_where_the_checkout_is(tmp_path: Path) -> None:
    shutil.copytree(BUNDLED / "slugify-edges", tmp_path / "slugify-edges")
    here = load_repo_task(BUNDLED / "slugify-edges")
    there = load_repo_task(tmp_path / "slugify-edges")
    assert suite_hash([here]) == suite_hash([there])
    (tmp_path / "slugify-edges" / "instruction.md").write_text("Something else entirely.\n")
    assert suite_hash([here]) != suite_hash([load_repo_task(tmp_path / "slugify-edges")])


def test_a_fail_to_pass_id_outside_the_hidden_tests_is_named(tmp_path: Path) -> None:
    task = tmp_path / "broken"
    shutil.copytree(BUNDLED / "slugify-edges", task)
    toml = task / "task.toml"
    toml.write_text(toml.read_text().replace("tests/test_slug_edges.py::test_trailing_punctuation", "tests/nope.py::t"))
    with pytest.raises(ConfigError, match=r"task\.toml: ripsaw\.fail_to_pass: 'tests/nope.py::t' is not in a hidden"):
        load_repo_task(task)
