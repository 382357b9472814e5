"""`jsonl:PATH`: a task suite written by hand, one JSON object per line (schema in tasks/README.md).

Every line is validated before any task is used; an error names the file, the line and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.tasks.task import CallCase, CallTests, CheckTests, IOCase, IOTests, Task, Tests
from ripsaw.types import TasksSpec

_REQUIRED = ("id", "prompt", "entry_point", "tests")
_OPTIONAL = ("public_tests", "canonical_solution", "metadata")
_TEST_FORMS = ("check", "calls", "io")


class _LineError(Exception):
    """A problem in one line: the field (dotted path) and what is wrong; the loader adds file and line."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field, self.problem = field, problem


def load_source(argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    """The `jsonl:PATH` task source; PATH relative to `base_dir` (the spec's directory)."""
    path = Path(argument).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return load_jsonl(path)


def load_jsonl(path: Path) -> list[Task]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read task file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}:{bad_line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
        try:
            task = task_from_json(obj)
        except _LineError as exc:
            raise ConfigError(f"{where}: {exc.field}: {exc.problem}") from exc
        if task.id in first_line:
            raise ConfigError(f"{where}: id: {task.id!r} already used on line {first_line[task.id]}")
        first_line[task.id] = lineno
        tasks.append(task)
    if not tasks:
        raise ConfigError(f"{path}: no tasks in file")
    return tasks


def task_from_json(obj: Any) -> Task:
    if not isinstance(obj, dict):
        raise _LineError("line", f"expected a JSON object, got {_kind(obj)}")
    unknown = sorted(set(obj) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise _LineError(unknown[0], f"unknown field (known: {', '.join(_REQUIRED + _OPTIONAL)})")
    for key in _REQUIRED:
        if key not in obj:
            raise _LineError(key, "missing")
    for key in ("id", "prompt"):
        _require_str(obj[key], key, nonempty=True)
    _require_str(obj["entry_point"], "entry_point")
    tests = tests_from_json(obj["tests"], "tests")
    public = tests_from_json(obj["public_tests"], "public_tests") if obj.get("public_tests") is not None else None
    canonical = obj.get("canonical_solution")
    if canonical is not None:
        _require_str(canonical, "canonical_solution", nonempty=True)
    elif isinstance(tests, CheckTests) or isinstance(public, CheckTests):
        # The verdict records the calls `check` makes by running it against the reference solution.
        raise _LineError("canonical_solution", "required when tests use the 'check' form")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _LineError("metadata", f"expected an object, got {_kind(metadata)}")
    if not obj["entry_point"] and not isinstance(tests, IOTests):
        raise _LineError("entry_point", "must name the function under test (only 'io' tests may leave it empty)")
    return Task(
        id=obj["id"],
        prompt=obj["prompt"],
        entry_point=obj["entry_point"],
        tests=tests,
        public_tests=public,
        canonical_solution=canonical,
        metadata=metadata,
    )


def tests_from_json(value: Any, field: str) -> Tests:
    """One of {"check": code, "setup"?: code} | {"calls": [{"args": [...], "expected": v}]} | {"io": [...]}."""
    if not isinstance(value, dict):
        raise _LineError(field, f"expected an object with one of {_forms()}, got {_kind(value)}")
    forms = [k for k in _TEST_FORMS if k in value]
    if len(forms) != 1:
        raise _LineError(field, f"expected exactly one of {_forms()}, got {sorted(value) or 'none'}")
    form = forms[0]
    allowed = {"check": {"check", "setup"}, "calls": {"calls"}, "io": {"io"}}[form]
    extra = sorted(set(value) - allowed)
    if extra:
        raise _LineError(f"{field}.{extra[0]}", f"unknown key for the '{form}' form")
    if form == "check":
        _require_str(value["check"], f"{field}.check", nonempty=True)
        _require_str(value.get("setup", ""), f"{field}.setup")
        return CheckTests(code=value["check"], setup=value.get("setup", ""))
    cases = value[form]
    if not isinstance(cases, list) or not cases:
        raise _LineError(f"{field}.{form}", "expected a non-empty list of cases")
    if form == "calls":
        return CallTests(cases=tuple(_call_case(c, f"{field}.calls[{i}]") for i, c in enumerate(cases)))
    return IOTests(cases=tuple(_io_case(c, f"{field}.io[{i}]") for i, c in enumerate(cases)))


def _call_case(case: Any, field: str) -> CallCase:
    if not isinstance(case, dict) or set(case) != {"args", "expected"}:
        raise _LineError(field, 'expected an object {"args": [...], "expected": ...}')
    if not isinstance(case["args"], list):
        raise _LineError(f"{field}.args", f"expected a list of positional arguments, got {_kind(case['args'])}")
    return CallCase(args=json.dumps(case["args"]), expected=json.dumps(case["expected"]))


def _io_case(case: Any, field: str) -> IOCase:
    if not isinstance(case, dict) or set(case) != {"input", "output"}:
        raise _LineError(field, 'expected an object {"input": "...", "output": "..."}')
    for key in ("input", "output"):
        _require_str(case[key], f"{field}.{key}")
    return IOCase(input=case["input"], output=case["output"])


def _require_str(value: Any, field: str, nonempty: bool = False) -> None:
    if not isinstance(value, str):
        raise _LineError(field, f"expected a string, got {_kind(value)}")
    if nonempty and not value.strip():
        raise _LineError(field, "must not be empty")


def _forms() -> str:
    return ", ".join(repr(f) for f in _TEST_FORMS)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
