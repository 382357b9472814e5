"""The Task record and the two kinds of tests a task can carry.

CheckTests: Python test code in HumanEval style. It is executed only by trusted code outside the sandbox,
in a namespace where `candidate` and the task's entry point name are bound to the function under test;
if it defines `check(candidate)`, that is called. MBPP's bare `assert f(x) == y` lines fit the same form.
Recording which calls it makes needs a reference solution (`Task.canonical_solution`).

CallTests: explicit calls with expected return values (LiveCodeBench functional problems): each case
holds the JSON-encoded positional arguments and the JSON-encoded expected result; no reference solution needed.

IOTests: stdin/stdout cases (competitive-programming style, e.g. LiveCodeBench): the program reads
`input` on stdin and must print `output` (compared after stripping trailing whitespace per line).

RepoTests: a repository task (ripsaw.tasks.repo): the task directory, its image recipe and hidden tests, and the
pytest ids that decide the verdict (ripsaw.verdict.repo). Never a function candidate: only agents solve these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CheckTests:
    code: str
    # Imports or helpers the test code needs before it runs (MBPP `test_imports`, HumanEval+ helpers).
    setup: str = ""


@dataclass(frozen=True, slots=True)
class CallCase:
    args: str  # JSON array of positional arguments
    expected: str  # JSON value


@dataclass(frozen=True, slots=True)
class CallTests:
    cases: tuple[CallCase, ...]


@dataclass(frozen=True, slots=True)
class IOCase:
    input: str
    output: str


@dataclass(frozen=True, slots=True)
class IOTests:
    cases: tuple[IOCase, ...]


@dataclass(frozen=True, slots=True)
class RepoTests:
    # Where the task lives on this machine; not part of what decides a verdict (`suite_hash` leaves it out).
    dir: str
    content_sha256: str  # every file of the task directory, so an edited task is another suite
    workdir: str  # the repository's path inside the task image
    tests_into: str  # the hidden tests' directory, relative to workdir, where the verdict copies them
    fail_to_pass: tuple[str, ...] = ()  # pytest ids, relative to workdir
    pass_to_pass: tuple[str, ...] = ()
    # "tests": the pytest ids decide (the strong verdict); "reward": only the task's own tests/test.sh reward
    # (a Harbor task without [ripsaw] ids), which runs hostile code and its own checker in one place.
    trust: str = "tests"
    verifier_timeout_s: float = 120.0
    cpus: float = 1.0
    memory_mb: int = 2048


Tests = CheckTests | CallTests | IOTests | RepoTests


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    # What the model is given. In `complete` mode it is a code prefix the model continues;
    # in `chat` mode it is wrapped in an instruction (see ripsaw.solvers.prompts).
    prompt: str
    entry_point: str
    tests: Tests  # hidden tests: decide the verdict, never shown to the model or the sandbox
    public_tests: Tests | None = None  # examples the model may see and a repair loop may run
    # A complete program (prompt + body for HumanEval) known to pass; needed to record CheckTests calls.
    canonical_solution: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def suite_hash(tasks: list[Task]) -> str:
    """A content hash of everything that decides a verdict; equal hashes mean comparable runs."""
    h = hashlib.sha256()
    for t in sorted(tasks, key=lambda t: t.id):
        d = t.to_dict()
        if isinstance(t.tests, RepoTests):
            del d["tests"]["dir"]  # the same task in another checkout is the same task
        h.update(json.dumps(d, sort_keys=True, default=str).encode())
        h.update(b"\n")
    return "sha256:" + h.hexdigest()
