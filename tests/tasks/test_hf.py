"""The hf: presets on small local files in each dataset's real column layout (the hub is unreachable here)."""

from __future__ import annotations

import ast
import base64
import json
import pickle
import textwrap
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ripsaw.errors import ConfigError
from ripsaw.tasks import CallCase, CallTests, CheckTests, IOCase, IOTests, load_tasks
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.types import TasksSpec
from tests.support.trusted import function_from, passes, run_check

# Rows as in google-research-datasets/mbpp, "sanitized" (test_imports and test_list are lists of strings).
MBPP_ROWS: list[dict[str, Any]] = [
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 2,
        "prompt": "Write a function to find the shared elements from the given two lists.",
        "code": "def similar_elements(test_tup1, test_tup2):\n  res = tuple(set(test_tup1) & set(test_tup2))\n"
        "  return (res) ",
        "test_imports": [],
        "test_list": [
            "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
            "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))",
            "assert set(similar_elements((11, 12, 14, 13),(17, 15, 14, 13))) == set((13, 14))",
        ],
    },
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 139,
        "prompt": "Write a function to find the circumference of a circle.",
        "code": "def circle_circumference(r):\n  perimeter=2*3.1415*r\n  return perimeter",
        "test_imports": ["import math"],
        "test_list": [
            "assert math.isclose(circle_circumference(10), 62.830000000000005, rel_tol=0.001)",
            "assert math.isclose(circle_circumference(5), 31.415000000000003, rel_tol=0.001)",
            "assert math.isclose(circle_circumference(4), 25.132, rel_tol=0.001)",
        ],
    },
    {
        "source_file": "Mike's Copy of Benchmark Questions Verification V2.ipynb",
        "task_id": 600,
        "prompt": 'Write a python function to check whether the given number is even or not. Use """ and \\d.',
        "code": "def is_Even(n) : \n    if (n^1 == n+1) :\n        return True; \n    else :\n        return False; ",
        "test_imports": [],
        "test_list": ["assert is_Even(1) == False", "assert is_Even(2) == True", "assert is_Even(3) == False"],
    },
]

# A condensed test in evalplus/humanevalplus's layout: inputs, results and a helper that compares them.
HEP_TEST = """
import math

def assertion(out, exp, atol):
    if atol == 0 and not isinstance(exp, float):
        assert out == exp, f"out: {out}, exp: {exp}"
    else:
        assert math.isclose(out, exp, abs_tol=atol)


def check(candidate):
    inputs = [[[1.0, 2.0, 3.0], 0.5], [[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3], [[], 1.0], [[5.0, 5.0], 0.0]]
    results = [False, True, False, False]
    for inp, exp in zip(inputs, results):
        assertion(candidate(*inp), exp, 0)
"""


def lcb_row(question_id: str, cases: list[dict[str, str]], private: str, **extra: Any) -> dict[str, Any]:
    row = {
        "question_title": f"Problem {question_id}",
        "question_content": "Read two integers and print their sum.",
        "platform": "atcoder",
        "question_id": question_id,
        "contest_id": "abc300",
        "contest_date": "2023-04-29T00:00:00",
        "starter_code": "",
        "difficulty": "easy",
        "public_test_cases": json.dumps(cases),
        "private_test_cases": private,
        "metadata": "{}",
    }
    row.update(extra)
    return row


def compress(value: Any) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(value))).decode()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_mbpp_sanitized(tmp_path: Path) -> None:
    pd.DataFrame(MBPP_ROWS).to_parquet(tmp_path / "test-00000-of-00001.parquet")
    spec = TasksSpec(source="mbpp", data_files="*.parquet")
    tasks = load_tasks(spec, base_dir=tmp_path)
    assert [t.id for t in tasks] == ["mbpp/2", "mbpp/139", "mbpp/600"]
    assert [t.entry_point for t in tasks] == ["similar_elements", "circle_circumference", "is_Even"]
    for task, row in zip(tasks, MBPP_ROWS, strict=True):
        assert task.tests == CheckTests(code="\n".join(row["test_list"]), setup="\n".join(row["test_imports"]))
        assert task.public_tests == CheckTests(code=row["test_list"][0], setup="\n".join(row["test_imports"]))
        assert task.canonical_solution == row["code"]
        run_check(task.tests, row["code"], task.entry_point)
        # The prompt is a HumanEval-style prefix: a body completes it into a program with the right function.
        body = ast.parse(task.canonical_solution or "").body[-1]
        assert isinstance(body, ast.FunctionDef)
        program = task.prompt + "".join(textwrap.indent(ast.unparse(s), "    ") + "\n" for s in body.body)
        assert passes(task.tests, program, task.entry_point)
        assert f">>> {row['test_list'][0]}" in task.prompt
        assert row["test_list"][1] not in task.prompt
    assert tasks[1].prompt.startswith("import math\ndef circle_circumference(r):\n")
    def_node = ast.parse(tasks[2].prompt).body[0]
    assert (
        isinstance(def_node, ast.FunctionDef) and ast.get_docstring(def_node) is not None
    )  # quotes and backslashes escaped


def test_humaneval_plus(tmp_path: Path) -> None:
    he = {t.id: t for t in load_humaneval()}["HumanEval/0"]
    row = {
        "task_id": he.id,
        "prompt": he.prompt,
        "canonical_solution": (he.canonical_solution or "").removeprefix(he.prompt),
        "entry_point": he.entry_point,
        "test": HEP_TEST,
    }
    files = write_jsonl(tmp_path / "humanevalplus.jsonl", [row])
    (task,) = load_tasks(TasksSpec(source="hf:evalplus/humanevalplus", data_files=files))
    assert task.id == "HumanEval/0" and task.metadata["source"] == "hf:evalplus/humanevalplus"
    assert task.canonical_solution == he.canonical_solution
    assert task.public_tests == he.public_tests is not None
    run_check(task.tests, task.canonical_solution or "", task.entry_point)
    assert not passes(task.tests, task.prompt + "    return False\n", task.entry_point)


def test_fields_remap_columns(tmp_path: Path) -> None:
    renamed = [{("problem" if k == "prompt" else k): v for k, v in r.items()} for r in MBPP_ROWS]
    files = write_jsonl(tmp_path / "mine.jsonl", renamed)
    spec = TasksSpec(source="hf:me/my-set", preset="mbpp", data_files=files, fields={"prompt": "problem"})
    assert [t.id for t in load_tasks(spec)] == ["mbpp/2", "mbpp/139", "mbpp/600"]
    with pytest.raises(ConfigError, match=r"row 0 has no column 'prompt' needed by the mbpp layout"):
        load_tasks(TasksSpec(source="hf:me/my-set", preset="mbpp", data_files=files))
    with pytest.raises(ConfigError, match=r"tasks.fields: 'question' is not a column of the mbpp layout"):
        load_tasks(TasksSpec(source="mbpp", data_files=files, fields={"question": "problem"}))


def test_livecodebench_stdin_and_functional(tmp_path: Path) -> None:
    stdin_public = [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]
    stdin_private = [{"input": "10 20\n", "output": "30\n", "testtype": "stdin"}] * 2
    functional_public = [{"input": "[1, 2, 3]\n2", "output": "5", "testtype": "functional"}]
    functional_private = [{"input": "[4]\n0", "output": "4", "testtype": "functional"}]
    rows = [
        # Private cases as the dataset ships most of them: base64(zlib(pickle(JSON string))).
        lcb_row("abc300_a", stdin_public, compress(json.dumps(stdin_private))),
        lcb_row(
            "3000",
            functional_public,
            json.dumps(functional_private),
            platform="leetcode",
            starter_code="class Solution:\n    def sumFrom(self, nums: List[int], k: int) -> int:\n        ",
            metadata=json.dumps({"func_name": "sumFrom"}),
            question_content="Return the sum of nums[k:] ... plus k.",
        ),
    ]
    files = write_jsonl(tmp_path / "test6.jsonl", rows)
    stdin, functional = load_tasks(TasksSpec(source="livecodebench", data_files=files))

    assert stdin.id == "livecodebench/abc300_a" and stdin.entry_point == ""
    assert stdin.tests == IOTests((IOCase("1 2\n", "3\n"), IOCase("10 20\n", "30\n"), IOCase("10 20\n", "30\n")))
    assert stdin.public_tests == IOTests((IOCase("1 2\n", "3\n"),))
    assert "standard input" in stdin.prompt or "stdin" in stdin.prompt
    assert stdin.metadata["platform"] == "atcoder" and stdin.metadata["difficulty"] == "easy"

    assert functional.entry_point == "Solution.sumFrom"
    assert functional.tests == CallTests((CallCase("[[1, 2, 3], 2]", "5"), CallCase("[[4], 0]", "4")))
    assert functional.public_tests == CallTests((CallCase("[[1, 2, 3], 2]", "5"),))
    assert "class Solution:" in functional.prompt and functional.prompt.startswith("Return the sum")
    # The calls are what the driver makes: Solution().sumFrom(*args).
    solution = function_from(
        "class Solution:\n    def sumFrom(self, nums, k):\n        return sum(nums[k:]) + k\n", "Solution"
    )
    assert isinstance(functional.tests, CallTests)
    for case in functional.tests.cases:
        assert solution().sumFrom(*json.loads(case.args)) == json.loads(case.expected)


class _Exploit:
    """A pickle payload that would create a file when unpickled by an unrestricted loader."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def test_livecodebench_pickles_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    public = [{"input": "1\n", "output": "1\n", "testtype": "stdin"}]
    files = write_jsonl(tmp_path / "evil.jsonl", [lcb_row("x", public, compress(_Exploit(marker)))])
    with pytest.raises(ConfigError, match=r"row 0: cannot read it as livecodebench: refusing to load pathlib"):
        load_tasks(TasksSpec(source="livecodebench", data_files=files))
    assert not marker.exists()


def test_livecodebench_malformed_cases(tmp_path: Path) -> None:
    mixed = [{"input": "1\n", "output": "1\n", "testtype": "stdin"}, {"input": "1", "output": "1", "testtype": "x"}]
    files = write_jsonl(tmp_path / "bad.jsonl", [lcb_row("y", mixed, "[]")])
    with pytest.raises(ConfigError, match="test cases of one type"):
        load_tasks(TasksSpec(source="livecodebench", data_files=files))
    files = write_jsonl(tmp_path / "bad2.jsonl", [lcb_row("z", [], compress(json.dumps({"input": 1})))])
    with pytest.raises(ConfigError, match="not a list of"):
        load_tasks(TasksSpec(source="livecodebench", data_files=files))


def test_missing_data_files_and_unknown_versions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks.data_files: file not found: 'absent.parquet'"):
        load_tasks(TasksSpec(source="mbpp", data_files="absent.parquet"), base_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown LiveCodeBench version 'release_v99'"):
        load_tasks(TasksSpec(source="livecodebench", subset="release_v99"))
