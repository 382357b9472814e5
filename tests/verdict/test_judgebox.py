"""Task data is not trusted either: a task's own check code runs in the judge sandbox, where it finds no API keys,
cannot write to the host and cannot reach the network, while ordinary verdicts still come out right."""

from __future__ import annotations

import asyncio
import os
import resource
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError
from ripsaw.records import Outcome
from ripsaw.sandboxes.base import Limits, SandboxSession
from ripsaw.sandboxes.process import ProcessSandbox
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import CheckTests, Task
from ripsaw.verdict import judgebox
from ripsaw.verdict.judge import Judge
from ripsaw.verdict.judgebox import JudgeBox
from tests.conftest import in_ci
from tests.sandboxes.conftest import LoopbackServer

LIMITS = Limits(timeout_s=5.0)
CANARY_VAR = "RIPSAW_TEST_CANARY_KEY"


def _namespaces() -> bool:
    return JudgeBox().describe()["isolation"] == "namespaces"


only_namespaces = pytest.mark.skipif(
    not _namespaces() and not in_ci(), reason="namespaces unavailable; the judge sandbox falls back to process-group"
)

# What the hostile check code tries, reported in its assertion message so the verdict's feedback carries it back.
PROBE = """
import os, socket

def probe():
    seen = []
    seen.append("env=" + repr(os.environ.get({var!r})))
    for path in ({outside!r}, {system!r}):
        try:
            with open(path, "w") as f:
                f.write("escaped")
            seen.append("write=ok")
        except OSError as e:
            seen.append("write=" + type(e).__name__)
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        seen.append("socket=ok")
    except OSError as e:
        seen.append("socket=" + type(e).__name__)
    return " ".join(seen)
"""

CHECK = """
def check(candidate):
    result = candidate(1)
    assert result == 2, "PROBE " + probe()
"""


@pytest.fixture
async def box() -> AsyncIterator[JudgeBox]:
    b = JudgeBox()
    yield b
    b.close()


@pytest.fixture
async def session() -> AsyncIterator[SandboxSession]:
    s = await ProcessSandbox().session("judgebox-tests")
    yield s
    await s.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, Path, LoopbackServer]]:
    canary = "sk-canary-" + os.urandom(8).hex()
    monkeypatch.setenv(CANARY_VAR, canary)
    outside = tmp_path / "escaped.txt"
    # A path that exists inside the judge sandbox's root too (read-only there); unique, so the host check is exact.
    system = Path("/usr/lib") / f"ripsaw-escape-{os.urandom(4).hex()}"
    with LoopbackServer() as server:
        yield canary, outside, system, server
    if system.exists():
        system.unlink()


def _task(probe: str) -> Task:
    return Task(
        id="hostile/probe",
        prompt="def inc(x):\n",
        entry_point="inc",
        tests=CheckTests(code=textwrap.dedent(CHECK), setup=probe),
        canonical_solution="def inc(x):\n    return x + 1\n",
    )


@only_namespaces
async def test_check_code_gets_no_env_no_host_write_no_socket(
    box: JudgeBox, session: SandboxSession, world: tuple[str, Path, Path, LoopbackServer]
) -> None:
    canary, outside, system, server = world
    probe = PROBE.format(var=CANARY_VAR, outside=str(outside), system=str(system), port=server.port)
    judge = Judge(_task(probe), _task(probe).tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)

    # Control: the same probe in Ripsaw's own process gets all three, so a blocked result below means the box.
    ns: dict[str, object] = {}
    exec(probe, ns)
    host_seen = ns["probe"]()  # type: ignore[operator]
    assert f"env='{canary}'" in host_seen and "socket=ok" in host_seen and "write=ok" in host_seen
    outside.unlink()
    if system.exists():
        system.unlink()
    # The server's thread counts the control's connection after the probe's connect() returned: wait for it.
    for _ in range(500):
        if server.accepted:
            break
        await asyncio.sleep(0.01)
    accepted_by_control = server.accepted
    assert accepted_by_control >= 1

    passed = await judge.judge("def inc(x):\n    return x + 1\n", session)
    assert passed.outcome is Outcome.PASSED, passed.detail  # the recording and the replay still judge
    failed = await judge.judge("def inc(x):\n    return x\n", session)
    assert failed.outcome is Outcome.FAILED, failed.detail
    # The probe ran in the judge sandbox on the wrong result and reported what it found there: nothing.
    assert "PROBE env=None write=" in failed.feedback, failed.feedback
    assert "write=ok" not in failed.feedback and "socket=ok" not in failed.feedback, failed.feedback
    assert canary not in failed.feedback + failed.detail
    # And the host agrees: no file appeared, no connection arrived.
    await asyncio.sleep(0.2)
    assert not outside.exists() and not system.exists()
    assert server.accepted == accepted_by_control


async def test_process_group_fallback_still_hides_the_environment(
    session: SandboxSession, world: tuple[str, Path, Path, LoopbackServer]
) -> None:
    canary, outside, system, server = world
    probe = PROBE.format(var=CANARY_VAR, outside=str(outside), system=str(system), port=server.port)
    box = JudgeBox(isolation="process-group")
    try:
        task = _task(probe)
        judge = Judge(task, task.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)
        failed = await judge.judge("def inc(x):\n    return x\n", session)
    finally:
        box.close()
    assert failed.outcome is Outcome.FAILED, failed.detail
    assert "PROBE env=None" in failed.feedback, failed.feedback
    assert canary not in failed.feedback + failed.detail


async def test_the_reference_never_runs_on_the_host(box: JudgeBox, tmp_path: Path) -> None:
    marker = tmp_path / "reference-ran"
    task = Task(
        id="hostile/reference",
        prompt="def f(x):\n",
        entry_point="f",
        tests=CheckTests(code="def check(candidate):\n    assert candidate(1) == 1\n"),
        canonical_solution=f"open({str(marker)!r}, 'w').close()\ndef f(x):\n    return x\n",
    )
    judge = Judge(task, task.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)
    if box.describe()["isolation"] == "namespaces":
        # Building the judge runs nothing; the recording runs the reference where the host path is not.
        with pytest.raises(ConfigError, match="FileNotFoundError"):
            await judge.prepare()
    assert not marker.exists()


async def test_tests_that_hang_on_a_result_time_out_and_the_next_verdict_still_works(
    box: JudgeBox, session: SandboxSession
) -> None:
    task = Task(
        id="hostile/hang",
        prompt="def f(x):\n",
        entry_point="f",
        tests=CheckTests(code="def check(candidate):\n    r = candidate(3)\n    while r != 4:\n        pass\n"),
        canonical_solution="def f(x):\n    return x + 1\n",
    )
    judge = Judge(task, task.tests, timeout_floor_s=1.0, timeout_factor=1.0, limits=LIMITS, box=box)
    hung = await judge.judge("def f(x):\n    return x\n", session)
    assert hung.outcome is Outcome.TIMEOUT, hung.detail
    assert "the tests ran over" in hung.detail
    good = await judge.judge("def f(x):\n    return x + 1\n", session)
    assert good.outcome is Outcome.PASSED, good.detail  # a fresh worker replaced the one that was killed


async def test_replays_of_one_task_do_not_share_state(box: JudgeBox, session: SandboxSession) -> None:
    # Test code that counts its runs in a global of the reference: each replay must start from the recording's state.
    task = Task(
        id="stateful",
        prompt="def f(x):\n",
        entry_point="f",
        tests=CheckTests(code="def check(candidate):\n    RUNS.append(1)\n    assert candidate(len(RUNS)) == 2\n"),
        canonical_solution="RUNS = []\ndef f(x):\n    return x + 1\n",
    )
    judge = Judge(task, task.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)
    for _ in range(3):
        verdict = await judge.judge("def f(x):\n    return x + 1\n", session)
        assert verdict.outcome is Outcome.PASSED, verdict.detail


async def test_humaneval_through_the_judge_sandbox(box: JudgeBox, session: SandboxSession) -> None:
    tasks = load_humaneval()[:8]
    for task in tasks:
        judge = Judge(task, task.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)
        good = await judge.judge(task.prompt + (task.canonical_solution or ""), session)
        bad = await judge.judge(task.prompt + "    return None\n", session)
        assert good.outcome is Outcome.PASSED, (task.id, good.detail)
        assert bad.outcome is not Outcome.PASSED, task.id
    assert box.describe()["kind"] == "judge"


@only_namespaces
async def test_a_task_starts_one_process_for_its_recording_and_all_its_replays(
    box: JudgeBox, session: SandboxSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    submit = box._server.submit

    def counted(disk_mb: int, fds: list[int]) -> None:
        started.append(disk_mb)
        submit(disk_mb, fds)

    monkeypatch.setattr(box._server, "submit", counted)  # every referee process is one request to the server
    task = load_humaneval()[2]
    judge = Judge(task, task.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)
    await judge.prepare()  # the recording and its check replay
    assert len(started) == 1
    for code, outcome in [(task.canonical_solution, Outcome.PASSED), ("    return None\n", Outcome.FAILED)] * 2:
        verdict = await judge.judge(task.prompt + (code or ""), session)
        assert verdict.outcome is outcome, verdict.detail
    assert len(started) == 1


async def test_evicted_workers_are_started_again_by_their_next_replay(box: JudgeBox, session: SandboxSession) -> None:
    box._kept = 2
    tasks = load_humaneval()[:3]
    judges = [Judge(t, t.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box) for t in tasks]
    for judge in judges:
        await judge.prepare()
    assert len(box._workers) == 2  # the first task's worker went when the third one's started
    for judge in judges:  # the first task's replay is the first job of a new worker; the others' are not
        good = await judge.judge(judge.task.prompt + (judge.task.canonical_solution or ""), session)
        bad = await judge.judge(judge.task.prompt + "    return None\n", session)
        assert good.outcome is Outcome.PASSED, (judge.task.id, good.detail)
        assert bad.outcome is not Outcome.PASSED, judge.task.id
    assert len(box._workers) == 2


@pytest.mark.parametrize(
    ("meminfo", "kept"),
    [
        ("MemTotal:       24683664 kB\nMemAvailable:   20204180 kB\n", 308),  # 20204180 KiB / 1024 / 16 / 4
        ("MemAvailable:    1048576 kB\n", 64),  # 1 GiB: the floor
        ("MemAvailable:  536870912 kB\n", 1024),  # 512 GiB: the ceiling
        ("MemTotal: 1 kB\n", 64),  # no MemAvailable line (kernels before 3.14)
    ],
)
def test_kept_workers_follow_the_memory_available(tmp_path: Path, meminfo: str, kept: int) -> None:
    path = tmp_path / "meminfo"
    path.write_text(meminfo)
    assert judgebox.kept_workers(str(path)) == kept
    assert judgebox.kept_workers(str(tmp_path / "missing")) == 64


@only_namespaces
async def test_check_code_runs_without_privileges(box: JudgeBox, session: SandboxSession) -> None:
    # The check code reports what the kernel says of its process, through the failing assertion's message.
    check = (
        "def check(candidate):\n"
        "    status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines())\n"
        "    keys = ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'NoNewPrivs')\n"
        "    seen = ' '.join(k + '=' + status[k].strip() for k in keys)\n"
        "    assert candidate(1) == 2, 'SEEN ' + seen + ' uid=' + str(__import__('os').getuid())\n"
    )
    task = Task(
        id="hostile/privileges",
        prompt="def inc(x):\n",
        entry_point="inc",
        tests=CheckTests(code=check),
        canonical_solution="def inc(x):\n    return x + 1\n",
    )
    judge = Judge(task, task.tests, timeout_floor_s=5.0, timeout_factor=10.0, limits=LIMITS, box=box)
    failed = await judge.judge("def inc(x):\n    return x\n", session)
    assert failed.outcome is Outcome.FAILED, failed.detail
    zero = "0000000000000000"
    for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert f"{field}={zero}" in failed.feedback, failed.feedback
    assert "NoNewPrivs=1" in failed.feedback, failed.feedback
    if os.geteuid() == 0:  # Ripsaw as root: the check code is never the host's root
        assert "uid=0" not in failed.feedback, failed.feedback


@pytest.mark.parametrize(
    ("workers", "soft", "hard", "limit", "room"),
    [
        (308, 1024, 524288, 512 + 308 * 4, 308),  # the common desktop limits: the soft one is raised
        (308, 1024, 1024, 1024, 128),  # no room to raise it: as many as the descriptors left over allow
        (308, 600, 600, 600, 64),  # never fewer than a box kept before it was sized
        (64, 20000, 20000, 20000, 64),  # enough already: nothing changes
        (308, resource.RLIM_INFINITY, resource.RLIM_INFINITY, resource.RLIM_INFINITY, 308),
        (308, 1024, resource.RLIM_INFINITY, 512 + 308 * 4, 308),
    ],
)
def test_kept_workers_fit_the_limit_on_open_files(workers: int, soft: int, hard: int, limit: int, room: int) -> None:
    assert judgebox.descriptor_limit(workers, soft, hard) == (limit, room)


def test_a_box_raises_a_low_soft_limit_on_open_files_for_its_workers() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 512 + 300 * 4:
        pytest.skip(f"the hard limit on open files ({hard}) leaves nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        assert judgebox.room_for_descriptors(300) == 300
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 512 + 300 * 4
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
