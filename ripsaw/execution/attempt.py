"""One attempt, runnable in any process: the plain config it is rebuilt from, and the live objects it runs on.

An attempt (combo × task × sample, an AttemptUnit) needs a provider for its combo, a sandbox, its task's trusted
judge and the budget clock. In the driver those are the runner's own (`AttemptRuntime` over live objects); in a
worker of a distributed executor, `run_attempt(unit, config)` builds them from an `AttemptConfig` (plain,
picklable values: the spec, the tasks, the resolved sandbox name) once per process and keeps them for every later
attempt of the same run. Both run the same `AttemptRuntime.run`, so an attempt is the same record wherever it ran;
only its `placement` (executor, node, CPU, load, dispatch wait) says where.

A provider that manages a server on its machine (a local llama.cpp model) is never rebuilt in a worker: every
worker would launch its own server on shared cores. Such combos stay on the driver (the runner's local path).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ripsaw.errors import ComboFailed, ConfigError
from ripsaw.host import placement
from ripsaw.providers import create_provider
from ripsaw.providers.base import Provider
from ripsaw.providers.ratelimit import RateLimiter, limited
from ripsaw.records import Attempt
from ripsaw.sandboxes import create_sandbox
from ripsaw.sandboxes.base import Limits, Sandbox
from ripsaw.sandboxes.workspace import Workspaces
from ripsaw.solvers import SOLVERS
from ripsaw.solvers.base import AttemptContext, AttemptUnit, new_attempt
from ripsaw.tasks.task import RepoTests, Task
from ripsaw.types import Clock, ComboSpec, EvalSpec, RunSpec
from ripsaw.verdict import Judge
from ripsaw.verdict.judgebox import JudgeBox
from ripsaw.verdict.repo import RepoJudge


@dataclass(slots=True)
class Judges:
    """One trusted judge per task, prepared once and shared by every combo: a Judge of function-level tests, or
    a RepoJudge for a repository task (its workspace containers come from one Workspaces, opened on first use)."""

    run: RunSpec
    limits: Limits
    run_id: str = ""
    _judges: dict[str, Judge | RepoJudge] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _workspaces: Workspaces | None = None
    _box: JudgeBox | None = None

    def box(self) -> JudgeBox:
        """The judge sandbox the tasks' own test code runs in (started on first use, closed with the judges)."""
        if self._box is None:
            self._box = JudgeBox()
        return self._box

    def workspaces(self) -> Workspaces:
        if self._workspaces is None:
            self._workspaces = Workspaces(self.run_id)
        return self._workspaces

    async def get(self, task: Task) -> Judge | RepoJudge:
        lock = self._locks.setdefault(task.id, asyncio.Lock())
        async with lock:
            if task.id not in self._judges and isinstance(task.tests, RepoTests):
                repo = RepoJudge(task, self.workspaces())
                await repo.prepare()
                self._judges[task.id] = repo
            elif task.id not in self._judges:
                judge = Judge(
                    task,
                    task.tests,
                    timeout_floor_s=self.run.test_timeout_s,
                    timeout_factor=self.run.timeout_factor,
                    limits=self.limits,
                    box=self.box(),
                )
                await judge.prepare()
                self._judges[task.id] = judge
            return self._judges[task.id]

    def images(self) -> dict[str, Any]:
        """The images repository tasks ran on here: the workspace base and each task's image (ids); {} before any."""
        if self._workspaces is None:
            return {}
        base = self._workspaces.images.base()
        return {"workspace_image_id": base.id, "task_images": self._workspaces.images.built()}

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None
        if self._workspaces is not None:
            self._workspaces.close()
            self._workspaces = None


def run_limits(run: RunSpec) -> Limits:
    """The sandbox limits of a run (the judges' limits shape the sandbox's pre-warmed containers: one set)."""
    return Limits(timeout_s=run.test_timeout_s)


@dataclass(frozen=True, slots=True)
class AttemptConfig:
    """Everything an attempt is rebuilt from in another process, as plain picklable values.

    The tasks travel with it, so a worker needs no copy of the task files; API keys do not (a combo names the
    environment variable, which each worker reads from its own environment)."""

    run_id: str
    spec: EvalSpec
    tasks: tuple[Task, ...]
    sandbox: str  # a sandbox registry name, already resolved ("auto" is chosen once, by the driver)

    @property
    def key(self) -> str:
        """What a worker's cache of built runtimes is keyed by: one runtime per run (and sandbox)."""
        return f"{self.run_id}\0{self.spec.sha256}\0{self.sandbox}"


class AttemptRuntime:
    """The live objects attempts run on in one process: a sandbox, a provider per combo, the judges.

    Built from live objects (the runner's, `owned=False`: it starts and closes them) or from an AttemptConfig
    (`from_config`: it builds each combo's provider on first use and closes everything in `aclose`)."""

    def __init__(
        self,
        config: AttemptConfig,
        *,
        sandbox: Sandbox,
        providers: dict[str, Provider],
        executor: str = "local",
        clock: Clock = time.perf_counter_ns,
        owned: bool = False,
        limiters: Mapping[str, RateLimiter] | None = None,
    ) -> None:
        self.config = config
        self.sandbox = sandbox
        self.providers = providers
        self.executor = executor
        self.clock = clock
        self.judges = Judges(config.spec.run, run_limits(config.spec.run), config.run_id)
        self._owned = owned
        self._limiters = dict(limiters or {})  # combo name -> the rate limit its built providers share
        self._combos: dict[str, ComboSpec] = {c.name: c for c in config.spec.combos}
        self._tasks = {t.id: t for t in config.tasks}
        self._building = asyncio.Lock()

    @classmethod
    def from_config(
        cls,
        config: AttemptConfig,
        *,
        executor: str,
        clock: Clock = time.perf_counter_ns,
        limiters: Mapping[str, RateLimiter] | None = None,
    ) -> AttemptRuntime:
        """`limiters`: each rate-limited combo's limiter, shared with every other worker of the run."""
        sandbox = create_sandbox(config.sandbox, run_id=config.run_id, limits=run_limits(config.spec.run))
        return cls(config, sandbox=sandbox, providers={}, executor=executor, owned=True, limiters=limiters)

    async def _provider(self, combo: ComboSpec) -> Provider:
        provider = self.providers.get(combo.name)
        if provider is not None:
            return provider
        if not self._owned:
            raise KeyError(f"combo {combo.name!r} has no live provider in this process")
        async with self._building:  # two attempts of a new combo at once build one provider
            if combo.name not in self.providers:
                built = create_provider(combo)
                if getattr(built, "manages_server", False):
                    await built.aclose()
                    raise ConfigError(
                        f"combo {combo.name!r}: provider {combo.provider!r} manages a server on its machine; "
                        "its attempts run on the driver, never in a worker"
                    )
                await built.start(None)
                self.providers[combo.name] = limited(built, self._limiters.get(combo.name))
            return self.providers[combo.name]

    async def run(self, unit: AttemptUnit, *, node_id: str = "", dispatch_s: float | None = None) -> Attempt:
        """Solve and judge one unit. A harness fault is recorded as an infra error (retried on resume), never
        scored; ComboFailed (a managed server died) propagates: the combo stops."""
        combo = self._combos[unit.combo]
        strategy = combo.strategy or self.config.spec.run.strategy
        where = placement(self.executor, node_id=node_id, dispatch_s=dispatch_s)
        try:
            task = self._tasks[unit.task_id]
            provider = await self._provider(combo)
            judge = await self.judges.get(task)
            ctx = AttemptContext(
                self.config.run_id, combo, self.config.spec.run, task, provider, self.sandbox, judge, self.clock
            )
            attempt = await SOLVERS.get(strategy)(ctx, unit)
        except ComboFailed:
            raise
        except Exception as e:
            attempt = new_attempt(self.config.run_id, combo, unit, strategy=strategy, detail=f"harness: {e!r}")
        attempt.placement = where
        return attempt

    async def aclose(self) -> None:
        """Close what this runtime built (nothing, when the runner owns the live objects)."""
        if not self._owned:
            return
        providers, self.providers = list(self.providers.values()), {}
        try:
            for provider in providers:
                await provider.aclose()
        finally:
            self.judges.close()
            self.sandbox.close()  # removes its containers / fork server


# A worker process's runtimes, one per run: built on the first attempt, reused by every later one.
_RUNTIMES: dict[str, AttemptRuntime] = {}


def runtime_for(
    config: AttemptConfig, *, executor: str, limiters: Mapping[str, RateLimiter] | None = None
) -> AttemptRuntime:
    """This process's runtime for the run of `config`: built on first use (its sandbox started), then reused."""
    runtime = _RUNTIMES.get(config.key)
    if runtime is None:
        runtime = _RUNTIMES[config.key] = AttemptRuntime.from_config(config, executor=executor, limiters=limiters)
    return runtime


async def run_attempt(
    unit: AttemptUnit,
    config: AttemptConfig,
    *,
    executor: str,
    node_id: str = "",
    dispatch_s: float | None = None,
    limiters: Mapping[str, RateLimiter] | None = None,
) -> Attempt:
    """Run one attempt in this process from plain config: what a distributed executor's worker calls."""
    runtime = runtime_for(config, executor=executor, limiters=limiters)
    return await runtime.run(unit, node_id=node_id, dispatch_s=dispatch_s)


def runtime_images() -> dict[str, Any]:
    """The images this process's runtimes ran attempts on, for the manifest: the sandbox image and, for repository
    tasks, the workspace base and each task's image (ids). What a cluster compares across its nodes."""
    out: dict[str, Any] = {}
    for runtime in _RUNTIMES.values():
        image_id = runtime.sandbox.describe().get("image_id")
        if image_id:
            out["sandbox_image_id"] = image_id
        built = runtime.judges.images()
        out.setdefault("task_images", {}).update(built.pop("task_images", {}))
        out.update(built)
    return out


async def close_runtimes() -> None:
    """Close every runtime this process built (a worker leaving the run): providers, sandboxes, containers."""
    while _RUNTIMES:
        _, runtime = _RUNTIMES.popitem()
        await runtime.aclose()
