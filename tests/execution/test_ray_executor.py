"""The Ray executor on a real local Ray cluster: a head and a worker node, each its own raylet and worker processes
on this machine (ray.cluster_utils.Cluster), against the reference server, the process sandbox on every node.

What must hold: the same attempts and verdicts as the local executor; one record per attempt id in the raw file
(`store.attempts()` would hide a duplicate); a resumed run runs only what is missing; each combo's max_concurrency
holds across nodes with more attempts ready than the limit; a node lost mid-attempt costs nothing but a re-run.
"""

from __future__ import annotations

import collections
import itertools
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import scipy.stats

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.execution.executor import LocalExecutor
from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import ATTEMPTS, RunStore
from ripsaw.records import Outcome
from tests.conftest import in_ci
from tests.refserver import RefServer
from tests.support.starter import arrival_gaps_s

pytestmark = pytest.mark.slow

if not in_ci():  # in CI a missing Ray fails the run instead of skipping it
    pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from tests.support.ray_cluster import REPO, raw_ids, ray_executor, ray_spec, scripted, start_cluster, stop_cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head and one worker node, two CPUs each: four attempts at a time, spread over both nodes."""
    cluster, _ = start_cluster(2, 2)
    yield cluster
    stop_cluster(cluster)


async def test_same_attempts_and_verdicts_as_local_then_resume(
    cluster: Cluster, refserver: RefServer, tmp_path: Path
) -> None:
    refserver.script = scripted(rate=2000)
    spec = ray_spec(tmp_path, {"ref": (refserver.base_url, 4)}, limit=10)
    local = await run_eval(spec, tmp_path / "local", progress=False, executor=LocalExecutor())
    executor = ray_executor(spec, cluster)
    remote = await run_eval(spec, tmp_path / "ray", progress=False, executor=executor)
    assert (local.status, remote.status) == ("complete", "complete")
    assert remote.recorded == 10 and executor.requeued == 0
    verdicts = {a.attempt_id: a.outcome for a in RunStore(tmp_path / "local").attempts()}
    assert {a.attempt_id: a.outcome for a in RunStore(tmp_path / "ray").attempts()} == verdicts
    assert sum(o is Outcome.PASSED for o in verdicts.values()) == 8
    assert set(raw_ids(tmp_path / "ray").values()) == {1}
    attempts = RunStore(tmp_path / "ray").attempts()
    assert {a.placement.executor for a in attempts if a.placement} == {"ray"}
    assert len({a.placement.node_id for a in attempts if a.placement}) == 2  # both nodes ran attempts
    manifest = RunStore(tmp_path / "ray").manifest()
    assert manifest["executor"]["name"] == "ray" and len(manifest["executor"]["nodes"]) == 2
    assert manifest["executor"]["sandbox_images_differ"] is False and manifest["executor"]["images_differ"] == []
    assert all(n["sandbox"]["kind"] == "process" for n in manifest["executor"]["nodes"].values())

    # Resume: the last three records never made it (the run was stopped); only those run again.
    path = tmp_path / "ray" / ATTEMPTS
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-3]))
    sent = len(refserver.requests)
    again = await run_eval(spec, tmp_path / "ray", progress=False, executor=ray_executor(spec, cluster))
    assert (again.status, again.skipped, again.recorded) == ("complete", 7, 3)
    assert len(refserver.requests) - sent == 3
    assert raw_ids(tmp_path / "ray") == collections.Counter({key: 1 for key in verdicts})
    assert {a.attempt_id: a.outcome for a in RunStore(tmp_path / "ray").attempts()} == verdicts


async def test_max_concurrency_holds_across_nodes(cluster: Cluster, refserver: RefServer, tmp_path: Path) -> None:
    """Two combos on two endpoints, limits 1 and 2, three workers over two nodes and 16 attempts ready: each
    endpoint's own count of concurrent requests never passes its combo's limit, and reaches it."""
    with RefServer(spin_s=0) as second:
        for server in (refserver, second):
            server.script = scripted(ttft_s=0.4, rate=2000)
        spec = ray_spec(tmp_path, {"one": (refserver.base_url, 1), "two": (second.base_url, 2)}, limit=8)
        result = await run_eval(spec, tmp_path / "run", progress=False, executor=ray_executor(spec, cluster))
        assert result.status == "complete" and result.recorded == 16
        assert (refserver.max_in_flight, second.max_in_flight) == (1, 2)
        assert len(refserver.requests) == len(second.requests) == 8
    attempts = RunStore(tmp_path / "run").attempts()
    for combo in ("one", "two"):  # a combo held to one worker at a time still moves between the nodes
        nodes = collections.Counter(a.placement.node_id for a in attempts if a.combo == combo and a.placement)
        assert len(nodes) == 2 and min(nodes.values()) >= 2, (combo, nodes)


async def test_combos_go_out_interleaved_and_each_spreads_over_both_nodes(
    cluster: Cluster, refserver: RefServer, tmp_path: Path
) -> None:
    """Two combos on their own endpoints, 16 attempts, four workers on two nodes: the endpoints' own logs, merged
    on their shared clock, show the combos alternating in submission order (never one combo's block after the
    other's), each combo ran about half its attempts on each node, and the report's node breakdown says so."""
    with RefServer(spin_s=0) as second:
        for server in (refserver, second):
            server.script = scripted(ttft_s=0.2, rate=2000)
        spec = ray_spec(tmp_path, {"a": (refserver.base_url, 2), "b": (second.base_url, 2)}, limit=8)
        result = await run_eval(spec, tmp_path / "run", progress=False, executor=ray_executor(spec, cluster))
        assert result.status == "complete" and result.recorded == 16
        arrivals = sorted([(r.t_ns, "a") for r in refserver.requests] + [(r.t_ns, "b") for r in second.requests])
    order = "".join(name for _, name in arrivals)
    assert len(order) == 16 and {"a", "b"} <= set(order[:4]), order
    assert max(len(run) for run in re.findall(r"a+|b+", order)) <= 4, order  # one combo after the other: 8
    attempts = RunStore(tmp_path / "run").attempts()
    for combo in ("a", "b"):
        nodes = collections.Counter(a.placement.node_id for a in attempts if a.combo == combo and a.placement)
        assert len(nodes) == 2 and min(nodes.values()) >= 2, (combo, nodes)

    summary = summarize(load_runs([tmp_path / "run"]))
    assert summary.nodes is not None and len(summary.nodes.nodes) == 2
    assert {(r.combo, r.node_id) for r in summary.nodes.rows} == {
        (c, n.node_id) for c in ("a", "b") for n in summary.nodes.nodes
    }
    assert summary.nodes.warnings == []  # evenly spread: whatever the nodes' speeds, no combo is biased
    assert summary.to_dict()["nodes"]["by_combo"][0]["attempts"] >= 2


async def test_rpm_holds_across_nodes(cluster: Cluster, refserver: RefServer, tmp_path: Path) -> None:
    """rpm = 150 on a combo, four workers on two nodes, eight attempts ready: the server sees its requests about
    0.4 s apart (its own arrival log), as from one paced client, and each wait is the call's queueing.

    Each request leaves its slot late by what this loaded 2-core machine adds (a Ray worker's wake-up; the first,
    whose slot was due at once, by the answer's trip from the pacer actor too): CI has seen gaps of 0.26-0.48 s
    and a first request 0.27 s late, so the sum of the gaps can fall short of 7 x 0.4 by the first one's delay.
    The pace is judged as the slope of arrival against order (Theil-Sen: the median of the pairwise slopes, which
    one late request does not move), at least 0.4 s less 15% (a limit of 200 rpm would give 0.3); and no two requests
    together, as eight attempts let through unpaced arrive milliseconds apart."""
    refserver.script = scripted(ttft_s=0.02, rate=2000)
    spec = ray_spec(tmp_path, {"ref": (refserver.base_url, 4)}, limit=8, combo_extra="rpm = 150\n")
    result = await run_eval(spec, tmp_path / "run", progress=False, executor=ray_executor(spec, cluster))
    assert result.status == "complete" and result.recorded == 8
    gaps = arrival_gaps_s(refserver)
    assert len(gaps) == 7 and min(gaps) >= 0.1, gaps
    pace = scipy.stats.theilslopes([0.0, *itertools.accumulate(gaps)]).slope
    assert pace >= 0.4 * 0.85, (pace, gaps)
    attempts = RunStore(tmp_path / "run").attempts()
    assert len({a.placement.node_id for a in attempts if a.placement}) == 2
    assert max(c.timing.queue_s or 0.0 for a in attempts for c in a.calls) >= 0.4  # some call waited its turn


def _workers() -> list[str]:
    """This machine's Ray worker processes that are Ripsaw's attempt actors (Ray titles them `ray::_Worker...`)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue  # not a process, or it just ended
        if title.startswith("ray::_Worker"):
            found.append(f"{proc.name}: {title}")
    return found


def test_cli_run_on_the_cluster_stops_cleanly_on_ctrl_c_and_resumes(
    cluster: Cluster, refserver: RefServer, tmp_path: Path
) -> None:
    """`ripsaw run SPEC --ray-address ADDR` in a subprocess: Ctrl-C mid-run exits 130 with the manifest marked
    interrupted and no attempt actor left; the same command then runs only what was not recorded."""
    refserver.script = scripted(ttft_s=1.0, rate=2000)
    spec = ray_spec(tmp_path, {"ref": (refserver.base_url, 4)}, limit=12)
    command = [sys.executable, "-m", "ripsaw", "run", str(spec.path), "--ray-address", cluster.address]
    command += ["--no-progress", "--run-id", "cli", "--output-dir", str(tmp_path)]
    # As from a terminal: a shell that starts its pipeline in the background (as CI runners do) leaves SIGINT
    # ignored for its children, and Python keeps an ignored SIGINT ignored, so the Ctrl-C below would never arrive.
    run = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "cli" / ATTEMPTS).exists() or refserver.in_flight < 4:  # some recorded, four in flight
        assert time.monotonic() < deadline and run.poll() is None, run.stderr.read() if run.stderr else ""
        time.sleep(0.05)
    assert _workers()  # the actors are there to be stopped (their titles are what the check below looks for)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr
    assert "run the same command to resume" in stderr
    assert RunStore(tmp_path / "cli").manifest()["status"] == "interrupted"
    recorded = sum(raw_ids(tmp_path / "cli").values())
    assert 0 < recorded < 12
    deadline = time.monotonic() + 30
    while _workers():  # the actors were closed and killed
        assert time.monotonic() < deadline, _workers()
        time.sleep(0.2)

    sent = len(refserver.requests)
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resumed: {recorded} attempts were already recorded" in again.stderr
    assert len(refserver.requests) - sent == 12 - recorded
    assert raw_ids(tmp_path / "cli") == collections.Counter({f"ref::starter/{i}::0": 1 for i in range(12)})
    assert RunStore(tmp_path / "cli").manifest()["status"] == "complete"
