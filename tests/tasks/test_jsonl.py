from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ripsaw.errors import ConfigError
from ripsaw.tasks import CallCase, CallTests, CheckTests, IOCase, IOTests
from ripsaw.tasks.jsonl import load_jsonl

GOOD: dict[str, Any] = {
    "id": "t/0",
    "prompt": "def inc(x):\n",
    "entry_point": "inc",
    "tests": {"check": "def check(candidate):\n    assert candidate(1) == 2\n", "setup": "import math"},
    "canonical_solution": "def inc(x):\n    return x + 1\n",
}


def write(tmp_path: Path, *rows: Any) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_reads_all_three_test_forms(tmp_path: Path) -> None:
    calls = {**GOOD, "id": "t/1", "tests": {"calls": [{"args": [[1, 2], "x"], "expected": {"a": [1]}}]}}
    io = {**GOOD, "id": "t/2", "entry_point": "", "tests": {"io": [{"input": "1 2\n", "output": "3\n"}]}}
    del calls["canonical_solution"], io["canonical_solution"]
    public = {"calls": [{"args": [1], "expected": 2}]}
    tasks = load_jsonl(write(tmp_path, {**GOOD, "public_tests": public, "metadata": {"level": 1}}, "", calls, io))
    assert [t.id for t in tasks] == ["t/0", "t/1", "t/2"]
    assert tasks[0].tests == CheckTests(code=GOOD["tests"]["check"], setup="import math")
    assert tasks[0].public_tests == CallTests((CallCase(args="[1]", expected="2"),))
    assert tasks[0].metadata == {"level": 1}
    assert tasks[1].tests == CallTests((CallCase(args='[[1, 2], "x"]', expected='{"a": [1]}'),))
    assert tasks[1].public_tests is None and tasks[1].canonical_solution is None
    assert tasks[2].tests == IOTests((IOCase(input="1 2\n", output="3\n"),))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", ":2: not valid JSON"),
        ([1, 2], ":2: line: expected a JSON object, got a list"),
        ({k: v for k, v in GOOD.items() if k != "prompt"}, ":2: prompt: missing"),
        ({**GOOD, "promt": "x"}, ":2: promt: unknown field"),
        ({**GOOD, "id": 7}, ":2: id: expected a string, got a number"),
        ({**GOOD, "prompt": "  "}, ":2: prompt: must not be empty"),
        ({**GOOD, "tests": []}, ":2: tests: expected an object with one of 'check', 'calls', 'io', got a list"),
        ({**GOOD, "tests": {"check": "x", "io": []}}, ":2: tests: expected exactly one of"),
        ({**GOOD, "tests": {"calls": []}}, ":2: tests.calls: expected a non-empty list"),
        ({**GOOD, "tests": {"calls": [{"args": 1, "expected": 2}]}}, ":2: tests.calls[0].args: expected a list"),
        ({**GOOD, "tests": {"io": [{"input": "1"}]}}, ":2: tests.io[0]: expected an object"),
        ({**GOOD, "tests": {"check": "x", "stdin": "y"}}, ":2: tests.stdin: unknown key for the 'check' form"),
        ({**GOOD, "public_tests": {"io": [{"input": 1, "output": ""}]}}, ":2: public_tests.io[0].input: expected"),
        ({k: v for k, v in GOOD.items() if k != "canonical_solution"}, ":2: canonical_solution: required"),
        ({**GOOD, "metadata": [1]}, ":2: metadata: expected an object, got a list"),
        ({**GOOD, "entry_point": ""}, ":2: entry_point: must name the function"),
        (GOOD, ":2: id: 't/0' already used on line 1"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, row: Any, message: str) -> None:
    path = write(tmp_path, GOOD, row)
    with pytest.raises(ConfigError) as info:
        load_jsonl(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no tasks in file"):
        load_jsonl(write(tmp_path, ""))
    with pytest.raises(ConfigError, match="cannot read task file"):
        load_jsonl(tmp_path / "absent.jsonl")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "tasks" / "README.md").read_text()
    block = readme.split("```json\n", 1)[1].split("```", 1)[0]
    (task,) = load_jsonl(write(tmp_path, json.loads(block)))
    assert task.id == "mine/0" and task.public_tests == CallTests((CallCase(args="[4]", expected="8"),))
