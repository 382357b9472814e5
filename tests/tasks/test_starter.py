"""The shipped starter suite: every reference solution passes, a wrong one fails, examples match the prompt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ripsaw.tasks import CheckTests, Task, load_tasks
from ripsaw.tasks.public_examples import public_tests_from_prompt
from ripsaw.types import TasksSpec
from tests.support.trusted import passes, run_check

STARTER = load_tasks(TasksSpec(source="jsonl:tasks/starter.jsonl"), Path(__file__).resolve().parents[2])


def test_suite_shape() -> None:
    assert [t.id for t in STARTER] == [f"starter/{i}" for i in range(30)]
    levels = [t.metadata["difficulty"] for t in STARTER]
    assert levels.count("easy") > levels.count("medium") > 0


@pytest.mark.parametrize("task", STARTER, ids=lambda t: t.id)
def test_task(task: Task) -> None:
    assert isinstance(task.tests, CheckTests) and isinstance(task.public_tests, CheckTests)
    assert task.prompt.endswith('"""\n'), "a base model continues with the body"
    assert task.canonical_solution and task.canonical_solution.startswith(task.prompt)
    ast.parse(task.canonical_solution)
    assert task.tests.code.count("assert ") >= 4
    run_check(task.tests, task.canonical_solution, task.entry_point)
    run_check(task.public_tests, task.canonical_solution, task.entry_point)
    # The public tests are exactly the examples the model reads in the docstring.
    assert task.public_tests == public_tests_from_prompt(task.prompt, task.entry_point)
    for body in ("    return None\n", "    return 0\n", "    return ''\n"):
        assert not passes(task.tests, task.prompt + body, task.entry_point), body
