"""Run a task's CheckTests in this process, the way HumanEval's own harness does.

Only for trusted code in tests (canonical solutions shipped with a dataset or written here); the harness
itself never runs candidate code like this.
"""

from __future__ import annotations

from typing import Any

from ripsaw.tasks import CheckTests, Tests


def function_from(program: str, entry_point: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "solution"}
    exec(program, namespace)
    return namespace[entry_point]


def run_check(tests: Tests | None, program: str | None, entry_point: str) -> None:
    """Raise (AssertionError or whatever the code raises) unless the program passes the tests."""
    if not isinstance(tests, CheckTests) or program is None:
        raise TypeError("run_check needs CheckTests and a program")
    fn = function_from(program, entry_point)
    namespace: dict[str, Any] = {"__name__": "checker", "candidate": fn, entry_point: fn}
    exec(tests.setup, namespace)
    exec(tests.code, namespace)
    if "check" in namespace:
        namespace["check"](fn)


def passes(tests: Tests | None, program: str | None, entry_point: str) -> bool:
    if not isinstance(tests, CheckTests) or program is None:
        raise TypeError("passes needs CheckTests and a program")  # never a silent "fails"
    try:
        run_check(tests, program, entry_point)
    except Exception:
        return False
    return True
