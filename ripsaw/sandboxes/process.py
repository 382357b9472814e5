"""The process sandbox: every job runs the in-sandbox driver in a fresh, limited child process.

Isolation, strongest available (probed once per host process, reported by `describe()`):

- "namespaces": `unshare` gives the child new user (mapped root), pid, net, ipc, uts and mount
  namespaces. Inside, a small shell prelude builds a fresh root on a size-limited tmpfs with read-only
  bind mounts of /usr (and the interpreter's prefix), the interpreter's site-packages hidden, a few
  device nodes and its own /proc, then chroots into it. So the candidate sees no network, no host
  processes, none of the host's files beyond system libraries (task data, caches, the repository and
  Ripsaw itself are invisible) and cannot write to any of them, even when the host runs as root.
  `--kill-child` and the pid namespace take every process the candidate started down with the driver.
- "process-group": where user namespaces are unavailable, a new session whose whole process group is
  killed on timeout. File system and network are then the host user's; prefer the Docker sandbox.

Both apply rlimits (CPU, address space, file size, open files, core; processes in namespaces), pass an
explicit environment with nothing but PATH and LANG, drain stdout/stderr concurrently under byte caps,
and remove the job's working directory afterwards. The interpreter runs with `-I -S` (no site-packages,
no environment influence): candidates get the standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import math
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ripsaw.errors import ConfigError, PrerequisiteError
from ripsaw.records import SandboxRun
from ripsaw.sandboxes import wire
from ripsaw.sandboxes.base import Limits, SandboxJob, SandboxResult

__all__ = ["ProcessSandbox"]

_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_PYTHON = os.path.realpath(sys.executable)
_UNSHARE_FLAGS = ["--user", "--map-root-user", "--net", "--pid", "--ipc", "--uts", "--mount", "--fork", "--kill-child"]
_STDERR_CAP = 256 * 1024
_KEEP_TEXT = 8 * 1024  # of each stream, kept in the SandboxRun for reports and repair feedback
_PROBE_TIMEOUT_S = 20.0
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # where unshare, mount and chroot live
_DRAIN_GRACE_S = 1.0
_POLL_S = 0.005  # after a kill, how long stragglers holding our pipes may delay the result


@dataclass(frozen=True, slots=True)
class _Isolation:
    mode: str  # "namespaces" | "process-group"
    detail: str


def _prelude() -> str:
    """Shell run inside the new namespaces: build a read-only root on tmpfs, then exec the driver in it.

    Arguments: $1 the (host-empty) mount point for the new root, $2 its size in MiB, then the command.
    """
    binds = ["/usr"]
    for prefix in sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}):
        if not prefix.startswith("/usr/"):
            binds.append(prefix)
    hidden = sorted(
        path
        for root in binds
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "local/lib/python3*/*-packages")
        for path in glob.glob(os.path.join(root, pattern))
        if os.path.isdir(path)
    )
    q = shlex.quote
    lines = [
        "set -e",
        'R="$1"; SIZE="$2"; shift 2',
        f"PATH={_SYSTEM_PATH}",
        'mount -t tmpfs -o "size=${SIZE}m,mode=755" ripsaw "$R"',
        'cd "$R"',
        "mkdir -p dev proc work tmp && chmod 1777 tmp",
    ]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            lines.append(f"ln -s {q(os.readlink(top))} {name}")
        elif top.is_dir():
            binds.append(str(top))
    for path in binds:
        lines.append(f"mkdir -p .{q(path)} && mount --bind -o ro {q(path)} .{q(path)}")
    lines += [f"mount -t tmpfs -o size=4k,ro hidden .{q(path)}" for path in hidden]
    lines += [f"touch dev/{d} && mount --bind /dev/{d} dev/{d}" for d in ("null", "zero", "random", "urandom")]
    lines += [
        "mount -t proc proc proc",
        f"cp {q(str(wire.DRIVER_PATH))} driver.py",
        # Not exec: as pid 1 the driver would be immune to its own signals, and this shell reports
        # a signal death as 128 + N (unshare itself does not pass it on reliably).
        f"{q(_tool('env') or 'env')} -i {' '.join(q(f'{k}={v}') for k, v in _ENV.items())} \\",
        f'  {q(_tool("chroot") or "chroot")} "$R" "$@"',
    ]
    return "\n".join(lines)


def _tool(name: str) -> str | None:
    return shutil.which(name, path=_SYSTEM_PATH)


@functools.cache
def _isolation() -> _Isolation:
    """Probe once whether the namespace sandbox works on this host (it needs unprivileged user namespaces)."""
    if any(_tool(name) is None for name in ("unshare", "mount", "chroot", "env")):
        return _Isolation("process-group", "unshare, mount or chroot not found")
    root = tempfile.mkdtemp(prefix="ripsaw-probe-")
    try:
        proc = subprocess.run(
            [*_namespace_command(root, 16), "-c", "import os; os.listdir('/work')"],
            env=_ENV,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return _Isolation("process-group", f"namespace probe failed: {e}")
    finally:
        _remove_tree(root)
    if proc.returncode != 0:
        last = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return _Isolation("process-group", f"namespace probe failed: {last[0]}")
    return _Isolation("namespaces", "user, pid, net, ipc, uts, mount; read-only root on tmpfs")


def _namespace_command(root: str, disk_mb: int) -> list[str]:
    return [
        _tool("unshare") or "unshare",
        *_UNSHARE_FLAGS,
        "sh",
        "-c",
        _prelude(),
        "ripsaw-sandbox",
        root,
        str(disk_mb),
        _PYTHON,
        "-I",
        "-S",
    ]


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

    def _mode(self) -> _Isolation:
        if self.isolation == "process-group":
            return _Isolation("process-group", "chosen in the configuration")
        found = _isolation()
        if self.isolation == "namespaces" and found.mode != "namespaces":
            raise PrerequisiteError(f"the namespace process sandbox is unavailable here: {found.detail}")
        return found

    async def session(self, label: str = "") -> _ProcessSession:
        return _ProcessSession(label, await asyncio.to_thread(self._mode))

    def describe(self) -> dict[str, Any]:
        iso = self._mode()
        return {
            "kind": self.kind,
            "isolation": iso.mode,
            "isolation_detail": iso.detail,
            "interpreter": f"{_PYTHON} -I -S (Python {sys.version.split()[0]}, standard library only)",
            "rlimits": sorted(_rlimits(Limits(), iso.mode == "namespaces")),
        }


class _ProcessSession:
    """Nothing to pre-warm: each job gets its own child process."""

    def __init__(self, label: str, isolation: _Isolation) -> None:
        self.label = label
        self.isolation = isolation

    async def close(self) -> None:
        return None

    async def run(self, job: SandboxJob) -> SandboxResult:
        namespaces = self.isolation.mode == "namespaces"
        nonce = wire.new_nonce()
        payload = wire.encode_job(job, nonce, _rlimits(job.limits, namespaces))
        workdir = tempfile.mkdtemp(prefix="ripsaw-job-")
        try:
            if namespaces:
                cmd = [*_namespace_command(workdir, job.limits.disk_mb), "/driver.py", "/work"]
            else:
                cmd = [_PYTHON, "-I", "-S", str(wire.DRIVER_PATH), workdir]
            run, stdout = await _execute(cmd, workdir, payload, job.limits, wire.stdout_cap(job))
        finally:
            _remove_tree(workdir)
        return SandboxResult(run=run, records=wire.decode_records(stdout, nonce, len(job.inputs)))


async def _execute(
    cmd: list[str], cwd: str, payload: bytes, limits: Limits, stdout_cap: int
) -> tuple[SandboxRun, bytes]:
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_ENV,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as e:
        return SandboxRun("process", "infra_error", None, 0.0, detail=f"cannot start sandbox: {e}"), b""
    assert proc.stdin and proc.stdout and proc.stderr
    overflow: list[str] = []
    kept = {"output": bytearray(), "stderr": bytearray()}

    async def feed() -> None:
        assert proc.stdin
        with contextlib.suppress(ConnectionError):  # the child may die before reading its job
            proc.stdin.write(payload)
            await proc.stdin.drain()
            proc.stdin.close()

    async def drain(stream: asyncio.StreamReader, cap: int, name: str) -> None:
        buf = kept[name]
        # Read to the end even past the cap: a paused pipe would keep the transport from ever finishing.
        while chunk := await stream.read(1 << 16):
            if len(buf) + len(chunk) > cap:
                if not overflow:
                    overflow.append(f"{name} exceeded {cap} bytes")
                    _kill_group(proc.pid)
                chunk = chunk[: max(0, cap - len(buf))]
            buf += chunk

    async def exited() -> None:
        # proc.wait() only returns once every pipe is closed, which a straggler holding one can delay forever.
        while proc.returncode is None:
            await asyncio.sleep(_POLL_S)

    streams = [
        asyncio.ensure_future(drain(proc.stdout, stdout_cap, "output")),
        asyncio.ensure_future(drain(proc.stderr, _STDERR_CAP, "stderr")),
        asyncio.ensure_future(feed()),
    ]
    timed_out = False
    try:
        await asyncio.wait_for(exited(), timeout=limits.timeout_s)
    except TimeoutError:
        timed_out = True
    finally:
        # Also reaps anything the candidate left behind in our process group.
        _kill_group(proc.pid)
    await exited()
    returncode = proc.returncode
    assert returncode is not None
    duration = time.perf_counter() - started
    _, pending = await asyncio.wait(streams, timeout=_DRAIN_GRACE_S)
    for task in pending:
        task.cancel()
    stdout, stderr = bytes(kept["output"]), bytes(kept["stderr"])
    status, detail = _classify(returncode, timed_out, overflow, limits)
    run = SandboxRun(
        kind="process",
        status=status,
        exit_code=returncode,
        duration_s=duration,
        stdout=stdout[:_KEEP_TEXT].decode("utf-8", "replace"),
        stderr=stderr[-_KEEP_TEXT:].decode("utf-8", "replace"),
        detail=detail,
    )
    return run, stdout


def _classify(returncode: int, timed_out: bool, overflow: list[str], limits: Limits) -> tuple[Any, str]:
    """Exit status -> sandbox status. Only ever classifies failures; records decide everything else."""
    if overflow:
        return "resource_limit", overflow[0]
    if timed_out:
        return "timeout", f"wall clock limit of {limits.timeout_s:g} s"
    if returncode == 0:
        return "ok", ""
    # The namespace prelude reports a driver killed by signal N as 128 + N; a direct child reports -N.
    sig = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
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
