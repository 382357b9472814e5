"""The Ray executor (`[run] executor = "ray"`): attempts on the nodes of a Ray cluster, recorded by the one driver.

A pool of Ray actors, spread over the cluster's nodes (one CPU each: `ray start --num-cpus N` decides how many
attempts a node runs at once), each keeping a warm runtime: the sandbox of its node (its own Docker engine and
image, or fork server) and a provider per combo, built once from the run's plain AttemptConfig
(`attempt.run_attempt`). The driver hands out one unit at a time to an idle actor and gets the finished Attempt
back; it alone appends to the store (the executor seam's guarantees are in executor.py).

- Limits: the driver is the only dispatcher, so counting a combo's attempts in flight holds its max_concurrency
  across the whole cluster exactly; a unit never waits inside a call for a slot held elsewhere. What the cluster
  adds before an attempt starts (scheduling, the hand-over) is each attempt's `placement.dispatch_s`.
- Fair placement: units go out in the runner's interleaved order (combos alternating task by task), each to the
  idle worker on the node that has had the fewest of its combo's attempts per worker, so no combo gathers on one
  node (a spare worker holding no CPU makes sure there is a choice; it never adds an attempt at once); the
  report breaks latency down by node and flags a combo that still did (ripsaw.analysis.nodes).
- A worker process or a whole node lost mid-attempt: the unit goes back to the front of the queue and runs on
  a fresh actor (on a node that is still there); its lost run was never recorded, so nothing is duplicated.
  After MAX_LOSSES losses of one unit it is recorded as an infra error (retried on resume), not looped forever.
- Stop (Ctrl-C, SIGTERM, an error): attempts in flight are cancelled, and every actor closes its runtime
  (containers removed, fork servers stopped) before it is killed.
- Rate limits (`rpm`, `tpm` on a combo): one actor per combo on the driver's node holds its Pacer, and every
  worker's calls reserve their slot from it (ripsaw.providers.ratelimit), so the endpoint sees one paced client.
- A managed local server's combo never comes here (the runner keeps it on the driver).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ripsaw import __version__
from ripsaw.errors import ConfigError, RipsawError
from ripsaw.execution.attempt import AttemptConfig, close_runtimes, run_attempt, runtime_for, runtime_images
from ripsaw.execution.executor import Batch
from ripsaw.host import placement
from ripsaw.providers.ratelimit import Pacer, RateLimiter
from ripsaw.records import Attempt
from ripsaw.solvers.base import AttemptUnit, new_attempt
from ripsaw.types import RunSpec

MAX_LOSSES = 3  # times one unit's worker may be lost before the unit is recorded as an infra error
_CLOSE_TIMEOUT_S = 60.0  # for every actor to close its sandbox (containers) when the run ends


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError('executor "ray" needs Ray, an optional extra: pip install "ripsaw[ray]"') from None
    return ray


class _PacerActor:
    """A combo's rate limit for the whole cluster (a Ray actor on the driver's node): one Pacer, its methods run
    one at a time on the actor's event loop."""

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.pacer = Pacer(rpm, tpm)

    async def reserve(self, tokens: int) -> float:
        """The slot as an instant on the wall clock (the caller waits until then, however long the answer took
        to reach it)."""
        return time.time() + self.pacer.slot(tokens)

    async def settle(self, reserved: int, used: int) -> None:
        self.pacer.settle(reserved, used)


class _ClusterLimiter:
    """A RateLimiter that asks its combo's _PacerActor: every worker on every node draws from the one budget. Its
    slot is a wall-clock instant, so the time the answer took to come back does not shift the request (a wait
    would start late by it, bringing two requests closer than their interval): the nodes' clocks must agree
    (NTP) to well within 60/rpm."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    async def reserve(self, tokens: int) -> float:
        at = float(await self.actor.reserve.remote(tokens))
        return max(0.0, at - time.time())

    def settle(self, reserved: int, used: int) -> None:
        self.actor.settle.remote(reserved, used)


class _Worker:
    """A Ray actor: one attempt at a time, through run_attempt, on a runtime kept warm between attempts."""

    def __init__(self, config: AttemptConfig, limiters: dict[str, RateLimiter]) -> None:
        self.config = config
        self.limiters = limiters

    async def ready(self) -> dict[str, Any]:
        """Build the runtime now (sandbox warm before the first attempt) and say where this worker is."""
        import ray

        runtime = runtime_for(self.config, executor="ray", limiters=self.limiters)
        where = placement("ray", node_id=ray.get_runtime_context().get_node_id())
        return {
            "node_id": where.node_id,
            "host": where.host,
            "cpu_model": where.cpu_model,
            "cpus": where.cpus,
            "pid": os.getpid(),
            "ripsaw_version": __version__,
            "sandbox": runtime.sandbox.describe(),
        }

    async def run(self, unit: AttemptUnit, handed_at: float) -> Attempt:
        import ray

        node = ray.get_runtime_context().get_node_id()
        dispatch_s = max(0.0, time.time() - handed_at)  # wall clocks: driver's and this node's
        return await run_attempt(
            unit, self.config, executor="ray", node_id=node, dispatch_s=dispatch_s, limiters=self.limiters
        )

    async def close(self) -> dict[str, Any]:
        """Close the runtime, and say which images its attempts ran on (read before the engine client closes)."""
        images = runtime_images()
        await close_runtimes()
        return images


@dataclass(slots=True)
class _Slot:
    actor: Any
    cpus: float  # what it holds of its node (the spare worker holds none)
    facts: dict[str, Any] | None = None  # from ready(); None until the actor is up


class RayExecutor:
    name = "ray"

    def __init__(self, run: RunSpec) -> None:
        _ray()  # a missing extra is reported before anything starts
        self.address = run.executor_address
        self._started_ray = False
        self.requeued = 0  # units re-run because their worker was lost
        self.nodes: dict[str, dict[str, Any]] = {}  # node id -> facts its workers reported
        self._warned_images = False

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            self._started_ray = True
        return ray

    async def map(self, batch: Batch, on_done: Callable[[Attempt], None]) -> None:
        ray = self._connect()
        worker_cls = ray.remote(_Worker)
        keys = {c.api_key_env for c in batch.config.spec.combos if c.api_key_env}
        # Keys travel to the workers in their environment, never in the config (nor in any record).
        env = {k: os.environ[k] for k in keys if k in os.environ}
        options: dict[str, Any] = {"num_cpus": 1, "scheduling_strategy": "SPREAD", "max_restarts": 0}
        if env:
            options["runtime_env"] = {"env_vars": env}
        config_ref = ray.put(batch.config)
        pacers = self._pacers(ray, batch)
        limiters = {name: _ClusterLimiter(actor) for name, actor in pacers.items()}
        pending = collections.deque(batch.units)
        losses: collections.Counter[str] = collections.Counter()
        per_combo: collections.Counter[str] = collections.Counter()
        handed: collections.Counter[tuple[str, str]] = collections.Counter()  # (combo, node) -> attempts given
        slots: list[_Slot] = []
        idle: list[_Slot] = []
        waiting: dict[asyncio.Future[Any], tuple[str, _Slot, AttemptUnit | None]] = {}
        in_flight: dict[asyncio.Future[Any], Any] = {}  # a running attempt's future -> its ObjectRef

        def spawn(cpus: float = 1) -> None:
            actor = worker_cls.options(**{**options, "num_cpus": cpus}).remote(config_ref, limiters)
            slot = _Slot(actor, cpus)
            slots.append(slot)
            waiting[asyncio.wrap_future(slot.actor.ready.remote().future())] = ("ready", slot, None)

        def lost(slot: _Slot, unit: AttemptUnit | None, error: BaseException) -> None:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor)
            slots.remove(slot)
            if unit is not None:
                per_combo[unit.combo] -= 1
                losses[unit.key] += 1
                if losses[unit.key] >= MAX_LOSSES:
                    combo = next(c for c in batch.config.spec.combos if c.name == unit.combo)
                    strategy = combo.strategy or batch.config.spec.run.strategy
                    detail = f"harness: its worker was lost {MAX_LOSSES} times: {type(error).__name__}"
                    on_done(new_attempt(batch.config.run_id, combo, unit, strategy=strategy, detail=detail))
                else:
                    self.requeued += 1
                    pending.appendleft(unit)  # first in line again, on another worker
            if pending:
                spawn(slot.cpus)  # keep the pool's size; Ray places it on a node that is still there

        def pick(unit: AttemptUnit) -> _Slot:
            """The idle worker on the node that has had the fewest of this combo's attempts per worker there: each
            combo spreads over the nodes alike, so a slower node slows every combo the same (analysis.nodes)."""
            workers = collections.Counter(s.facts["node_id"] for s in slots if s.facts is not None)

            def load(slot: _Slot) -> float:
                assert slot.facts is not None  # idle workers are up
                node = slot.facts["node_id"]
                return handed[unit.combo, node] / workers[node]

            slot = min(reversed(idle), key=load)  # on a tie, the worker idle the shortest (as a stack would)
            idle.remove(slot)
            assert slot.facts is not None
            handed[unit.combo, slot.facts["node_id"]] += 1
            return slot

        def capacity() -> int:
            """Attempts that may run at once: the concurrency, and no more than the workers holding a CPU are up (the
            spare adds a choice of node, never an attempt more)."""
            return min(batch.concurrency, sum(1 for s in slots if s.cpus > 0 and s.facts is not None))

        def next_unit() -> AttemptUnit | None:
            for i, unit in enumerate(pending):
                if per_combo[unit.combo] < batch.limits.get(unit.combo, batch.concurrency):
                    del pending[i]
                    return unit
            return None

        try:
            for _ in range(max(1, min(batch.concurrency, len(pending)))):
                spawn()
            if len(pending) > batch.concurrency:
                # One worker more than can run at once (holding no CPU: capacity() counts the others): a worker that
                # just finished is then never the only choice, so a combo held at its limit still moves between nodes.
                spawn(0)
            while pending or any(kind == "run" for kind, _, _ in waiting.values()):
                while idle and pending and len(in_flight) < capacity() and batch.may_start():
                    unit = next_unit()
                    if unit is None:
                        break  # every pending unit's combo is at its limit: wait for one to finish
                    slot = pick(unit)
                    per_combo[unit.combo] += 1
                    ref = slot.actor.run.remote(unit, time.time())
                    future = asyncio.wrap_future(ref.future())
                    waiting[future] = ("run", slot, unit)
                    in_flight[future] = ref
                if pending and not batch.may_start():
                    pending.clear()  # the spend cap: what has not started does not start
                    continue
                if not waiting:
                    break
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    kind, slot, unit = waiting.pop(future)
                    in_flight.pop(future, None)
                    try:
                        value = future.result()
                    except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as e:
                        lost(slot, unit, e)
                        continue
                    except ray.exceptions.RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        raise (cause if isinstance(cause, RipsawError) else e) from None
                    if kind == "ready":
                        slot.facts = value
                        self._note_node(value)
                    else:
                        assert unit is not None
                        per_combo[unit.combo] -= 1
                        on_done(value)
                    idle.append(slot)
        finally:
            for ref in in_flight.values():
                with contextlib.suppress(Exception):
                    ray.cancel(ref)  # the attempt's coroutine is cancelled: its sandbox session is closed
            for future in waiting:
                future.cancel()
            await self._close(ray, slots)
            for actor in pacers.values():
                with contextlib.suppress(Exception):
                    ray.kill(actor)

    def _pacers(self, ray: Any, batch: Batch) -> dict[str, Any]:
        """An actor per rate-limited combo of the batch, on the driver's node (with no CPU of its own): if that
        node is lost, so is the run."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        pacer_cls = ray.remote(_PacerActor)
        return {
            combo.name: pacer_cls.options(num_cpus=0, scheduling_strategy=here).remote(combo.rpm, combo.tpm)
            for combo in batch.config.spec.combos
            if combo.name in batch.limits and (combo.rpm or combo.tpm)
        }

    def _note_node(self, facts: dict[str, Any]) -> None:
        if facts["ripsaw_version"] != __version__:
            raise ConfigError(
                f"a Ray worker on node {facts['node_id']} runs Ripsaw {facts['ripsaw_version']}, the driver "
                f"{__version__}: install the same version on every node"
            )
        node = self.nodes.setdefault(facts["node_id"], {k: facts[k] for k in ("host", "cpu_model", "cpus")})
        node["sandbox"] = facts["sandbox"]
        images = {_image(n["sandbox"]) for n in self.nodes.values()}
        if len(images) > 1 and not self._warned_images:
            self._warned_images = True
            print(
                f"ripsaw: warning: the cluster's nodes run different sandbox images ({', '.join(sorted(images))}); "
                "their verdicts may differ",
                file=sys.stderr,
            )

    async def _close(self, ray: Any, slots: list[_Slot]) -> None:
        """Every actor that came up closes its runtime (containers removed on its node), then every actor is
        killed: also when cancelled. One never placed (no node had a free CPU) has nothing to close, and would
        never answer."""
        up = [s for s in slots if s.facts is not None]
        closing = [asyncio.wrap_future(s.actor.close.remote().future()) for s in up]
        if closing:
            with contextlib.suppress(Exception):
                await asyncio.wait(closing, timeout=_CLOSE_TIMEOUT_S)
        for slot, future in zip(up, closing, strict=True):
            if future.done() and not future.cancelled() and future.exception() is None:
                assert slot.facts is not None
                self._note_images(slot.facts["node_id"], future.result())
            # else: a dead actor's close fails; nothing of it is left to close (nor to tell)
        for slot in slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor)

    def _note_images(self, node_id: str, images: dict[str, Any]) -> None:
        node = self.nodes.setdefault(node_id, {})
        if images.get("workspace_image_id"):
            node["workspace_image_id"] = images["workspace_image_id"]
        node.setdefault("task_images", {}).update(images.get("task_images", {}))

    def image_mismatches(self) -> list[str]:
        """What the nodes ran on differently: the sandbox image, the workspace base image, each task's image (a
        task image is compared between the nodes that ran the task). One line each; [] when they all agree."""
        out = []
        by_node = {node_id[:8]: facts for node_id, facts in self.nodes.items()}

        def differ(what: str, ids: dict[str, str]) -> None:
            if len(set(ids.values())) > 1:
                out.append(f"{what}: " + ", ".join(f"node {n} {i[:19]}" for n, i in sorted(ids.items())))

        differ("sandbox image", {n: _image(f["sandbox"]) for n, f in by_node.items() if "sandbox" in f})
        differ("workspace image", {n: f["workspace_image_id"] for n, f in by_node.items() if "workspace_image_id" in f})
        for task in sorted({t for f in by_node.values() for t in f.get("task_images", {})}):
            differ(
                f"task {task} image",
                {n: f["task_images"][task] for n, f in by_node.items() if task in f.get("task_images", {})},
            )
        return out

    def describe(self) -> dict[str, Any]:
        mismatches = self.image_mismatches()
        cpus = {n.get("cpu_model") for n in self.nodes.values()}
        return {
            "name": self.name,
            "address": self.address,
            "nodes": self.nodes,
            "requeued": self.requeued,
            "sandbox_images_differ": any(m.startswith("sandbox image") for m in mismatches),
            "images_differ": mismatches,  # [] when every node ran the same sandbox, workspace and task images
            "cpu_models_differ": len(cpus) > 1,
        }

    async def aclose(self) -> None:
        if self._started_ray:
            _ray().shutdown()
            self._started_ray = False


def _image(sandbox: dict[str, Any]) -> str:
    """What makes two nodes' sandboxes the same: the image digest (docker), else the kind and its isolation."""
    return str(sandbox.get("image_id") or f"{sandbox.get('kind')}:{sandbox.get('isolation')}")
