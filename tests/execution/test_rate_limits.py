"""A combo's rpm held by the local executor, with more attempts ready than the limit lets through: the reference
server's own arrival log shows the spacing (not our clock), and the wait is recorded as queueing, outside TTFT.
The Ray executor's run of the same rule across nodes is in test_ray_executor.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ripsaw.execution.executor import LocalExecutor
from ripsaw.execution.runner import run_eval
from ripsaw.execution.store import RunStore
from tests.refserver import RefServer
from tests.support.starter import arrival_gaps_s, scripted, starter_spec

pytestmark = pytest.mark.slow

RPM = 300  # a request every 0.2 s
INTERVAL_S = 60 / RPM
# Client-side jitter can bring two arrivals closer than their slots (the earlier one sent late): a bound, far
# below the interval, and far above what eight requests ready together produce without the limit.
JITTER_S = 0.05


async def test_rpm_spaces_requests_at_the_server_and_the_wait_is_queueing(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = scripted(ttft_s=0.02, rate=2000)
    # Control: the same run without the limit sends its four concurrent requests at once.
    (tmp_path / "free").mkdir()
    free = starter_spec(tmp_path / "free", {"ref": (refserver.base_url, 4)}, limit=8)
    assert (await run_eval(free, tmp_path / "free-run", progress=False, executor=LocalExecutor())).status == "complete"
    assert min(arrival_gaps_s(refserver)) < INTERVAL_S - JITTER_S

    refserver.reset()
    (tmp_path / "paced").mkdir()
    spec = starter_spec(tmp_path / "paced", {"ref": (refserver.base_url, 4)}, limit=8, combo_extra=f"rpm = {RPM}\n")
    result = await run_eval(spec, tmp_path / "run", progress=False, executor=LocalExecutor())
    assert result.status == "complete" and result.recorded == 8
    gaps = arrival_gaps_s(refserver)
    assert len(gaps) == 7 and min(gaps) >= INTERVAL_S - JITTER_S, gaps
    assert sum(gaps) >= 7 * INTERVAL_S - JITTER_S

    calls = [call for a in RunStore(tmp_path / "run").attempts() for call in a.calls]
    queues = sorted(c.timing.queue_s or 0.0 for c in calls)
    ttfts = [c.timing.ttft_s for c in calls if c.timing.ttft_s is not None]
    # Four attempts were ready at once: the fourth waited three intervals, and that wait is in its queueing...
    assert queues[-1] >= 3 * INTERVAL_S - JITTER_S
    # ...not in its time to first token, which stays the server's 20 ms wherever the call waited.
    assert len(ttfts) == 8 and float(np.median(ttfts)) < INTERVAL_S
