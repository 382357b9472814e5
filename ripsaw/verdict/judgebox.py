"""The judge sandbox: where a task's own test code runs (the referee's record and replay jobs), apart from everything.

Task data is not trusted either. A suite from elsewhere brings test code and a canonical solution; run in
Ripsaw's process they would have the user's privileges, files, network and API keys. So the referee
(ripsaw/verdict/referee.py) runs in a sandbox of its own, separate from the candidates' sandbox, built from the
process sandbox's parts (ripsaw/sandboxes/process.py):

- "namespaces" (wherever the process sandbox has them, whichever sandbox the run's candidates use): its own fork
  server, started by the same prelude on a read-only tmpfs root that holds the interpreter's standard library and
  the three files it needs (driver, fork server, referee) and nothing else of the host, in pid, net, ipc, uts and
  mount namespaces of its own (no network at all: no interface but a loopback nobody else shares), with an empty
  environment. Each referee process is one fork of it with a pid namespace (everything the test code starts dies
  with it) and a mount namespace (a fresh, size-limited /tmp, its only writable place), no capabilities, no new
  privileges, never the host's root, and rlimits (memory, file size, open files; each job's wall clock is bounded
  from the host). Candidate jobs pay for a network namespace and a user namespace each; referee processes need
  neither (there is no network in the judge sandbox to begin with, and the candidate never runs in it).
- "process-group" (no user namespaces on this host): a fresh `python -I -S` per worker, with an empty environment,
  in a temporary directory, in a session of its own, under the same rlimits. API keys and the rest of the
  environment are out of reach; the host user's files and network are not. `describe()` says so, and the run
  manifest records it.

Every job goes to a worker per task (per test set): a referee process that stays and runs each job afresh (the
reference and the test code executed again in fresh dicts, `random` seeded again). The task's recording starts
its worker, and the same worker answers the replays, one per verdict and on its critical path: a verdict costs
a round trip on a pipe instead of a process, and a task pays for one worker start (a fork server request, two
forks, a pid and a mount namespace, the first run of the test code in a fresh copy-on-write process: ~5 ms).
One task's worker never serves another task, so a hostile test set reaches only its own verdicts (which it
decides anyway); as many stay as the memory available and the limit on open files allow (`kept_workers`,
`room_for_descriptors`), the least recently used goes first; a job that overruns its time limit kills its worker,
and the next job starts another.

Why not Docker when the run's candidates use Docker: replays are on every verdict's critical path; a container
start (or a `docker exec`) costs ~30-100 ms against well under one here, and the isolation that matters for
task data (no network, no host files, no environment, no privileges) is the same.

Neither side reaches the other: the candidate's sandbox never receives the test code or the expected values,
and the judge sandbox receives only values the host copied out of the candidate's sandbox (strictly encoded
records, decoded by the referee into exact builtin values). The host believes the referee's answer only in
its strict shape; a missing or malformed answer is never a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import resource
import select
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ripsaw.errors import PrerequisiteError
from ripsaw.records import SandboxRun
from ripsaw.sandboxes import process, wire
from ripsaw.sandboxes.base import Limits
from ripsaw.verdict import referee

__all__ = ["JudgeBox", "JudgeRun", "default_box", "judge_limits"]

REFEREE_PATH = Path(referee.__file__).resolve()
# Room for a recording of many calls with big arguments; a replay's answer is far smaller.
_OUTPUT_CAP = 64 << 20
_STDERR_TAIL = 4096
# A worker (the referee process and the one that watches it) holds ~4 MiB of its own, measured on HumanEval:
# the pages of the fork server it copied on write. As many stay as 1/16 of the memory available when the box
# starts pays for, within these bounds: a whole suite's workers stay when the machine has room, so a task's
# verdicts never pay for a worker start more than once.
_WORKER_MIB = 4
_MEMORY_SHARE = 16
_MIN_WORKERS, _MAX_WORKERS = 64, 1024
# Each kept worker holds descriptors here (its stdin, stdout, stderr file and channel); the rest of a run (sandbox
# jobs, connections, the store) keeps this many for itself.
_WORKER_FDS = 4
_OTHER_FDS = 512


def judge_limits(timeout_s: float) -> Limits:
    """What one referee job may use: more memory than a candidate (the test code holds every call's values)."""
    return Limits(timeout_s=timeout_s, memory_mb=2048, pids=64, output_bytes=_OUTPUT_CAP, disk_mb=64)


@dataclass(slots=True)
class JudgeRun:
    """One referee job: how it ended (a SandboxRun of kind "judge") and, when it ended cleanly, its answer."""

    run: SandboxRun
    answer: dict[str, Any] | None


class JudgeBox:
    """`isolation`: "auto" (namespaces when this host allows them), "namespaces" (required) or "process-group".

    Thread-safe, and not bound to an event loop: replay workers are driven from worker threads, so every Judge of
    a process (whatever loop it runs on) shares one box and its workers."""

    kind = "judge"

    def __init__(self, isolation: str = "auto") -> None:
        if isolation not in ("auto", "namespaces", "process-group"):
            raise ValueError(f"unknown judge sandbox isolation {isolation!r}")
        self.isolation = isolation
        # The referee is the server's program; the driver (value encoding) and the fork server (system calls)
        # are the modules it loads from the new root.
        self._server = process._ForkServer(
            argv=("/referee.py", "serve", "/driver.py", "/forkserver.py"),
            files=(wire.DRIVER_PATH, process._FORKSERVER_PATH, REFEREE_PATH),
        )
        self._workers: OrderedDict[str, _Worker] = OrderedDict()
        self._kept = room_for_descriptors(kept_workers())
        self._lock = threading.Lock()
        weakref.finalize(self, _retire_all, self._workers, self._server)

    def mode(self) -> str:
        if self.isolation == "process-group":
            return "process-group"
        found, detail = process.isolation()
        if self.isolation == "namespaces" and found != "namespaces":
            raise PrerequisiteError(f"the namespace judge sandbox is unavailable here: {detail}")
        return found

    def describe(self) -> dict[str, Any]:
        mode = self.mode()
        detail = (
            "own fork server: pid, net, ipc, uts, mount namespaces; read-only tmpfs root with the standard library "
            "only; per referee process a pid and mount namespace, private /tmp, no capabilities; empty environment"
            if mode == "namespaces"
            else "fresh interpreter per referee process, empty environment, own session; host files and network "
            "reachable"
        )
        return {"kind": self.kind, "isolation": mode, "isolation_detail": detail}

    async def ask(self, job: dict[str, Any], limits: Limits) -> JudgeRun:
        """A referee job (see ripsaw/verdict/referee.py for its shape), answered by its task's worker: started on
        first use (the recording, as a rule), again after a timeout or once evicted."""
        return await asyncio.to_thread(self._ask, job, limits)

    def _ask(self, job: dict[str, Any], limits: Limits) -> JudgeRun:
        program = {k: job[k] for k in ("solution", "entry_point", "tests", "bindings", "seed")}
        key = hashlib.sha256(json.dumps(program, sort_keys=True).encode()).hexdigest()
        with self._lock:
            worker = self._workers.get(key)
            if worker is None or worker.dead:
                worker = self._workers[key] = _Worker(self, limits)
            self._workers.move_to_end(key)
            for old_key in list(self._workers)[: max(0, len(self._workers) - self._kept)]:
                if self._workers[old_key].retire_if_idle():
                    del self._workers[old_key]
        return worker.ask(job, limits.timeout_s)

    def _rlimits(self, mode: str, limits: Limits) -> dict[str, tuple[int, int]]:
        out = process._rlimits(limits, namespaces=mode == "namespaces" and not process._as_root())
        out.pop("RLIMIT_CPU")  # a worker's CPU time adds up over its jobs; each job's wall clock is bounded instead
        return out

    def _open(self) -> str:
        mode = self.mode()
        if mode == "namespaces":
            self._server.start()
        return mode

    def close(self) -> None:
        """Stop every replay worker and the judge sandbox's server."""
        _retire_all(self._workers, self._server)


def kept_workers(meminfo: str = "/proc/meminfo") -> int:
    """How many workers a box keeps: its share of the memory available now, at least _MIN_WORKERS."""
    try:
        with open(meminfo) as f:
            available_kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return _MIN_WORKERS
    share = available_kib // 1024 // _MEMORY_SHARE // _WORKER_MIB
    return max(_MIN_WORKERS, min(_MAX_WORKERS, share))


def descriptor_limit(workers: int, soft: int, hard: int) -> tuple[int, int]:
    """The soft limit on open files that `workers` kept workers need (raised toward, never past, the hard limit;
    never lowered), and how many workers that limit leaves room for."""
    need = _OTHER_FDS + workers * _WORKER_FDS
    if soft != resource.RLIM_INFINITY and soft < need:
        soft = need if hard == resource.RLIM_INFINITY else max(soft, min(hard, need))
    if soft == resource.RLIM_INFINITY:
        return soft, workers
    # Never fewer than _MIN_WORKERS (what a box kept, 256 descriptors, before it was sized at all).
    return soft, min(workers, max(_MIN_WORKERS, (soft - _OTHER_FDS) // _WORKER_FDS))


def room_for_descriptors(workers: int) -> int:
    """How many of `workers` this process's limit on open files has room for, after raising its soft limit toward
    the hard one if they need it (a soft limit of 1,024 is common, and would fail worker starts with EMFILE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted, room = descriptor_limit(workers, soft, hard)
    if wanted != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (OSError, ValueError):
            _, room = descriptor_limit(workers, soft, soft)
    return room


def _retire_all(workers: OrderedDict[str, _Worker], server: process._ForkServer) -> None:
    while workers:
        workers.popitem()[1].retire()
    server.close()


def _command() -> list[str]:
    return [process._PYTHON, "-I", "-S", str(REFEREE_PATH), "jobs", str(wire.DRIVER_PATH)]


class _Worker:
    """One task's replay worker: a referee process answering replay frames on its stdin, one at a time.

    Driven with blocking calls from worker threads (never from an event loop): its pipes and its end are plain
    descriptors, so it outlives any one loop. stderr goes to an unlinked in-memory file (bounded by the file size
    limit), read only to explain an end without an answer."""

    def __init__(self, box: JudgeBox, limits: Limits) -> None:
        self._box = box
        self._limits = limits
        self._lock = threading.Lock()
        self._started = False
        self._rlimits: dict[str, tuple[int, int]] = {}
        self._stdin = self._stdout = self._stderr = -1
        self._channel: socket.socket | None = None  # namespaces: the fork server's report of the end
        self._popen: subprocess.Popen[bytes] | None = None  # process-group
        self._workdir: str | None = None
        self._buffer = b""
        self.dead = False

    def _spawn(self) -> None:
        mode = self._box._open()
        self._rlimits = self._box._rlimits(mode, self._limits)
        (in_r, in_w), (out_r, out_w) = os.pipe(), os.pipe()
        err = os.memfd_create("ripsaw-judge-stderr")
        self._stdin, self._stdout, self._stderr = in_w, out_r, err
        os.set_blocking(in_w, False)
        try:
            if mode == "namespaces":
                ours, theirs = socket.socketpair()
                self._channel = ours
                with theirs:
                    self._box._server.submit(self._limits.disk_mb, [in_r, out_w, err, theirs.fileno()])
            else:
                self._workdir = tempfile.mkdtemp(prefix="ripsaw-judge-")
                self._popen = subprocess.Popen(
                    _command(), stdin=in_r, stdout=out_w, stderr=err, env=process._ENV, cwd=self._workdir,
                    start_new_session=True,
                )  # fmt: skip
        finally:
            os.close(in_r)
            os.close(out_w)

    def ask(self, job: dict[str, Any], timeout_s: float) -> JudgeRun:
        with self._lock:
            started = time.perf_counter()
            deadline = started + timeout_s
            if self.dead:
                return JudgeRun(SandboxRun("judge", "infra_error", None, 0.0, detail="replay worker retired"), None)
            try:
                if not self._started:
                    self._started = True
                    self._spawn()
            except (OSError, PrerequisiteError, RuntimeError) as e:
                self.retire()
                detail = f"cannot start the judge sandbox: {e}"
                return JudgeRun(SandboxRun("judge", "infra_error", None, 0.0, detail=detail), None)
            try:
                self._send(referee.frame({**job, "rlimits": self._rlimits}), deadline)
                answer = self._receive(deadline)
            except TimeoutError:
                self.retire()
                detail = f"wall clock limit of {timeout_s:g} s"
                return JudgeRun(
                    SandboxRun("judge", "timeout", None, time.perf_counter() - started, detail=detail), None
                )
            except (OSError, EOFError, ValueError, UnicodeDecodeError, RecursionError) as e:
                return self._ended(started, e)
            if not isinstance(answer, dict):
                return self._ended(started, ValueError("the answer is not an object"))
            return JudgeRun(SandboxRun("judge", "ok", None, time.perf_counter() - started), answer)

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([], [self._stdin], [], left)[1]:
                raise TimeoutError
            try:
                view = view[os.write(self._stdin, view) :]
            except BlockingIOError:
                continue

    def _receive(self, deadline: float) -> Any:
        while b"\n" not in self._buffer[:32]:
            self._fill(deadline)
        header, _, rest = self._buffer.partition(b"\n")
        size = int(header)
        if not 0 <= size <= _OUTPUT_CAP:
            raise ValueError(f"an answer of {size} bytes")
        self._buffer = rest
        while len(self._buffer) < size:
            self._fill(deadline)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return json.loads(data.decode("utf-8"))

    def _fill(self, deadline: float) -> None:
        left = deadline - time.perf_counter()
        if left <= 0 or not select.select([self._stdout], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(self._stdout, 1 << 20)
        if not chunk:
            raise EOFError("the worker closed its output")
        if len(self._buffer) > 32 and b"\n" not in self._buffer[:32]:
            raise ValueError("no answer header")
        self._buffer += chunk

    def _ended(self, started: float, problem: BaseException) -> JudgeRun:
        """The worker stopped answering: how it ended, classified as the process sandbox classifies a job."""
        returncode, setup = self._stop()
        duration = time.perf_counter() - started
        stderr = ""
        with contextlib.suppress(OSError):
            size = os.fstat(self._stderr).st_size
            stderr = os.pread(self._stderr, _STDERR_TAIL, max(0, size - _STDERR_TAIL)).decode("utf-8", "replace")
        self.retire()
        if setup:
            return JudgeRun(SandboxRun("judge", "infra_error", None, duration, detail=setup), None)
        status, detail = process._classify(returncode, False, "", self._limits)
        if not isinstance(problem, EOFError):  # it answered, but not in the referee's shape: killed here for it
            status, detail = "crashed", f"malformed answer ({type(problem).__name__}: {problem})"[:300]
        elif status == "ok":  # it exited cleanly without an answer
            status, detail = "crashed", f"ended without an answer ({type(problem).__name__}: {problem})"[:300]
        return JudgeRun(SandboxRun("judge", status, returncode, duration, stderr=stderr, detail=detail), None)

    def _stop(self) -> tuple[int, str]:
        """Kill the worker (with all it started) and wait for it: (its exit status as a shell reports it, or the
        sandbox's set-up problem)."""
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.shutdown(socket.SHUT_WR)
            self._channel.settimeout(process._STOP_TIMEOUT_S)
            try:
                report = json.loads(self._channel.makefile("rb").readline() or b"{}")
                if "setup_error" in report:
                    return -1, f"sandbox set-up failed: {report['setup_error']}"
                return int(report["exit"]), ""
            except (OSError, ValueError, KeyError, TypeError):
                return -1, "the judge sandbox's fork server ended without reporting the worker (did it die?)"
        if self._popen is not None:
            process._kill_group(self._popen.pid)
            return self._popen.wait(), ""
        return -1, "no worker"

    def retire_if_idle(self) -> bool:
        """Retire the worker unless a replay is under way (then it stays until a later eviction)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self.retire()
        finally:
            self._lock.release()
        return True

    def retire(self) -> None:
        """Stop the worker (it dies with everything it started) and release its descriptors."""
        self.dead = True
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.shutdown(socket.SHUT_WR)
            self._channel.close()
            self._channel = None
        if self._popen is not None:
            process._kill_group(self._popen.pid)
            self._popen.wait()
            self._popen = None
        for fd in (self._stdin, self._stdout, self._stderr):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._stdin = self._stdout = self._stderr = -1
        if self._workdir is not None:
            with contextlib.suppress(OSError):
                process._remove_tree(self._workdir)
            self._workdir = None


_default: JudgeBox | None = None
_default_lock = threading.Lock()


def default_box() -> JudgeBox:
    """The judge sandbox every Judge of this process shares unless given one (its server starts on first use and
    ends with the process: when Ripsaw goes, its end of the control socket closes and the server exits)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = JudgeBox()
        return _default
