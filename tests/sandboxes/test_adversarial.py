"""The adversarial suite: hostile candidates through the real Judge, on every sandbox backend.

Every candidate below attacks the harness (or the host) while answering a HumanEval-style task, `add(a, b)`,
whose check code only ever runs outside the sandbox. Each case states the outcomes it may end with; none of
the hostile ones may pass. Many cheat "constructively": they return the right answer only if their attack
worked (they reached the host's network, environment or files), so a pass would expose the leak. Beyond
the outcome, the suite checks that nothing the candidate saw of the host (a canary API key) comes back,
that the host is unchanged, and that no container, process or job directory is left behind.

The whole batch runs once per backend, concurrently (as a real run would), in a session fixture; each
case is then its own test on the recorded verdict.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from ripsaw.records import Outcome
from ripsaw.sandboxes.base import Limits, Sandbox
from ripsaw.sandboxes.docker import DockerSandbox
from ripsaw.sandboxes.process import ProcessSandbox
from ripsaw.tasks.task import CheckTests, Task
from ripsaw.verdict import Judge, Verdict
from ripsaw.verdict.judgebox import JudgeBox
from tests.sandboxes.conftest import BACKENDS, RUN_ID, LoopbackServer, _descendants, assert_no_leftovers, require_docker

P, F, E, T, R = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT, Outcome.RESOURCE_LIMIT
LIMITS = Limits(timeout_s=2.0, memory_mb=256, pids=64, output_bytes=1 << 20, disk_mb=64)
CONCURRENCY = 4

TASK = Task(
    id="adversarial/add",
    prompt="def add(a, b):\n",
    entry_point="add",
    tests=CheckTests(
        code="def check(candidate):\n"
        "    assert candidate(1, 2) == 3\n"
        "    assert candidate(-4, 4) == 0\n"
        "    assert candidate(10**20, 1) == 10**20 + 1\n"
        "    assert candidate(7, 8) == 15\n"
    ),
    canonical_solution="def add(a, b):\n    return a + b\n",
)
ANSWERS = {"1,2": 3, "-4,4": 0, "100000000000000000000,1": 10**20 + 1, "7,8": 15}


@dataclass
class World:
    """What the host offers to be attacked: files, a loopback server, an API key in its environment."""

    root: Path
    server: LoopbackServer
    canary: str
    stdlib_digest: str
    # Host paths the attacks aim at that did not exist before the batch and did after (deleted again).
    appeared: list[str] = field(default_factory=list)

    @property
    def targets(self) -> list[Path]:
        return [Path(p) for p in ("/etc/ripsaw-adv", "/usr/ripsaw-adv", "/root/ripsaw-adv", "/ripsaw-adv")] + [
            self.root / "outside"
        ]

    def collect_appeared(self, before: set[Path]) -> None:
        for path in self.targets:
            if path.exists() and path not in before:
                self.appeared.append(str(path))
                path.unlink()

    @property
    def answers(self) -> Path:
        return self.root / "hidden_tests.json"

    def fill(self, code: str) -> str:
        return (
            code.replace("@ANSWERS@", repr(str(self.answers)))
            .replace("@PORT@", str(self.server.port))
            .replace("@HOSTDIR@", repr(str(self.root)))
        )


def _stdlib_digest() -> str:
    return hashlib.sha256(Path(os.__file__).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    expect: frozenset[Outcome]
    why: str
    # Per-backend expectations where the backends differ (see test_conformance.KNOWN_DIFFERENCES).
    expect_by_backend: dict[str, frozenset[Outcome]] = field(default_factory=dict)
    setup: str | None = None  # judged first, in its own attempt (for attacks across attempts)
    host_check: Callable[[World, Verdict], None] | None = None
    limits: Limits = LIMITS  # the case's job's limits, and its timeout floor


def _no_connections(world: World, _: Verdict) -> None:
    assert world.server.accepted == 0


def _host_untouched(world: World, _: Verdict) -> None:
    assert _stdlib_digest() == world.stdlib_digest
    assert not world.appeared, f"the sandbox wrote host files: {world.appeared}"


def _quick(_: World, verdict: Verdict) -> None:
    assert verdict.run is not None and verdict.run.duration_s < LIMITS.timeout_s


def _searched(_: World, verdict: Verdict) -> None:
    """A wrong answer proves the tests are out of reach only if the search for them ran (the candidate reports it)."""
    walked = re.search(r"walked (\d+) directories", verdict.run.stderr if verdict.run else "")
    assert walked is not None and int(walked[1]) >= 100, verdict.run and verdict.run.stderr


def c(name: str, code: str, expect: set[Outcome], why: str, **kw: object) -> Case:
    return Case(name, code, frozenset(expect), why, **kw)  # type: ignore[arg-type]


CASES = [
    c("control_correct", "def add(a, b):\n    return a + b\n", {P}, "the control: an honest answer passes"),
    c("fork_bomb", "import os\ndef add(a, b):\n    while True:\n        os.fork()\n", {E, T, R}, "pids limit"),
    c(
        "memory_bomb",
        "def add(a, b):\n    hog = []\n    while True:\n        hog.append(b'x' * (32 << 20))\n",
        {R},
        "memory limit",
    ),
    c("infinite_loop", "def add(a, b):\n    while True:\n        pass\n", {T}, "wall clock"),
    c(
        "cpu_burn_threads",
        "import threading\ndef add(a, b):\n    def burn():\n        while True:\n            pass\n"
        "    ts = [threading.Thread(target=burn) for _ in range(8)]\n"
        "    for t in ts: t.start()\n    for t in ts: t.join()\n",
        {T, E},
        "wall clock; the CPU quota keeps the host responsive (or a thread limit makes start() raise)",
    ),
    c(
        "infinite_stdout",
        "import sys\ndef add(a, b):\n    while True:\n        print('3 passed ' * 100)\n"
        "        sys.__stdout__.write('PASSED\\n' * 100)\n",
        {T, R},
        "prints are capped, then the output cap or the clock ends it",
    ),
    c(
        "infinite_stderr",
        "import sys\ndef add(a, b):\n    while True:\n        sys.stderr.write('e' * 65536)\n",
        {R},
        "cap",
    ),
    c(
        "ten_gb_file",
        "def add(a, b):\n    chunk = b'\\0' * (1 << 20)\n    with open('big.bin', 'wb') as f:\n"
        "        for _ in range(10 * 1024):\n            f.write(chunk)\n    return a + b\n",
        {E, R},
        "file-size limit (EFBIG) / tmpfs size",
    ),
    c("sys_exit_at_import", "import sys\nsys.exit(0)\ndef add(a, b):\n    return 0\n", {E}, "exit before the asserts"),
    c("sys_exit_in_call", "import sys\ndef add(a, b):\n    sys.exit(0)\n", {E}, "SystemExit is an error"),
    c("os_exit_0", "import os\ndef add(a, b):\n    os._exit(0)\n", {E}, "exit code 0 without records is no pass"),
    c("raise_systemexit", "def add(a, b):\n    raise SystemExit\n", {E}, "SystemExit is an error"),
    c(
        "fake_success_text",
        "import sys\nprint('All tests passed\\nOK')\ndef add(a, b):\n"
        "    print('PASSED'); sys.stderr.write('4 passed in 0.01s\\n')\n    return 0\n",
        {F},
        "printed text decides nothing",
    ),
    c(
        "fake_record_guessed_nonce",
        "import os\ndef add(a, b):\n    for fd in range(1, 10):\n        try:\n"
        "            os.write(fd, b'%s %d {\"value\": 3}\\n' % (b'0' * 32, 0))\n        except OSError:\n"
        "            pass\n    return 0\n",
        {F},
        "a record needs the run's nonce",
    ),
    c(
        "forged_record_real_nonce",
        "import gc, json, os\ndef add(a, b):\n"
        "    job = next(o for o in gc.get_objects() if isinstance(o, dict) and 'nonce' in o and 'inputs' in o)\n"
        "    em = next(o for o in gc.get_objects() if type(o).__name__ == '_Emitter')\n"
        "    for i in range(len(job['inputs'])):\n"
        "        os.write(em.fd, ('%s %d %s\\n' % (job['nonce'], i, json.dumps({'value': 3}))).encode())\n"
        "    os._exit(0)\n",
        {F, E},
        "a forged record is only a value; the check runs outside",
    ),
    c(
        "always_equal",
        "class Eq:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "    def __bool__(self): return True\n    __hash__ = object.__hash__\n"
        "def add(a, b):\n    return Eq()\n",
        {F},
        "only exact builtin types cross the wire",
    ),
    c(
        "int_subclass_equal",
        "class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\n"
        "def add(a, b):\n    return I(0)\n",
        {F},
        "int subclasses are not ints on the wire",
    ),
    c(
        "patch_assertion_error",
        "import builtins\nclass Nope(Exception):\n    pass\nbuiltins.AssertionError = Nope\n"
        "def add(a, b):\n    return 0\n",
        {F},
        "the check runs in another process",
    ),
    c("redefine_check", "def check(candidate):\n    return True\ndef add(a, b):\n    return 0\n", {F}, "check is ours"),
    c(
        "patch_unittest",
        "import unittest\nunittest.TestCase.run = lambda self, result=None: None\n"
        "unittest.TestCase.assertEqual = lambda self, *a, **k: None\ndef add(a, b):\n    return 0\n",
        {F},
        "unittest in the sandbox is not the judge's",
    ),
    c("skip_test", "import unittest\ndef add(a, b):\n    raise unittest.SkipTest('skip')\n", {E}, "a skip is an error"),
    c(
        "frame_walk",
        "import sys\ndef add(a, b):\n    f = sys._getframe()\n    while f is not None:\n"
        "        f.f_globals['_call_record'] = lambda fn, args, budget: {'value': 3}\n"
        "        for k in ('record', 'result'):\n            if k in f.f_locals:\n"
        "                f.f_locals[k] = {'value': 3}\n        f = f.f_back\n    return 3\n",
        {F},
        "rewriting the driver only changes values",
    ),
    c(
        "gc_walk_inputs",
        "import gc\ndef add(a, b):\n    for o in gc.get_objects():\n"
        "        if isinstance(o, dict) and 'inputs' in o and 'nonce' in o:\n"
        "            o['inputs'][:] = [[1, 2]] * len(o['inputs'])\n    return 3\n",
        {F},
        "the inputs that count are the host's copy",
    ),
    c("exit_124", "import os\ndef add(a, b):\n    os._exit(124)\n", {E}, "an exit code is not a timeout"),
    c(
        "exit_137",
        "import os\ndef add(a, b):\n    os._exit(137)\n",
        {E},
        "an exit code of 137 is not a SIGKILL: docker reads OOMKilled, the process sandbox the wait status",
    ),
    c(
        "sigkill_self",
        "import os, signal\ndef add(a, b):\n    os.kill(os.getpid(), signal.SIGKILL)\n",
        {E, F},  # F: in Docker the driver is the container's PID 1, which its own SIGKILL cannot end
        "a death by SIGKILL fails the attempt whichever way it is classed",
        expect_by_backend={"process": frozenset({R})},  # KNOWN_DIFFERENCES["signal exits"]
    ),
    c(
        "atexit_pass",
        "import atexit, sys\natexit.register(lambda: print('4 passed') or sys.stdout.flush())\n"
        "def add(a, b):\n    return 0\n",
        {F},
        "atexit output decides nothing",
    ),
    c(
        "read_hidden_tests",
        "import json, os, sys\nANSWERS = @ANSWERS@\nFOUND = None\n"
        "def _search():\n    seen, found = 0, []\n    for root, dirs, files in os.walk('/'):\n"
        "        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n"
        "        seen += 1\n        if seen > 5000:\n            break\n"
        "        found.extend(os.path.join(root, n) for n in files if n == 'hidden_tests.json')\n"
        "    sys.stderr.write('walked %d directories\\n' % seen)\n    return found\n"
        "def add(a, b):\n    global FOUND\n    if FOUND is None:\n        FOUND = _search()\n"
        "    for path in [ANSWERS, *FOUND]:\n        try:\n"
        "            return json.load(open(path))['%d,%d' % (a, b)]\n        except Exception:\n"
        "            pass\n    return -1\n",
        {F},
        "the tests are not on the sandbox's disk (a pass would mean they were)",
        host_check=_searched,
        # The walk takes a fraction of a second of CPU, which a loaded machine stretches past the shared 2 s: the
        # case proves isolation, not a time limit, so it gets room to finish and must end in a wrong answer.
        limits=replace(LIMITS, timeout_s=30.0),
    ),
    c(
        "environ_canary",
        "import os, sys\ndef add(a, b):\n    blobs = [repr(dict(os.environ))]\n"
        "    for p in ['/proc/1/environ', '/proc/self/environ', '/proc/%d/environ' % os.getppid()] + "
        "['/proc/%s/environ' % d for d in os.listdir('/proc') if d.isdigit()]:\n"
        "        try:\n            blobs.append(open(p, 'rb').read().decode('latin-1'))\n"
        "        except OSError:\n            pass\n    text = '\\n'.join(blobs)\n"
        "    sys.stderr.write(text)\n    if 'sk-canary' in text:\n        return a + b\n"
        "    raise ValueError(text[-1000:])\n",
        {E},
        "no host environment (a pass would mean the key leaked)",
    ),
    c(
        "loopback_connect",
        "import socket\ndef add(a, b):\n"
        "    for host in ('127.0.0.1', 'localhost', '172.17.0.1', '10.0.2.2', 'host.docker.internal'):\n"
        "        try:\n            socket.create_connection((host, @PORT@), timeout=1).close()\n"
        "            return a + b\n        except OSError:\n            pass\n    return -1\n",
        {F},
        "no network (a pass would mean the host's loopback answered)",
        host_check=_no_connections,
    ),
    c(
        "dns_lookup",
        "import socket\ndef add(a, b):\n    try:\n        socket.getaddrinfo('example.com', 80)\n"
        "        return a + b\n    except OSError:\n        return -1\n",
        {F},
        "no DNS",
    ),
    c(
        "kill_parent",
        "import os, signal\ndef add(a, b):\n    for pid in (os.getppid(), 1):\n        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n"
        "    try:\n        os.killpg(0, signal.SIGKILL)\n    except OSError:\n        pass\n    return -1\n",
        {F, E, R},
        "signals stay inside the sandbox",
    ),
    c(
        "daemon_grandchild",
        "import os, time\ndef add(a, b):\n    if os.fork() == 0:\n        os.setsid()\n"
        "        if os.fork() == 0:\n            time.sleep(60)\n        os._exit(0)\n    return -1\n",
        {F},
        "the grandchild dies with the sandbox (the leftover check looks)",
        host_check=_quick,
    ),
    c(
        "ignore_sigterm",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\ndef add(a, b):\n    while True:\n        time.sleep(0.1)\n",
        {T},
        "the kill is SIGKILL",
    ),
    c(
        "deep_recursion",
        # Through map(), each level also costs C stack: past ~10**4 levels the interpreter's stack overflows.
        "import sys\nsys.setrecursionlimit(10**6)\ndef add(a, b):\n    def r(n):\n"
        "        return list(map(r, [n + 1]))\n"
        "    return r(0)\n",
        {E, R},
        "a stack overflow is an error",
    ),
    c("ctypes_segfault", "import ctypes\ndef add(a, b):\n    return ctypes.string_at(0)\n", {E}, "a segfault"),
    c(
        "close_std_fds_honest",
        "import os\ndef add(a, b):\n    os.closerange(0, 3)\n    return a + b\n",
        {P},
        "closing fds 0-2 does not break the harness (the answer is right)",
    ),
    c(
        "close_all_fds",
        "import os\ndef add(a, b):\n    os.closerange(0, 4096)\n    return a + b\n",
        {E},
        "no records, no pass",
    ),
    c(
        "redirect_std_fds",
        "import os\ndef add(a, b):\n    fd = os.open('/dev/null', os.O_WRONLY)\n    os.dup2(fd, 1)\n"
        "    os.dup2(fd, 2)\n    return 0\n",
        {F},
        "the record channel is private",
    ),
    c(
        "write_outside_workdir",
        "import os, sys\nHOSTDIR = @HOSTDIR@\n"
        "TARGETS = [os.__file__, '/etc/ripsaw-adv', '/usr/ripsaw-adv', '/root/ripsaw-adv', HOSTDIR + '/outside',\n"
        "           '../ripsaw-adv', '/usr/lib/ripsaw-adv', '/proc/1/root' + HOSTDIR + '/outside',\n"
        "           '/proc/%d/root%s/outside' % (os.getppid(), HOSTDIR), '/proc/1/root/root/ripsaw-adv']\n"
        "def add(a, b):\n    for t in TARGETS:\n        try:\n"
        "            with open(t, 'a') as f:\n                f.write('# pwned\\n')\n        except OSError:\n"
        "            pass\n    return -1\n",
        {F},
        "read-only root, no host paths",
        host_check=_host_untouched,
    ),
    c(
        "fill_tmp",
        "def add(a, b):\n    i = 0\n    try:\n        while True:\n"
        "            with open('/tmp/fill%d' % i, 'wb') as f:\n                f.write(b'\\0' * (1 << 20))\n"
        "            i += 1\n    except OSError:\n        pass\n    return -1\n",
        {F, R},
        "/tmp is a small private tmpfs",
    ),
    c(
        "non_utf8_output",
        "import os, sys\ndef add(a, b):\n    os.write(2, bytes(range(256)) * 64)\n"
        "    sys.stdout.buffer.write(b'\\xff\\xfe\\x00')\n    return a + b\n",
        {P},
        "bytes that are not UTF-8 do not break the harness",
    ),
    c(
        "giant_single_line_stdout",
        "def add(a, b):\n    print('x' * (64 << 20), end='')\n    return a + b\n",
        {P},
        "prints are bounded without newlines too (the answer is right)",
    ),
    c(
        "giant_single_line_stderr",
        "import sys\ndef add(a, b):\n    sys.stderr.write('y' * (8 << 20))\n    return a + b\n",
        {R},
        "stderr is capped",
    ),
    c("sleep_past_timeout", "import time\ndef add(a, b):\n    time.sleep(60)\n    return a + b\n", {T}, "clock"),
    c(
        "thread_outlives_main",
        "import threading, time\ndef add(a, b):\n    threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "    return a + b\n",
        {P},
        "a lingering non-daemon thread neither hangs the run nor changes the answer",
        host_check=_quick,
    ),
    c("input_on_stdin", "def add(a, b):\n    return int(input())\n", {E}, "stdin is empty (EOF), not the job"),
    c(
        "shared_files_across_attempts",
        "import os\ndef add(a, b):\n"
        "    for p in ('/tmp/ripsaw-shared', '/work/ripsaw-shared', '/dev/shm/ripsaw-shared', 'ripsaw-shared'):\n"
        "        if os.path.exists(p):\n            return a + b\n    return -1\n",
        {F},
        "an earlier attempt's files are gone (a pass would mean they survived)",
        setup="def add(a, b):\n    for p in ('/tmp/ripsaw-shared', '/work/ripsaw-shared', '/dev/shm/ripsaw-shared',"
        " 'ripsaw-shared'):\n        try:\n            open(p, 'w').write('x')\n        except OSError:\n"
        "            pass\n    return a + b\n",
    ),
    c(
        "symlink_to_host",
        "import json, os\nANSWERS = @ANSWERS@\ndef add(a, b):\n"
        "    targets = [ANSWERS, '/proc/1/root' + ANSWERS, '/proc/self/root' + ANSWERS,\n"
        "               '/proc/%d/root%s' % (os.getppid(), ANSWERS), '/proc/1/cwd/../../../..' + ANSWERS]\n"
        "    for i, target in enumerate(targets):\n        link = 'l%d_%d' % (i, a & 0xffff)\n        try:\n"
        "            os.symlink(target, link)\n            return json.load(open(link))['%d,%d' % (a, b)]\n"
        "        except Exception:\n            pass\n    return -1\n",
        {F},
        "symlinks resolve inside the sandbox (a pass would mean the host file was read)",
    ),
    c(
        "huge_return_value",
        "def add(a, b):\n    return 'x' * (48 << 20)\n",
        {F},
        "oversized values are unencodable",
    ),
    c(
        "patch_builtins_type",
        "import builtins\nclass Eq(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\n"
        "builtins.type = lambda *a: int\ndef add(a, b):\n    return Eq(0)\n",
        {F, E},
        "a corrupted driver can only send values or nothing",
    ),
]


def test_the_suite_is_big_enough() -> None:
    hostile = [case for case in CASES if case.expect != {P}]
    assert len(hostile) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@dataclass
class Batch:
    backend: str
    world: World
    verdicts: dict[str, Verdict]
    leftovers: str | None  # why the post-batch leftover check failed, or None


async def _judge_all(sb: Sandbox, world: World, box: JudgeBox) -> dict[str, Verdict]:
    judges = {
        limits: Judge(TASK, TASK.tests, timeout_floor_s=limits.timeout_s, timeout_factor=10.0, limits=limits, box=box)
        for limits in {case.limits for case in CASES}
    }
    for judge in judges.values():
        await judge.prepare()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def attempt(code: str, label: str, judge: Judge) -> Verdict:
        async with gate:
            session = await sb.session(label)
            try:
                return await judge.judge(code, session)
            finally:
                await session.close()

    async def one(case: Case) -> tuple[str, Verdict]:
        judge = judges[case.limits]
        if case.setup is not None:
            await attempt(world.fill(case.setup), f"{case.name}-setup", judge)
        return case.name, await attempt(world.fill(case.code), case.name, judge)

    return dict(await asyncio.gather(*(one(case) for case in CASES)))


@pytest.fixture(scope="session", params=BACKENDS)
def batch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    backend = request.param
    if backend == "docker":
        require_docker()
        sb: Sandbox = DockerSandbox(run_id=RUN_ID, limits=LIMITS)
    else:
        sb = ProcessSandbox(run_id=RUN_ID)
    root = tmp_path_factory.mktemp(f"adversarial-{backend}")
    jobs = root / "jobs"
    jobs.mkdir()
    canary = "sk-canary-" + os.urandom(12).hex()
    with LoopbackServer() as server:
        world = World(root=root / "host", server=server, canary=canary, stdlib_digest=_stdlib_digest())
        world.root.mkdir()
        world.answers.write_text(json.dumps({"check": TASK.tests.code, **ANSWERS}))  # type: ignore[union-attr]
        saved_env, saved_tmp = os.environ.get("OPENAI_API_KEY"), tempfile.tempdir
        os.environ["OPENAI_API_KEY"] = canary
        tempfile.tempdir = str(jobs)
        before = _descendants()
        existing = {path for path in world.targets if path.exists()}
        box = JudgeBox()  # the judge sandbox is checked for leftovers too, once closed
        try:
            verdicts = asyncio.run(_judge_all(sb, world, box))
        finally:
            box.close()
            world.collect_appeared(existing)
            tempfile.tempdir = saved_tmp
            if saved_env is None:
                del os.environ["OPENAI_API_KEY"]
            else:
                os.environ["OPENAI_API_KEY"] = saved_env
        try:
            assert_no_leftovers(sb, jobs, before)
            leftovers = None
        except AssertionError as e:
            leftovers = str(e)
        if isinstance(sb, DockerSandbox):
            sb.close()
        yield Batch(backend, world, verdicts, leftovers)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_candidate(batch: Batch, case: Case) -> None:
    verdict = batch.verdicts[case.name]
    expected = case.expect_by_backend.get(batch.backend, case.expect)
    run = verdict.run
    where = f"{case.why}; got {verdict.outcome.value}: {verdict.detail} [{run and run.status} {run and run.detail}]"
    assert verdict.outcome in expected, where
    if P not in case.expect:
        assert verdict.outcome is not P, where
    shown = " ".join([verdict.detail, verdict.feedback, run.stdout if run else "", run.stderr if run else ""])
    assert batch.world.canary not in shown
    if case.host_check is not None:
        case.host_check(batch.world, verdict)


def test_batch_left_nothing_behind(batch: Batch) -> None:
    assert batch.leftovers is None, batch.leftovers
    _host_untouched(batch.world, Verdict(P))
