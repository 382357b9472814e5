"""The Ray executor losing a worker node mid-attempt: a cluster of its own (a head and a worker node), since it
loses a node."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from tests.conftest import in_ci
from tests.refserver import RefServer

pytestmark = pytest.mark.slow

if not in_ci():  # in CI a missing Ray fails the run instead of skipping it
    pytest.importorskip("ray")

from tests.support.ray_cluster import WRONG, raw_ids, ray_executor, ray_spec, scripted, start_cluster, stop_cluster  # noqa: E402


async def test_a_worker_node_lost_mid_attempt_reruns_it_once(refserver: RefServer, tmp_path: Path) -> None:
    """Three attempts mid-call on four workers (one on the head, two on the worker node, and the spare one that
    holds no CPU) when the worker node is killed: its attempts run again on the head, and the file holds exactly
    one record per attempt, all scored."""
    cluster, worker = start_cluster(1, 2)
    try:
        refserver.script = scripted(ttft_s=1.5, rate=2000)
        spec = ray_spec(tmp_path, {"ref": (refserver.base_url, 3)}, limit=9, concurrency=3)
        executor = ray_executor(spec, cluster)
        run = asyncio.ensure_future(run_eval(spec, tmp_path / "run", progress=False, executor=executor))
        deadline = time.monotonic() + 120
        while refserver.in_flight < 3:  # every worker is inside a call
            assert time.monotonic() < deadline and not run.done(), "three calls never ran at once"
            await asyncio.sleep(0.05)
        await asyncio.to_thread(cluster.remove_node, worker, False)
        result = await asyncio.wait_for(run, 300)
    finally:
        stop_cluster(cluster)
    assert result.status == "complete" and result.infra_errors == 0
    # The worker node's attempts in flight (at least one: the head holds at most its worker and the spare one) were
    # sent again; a unit handed to a worker there as it died counts as re-queued too, before any request left
    assert executor.requeued >= 1
    assert len(refserver.requests) >= 9 + 1
    assert raw_ids(tmp_path / "run") == collections.Counter({f"ref::starter/{i}::0": 1 for i in range(9)})
    outcomes = {a.task_id: a.outcome for a in RunStore(tmp_path / "run").attempts()}
    assert outcomes == {f"starter/{i}": Outcome.FAILED if f"starter/{i}" in WRONG else Outcome.PASSED for i in range(9)}
