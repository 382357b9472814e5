"""The field's reference for scoring a reply, beside Ripsaw's: EvalPlus's sanitizer and the task's own test.

Both run in subprocesses, never in the caller's process: `evalplus_sanitize` imports `evalplus` (0.3.1, the `test`
extra) in a child interpreter and returns `evalplus.sanitize.sanitize(reply, entry_point)` for each reply, as
EvalPlus's own codegen does for a chat model's reply; `run_checks` runs each program against the task's check code
in tests/support/check_runner.py, which forks a limited child per program.

Used by the extraction-agreement test (tests/solvers/agreement) and by bench/paper.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ripsaw.tasks.task import CheckTests, Task

_RUNNER = Path(__file__).with_name("check_runner.py")
_SANITIZE = """
import json, sys
from evalplus.sanitize import sanitize
items = json.loads(sys.stdin.read())
sys.stdout.write(json.dumps([sanitize(reply, entry_point) for reply, entry_point in items]))
"""


@dataclass(frozen=True, slots=True)
class CheckResult:
    passed: bool
    detail: str


def evalplus_version() -> str | None:
    """The installed evalplus version, or None when it is not installed (checked in a subprocess)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('evalplus'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def evalplus_sanitize(items: list[tuple[str, str]]) -> list[str]:
    """EvalPlus's sanitized program for each (reply, entry_point)."""
    proc = subprocess.run(
        [sys.executable, "-c", _SANITIZE],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"evalplus sanitize failed: {proc.stderr[-2000:]}")
    out: list[str] = json.loads(proc.stdout)
    return out


def run_checks(programs: list[tuple[str, Task]], timeout_s: float = 6.0) -> list[CheckResult]:
    """Whether each program passes its task's own check code (`CheckTests` tasks only)."""
    jobs = []
    for program, task in programs:
        if not isinstance(task.tests, CheckTests) or task.canonical_solution is None:
            raise ValueError(f"{task.id}: the reference check needs check-style tests and a reference solution")
        tests = (task.tests.setup + "\n" if task.tests.setup else "") + task.tests.code
        jobs.append(
            {"program": program, "reference": task.canonical_solution, "tests": tests, "entry_point": task.entry_point}
        )
    proc = subprocess.run(
        [sys.executable, "-I", str(_RUNNER)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CHECK_TIMEOUT_S": str(timeout_s)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"check runner failed: {proc.stderr[-2000:]}")
    return [CheckResult(bool(r["passed"]), str(r["detail"])) for r in json.loads(proc.stdout)]
