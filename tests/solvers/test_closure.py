"""The entry point's dependency closure: each rule of ripsaw.solvers.closure, on programs a model could write.

Every case checks the program text and which statements were dropped; the programs are not executed here
(tests/solvers/agreement runs real replies against their tests).
"""

from __future__ import annotations

import ast

from ripsaw.solvers.closure import keep_needed, statements
from ripsaw.solvers.extract import extract
from ripsaw.tasks.task import CheckTests, IOCase, IOTests, Task


def kept(code: str, entry: str = "f") -> tuple[str, list[tuple[str, str]]]:
    program, dropped, note = keep_needed(code, entry)
    assert note == ""
    return program, [(d.kind, d.name) for d in dropped]


def top_names(program: str) -> list[str]:
    """The names each kept top-level statement binds, in order ("<stmt>" for statements that bind none)."""
    out = []
    for s in statements(program):
        out.append(",".join(sorted(s.binds)) or type(s.node).__name__)
    return out


def test_self_test_calls_and_the_models_checker_are_dropped() -> None:
    code = (
        "import math\n\n"
        "def f(x):\n    return math.sqrt(x)\n\n"
        "def check_solution():\n    assert f(4) == 3, 'wrong expectation'\n\n"
        "check_solution()\n"
        "for x in (1, 4):\n    print(f(x))\n"
        "n = int(input())\n"
        "f(9)\n"
    )
    program, dropped = kept(code)
    assert top_names(program) == ["math", "f"]
    assert dropped == [("def", "check_solution"), ("call", ""), ("loop", "x"), ("assignment", "n"), ("call", "")]


def test_a_helper_that_does_not_parse_costs_nothing_unless_needed() -> None:
    checker = "def check():\n    assert f(1), True, 'msg'\n"  # invalid syntax (HumanEval/43 in issue 19)
    code = "def f(x):\n    return x\n\n" + checker + "\ncheck()\n"
    program, dropped = kept(code)
    assert program.strip() == "def f(x):\n    return x"
    assert dropped == [("unparseable", "check"), ("call", "")]
    # The same broken helper, needed by the entry point: kept, so the candidate is a syntax error, as it is.
    needed = "def f(x):\n    return g(x)\n\ndef g(x):\n    return x, True, 'msg' =\n\ng(1)\n"
    program, dropped = kept(needed)
    assert "def g(x)" in program and dropped == [("call", "")]


def test_names_used_anywhere_in_kept_code_are_needed() -> None:
    code = (
        "from functools import lru_cache\n"
        "import typing\n"
        "DEFAULT = 3\n"
        "class Base:\n    pass\n"
        "def deco(fn):\n    return fn\n"
        "TABLE = {1: 'a'}\n"
        "UNUSED = 5\n"
        "@deco\n"
        "def f(x: typing.Any, k=DEFAULT):\n"
        "    class Local(Base):\n        pass\n"
        "    return [TABLE.get(i) for i in range(k)], lru_cache\n"
    )
    program, dropped = kept(code)
    assert top_names(program) == ["lru_cache", "typing", "DEFAULT", "Base", "deco", "TABLE", "f"]
    assert dropped == [("assignment", "UNUSED")]


def test_function_locals_do_not_pull_in_top_level_statements_of_the_same_name() -> None:
    # `result` is local to f; the top-level `result = f(...)` would run f (and could raise) at import.
    code = "def f(xs):\n    result = sorted(xs)\n    return result\n\nresult = f([3, 1, 2])\nprint(result)\n"
    program, dropped = kept(code)
    assert top_names(program) == ["f"]
    assert dropped == [("assignment", "result"), ("print", "")]


def test_global_names_and_every_binding_of_a_needed_name_are_kept() -> None:
    code = "count = 0\ncount = 10\ndef f():\n    global count\n    count += 1\n    return count\nf()\n"
    program, dropped = kept(code)
    assert top_names(program) == ["count", "count", "f"]
    # A call of the entry point itself is a demo, even when it changes state the entry point reads.
    assert dropped == [("call", "")]


def test_class_entry_point_keeps_its_class_and_what_its_methods_use() -> None:
    code = (
        "import heapq\nimport os\n\nclass Solution:\n    def kth(self, xs, k):\n"
        "        return heapq.nlargest(k, xs)\n\n"
        "s = Solution()\nprint(s.kth([1, 2], 1))\n"
    )
    program, dropped = keep_needed(code, "Solution.kth")[:2]
    assert top_names(program) == ["heapq", "Solution"]
    assert [(d.kind, d.name) for d in dropped] == [("import", "os"), ("assignment", "s"), ("print", "")]


def test_setup_statements_that_fill_needed_state_are_kept() -> None:
    code = (
        "import sys\nimport random\nimport heapq\n"
        "sys.setrecursionlimit(10000)\n"
        "random.seed(0)\n"
        "PRIMES = []\n"
        "for p in range(2, 50):\n    if all(p % d for d in range(2, p)):\n        PRIMES.append(p)\n"
        "MEMO = {}\nMEMO[0] = 1\n"
        "HEAP = [3, 1]\nheapq.heapify(HEAP)\n"
        "CACHE = None\n"
        "def init():\n    global CACHE\n    CACHE = {}\n"
        "init()\n"
        "def f(n):\n    return n in PRIMES, MEMO, HEAP, CACHE\n"
        "print(f(3))\n"
    )
    program, dropped = kept(code)
    assert "sys.setrecursionlimit(10000)" in program and "random.seed(0)" in program
    assert "PRIMES.append(p)" in program and "MEMO[0] = 1" in program and "heapq.heapify(HEAP)" in program
    assert "init()\n" in program
    assert dropped == [("print", "")]


def test_process_settings_are_kept_even_when_the_entry_point_does_not_name_them() -> None:
    code = (
        "from sys import setrecursionlimit as limit\nlimit(5000)\ndef f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\n"
    )
    program, dropped = kept(code)
    assert program == code and dropped == []


def test_a_mutating_call_on_an_unneeded_name_is_dropped() -> None:
    code = "results = []\ndef f(x):\n    return x\nfor x in range(3):\n    results.append(f(x))\n"
    program, dropped = kept(code)
    assert top_names(program) == ["f"]
    assert dropped == [("assignment", "results"), ("loop", "x")]


def test_star_imports_are_kept_only_when_a_needed_name_is_unbound() -> None:
    _, dropped = kept("from math import *\ndef f(x):\n    return sqrt(x)\n")
    assert dropped == []
    _, dropped = kept("from math import *\ndef f(x):\n    return abs(x)\n")
    assert dropped == [("import", "")]


def test_future_imports_stay_and_names_bound_by_compound_statements_count() -> None:
    code = (
        "from __future__ import annotations\n"
        "try:\n    from math import comb\nexcept ImportError:\n    def comb(n, k):\n        return 0\n"
        "if True:\n    print('demo')\n"
        'if __name__ == "__main__":\n    print(f(1, 2))\n'
        "__all__ = ['f']\n"
        "def f(n, k):\n    return comb(n, k)\n"
    )
    program, dropped = kept(code)
    assert top_names(program) == ["annotations", "comb", "f"]
    assert [k for k, _ in dropped] == ["other", "main_guard", "assignment"]


def test_a_statement_sharing_a_line_with_kept_code_stays() -> None:
    program, dropped = kept("X = 1; print(X)\ndef f():\n    return X\n")
    assert program.startswith("X = 1; print(X)") and dropped == []


def test_nothing_is_pruned_when_the_entry_point_is_not_defined() -> None:
    code = "def g():\n    return 1\nprint(g())\n"
    program, dropped, note = keep_needed(code, "f")
    assert program == code and dropped == [] and "not defined" in note


def test_tolerant_split_keeps_strings_and_brackets_that_reach_column_zero() -> None:
    code = 'def f():\n    return """\nnot a statement\n"""\n\nX = [\n1,\n]\ndef broken(:\n    pass\nelse_ = 1\n'
    stmts = statements(code)
    assert [(s.first, s.last, s.node is None) for s in stmts] == [
        (1, 4, False),
        (6, 8, False),
        (9, 10, True),
        (11, 11, False),
    ]
    assert isinstance(stmts[1].node, ast.Assign) and stmts[1].node.lineno == 6


# ---- through extract(): the record, and the rule in both modes --------------------------------------------------

FUNC = Task(
    id="t/f",
    prompt='def f(x: int) -> int:\n    """Double x."""\n',
    entry_point="f",
    tests=CheckTests(code="assert f(1) == 2"),
)


def test_chat_reply_record_says_what_was_dropped() -> None:
    reply = (
        "Here you go:\n```python\ndef f(x: int) -> int:\n    return 2 * x\n\n"
        "def test():\n    assert f(2) == 5\n\ntest()\n```\nAnd a usage example:\n```python\nprint(f(3))\n```\n"
    )
    program, report = extract(reply, FUNC, "chat")
    assert program == "def f(x: int) -> int:\n    return 2 * x\n"
    assert report.source == "fence" and report.blocks == 2 and report.rules >= 2
    assert [(d.line, d.kind, d.name, d.text) for d in report.dropped] == [
        (4, "def", "test", "def test():"),
        (7, "call", "", "test()"),
    ]
    assert all(d.why.startswith("the entry point does not need it") for d in report.dropped)
    _, report = extract("```python\ndef f(x):\n    return 2 * x\n\ndef check(:\n    pass\n```", FUNC, "chat")
    assert [(d.kind, d.why) for d in report.dropped] == [
        ("unparseable", "does not parse, and binds no name the entry point uses")
    ]


def test_complete_mode_continuation_gets_the_same_rule() -> None:
    continuation = "    return 2 * x\n\nimport os\n\ndef demo():\n    print(f(3))\n\ndemo()\n"
    program, report = extract(continuation, FUNC, "complete", stop=())
    assert program == FUNC.prompt + "    return 2 * x\n"
    assert report.source == "continuation" and report.cut == "dedent"  # at `demo()`
    assert [(d.kind, d.name) for d in report.dropped] == [("import", "os"), ("def", "demo")]


def test_body_reindented_and_prompt_context_are_recorded() -> None:
    _, report = extract("```python\nreturn 2 * x\n```", FUNC, "chat")
    assert report.reindented
    task = Task(
        id="t/g",
        prompt="from typing import List\n\ndef g(xs: List[int]) -> int:\n    pass\n",
        entry_point="g",
        tests=CheckTests(code="pass"),
    )
    _, report = extract("```python\ndef g(xs: List[int]) -> int:\n    return len(xs)\n```", task, "chat")
    assert report.prompt_context == 1 and not report.dropped


def test_stdio_programs_are_kept_whole() -> None:
    task = Task(id="t/io", prompt="Add.", entry_point="", tests=IOTests(cases=(IOCase(input="1 2", output="3"),)))
    code = "def solve():\n    return 1\n\nprint(sum(map(int, input().split())))\n"
    program, report = extract(f"```python\n{code}```", task, "chat")
    assert program == code and not report.dropped and "stdin/stdout" in report.note


def test_a_statement_kept_for_sharing_a_line_brings_what_it_needs() -> None:
    code = "def g(x):\n    return x\nX = 1; print(g(X))\ndef f():\n    return X\n"
    program, dropped = kept(code)
    assert program == code and dropped == []
