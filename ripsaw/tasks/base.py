"""What a task source is: a name, the argument it takes after the colon, its checks and its loader.

`[tasks] source = "NAME"` or `"NAME:ARGUMENT"` names a TaskSource in the registry (ripsaw.tasks.SOURCES). Each
source says how it is written and checks its own argument and options when the spec is loaded, so a spec
error names the key and the problem before anything runs; loading happens only when the run starts.
"""

from __future__ import annotations

import glob
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ripsaw.errors import InvalidKey
from ripsaw.tasks.task import Task
from ripsaw.types import TasksSpec

# (the text after "NAME:", the tasks spec, the directory relative paths start from) -> tasks
Loader = Callable[[str, TasksSpec, Path | None], list[Task]]

# `[tasks]` keys that only mean something to a Hugging Face dataset (an hf: source or a preset).
HF_OPTIONS = ("preset", "split", "revision", "subset", "fields", "data_files")


@dataclass(frozen=True, slots=True)
class TaskSource:
    name: str
    loader: str  # "module:function", a Loader; imported only when tasks are loaded
    argument: str | None = None  # what follows "NAME:" ("PATH", "DATASET"); None: the source takes none
    argument_is: str = ""  # what the argument is, for messages: "a path"
    example: str = ""  # a full example, for messages: "jsonl:tasks/starter.jsonl"
    argument_is_file: bool = False  # resolved against the spec's directory (then the cwd) when the spec loads
    argument_is_dir: bool = False  # the same, for a directory
    hf_options: bool = False  # accepts the HF_OPTIONS keys
    preset: str | None = None  # the Hugging Face column layout it stands for (a preset name such as "mbpp")
    # "module:function", a Loader-like (selected tasks, spec, base dir) -> tasks run after the selection: work
    # that only the tasks a run uses should pay for (writing task directories, finding images).
    prepare: str | None = None

    @property
    def form(self) -> str:
        """How to write it in a spec: "humaneval", "jsonl:PATH"."""
        return self.name if self.argument is None else f"{self.name}:{self.argument}"

    def check(self, argument: str, tasks: dict[str, Any], base: Path) -> None:
        """Check the argument and the `[tasks]` options against this source; normalize them in `tasks`.

        Raises InvalidKey naming the key and the problem."""
        source = tasks["source"]
        if self.argument is None:
            if argument or source.endswith(":"):
                hint = f"; for another dataset use 'hf:{argument}'" if argument and self.preset else ""
                raise InvalidKey("tasks.source", f"{self.name!r} takes no argument after ':'{hint}")
        elif not argument:
            raise InvalidKey("tasks.source", f"'{self.name}:' needs {self.argument_is}, e.g. {self.example!r}")
        elif self.argument_is_file:
            tasks["source"] = f"{self.name}:{resolve_file(argument, base, 'tasks.source')}"
        elif self.argument_is_dir:
            tasks["source"] = f"{self.name}:{resolve_dir(argument, base, 'tasks.source')}"
        if "repo_cache" in tasks:
            raise InvalidKey("tasks.repo_cache", f"applies to the 'swebench:' source only (source is {source!r})")
        for key in HF_OPTIONS:
            if key in tasks and not self.hf_options:
                raise InvalidKey(f"tasks.{key}", f"applies to 'hf:' and preset sources only (source is {source!r})")
        if self.preset is not None and tasks.get("preset", self.preset) != self.preset:
            raise InvalidKey("tasks.preset", f"{tasks['preset']!r} contradicts the source {source!r}")
        # hf://, https:// and the like are the datasets library's business.
        if "data_files" in tasks and "://" not in tasks["data_files"]:
            tasks["data_files"] = resolve_file(tasks["data_files"], base, "tasks.data_files")

    def load(self, argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
        module, _, attr = self.loader.partition(":")
        loader: Loader = getattr(importlib.import_module(module), attr)
        return loader(argument, spec, base_dir)

    def finish(self, tasks: list[Task], spec: TasksSpec, base_dir: Path | None) -> list[Task]:
        """The selected tasks, made ready by `prepare` when the source has one."""
        if self.prepare is None:
            return tasks
        module, _, attr = self.prepare.partition(":")
        prepare: Callable[[list[Task], TasksSpec, Path | None], list[Task]] = getattr(
            importlib.import_module(module), attr
        )
        return prepare(tasks, spec, base_dir)


def resolve_dir(name: str, base: Path, key: str) -> str:
    """An absolute path for a directory the spec names: relative to the spec's directory first, then the cwd."""
    given = Path(name).expanduser()
    bases = [given] if given.is_absolute() else list(dict.fromkeys([base / given, Path.cwd() / given]))
    for candidate in bases:
        if candidate.is_dir():
            return str(candidate.resolve())
        if candidate.exists():
            raise InvalidKey(key, f"expected a directory, found a file: {candidate}")
    raise InvalidKey(key, f"directory not found: {name!r} (looked in {', '.join(str(b) for b in bases)})")


def resolve_file(name: str, base: Path, key: str) -> str:
    """An absolute path for a file the spec names: relative to the spec's directory first, then the cwd.

    A glob pattern (data_files may be one) must match at least one file. Raises InvalidKey at `key`.
    """
    given = Path(name).expanduser()
    bases = [given] if given.is_absolute() else list(dict.fromkeys([base / given, Path.cwd() / given]))
    is_pattern = any(c in name for c in "*?[")
    for candidate in bases:
        if is_pattern:
            if glob.glob(str(candidate)):
                return str(candidate)
        elif candidate.is_file():
            if not os.access(candidate, os.R_OK):
                raise InvalidKey(key, f"file is not readable: {candidate}")
            return str(candidate.resolve())
        elif candidate.is_dir():
            raise InvalidKey(key, f"expected a file, found a directory: {candidate}")
    looked = ", ".join(str(b) for b in bases)
    what = "no file matches" if is_pattern else "file not found:"
    raise InvalidKey(key, f"{what} {name!r} (looked in {looked})")
