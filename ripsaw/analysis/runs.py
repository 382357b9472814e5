"""Reading one or more run directories as one set of combos, for reports, gates and leaderboards.

Runs combine only when they were scored on the same task suite (same content hash): a pass rate on other
tasks is a different quantity. A combo name used by more than one run is qualified with its run id, so
attempts of different runs never mix under one name.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt


@dataclass(slots=True)
class Run:
    dir: Path
    manifest: dict[str, Any]  # combo names already qualified when the run set needed it
    attempts: list[Attempt]
    duplicates: int = 0  # records of an attempt after it was scored: kept in the file, never counted as results

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id") or self.dir.name)

    @property
    def status(self) -> str:
        return str(self.manifest.get("status") or "unknown")

    @property
    def suite(self) -> dict[str, Any]:
        suite = self.manifest.get("task_suite")
        return suite if isinstance(suite, dict) else {}

    @property
    def ripsaw_version(self) -> str:
        return str(self.manifest.get("ripsaw_version") or "unknown")


@dataclass(slots=True)
class RunSet:
    runs: list[Run]
    renamed: dict[str, str] = field(default_factory=dict)  # qualified name -> name in its own run

    @property
    def attempts(self) -> list[Attempt]:
        return [a for r in self.runs for a in r.attempts]

    @property
    def suite(self) -> dict[str, Any]:
        return self.runs[0].suite

    @property
    def mixed_suites(self) -> bool:
        return len({r.suite.get("hash") for r in self.runs}) > 1


def combo_names(manifest: dict[str, Any]) -> list[str]:
    return [str(c["name"]) for c in manifest.get("combos") or [] if isinstance(c, dict) and "name" in c]


def load_run(path: str | os.PathLike[str]) -> Run:
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such run directory")
    if not RunStore.is_run_dir(path):
        raise ConfigError(f"{path}: not a run directory (no manifest.json); give a directory under reports/")
    store = RunStore(path)
    attempts, duplicates = store.read()
    return Run(path, store.manifest(), attempts, duplicates)


def load_runs(
    paths: Sequence[str | os.PathLike[str]],
    *,
    allow_mixed: bool = False,
    same_harness: bool = False,
    mixed_hint: str = "",
) -> RunSet:
    """Load and combine run directories; refuses different task suites (and, if asked, harness versions)
    unless allow_mixed. mixed_hint ends the refusal, e.g. "; pass --allow-mixed to merge anyway"."""
    if not paths:
        raise ConfigError("give at least one run directory")
    seen: set[Path] = set()
    runs: list[Run] = []
    for p in paths:
        resolved = Path(p).resolve()
        if resolved in seen:
            raise ConfigError(f"{p}: run directory given twice")
        seen.add(resolved)
        runs.append(load_run(p))

    hashes = {str(r.dir): r.suite.get("hash") for r in runs}
    if len(set(hashes.values())) > 1 and not allow_mixed:
        listing = "; ".join(f"{d}: {h or 'no hash'}" for d, h in hashes.items())
        raise ConfigError(f"runs were scored on different task suites and cannot be combined ({listing}){mixed_hint}")
    versions = {str(r.dir): r.ripsaw_version for r in runs}
    if same_harness and len(set(versions.values())) > 1 and not allow_mixed:
        listing = "; ".join(f"{d}: {v}" for d, v in versions.items())
        raise ConfigError(f"runs were made by different ripsaw versions ({listing}){mixed_hint}")
    return _qualify(runs)


def _qualify(runs: list[Run]) -> RunSet:
    if len(runs) == 1:
        return RunSet(runs)
    owners: dict[str, int] = {}
    for r in runs:
        for name in {*combo_names(r.manifest), *(a.combo for a in r.attempts)}:
            owners[name] = owners.get(name, 0) + 1
    renamed: dict[str, str] = {}
    qualified_runs: list[Run] = []
    used: set[str] = set()
    for r in runs:
        mapping = {}
        for name in {*combo_names(r.manifest), *(a.combo for a in r.attempts)}:
            new = f"{name} [{r.run_id}]" if owners[name] > 1 else name
            if new in used:
                raise ConfigError(f"{r.dir}: combo {name!r} of run {r.run_id!r} appears twice; runs share an id")
            used.add(new)
            mapping[name] = new
            if new != name:
                renamed[new] = name
        manifest = copy.deepcopy(r.manifest)
        for c in manifest.get("combos") or []:
            if isinstance(c, dict) and "name" in c:
                c["name"] = mapping[str(c["name"])]
        for a in r.attempts:
            a.combo = mapping[a.combo]
        qualified_runs.append(Run(r.dir, manifest, r.attempts, r.duplicates))
    return RunSet(qualified_runs, renamed)
