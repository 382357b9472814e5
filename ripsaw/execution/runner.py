"""The runner: combos × tasks × samples, scheduled behind the executor seam, appended to the store.

A combo on a managed local server runs alone (it shares this host's cores), always on the driver (the local
executor: a worker elsewhere must not launch its own server). Combos on remote endpoints run together, interleaved
by task, on the run's executor (`[run] executor`: in this process, or across a Ray cluster). Attempts run
concurrently up to min(run.concurrency, the group's max_concurrency summed). The runner is the one writer to the
store, whatever the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ripsaw import __version__
from ripsaw.errors import ComboFailed, ConfigError
from ripsaw.execution.attempt import AttemptConfig, AttemptRuntime, run_limits
from ripsaw.execution.executor import Batch, Executor, LocalExecutor, create_executor
from ripsaw.execution.store import MANIFEST_SCHEMA_VERSION, RunStore
from ripsaw.host import fingerprint
from ripsaw.names import utc_now
from ripsaw.providers import create_providers
from ripsaw.providers.base import Provider
from ripsaw.providers.ratelimit import limited, limiter_for
from ripsaw.records import RESULTS_SCHEMA_VERSION, TIMING_DEFINITIONS_VERSION, Attempt, Outcome
from ripsaw.sandboxes import create_sandbox
from ripsaw.sandboxes.base import Sandbox
from ripsaw.solvers.base import AttemptUnit, prompt_preset
from ripsaw.solvers.extract import EXTRACTION_RULES_VERSION
from ripsaw.tasks import load_spec_tasks
from ripsaw.tasks.task import CheckTests, RepoTests, Task, suite_hash
from ripsaw.types import Clock, ComboSpec, EvalSpec, RunSpec
from ripsaw.verdict.repo import RepoJudge, ensure_valid


@dataclass(slots=True)
class RunResult:
    run_dir: Path
    recorded: int  # attempts written by this invocation
    skipped: int  # attempts already finished by an earlier invocation (resume)
    infra_errors: int
    status: str
    failed_combos: dict[str, str] = field(default_factory=dict)  # combo name -> why it stopped (ComboFailed)
    capped_at_usd: float | None = None  # the recorded cost when run.max_cost_usd stopped the run


def default_run_id(spec: EvalSpec, *, limit: int | None = None) -> str:
    """Stable per spec content, so re-running the same spec resumes into the same directory.

    `limit` is a task limit given on top of the file (`ripsaw run --limit N`): it selects another task suite than
    the file's, so it gets its own directory (`-limitN`) and a trial run and the full run each resume into their own.
    """
    name = f"{spec.name}-{spec.sha256[:8]}"
    return name if limit is None or limit == spec.tasks.limit else f"{name}-limit{limit}"


def _prompt_manifest(combo: ComboSpec, run: RunSpec) -> dict[str, Any]:
    """Which chat prompt preset, and a hash of its texts (complete mode sends the task prompt itself)."""
    if combo.prompt_mode == "complete":
        return {"preset": None, "sha256": None}
    preset = prompt_preset(combo, run)
    return {"preset": preset.name, "sha256": preset.fingerprint()}


def _combo_manifest(combo: ComboSpec, run: RunSpec) -> dict[str, Any]:
    return {
        "name": combo.name,
        "provider": combo.provider,
        "model": combo.model,
        "hardware": combo.hardware,
        "base_url": combo.base_url,
        "prompt_mode": combo.prompt_mode,
        "price_in_per_mtok": combo.price_in_per_mtok,
        "price_out_per_mtok": combo.price_out_per_mtok,
        "price_cached_in_per_mtok": combo.price_cached_in_per_mtok,
        "rpm": combo.rpm,
        "tpm": combo.tpm,
        "strategy": combo.strategy or run.strategy,
        "tool_mode": (combo.tool_mode or run.tool_mode) if (combo.strategy or run.strategy) == "agent" else None,
        "prompt": _prompt_manifest(combo, run),
        "params": dataclasses.asdict(combo.params),
        "server": None,
    }


def _open_manifest(store: RunStore, spec: EvalSpec, run_id: str, tasks: list[Task], sandbox: Sandbox) -> dict[str, Any]:
    suite = {
        "source": spec.tasks.source,
        "count": len(tasks),
        "hash": suite_hash(tasks),
        "ids": [t.id for t in tasks],
    }
    if RunStore.is_run_dir(store.dir):
        manifest = store.manifest()
        if manifest.get("spec_sha256") != spec.sha256:
            raise ConfigError(
                f"{store.dir} holds a run of a different spec (or an edited one); "
                "pass --fresh for a new run directory, or --run-id NAME"
            )
        if manifest.get("task_suite", {}).get("hash") != suite["hash"]:
            raise ConfigError(f"{store.dir}: the task suite changed since this run started; pass --fresh")
        if manifest.get("sandbox", {}).get("kind") != sandbox.kind:
            raise ConfigError(
                f"{store.dir} was scored in the {manifest.get('sandbox', {}).get('kind')} sandbox, "
                f"this invocation would use {sandbox.kind}; pass --fresh or the same sandbox"
            )
    else:
        manifest = {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "run_id": run_id,
            "ripsaw_version": __version__,
            "spec_path": str(spec.path),
            "spec_sha256": spec.sha256,
            "spec": spec.raw,
            "task_suite": suite,
            "host": fingerprint(),
            "sandbox": sandbox.describe(),
            "combos": [_combo_manifest(c, spec.run) for c in spec.combos],
            "run": dataclasses.asdict(spec.run),
            # What the gate and the leaderboard compare runs on (ripsaw.analysis.comparability).
            "rules": {
                "extraction_rules": EXTRACTION_RULES_VERSION,
                "timing_definitions": TIMING_DEFINITIONS_VERSION,
                "results_schema": RESULTS_SCHEMA_VERSION,
            },
            "started_at": utc_now(),
            "sessions": [],
        }
    manifest["sessions"].append({"started_at": utc_now(), "ripsaw_version": __version__, "host": fingerprint()})
    manifest["status"] = "running"
    manifest["ended_at"] = None
    store.write_manifest(manifest)
    return manifest


async def run_eval(
    spec: EvalSpec,
    run_dir: Path,
    *,
    progress: bool = True,
    clock: Clock = time.perf_counter_ns,
    executor: Executor | None = None,
    sandbox_name: str | None = None,
) -> RunResult:
    run_id = run_dir.name
    tasks = load_spec_tasks(spec)
    if not tasks:
        raise ConfigError(f"{spec.path}: tasks: the task selection is empty")
    check_strategies(spec, tasks)
    async with contextlib.AsyncExitStack() as resources:  # released in reverse order, whatever happens
        # The judges' limits shape the sandbox's pre-warmed containers: one set, so no job needs a cold container.
        sandbox = create_sandbox(sandbox_name or spec.run.sandbox, run_id=run_id, limits=run_limits(spec.run))
        resources.callback(sandbox.close)
        executor = executor or create_executor(spec.run)
        resources.push_async_callback(executor.aclose)
        providers = await create_providers(spec.combos)
        for provider in providers:
            resources.push_async_callback(provider.aclose)
        # A combo's rpm/tpm, held in this process for the calls made here (a cluster's workers share one elsewhere).
        providers = [limited(p, limiter_for(c)) for c, p in zip(spec.combos, providers, strict=True)]
        store = resources.enter_context(RunStore(run_dir))
        manifest = _open_manifest(store, spec, run_id, tasks, sandbox)
        result = RunResult(run_dir, recorded=0, skipped=0, infra_errors=0, status="failed")
        # The attempt as a worker elsewhere rebuilds it, and the same attempt on this process's live objects.
        config = AttemptConfig(run_id, spec, tuple(tasks), sandbox.kind)
        runtime = AttemptRuntime(
            config,
            sandbox=sandbox,
            providers={c.name: p for c, p in zip(spec.combos, providers, strict=True)},
            clock=clock,
        )
        resources.callback(runtime.judges.close)
        if "judge" not in manifest and any(isinstance(t.tests, CheckTests) for t in tasks):
            manifest["judge"] = runtime.judges.box().describe()  # where the tasks' own test code ran
            store.write_manifest(manifest)
            if manifest["judge"]["isolation"] != "namespaces" and progress:
                # Loud, like the sandbox fallback: task data from elsewhere then reaches the host's files.
                print(
                    "ripsaw: warning: no namespaces here: the tasks' check code runs without the judge sandbox's file "
                    "and network isolation (environment still empty)",
                    file=sys.stderr,
                )
        repo = [t for t in tasks if isinstance(t.tests, RepoTests)]
        if repo:
            if "workspace" not in manifest:
                manifest["workspace"] = runtime.judges.workspaces().describe()
                # Each task's container gets its own task.toml limits: tool times depend on them.
                manifest["workspace"]["limits_by_task"] = {
                    t.id: {"cpus": t.tests.cpus, "memory_mb": t.tests.memory_mb}
                    for t in repo
                    if isinstance(t.tests, RepoTests)
                }
                store.write_manifest(manifest)
            judges = [j for t in repo if isinstance(j := await runtime.judges.get(t), RepoJudge)]
            await ensure_valid(judges, log=lambda line: print(f"ripsaw: {line}", file=sys.stderr) if progress else None)
        try:
            await _run_combos(spec, tasks, providers, runtime, store, manifest, result, executor, progress)
            if result.capped_at_usd is not None:
                result.status = "capped"
            elif result.infra_errors == 0 and not result.failed_combos:
                result.status = "complete"
            else:
                result.status = "incomplete"
        except (asyncio.CancelledError, KeyboardInterrupt):
            result.status = "interrupted"
            raise
        finally:
            manifest["executor"] = executor.describe()
            for line in manifest["executor"].get("images_differ", []):
                print(f"ripsaw: warning: the cluster's nodes ran different images, {line}", file=sys.stderr)
            manifest["status"] = result.status
            manifest["ended_at"] = utc_now()
            manifest["sessions"][-1].update(ended_at=manifest["ended_at"], status=result.status)
            store.write_manifest(manifest)
    return result


def check_strategies(spec: EvalSpec, tasks: list[Task]) -> None:
    """Repository tasks are solved by agents, and agents solve only repository tasks: say so before anything runs."""
    repo = [t.id for t in tasks if isinstance(t.tests, RepoTests)]
    for i, combo in enumerate(spec.combos):
        strategy = combo.strategy or spec.run.strategy
        where = f"combos[{i}].strategy" if combo.strategy else "run.strategy"
        if strategy == "agent" and len(repo) < len(tasks):
            other = next(t.id for t in tasks if not isinstance(t.tests, RepoTests))
            raise ConfigError(
                f"{spec.path}: {where}: 'agent' solves repository tasks (tasks.source = 'repo:PATH'); "
                f"task {other} is a function-level task"
            )
        if strategy != "agent" and repo:
            raise ConfigError(
                f"{spec.path}: {where}: {strategy!r} cannot solve repository task {repo[0]}: use strategy = 'agent'"
            )


def _combo_failed(e: BaseException, index: int, manifest: dict[str, Any], store: RunStore, result: RunResult) -> None:
    name = manifest["combos"][index]["name"]
    result.failed_combos[name] = str(e)
    manifest["combos"][index]["failed"] = str(e)
    store.write_manifest(manifest)


INTERLEAVE_SEED = 0  # the task order of interleaved remote combos: fixed, and recorded in the manifest


def _groups(providers: list[Provider]) -> list[list[int]]:
    """Combo indices in the order they run. A managed local server (it shares the cores) runs its combo alone;
    combos on remote endpoints run together, interleaved by task, so load that drifts over the hour hits all
    of them alike. The groups keep the spec's order of their first combo."""
    remote = [i for i, p in enumerate(providers) if not getattr(p, "manages_server", False)]
    groups: list[list[int]] = []
    for i in range(len(providers)):
        if i not in remote:
            groups.append([i])
        elif i == remote[0]:
            groups.append(remote)
    return groups


def interleaved_units(combos: list[ComboSpec], tasks: list[Task], samples: int) -> list[AttemptUnit]:
    """Every attempt of `combos`, task by task in a seeded shuffle, the combos' order rotating from task to task
    so none is always first."""
    order = list(tasks)
    random.Random(INTERLEAVE_SEED).shuffle(order)
    units = []
    for k, task in enumerate(order):
        for sample in range(samples):
            for j in range(len(combos)):
                units.append(AttemptUnit(combos[(k + j) % len(combos)].name, task.id, sample))
    return units


async def _run_combos(
    spec: EvalSpec,
    tasks: list[Task],
    providers: list[Provider],
    runtime: AttemptRuntime,
    store: RunStore,
    manifest: dict[str, Any],
    result: RunResult,
    executor: Executor,
    progress: bool,
) -> None:
    finished = store.finished_ids()
    cap = spec.run.max_cost_usd
    spent = sum(a.cost_usd or 0.0 for a in store.attempts()) if cap is not None else 0.0
    for group in _groups(providers):
        combos = [spec.combos[i] for i in group]
        if len(group) > 1:
            every = interleaved_units(combos, tasks, spec.run.samples)
            manifest["interleaved"] = {"combos": [c.name for c in combos], "task_order_seed": INTERLEAVE_SEED}
        else:
            every = [AttemptUnit(combos[0].name, t.id, sample) for t in tasks for sample in range(spec.run.samples)]
        units = [unit for unit in every if unit.key not in finished]
        result.skipped += len(every) - len(units)
        if not units:
            continue
        live: dict[str, tuple[int, ComboSpec, Provider]] = {}
        for i in group:
            manifest["combos"][i].pop("failed", None)  # a resumed combo gets another chance
            try:
                await providers[i].start(store.dir)
                live[spec.combos[i].name] = (i, spec.combos[i], providers[i])
            except ComboFailed as e:
                _combo_failed(e, i, manifest, store, result)
                await providers[i].aclose()
        units = [u for u in units if u.combo in live]
        if not units:
            continue
        label = combos[0].name if len(group) == 1 else f"{len(group)} remote combos, interleaved"
        bar = tqdm(total=len(units), desc=label, unit="attempt", disable=not progress, dynamic_ncols=True)
        passed = 0

        def record(attempt: Attempt, bar: tqdm = bar) -> None:
            nonlocal passed, spent
            store.append(attempt)
            spent += attempt.cost_usd or 0.0
            result.recorded += 1
            if attempt.outcome is Outcome.INFRA_ERROR:
                result.infra_errors += 1
            passed += attempt.outcome is Outcome.PASSED
            bar.update(1)
            bar.set_postfix(passed=passed, refresh=False)

        def may_start() -> bool:
            if cap is not None and spent >= cap:
                result.capped_at_usd = spent
                return False  # no new attempt once the recorded cost reached the cap; those in flight finish
            return True

        # A managed local server's combo stays on the driver: a worker elsewhere must not launch its own server.
        local = any(getattr(provider, "manages_server", False) for _, _, provider in live.values())
        batch = Batch(
            units,
            # Each endpoint's own limit (its provider's max_concurrency) holds inside the group's concurrency.
            concurrency=min(spec.run.concurrency, sum(c.max_concurrency for _, c, _ in live.values())),
            limits={c.name: c.max_concurrency for _, c, _ in live.values()},
            config=runtime.config,
            run=runtime.run,
            may_start=may_start,
        )
        try:
            try:
                await (LocalExecutor() if local else executor).map(batch, record)
            except* ComboFailed as failed:
                # Only a managed local server raises it, and such a combo always runs alone.
                _combo_failed(failed.exceptions[0], group[0], manifest, store, result)
            for i, _, provider in live.values():
                manifest["combos"][i]["server"] = provider.describe()
            store.write_manifest(manifest)
        finally:
            bar.close()
            for _, _, provider in live.values():
                await provider.aclose()  # a local server frees the cores before the next combo starts
        if result.capped_at_usd is not None:
            result.capped_at_usd = spent  # with the attempts that were in flight when the cap was reached
            manifest["capped"] = {"max_cost_usd": cap, "spent_usd": round(spent, 6)}
            store.write_manifest(manifest)
            break
