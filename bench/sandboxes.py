"""Sandbox cost on HumanEval's 164 canonical solutions: process vs docker, and what pre-warming hides.

    python bench/sandboxes.py [--limit N] [--generation-s 1.0] [--concurrency 4]

Every attempt is judged by the real Judge (trusted replay, as in a run). Two measurements, in one run:

1. Sandbox time per attempt, one attempt at a time: process (session + judge); docker pre-warmed (the
   container is started and ready, only the judge is timed: what remains visible after generation);
   docker cold (session start + judge: what an attempt would pay without pre-warming).
   Prints the docker/process ratio of the totals.
2. Visible overhead with generation: each attempt opens its session, "generates" for --generation-s
   (a sleep running concurrently with the pre-warm), then judges; --concurrency attempts at once, as a
   run does. Visible overhead = attempt wall time - generation time; the docker - process difference is
   what choosing Docker adds to every attempt.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ripsaw.records import Outcome
from ripsaw.sandboxes.base import Limits, Sandbox
from ripsaw.sandboxes.docker import DockerSandbox
from ripsaw.sandboxes.process import ProcessSandbox
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import Task
from ripsaw.verdict import Judge

LIMITS = Limits()
WARM_UP_S = 0.3


async def _prepare(tasks: list[Task]) -> dict[str, Judge]:
    judges = {t.id: Judge(t, t.tests, timeout_floor_s=10.0, timeout_factor=10.0, limits=LIMITS) for t in tasks}
    gate = asyncio.Semaphore(4)

    async def one(judge: Judge) -> None:
        async with gate:
            await judge.prepare()

    await asyncio.gather(*(one(j) for j in judges.values()))
    return judges


async def _attempt(
    sb: Sandbox, judge: Judge, code: str, *, generation_s: float, from_ready: bool
) -> tuple[float, bool]:
    """Seconds of the attempt the sandbox makes visible, and whether it passed.

    The session opens (pre-warm) while `generation_s` of "generation" sleeps. `from_ready` times only the
    judging after both; otherwise the whole attempt minus the generation time is counted.
    """
    t0 = time.perf_counter()
    opening = asyncio.ensure_future(sb.session(judge.task.id))
    await asyncio.sleep(generation_s)
    session = await opening
    hidden = generation_s
    if from_ready:
        t0, hidden = time.perf_counter(), 0.0
    try:
        verdict = await judge.judge(code, session)
    finally:
        await session.close()
    return time.perf_counter() - t0 - hidden, verdict.outcome is Outcome.PASSED


async def _series(
    name: str,
    tasks: list[Task],
    run_one: Callable[[Task], Awaitable[tuple[float, bool]]],
    concurrency: int,
) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    results: list[tuple[float, bool]] = []

    async def one(task: Task) -> None:
        async with gate:
            results.append(await run_one(task))

    await asyncio.gather(*(one(t) for t in tasks))
    failed = sum(not ok for _, ok in results)
    if failed:
        print(f"  warning: {failed} canonical solutions did not pass in {name}", file=sys.stderr)
    return [seconds for seconds, _ in results]


def _row(name: str, xs: list[float]) -> str:
    p95 = statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else xs[0]
    return (
        f"  {name:<22} mean {statistics.mean(xs) * 1e3:7.1f} ms   median {statistics.median(xs) * 1e3:7.1f} ms"
        f"   p95 {p95 * 1e3:7.1f} ms   total {sum(xs):6.2f} s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks (default: all 164)")
    parser.add_argument("--generation-s", type=float, default=1.0, help="simulated generation time per attempt")
    parser.add_argument("--concurrency", type=int, default=4, help="attempts at once in the generation phase")
    args = parser.parse_args()

    tasks = load_humaneval()[: args.limit]
    code = {t.id: t.canonical_solution or "" for t in tasks}
    print(f"preparing {len(tasks)} judges (trusted recording of each task's check calls)...", file=sys.stderr)
    judges = await _prepare(tasks)
    process = ProcessSandbox(run_id="bench")
    docker = DockerSandbox(run_id="bench", limits=LIMITS)
    print(f"process: {process.describe()['isolation']}; docker: {docker.image_tag} on engine {docker.engine_version}")

    def measure(sb: Sandbox, generation_s: float, from_ready: bool) -> Callable[[Task], Awaitable[tuple[float, bool]]]:
        return lambda t: _attempt(sb, judges[t.id], code[t.id], generation_s=generation_s, from_ready=from_ready)

    try:
        print(f"\n1. sandbox time per attempt, {len(tasks)} canonical solutions, one at a time")
        proc = await _series("process", tasks, measure(process, 0.0, False), 1)
        # A short "generation" lets the container finish starting; only the judging after it is timed.
        warm = await _series("docker pre-warmed", tasks, measure(docker, WARM_UP_S, True), 1)
        cold = await _series("docker cold", tasks, measure(docker, 0.0, False), 1)
        print(_row("process", proc))
        print(_row("docker (pre-warmed)", warm))
        print(_row("docker (cold start)", cold))
        print(f"  ratio docker/process: {sum(warm) / sum(proc):.2f} pre-warmed, {sum(cold) / sum(proc):.2f} cold")

        gen = args.generation_s
        print(
            f"\n2. visible overhead per attempt: {gen:g} s generation overlapping the pre-warm, "
            f"{args.concurrency} attempts at once"
        )
        proc_vis = await _series("process", tasks, measure(process, gen, False), args.concurrency)
        dock_vis = await _series("docker", tasks, measure(docker, gen, False), args.concurrency)
        print(_row("process", proc_vis))
        print(_row("docker", dock_vis))
        added = statistics.mean(dock_vis) - statistics.mean(proc_vis)
        added_median = statistics.median(dock_vis) - statistics.median(proc_vis)
        print(
            f"  docker adds {added * 1e3:+.1f} ms per attempt on average ({added_median * 1e3:+.1f} ms median) "
            f"over the process sandbox; its own visible time is {statistics.mean(dock_vis) * 1e3:.1f} ms"
        )
    finally:
        docker.close()


if __name__ == "__main__":
    asyncio.run(main())
