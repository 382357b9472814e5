"""The executor seam: what runs a combo's attempt units, with bounded concurrency.

The runner hands an executor the attempt units of one combo and a callback; the executor runs each unit and
gives every finished Attempt to the callback, which is the only writer to the results store. A unit whose
function returns None was not run (the run's spend cap was reached before it started): nothing is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from ripsaw.records import Attempt
from ripsaw.solvers.base import AttemptUnit


class Executor(Protocol):
    """Runs attempt units with bounded concurrency and hands each finished Attempt to `on_done`.

    The local executor uses asyncio; a distributed one only needs the same three plain inputs.
    """

    async def map(
        self,
        fn: Callable[[AttemptUnit], Awaitable[Attempt | None]],
        units: Sequence[AttemptUnit],
        concurrency: int,
        on_done: Callable[[Attempt], None],
    ) -> None: ...


class LocalExecutor:
    async def map(
        self,
        fn: Callable[[AttemptUnit], Awaitable[Attempt | None]],
        units: Sequence[AttemptUnit],
        concurrency: int,
        on_done: Callable[[Attempt], None],
    ) -> None:
        queue: asyncio.Queue[AttemptUnit] = asyncio.Queue()
        for unit in units:
            queue.put_nowait(unit)

        async def worker() -> None:
            while not queue.empty():
                attempt = await fn(queue.get_nowait())
                if attempt is not None:
                    on_done(attempt)

        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(concurrency, len(units)))):
                group.create_task(worker())
