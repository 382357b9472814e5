"""Task source `repo:PATH`: repository tasks in the Harbor task layout, one directory per task.

    PATH/<task>/instruction.md        what the agent is told
    PATH/<task>/task.toml             metadata and limits; Ripsaw's own fields under [ripsaw]
    PATH/<task>/environment/Dockerfile  the workspace image (and its assets beside it)
    PATH/<task>/solution/solve.sh     a known-good fix, run in the workspace to validate the task
    PATH/<task>/tests/test.sh         the verifier entrypoint; the other files there are the hidden tests

`[ripsaw]` in task.toml:

    workdir = "/app"                  the repository inside the image (default: /app)
    tests_into = "tests"              where the hidden tests go, relative to workdir (default: tests)
    fail_to_pass = ["tests/test_x.py::test_new"]   must fail on the untouched workspace and pass after the fix
    pass_to_pass = ["tests/test_y.py::test_old"]   must pass before and after

A Harbor task without these ids is scored by its own `tests/test.sh` reward and marked as the weaker trust level
it is (ripsaw.verdict.repo). PATH may also be a single task directory. Every problem names the file and key.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.tasks.task import RepoTests, Task
from ripsaw.types import TasksSpec

REQUIRED = ("instruction.md", "task.toml", "environment/Dockerfile", "tests/test.sh")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A pytest node id of a test file inside the repository: path::name (a class may sit between).
_NODE = re.compile(r"[A-Za-z0-9_./-]+\.py(::[A-Za-z_][A-Za-z0-9_]*){1,2}(\[[^\]]*\])?")
_SKIP = {".git", "__pycache__", ".pytest_cache", ".mypy_cache"}


def load_source(argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    return load_repo_tasks(Path(argument))


def task_dirs(path: Path) -> list[Path]:
    """The task directories under `path` (or `path` itself when it is one), sorted by name."""
    if not path.is_dir():
        raise ConfigError(f"{path}: not a directory of repository tasks")
    if (path / "task.toml").exists():
        return [path]
    dirs = sorted(p for p in path.iterdir() if p.is_dir() and (p / "task.toml").exists())
    if not dirs:
        raise ConfigError(f"{path}: no task directories (a directory holding task.toml) in it")
    return dirs


def load_repo_tasks(path: Path) -> list[Task]:
    return [load_repo_task(d) for d in task_dirs(path)]


def load_repo_task(task_dir: Path) -> Task:
    task_dir = task_dir.resolve()
    if not _ID.fullmatch(task_dir.name):
        raise ConfigError(f"{task_dir}: a task directory's name is its id: letters, digits, '.', '_', '-'")
    for rel in REQUIRED:
        if not (task_dir / rel).is_file():
            raise ConfigError(f"{task_dir / rel}: missing (a Harbor task needs {', '.join(REQUIRED)})")
    toml_path = task_dir / "task.toml"
    try:
        meta = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{toml_path}: invalid TOML: {e}") from None
    instruction = (task_dir / "instruction.md").read_text(encoding="utf-8").strip()
    if not instruction:
        raise ConfigError(f"{task_dir / 'instruction.md'}: empty")
    ours = _table(meta, "ripsaw", toml_path)
    known = {"workdir", "tests_into", "fail_to_pass", "pass_to_pass"}
    for key in ours:
        if key not in known:
            raise ConfigError(f"{toml_path}: ripsaw.{key}: unknown key (allowed: {', '.join(sorted(known))})")
    workdir = _str(ours, "workdir", "/app", toml_path)
    if not workdir.startswith("/"):
        raise ConfigError(f"{toml_path}: ripsaw.workdir: must be an absolute path in the image, got {workdir!r}")
    tests_into = _str(ours, "tests_into", "tests", toml_path)
    if tests_into.startswith("/") or ".." in Path(tests_into).parts:
        raise ConfigError(f"{toml_path}: ripsaw.tests_into: must be a path inside workdir, got {tests_into!r}")
    f2p = _ids(ours, "fail_to_pass", toml_path)
    p2p = _ids(ours, "pass_to_pass", toml_path)
    if p2p and not f2p:
        raise ConfigError(f"{toml_path}: ripsaw.fail_to_pass: missing (pass_to_pass alone cannot tell a fix)")
    both = sorted(set(f2p) & set(p2p))
    if both:
        raise ConfigError(f"{toml_path}: ripsaw: {both[0]!r} is in both fail_to_pass and pass_to_pass")
    hidden = hidden_test_files(task_dir)
    for node in f2p:
        file = node.split("::")[0]
        if not any(file == f"{tests_into}/{h}".lstrip("./") for h in hidden):
            raise ConfigError(
                f"{toml_path}: ripsaw.fail_to_pass: {node!r} is not in a hidden test file "
                f"(tests/ holds {', '.join(hidden) or 'none'}, copied to {tests_into}/)"
            )
    verifier = _table(meta, "verifier", toml_path)
    environment = _table(meta, "environment", toml_path)
    return Task(
        id=task_dir.name,
        prompt=instruction,
        entry_point="",
        tests=RepoTests(
            dir=str(task_dir),
            content_sha256=content_hash(task_dir),
            workdir=workdir,
            tests_into=tests_into,
            fail_to_pass=f2p,
            pass_to_pass=p2p,
            trust="tests" if f2p else "reward",
            verifier_timeout_s=_number(verifier, "timeout_sec", 120.0, toml_path, "verifier"),
            cpus=_number(environment, "cpus", 1.0, toml_path, "environment"),
            memory_mb=int(_number(environment, "memory_mb", 2048, toml_path, "environment")),
        ),
        metadata={k: v for k, v in _table(meta, "metadata", toml_path).items() if isinstance(v, str | int | float)},
    )


def hidden_test_files(task_dir: Path) -> list[str]:
    """The hidden test files: everything in tests/ but the verifier entrypoint, relative to tests/."""
    root = task_dir / "tests"
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name != "test.sh" and not (_SKIP & set(p.relative_to(root).parts))
    )


def content_hash(task_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(task_dir.rglob("*")):
        rel = p.relative_to(task_dir)
        if p.is_file() and not (_SKIP & set(rel.parts)):
            h.update(str(rel).encode() + b"\0" + p.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()


def _table(meta: dict[str, Any], name: str, file: Path) -> dict[str, Any]:
    value = meta.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{file}: {name}: expected a table")
    return value


def _str(table: dict[str, Any], key: str, default: str, file: Path) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{file}: ripsaw.{key}: expected a non-empty string")
    return value


def _number(table: dict[str, Any], key: str, default: float, file: Path, section: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{file}: {section}.{key}: expected a number > 0, got {value!r}")
    return float(value)


def _ids(table: dict[str, Any], key: str, file: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{file}: ripsaw.{key}: expected an array of pytest ids")
    for v in value:
        if not _NODE.fullmatch(v):
            raise ConfigError(f"{file}: ripsaw.{key}: {v!r} is not a pytest id (path/to/test_x.py::test_name)")
    if len(set(value)) != len(value):
        raise ConfigError(f"{file}: ripsaw.{key}: lists an id twice")
    return tuple(value)
