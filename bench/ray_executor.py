"""The Ray executor's cost and scaling, against the local executor, in one run on this machine.

    python bench/ray_executor.py [--tasks 30] [--slow-ttft 0.5]

1. Added cost per attempt: the starter suite against the reference server answering at once (no model time), the
   process sandbox, concurrency 2, through the whole runner: the local executor, then the Ray executor on a
   cluster of one worker node with 2 CPUs (the head has none, so every attempt runs in a worker). Wall time per
   attempt for each and their ratio; cluster start-up is reported apart, not counted.
2. Throughput from 1 to 2 worker nodes (2 CPUs each, so 2 then 4 attempts at once) when the endpoint is the
   bottleneck (every reply starts `--slow-ttft` seconds late): attempts per second, and the speed-up.

Needs Ray (`pip install "ripsaw[ray]"`); run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
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
from ripsaw.types import EvalSpec
from tests.refserver import RefServer
from tests.support.ray_cluster import ray_spec, scripted


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
        finally:
            ray.shutdown()
            cluster.shutdown()


if __name__ == "__main__":
    main()
