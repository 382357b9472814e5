"""The executor seam: what runs a group's attempt units, and the registry of executors (`[run] executor`).

The runner hands an executor a Batch (the units of one group of combos, their limits, the plain AttemptConfig they
are rebuilt from elsewhere, and the same attempt on the driver's live objects) and a callback. What every executor
must guarantee:

- **One writer.** Every finished Attempt goes to `on_done`, called in the driver's event loop; it is the only
  writer to the results store. Workers never touch the run directory.
- **Exactly once per attempt id.** Each unit is handed to `on_done` once. A unit whose worker died mid-attempt
  (process or node lost) is run again, and only its new result is handed over; the store's attempt ids make a
  second record of a scored attempt a counted duplicate, never a replacement (store.py).
- **Limits.** At most `concurrency` attempts in flight, and at most `limits[combo]` of one combo, across every
  worker (an endpoint is shared by the whole cluster).
- **The spend cap.** No unit starts once `may_start()` is False; units never started are not recorded.
- **Cancellation.** When `map` is cancelled, attempts in flight are cancelled and every worker's sandboxes
  (containers, fork servers) are closed before it returns.

Entry-point group: `ripsaw.executors`; a factory takes the RunSpec (its `executor_address`) and returns an Executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ripsaw.execution.attempt import AttemptConfig
from ripsaw.records import Attempt
from ripsaw.registry import Registry
from ripsaw.solvers.base import AttemptUnit
from ripsaw.types import RunSpec


@dataclass(frozen=True, slots=True)
class Batch:
    units: Sequence[AttemptUnit]  # in the order they should start (interleaved across combos)
    concurrency: int  # attempts in flight at most
    limits: Mapping[str, int]  # combo name -> its attempts in flight at most (the endpoint's max_concurrency)
    config: AttemptConfig  # what a worker elsewhere rebuilds the attempt from (attempt.run_attempt)
    run: Callable[[AttemptUnit], Awaitable[Attempt]]  # the same attempt on the driver's live objects
    may_start: Callable[[], bool]  # False once no new unit may start (the run's spend cap was reached)


class Executor(Protocol):
    name: str

    async def map(self, batch: Batch, on_done: Callable[[Attempt], None]) -> None:
        """Run every unit of `batch` (see the module doc for what must hold) and return when all are done."""
        ...

    def describe(self) -> dict[str, Any]:
        """Facts for the run manifest: the executor, and for a cluster its nodes and the attempts it re-ran."""
        ...

    async def aclose(self) -> None: ...


T = TypeVar("T")


async def closed_loop(
    items: Sequence[T],
    concurrency: int,
    handle: Callable[[T], Awaitable[None]],
    may_start: Callable[[], bool] = lambda: True,
) -> None:
    """`concurrency` workers, each taking the next item as soon as its previous one ended, in order, until the
    items run out or `may_start()` is False: `concurrency` in flight at every moment but the last. The local
    executor runs attempts this way and `ripsaw sweep` its load levels."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # one shared iterator: each item goes to exactly one worker
            if not may_start():
                return
            await handle(item)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(concurrency, len(items)))):
            group.create_task(worker())


class LocalExecutor:
    """Attempts as asyncio tasks in the driver, on its live providers and sandbox. Each endpoint's limit is held
    by its provider's own semaphore around the call."""

    name = "local"

    def __init__(self, run: RunSpec | None = None) -> None:
        pass  # nothing to configure: the factory signature is the registry's

    async def map(self, batch: Batch, on_done: Callable[[Attempt], None]) -> None:
        async def one(unit: AttemptUnit) -> None:
            on_done(await batch.run(unit))

        await closed_loop(batch.units, batch.concurrency, one, batch.may_start)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    async def aclose(self) -> None:
        pass


EXECUTORS: Registry[Callable[[RunSpec], Executor]] = Registry(
    "executor",
    "ripsaw.executors",
    {
        "local": "ripsaw.execution.executor:LocalExecutor",
        "ray": "ripsaw.execution.ray_executor:RayExecutor",
    },
)


def create_executor(run: RunSpec) -> Executor:
    return EXECUTORS.get(run.executor)(run)
