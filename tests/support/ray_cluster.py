"""A real local Ray cluster for tests (a head and worker nodes as processes of this machine), and a spec whose every
verdict is known in advance against the reference server."""

from __future__ import annotations

import collections
import dataclasses
import json
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster

from ripsaw.execution.ray_executor import RayExecutor
from ripsaw.execution.store import ATTEMPTS
from ripsaw.types import EvalSpec
from tests.support.starter import STARTER, WRONG, scripted, starter_spec

__all__ = ["STARTER", "WRONG", "scripted"]

REPO = Path(__file__).resolve().parents[2]


def ray_spec(
    tmp_path: Path, combos: dict[str, tuple[str, int]], *, limit: int, concurrency: int = 4, combo_extra: str = ""
) -> EvalSpec:
    """combos: name -> (base_url, max_concurrency)."""
    return starter_spec(tmp_path, combos, limit=limit, concurrency=concurrency, executor="ray", combo_extra=combo_extra)


def raw_ids(run_dir: Path) -> collections.Counter[str]:
    """Records per attempt id, counted in the file itself."""
    lines = (run_dir / ATTEMPTS).read_text().splitlines()
    return collections.Counter(json.loads(line)["attempt_id"] for line in lines if line.strip())


# A lost node is declared dead after ~1.5 s instead of Ray's default of tens of seconds (a node-loss test waits
# for it; nothing else changes).
_FAST_NODE_DEATH = {"health_check_period_ms": 500, "health_check_timeout_ms": 500, "health_check_failure_threshold": 3}


def start_cluster(head_cpus: int, worker_cpus: int) -> tuple[Cluster, Any]:
    """A head node (which the driver joins) and one worker node, each with its own raylet and worker processes."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": head_cpus, "include_dashboard": False, "_system_config": _FAST_NODE_DEATH},
    )
    worker = cluster.add_node(num_cpus=worker_cpus)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return cluster, worker


def stop_cluster(cluster: Cluster) -> None:
    ray.shutdown()
    cluster.shutdown()


def ray_executor(spec: EvalSpec, cluster: Cluster) -> RayExecutor:
    return RayExecutor(dataclasses.replace(spec.run, executor_address=cluster.address))
