"""The process sandbox: every job runs the in-sandbox driver in a fresh, limited child process.

Isolation, strongest available (probed once per host process, reported by `describe()`):

- "namespaces": `unshare` gives the child new pid, net, ipc, uts and mount namespaces (and a user
  namespace mapped to the host user when Ripsaw is not root). Their PID 1, a small shell prelude, builds
  a fresh root on a size-limited tmpfs with read-only, nosuid bind mounts of /usr (and the interpreter's
  prefix), the interpreter's site-packages hidden, a few device nodes and its own /proc, then pivots
  into it and detaches the old root, so no process in there, PID 1 included, has a path back to the
  host's files (not through /proc/*/root, cwd or fds either). The candidate then runs in a user
  namespace of its own (its processes counted apart from other sandboxes'), as a host user that is
  never root (uid 65534 when Ripsaw is root), with no capabilities, no new privileges and no
  namespaces left to create: it cannot mount, unmount or remount its way out, nor write kernel settings.
  So it sees no network, no host processes, none of the host's files beyond system libraries (task
  data, caches, the repository and Ripsaw itself are invisible) and cannot write to any of them.
  `--kill-child` and the pid namespace take every process the candidate started down with the driver.
- "process-group": where namespaces are unavailable, a new session whose whole process group is
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
_NAMESPACES = ["--mount", "--propagation", "private", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"]
_TOOLS = ("unshare", "mount", "umount", "pivot_root", "setpriv", "env")
_DEVICES = ("null", "zero", "random", "urandom")
# Whom the candidate runs as on the host when Ripsaw runs as root ("nobody"): never the host's root.
_CANDIDATE_UID = 65534
_STDERR_CAP = 256 * 1024
_KEEP_TEXT = 8 * 1024  # of each stream, kept in the SandboxRun for reports and repair feedback
_PROBE_TIMEOUT_S = 20.0
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # where unshare, mount, pivot_root and setpriv live
_DRAIN_GRACE_S = 1.0  # after the exit, how long stragglers holding our pipes may delay the result


@dataclass(frozen=True, slots=True)
class _Isolation:
    mode: str  # "namespaces" | "process-group"
    detail: str


def _as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def _prelude(as_root: bool) -> str:
    """Shell run as PID 1 of the new namespaces: build a read-only root on tmpfs, switch to it, start the driver.

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
        'R="$1"; SIZE="$2"; shift 2',
        f"PATH={_SYSTEM_PATH}",
        "umask 022",
        'mount -t tmpfs -o "size=${SIZE}m,mode=755,nosuid,nodev" ripsaw "$R"',
        'cd "$R"',
        # One mkdir and one touch for everything: each command here costs a fork and an exec per job.
        f"mkdir -p dev proc work tmp {targets} && chmod 1777 tmp && touch {devices}",
        *links,
    ]
    if as_root:
        lines.append(f"chown {_CANDIDATE_UID}:{_CANDIDATE_UID} work")
    # nosuid: a set-uid binary under /usr must not hand the candidate back the host identity it was denied.
    lines += [f"mount --bind -o ro,nosuid,nodev {q(path)} .{q(path)}" for path in binds]
    lines += [f"mount -t tmpfs -o size=4k,ro,nosuid,nodev hidden .{q(path)}" for path in hidden]
    lines += [f"mount --bind -o nosuid,noexec /dev/{d} dev/{d}" for d in _DEVICES]
    lines += [
        # hidepid: the candidate does not even see PID 1 (host root, or holding capabilities it lacks).
        "mount -t proc -o nosuid,nodev,noexec,hidepid=2 proc proc",
        f"cp {q(str(wire.DRIVER_PATH))} driver.py",
        # A chroot would leave this shell, PID 1, on the host's root, and /proc/1/root would lead back to
        # it. pivot_root moves every process of this mount namespace onto the new root instead (". ."
        # stacks the old root on top of it), and the old one is then detached: nothing here can name a
        # host file any more, not through /proc/*/root, cwd or fds either.
        "pivot_root . .",
        "umount -l .",
        # Not exec: as pid 1 the driver would be immune to its own signals, and this shell reports
        # a signal death as 128 + N (unshare itself does not pass it on reliably).
        f'{_drop_to_candidate(as_root)}unshare --user --map-root-user sh -c {q(_CANDIDATE_PRELUDE)} candidate "$@"',
    ]
    return "\n".join(lines)


# Runs in the candidate's own user namespace, as its root, before giving that up for good. The
# namespace counts the candidate's processes apart from every other sandbox's (RLIMIT_NPROC), and
# the candidate keeps no capability in it: it cannot mount, unmount or remount anything (the mounts
# belong to PID 1's namespaces), and with every namespace count at zero it cannot unshare its way to a
# fresh set of capabilities either (where cgroups are delegated to the host user, those would let it
# mount cgroupfs and kill or freeze the host user's processes).
_CANDIDATE_PRELUDE = "\n".join(
    [
        "set -e",
        'for limit in /proc/sys/user/max_*_namespaces; do echo 0 > "$limit"; done',
        "exec setpriv --no-new-privs --bounding-set=-all --inh-caps=-all \\",
        f'  env -i {" ".join(shlex.quote(f"{k}={v}") for k, v in _ENV.items())} "$@"',
    ]
)


def _drop_to_candidate(as_root: bool) -> str:
    """When the host runs as root, the candidate becomes an unprivileged host user before anything else.

    Mapped to host root, even a process without capabilities could write /proc/sys (the kernel checks
    the host uid there) and own every root-owned file it could reach.
    """
    if not as_root:
        return ""
    uid = _CANDIDATE_UID
    return f"setpriv --reuid={uid} --regid={uid} --clear-groups "


def _tool(name: str) -> str | None:
    return shutil.which(name, path=_SYSTEM_PATH)


@functools.cache
def _isolation() -> _Isolation:
    """Probe once whether the namespace sandbox works here (as root: CAP_SYS_ADMIN; else user namespaces)."""
    missing = [name for name in _TOOLS if _tool(name) is None]
    if missing:
        return _Isolation("process-group", f"not found: {', '.join(missing)}")
    root = tempfile.mkdtemp(prefix="ripsaw-probe-")
    try:
        proc = subprocess.run(
            [*_namespace_command(root, 16), "-c", "open('/work/probe', 'w').close()"],
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
    who = f"uid {_CANDIDATE_UID}" if _as_root() else "the host user"
    return _Isolation(
        "namespaces",
        f"pid, net, ipc, uts, mount; read-only tmpfs root (pivot_root); runs as {who} without capabilities",
    )


def _namespace_command(root: str, disk_mb: int) -> list[str]:
    as_root = _as_root()
    # As root, PID 1 keeps the host's root (it builds the sandbox) and the candidate gets a plain user;
    # otherwise PID 1 is root of a user namespace mapped to the host user.
    flags = _NAMESPACES if as_root else ["--user", "--map-root-user", *_NAMESPACES]
    return [
        _tool("unshare") or "unshare",
        *flags,
        "sh",
        "-c",
        _prelude(as_root),
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

    def close(self) -> None:
        """Nothing held across sessions: every job's process is gone when its run returns."""


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


class _Pipes(asyncio.SubprocessProtocol):
    """Collects the child's stdout and stderr under byte caps and tells when it exited and when its pipes closed.

    A protocol rather than asyncio's stream wrappers: the exit is reported as it happens (a straggler
    holding a pipe cannot delay it) and the transport is ours to close, whatever interrupts the run.
    """

    def __init__(self, caps: dict[int, tuple[str, int]]) -> None:
        loop = asyncio.get_running_loop()
        self.caps = caps
        self.kept = {fd: bytearray() for fd in caps}
        self.overflow = ""
        self.exited: asyncio.Future[None] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()
        self.pid = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.pid = transport.get_pid()

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        name, cap = self.caps[fd]
        buf = self.kept[fd]
        # Keep reading past the cap (and drop it): a child blocked on a full pipe would never end.
        if len(buf) + len(data) > cap:
            if not self.overflow:
                self.overflow = f"{name} exceeded {cap} bytes"
                _kill_group(self.pid)
            data = data[: max(0, cap - len(buf))]
        buf += data

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.drained.done():
            self.drained.set_result(None)


async def _execute(
    cmd: list[str], cwd: str, payload: bytes, limits: Limits, stdout_cap: int
) -> tuple[SandboxRun, bytes]:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        transport, pipes = await loop.subprocess_exec(
            lambda: _Pipes({1: ("output", stdout_cap), 2: ("stderr", _STDERR_CAP)}),
            *cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_ENV,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as e:
        return SandboxRun("process", "infra_error", None, 0.0, detail=f"cannot start sandbox: {e}"), b""
    timed_out = False
    try:
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.write(payload)  # buffered by the loop; a child that dies unread only ends the pipe
        stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(pipes.exited), timeout=limits.timeout_s)
        except TimeoutError:
            timed_out = True
    finally:
        # Runs on cancellation too: the child (with all it started) is killed and reaped, its pipes
        # drained or closed, before anything propagates.
        _kill_group(pipes.pid)
        try:
            await pipes.exited
            duration = time.perf_counter() - started
            await asyncio.wait([pipes.drained], timeout=_DRAIN_GRACE_S)
        finally:
            transport.close()
    returncode = transport.get_returncode()
    assert returncode is not None
    stdout, stderr = bytes(pipes.kept[1]), bytes(pipes.kept[2])
    status, detail = _classify(returncode, timed_out, pipes.overflow, limits)
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


def _classify(returncode: int, timed_out: bool, overflow: str, limits: Limits) -> tuple[Any, str]:
    """Exit status -> sandbox status. Only ever classifies failures; records decide everything else."""
    if overflow:
        return "resource_limit", overflow
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
