"""The Ray executor's cost and scaling, against the local executor, in one run on this machine.

    python bench/ray_executor.py [--tasks 30] [--slow-ttft 0.5]

1. Added cost per attempt: the starter suite against the reference server answering at once (no model time), the
   process sandbox, concurrency 2, through the whole runner: the local executor, then the Ray executor on a
   cluster of one worker node with 2 CPUs (the head has none, so every attempt runs in a worker). Wall time per
   attempt for each and their ratio; cluster start-up is reported apart, not counted.
2. Throughput from 1 to 2 worker nodes (2 CPUs each, so 2 then 4 attempts at once) when the endpoint is the
   bottleneck (every reply starts `--slow-ttft` seconds late): attempts per second, and the speed-up.
3. On the two worker nodes: a combo at rpm = 300 (a request every 0.2 s), every attempt ready at once: the gaps
   between requests as the endpoint logged them; and two combos held at 1 and 3 attempts at once: how each
   spread over the nodes.

Needs Ray (`pip install "ripsaw[ray]"`); run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ripsaw.execution.executor import Executor, LocalExecutor
from ripsaw.execution.ray_executor import RayExecutor
from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.types import EvalSpec
from tests.refserver import RefServer
from tests.support.ray_cluster import ray_spec, scripted
from tests.support.starter import arrival_gaps_s


async def _timed(spec: EvalSpec, run_dir: Path, executor: Executor) -> float:
    start = time.perf_counter()
    result = await run_eval(spec, run_dir, progress=False, executor=executor)
    elapsed = time.perf_counter() - start
    if result.status != "complete":
        raise SystemExit(f"{run_dir.name}: run ended {result.status}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--slow-ttft", type=float, default=0.5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ripsaw-ray-bench-"))
    for name in ("fast", "slow"):
        (tmp / name).mkdir()
    with RefServer(spin_s=0) as server:
        server.script = scripted(rate=None)
        fast = ray_spec(tmp / "fast", {"ref": (server.base_url, 2)}, limit=args.tasks, concurrency=2)
        local_s = asyncio.run(_timed(fast, tmp / "local", LocalExecutor()))

        t0 = time.perf_counter()
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        startup_s = time.perf_counter() - t0
        try:
            ray_s = asyncio.run(_timed(fast, tmp / "ray", RayExecutor(fast.run)))
            n = args.tasks
            print(f"cluster start-up (head + 1 worker node, not counted): {startup_s:.1f} s")
            print(
                f"per attempt, instant endpoint, concurrency 2: local {local_s / n * 1e3:.1f} ms, "
                f"ray {ray_s / n * 1e3:.1f} ms (ray/local {ray_s / local_s:.2f}x; includes warming each worker's "
                "sandbox and judges once)"
            )

            server.script = scripted(ttft_s=args.slow_ttft, rate=None)
            slow = ray_spec(tmp / "slow", {"ref": (server.base_url, 8)}, limit=args.tasks, concurrency=8)
            one_s = asyncio.run(_timed(slow, tmp / "one-node", RayExecutor(slow.run)))
            cluster.add_node(num_cpus=2)
            cluster.wait_for_nodes()
            two_s = asyncio.run(_timed(slow, tmp / "two-nodes", RayExecutor(slow.run)))
            print(
                f"throughput, endpoint ttft {args.slow_ttft} s: 1 worker node {n / one_s:.2f} attempts/s, "
                f"2 worker nodes {n / two_s:.2f} attempts/s ({one_s / two_s:.2f}x)"
            )

            server.reset(scripted(ttft_s=0.02, rate=None))
            (tmp / "paced").mkdir()
            paced = ray_spec(tmp / "paced", {"ref": (server.base_url, 4)}, limit=args.tasks, combo_extra="rpm = 300\n")
            asyncio.run(_timed(paced, tmp / "paced-run", RayExecutor(paced.run)))
            gaps = sorted(arrival_gaps_s(server))
            print(
                f"rpm 300 across 2 worker nodes ({len(gaps) + 1} requests): gap between requests at the endpoint "
                f"min {gaps[0] * 1e3:.0f} ms, p10 {gaps[len(gaps) // 10] * 1e3:.0f} ms, median "
                f"{statistics.median(gaps) * 1e3:.0f} ms (the pacer's interval: 200 ms)"
            )

            server.reset(scripted(ttft_s=0.2, rate=None))
            with RefServer(spin_s=0) as other:
                other.script = scripted(ttft_s=0.2, rate=None)
                (tmp / "spread").mkdir()
                combos = {"held-1": (server.base_url, 1), "held-3": (other.base_url, 3)}
                spread = ray_spec(tmp / "spread", combos, limit=min(args.tasks, 16))
                asyncio.run(_timed(spread, tmp / "spread-run", RayExecutor(spread.run)))
            where = collections.Counter(
                (a.combo, a.placement.node_id[:8]) for a in RunStore(tmp / "spread-run").attempts() if a.placement
            )
            print(
                "attempts per combo and node: " + ", ".join(f"{c} on {n}: {k}" for (c, n), k in sorted(where.items()))
            )
        finally:
            ray.shutdown()
            cluster.shutdown()


if __name__ == "__main__":
    main()
