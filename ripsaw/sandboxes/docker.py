"""The Docker sandbox: one fresh, hardened, pre-warmed container per run of candidate code.

A session creates and starts its container right away, before the code exists: the container runs the
driver (ripsaw/sandboxes/driver.py, passed as `python3 -c` source, so nothing from the host is mounted or
copied into it), and the driver blocks reading its job from stdin. `run(job)` then only streams the job in
over the attach socket and reads the nonce-framed records back, so the container's start-up (~0.2-0.4 s)
overlaps the model's generation instead of adding to the attempt's wall time.

Every container: non-root uid, no network, read-only root, size-limited tmpfs for /work and /tmp, no
capabilities, no-new-privileges, pids/memory (swap = memory)/CPU limits, open-file and file-size ulimits,
no logging driver (output only flows through the capped attach stream), no host environment. The host
keeps a monotonic deadline and removes the container (kill included) in `finally` whatever happened.

Engine faults (daemon gone, create/start failed, the attach connection broke) are retried a bounded number of
times with a fresh container and otherwise reported as status `infra_error`, never as a model failure.
The exit code and `State.OOMKilled` only classify errors; records decide nothing here (ripsaw.verdict does).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import select
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import docker.types

from ripsaw.errors import PrerequisiteError, SandboxInfraError
from ripsaw.records import SandboxRun
from ripsaw.sandboxes import image, output, wire
from ripsaw.sandboxes.base import Limits, SandboxJob, SandboxResult

KIND = "docker"
WORKDIR = "/work"
ENGINE_ATTEMPTS = 3  # tries per run when the engine faults, each with a fresh container
ENGINE_BACKOFF_S = (0.5, 2.0)
# Labels on every container. ripsaw.owner says which live process may remove it: "<host>/<pid>/<start>".
LABEL_RUN, LABEL_ATTEMPT, LABEL_OWNER = "ripsaw.run", "ripsaw.attempt", "ripsaw.owner"
_FRAME_HEADER = struct.Struct(">BxxxL")  # the engine's stdout/stderr multiplexing header


class _EngineFault(Exception):
    """The engine failed us mid-run; the run is retried in a fresh container."""


@dataclass(frozen=True, slots=True)
class _Shape:
    """The limits a container is created with (the rest of Limits is enforced by the host)."""

    memory_mb: int
    pids: int
    file_size_mb: int
    open_files: int
    disk_mb: int
    cpus: float

    @classmethod
    def of(cls, limits: Limits) -> _Shape:
        return cls(limits.memory_mb, limits.pids, limits.file_size_mb, limits.open_files, limits.disk_mb, limits.cpus)


@dataclass(slots=True)
class _Container:
    id: str
    sock: socket.socket
    shape: _Shape
    conn: Any = field(repr=False)  # the object owning the attach socket; closed with it


def docker_unavailable_reason(tag: str | None = None) -> str | None:
    """Why Docker sandboxes cannot run here (no engine, no image), or None when they can."""
    try:
        client = image.connect(timeout=5)
        try:
            st = image.image_status(client, tag)
        finally:
            client.close()
    except (PrerequisiteError, SandboxInfraError) as e:
        return str(e)
    if not st.present:
        return f"the sandbox image {st.tag} is missing: run `ripsaw sandbox build`"
    return None


def docker_available() -> bool:
    """The engine answers and the sandbox image exists."""
    return docker_unavailable_reason() is None


class DockerSandbox:
    kind = KIND

    def __init__(self, run_id: str = "", limits: Limits | None = None, image_ref: str | None = None) -> None:
        """`limits` shape the pre-warmed containers; a job with other container limits gets a fresh container.

        Raises PrerequisiteError when no engine answers or the image is missing. Removes containers left
        behind by Ripsaw processes of this host that no longer exist.
        """
        self.run_id = run_id
        self.limits = limits or Limits()
        self._client = image.connect()
        tag = image_ref or image.image_tag()
        try:
            st = image.image_status(self._client, tag)
            if not st.present:
                raise PrerequisiteError(f'sandbox "docker": the image {tag} is missing: run `ripsaw sandbox build`')
            self.engine_version = image.engine_version(self._client)
        except BaseException:
            self._client.close()
            raise
        self.image_tag = tag
        self.image_id = st.id or tag  # containers are created from the id: a re-tag mid-run changes nothing
        self.image_base = st.base
        self._owner = owner_label()
        # Threads only wait on the engine, so there can be many; the pool bounds them anyway.
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="ripsaw-docker")
        self.reaped = reap_leftovers(self._client)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "image": self.image_tag,
            "image_id": self.image_id,
            "image_base": self.image_base,
            "engine": self.engine_version,
            "hardening": {
                "user": f"{image.SANDBOX_UID}:{image.SANDBOX_UID}",
                "network_mode": "none",
                "read_only_rootfs": True,
                "tmpfs": [WORKDIR, "/tmp"],
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges"],
                "memswap_equals_memory": True,
                "log_driver": "none",
                "host_env": False,
                "fresh_container_per_run": True,
            },
            "limits": {
                "memory_mb": self.limits.memory_mb,
                "pids": self.limits.pids,
                "cpus": self.limits.cpus,
                "disk_mb": self.limits.disk_mb,
                "open_files": self.limits.open_files,
                "file_size_mb": self.limits.file_size_mb,
                "output_bytes": self.limits.output_bytes,
            },
        }

    def close(self) -> None:
        """Release the engine connection and worker threads (sessions must be closed first)."""
        self._pool.shutdown(wait=True)
        self._client.close()

    async def session(self, label: str = "") -> DockerSession:
        """Start the session's container now (pre-warm); raises SandboxInfraError when the engine keeps failing."""
        session = DockerSession(self, label)
        await session.warm()
        return session

    # --- blocking engine calls, run on self._pool ---

    def _start(self, shape: _Shape, label: str) -> _Container:
        """Create, attach and start one container whose driver waits for its job on stdin."""
        api = self._client.api
        host_config = api.create_host_config(
            network_mode="none",
            read_only=True,
            # Sizes bound the disk a candidate can fill; tmpfs pages also count against the memory limit.
            tmpfs={
                WORKDIR: f"rw,nosuid,nodev,noexec,size={shape.disk_mb}m,uid={image.SANDBOX_UID},"
                f"gid={image.SANDBOX_UID},mode=0700",
                "/tmp": f"rw,nosuid,nodev,noexec,size={shape.disk_mb}m,mode=1777",
            },
            shm_size=min(shape.disk_mb, 16) << 20,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=shape.pids,
            mem_limit=shape.memory_mb << 20,
            memswap_limit=shape.memory_mb << 20,  # equal: no swap on top of the memory limit
            nano_cpus=int(shape.cpus * 1e9),
            ulimits=[
                docker.types.Ulimit(name="nofile", soft=shape.open_files, hard=shape.open_files),
                docker.types.Ulimit(name="fsize", soft=shape.file_size_mb << 20, hard=shape.file_size_mb << 20),
                docker.types.Ulimit(name="core", soft=0, hard=0),
            ],
            # No log files on the host: an infinite print would otherwise fill the engine's disk.
            log_config=docker.types.LogConfig(type="none"),
        )
        container = api.create_container(
            self.image_id,
            command=["python3", "-I", "-S", "-c", _DRIVER_SOURCE],
            user=f"{image.SANDBOX_UID}:{image.SANDBOX_UID}",
            working_dir=WORKDIR,
            stdin_open=True,  # with StdinOnce: closing our write side is the driver's EOF
            network_disabled=True,
            environment={},
            use_config_proxy=False,  # else docker-py copies proxy settings from ~/.docker/config.json
            labels={LABEL_RUN: self.run_id, LABEL_ATTEMPT: label, LABEL_OWNER: self._owner},
            host_config=host_config,
        )
        cid = container["Id"]
        try:
            conn = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock = getattr(conn, "_sock", conn)
            api.start(cid)
        except BaseException:
            self._remove(cid)
            raise
        return _Container(cid, sock, shape, conn)

    def _start_retrying(self, shape: _Shape, label: str) -> _Container:
        errors: list[str] = []
        for attempt in range(ENGINE_ATTEMPTS):
            if attempt:
                time.sleep(ENGINE_BACKOFF_S[min(attempt - 1, len(ENGINE_BACKOFF_S) - 1)])
            try:
                return self._start(shape, label)
            except image.ENGINE_ERRORS as e:
                errors.append(image.one_line(e))
        raise SandboxInfraError(f"the Docker engine failed to start a container {ENGINE_ATTEMPTS} times: {errors[-1]}")

    def _remove(self, cid: str) -> None:
        """Kill and remove; a failure here leaves a labelled leftover that the next DockerSandbox reaps."""
        with contextlib.suppress(*image.ENGINE_ERRORS):
            self._client.api.remove_container(cid, force=True, v=True)

    def _discard(self, box: _Container) -> None:
        with contextlib.suppress(OSError):
            box.conn.close()
            box.sock.close()
        self._remove(box.id)

    def _execute(self, box: _Container, job: SandboxJob, abort: threading.Event) -> SandboxResult:
        """Send the job to a started container, collect its output, classify; always removes the container."""
        nonce = wire.new_nonce()
        payload = wire.encode_job(job, nonce)
        out_cap, err_cap = wire.stdout_cap(job), output.stderr_cap(job.limits)
        n = len(job.inputs)
        t0 = time.monotonic()
        deadline = t0 + job.limits.timeout_s
        try:
            try:
                box.sock.settimeout(max(0.001, deadline - time.monotonic()))
                box.sock.sendall(payload)
                box.sock.shutdown(socket.SHUT_WR)
            except OSError as e:  # the job cannot even reach the driver: the connection or container is gone
                raise _EngineFault(f"sending the job failed: {e}") from None
            stream = _read_streams(box.sock, deadline, out_cap, err_cap, abort)
            state = self._final_state(box.id, deadline, abort) if stream.ended == "eof" else None
            duration = time.monotonic() - t0
        finally:
            self._discard(box)
        return _classify(stream, state, duration, job, nonce, n, out_cap, err_cap)

    def _final_state(self, cid: str, deadline: float, abort: threading.Event) -> dict[str, Any] | None:
        """The container's State once it has exited, or None when it is still running at the deadline.

        The output streams end when the driver exits, but also when it merely closes fds 1 and 2; so poll
        (a few milliseconds in the normal case) instead of `wait(timeout)`, whose timeout is not
        distinguishable from a lost daemon connection.
        """
        delay = 0.002
        while True:
            try:
                state: dict[str, Any] = self._client.api.inspect_container(cid)["State"]
            except image.ENGINE_ERRORS as e:
                raise _EngineFault(f"inspecting the container failed: {image.one_line(e)}") from None
            if not state.get("Running") and state.get("Status") not in ("created", "running", "restarting"):
                return state
            if time.monotonic() >= deadline or abort.is_set():
                return None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.05)


@dataclass(slots=True)
class _Streams:
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    # "eof": both streams closed; "timeout"; "stdout_cap"/"stderr_cap": a stream exceeded its cap; "aborted"
    ended: str = "eof"


def _read_streams(sock: socket.socket, deadline: float, out_cap: int, err_cap: int, abort: threading.Event) -> _Streams:
    """Demultiplex the attach stream until EOF, the deadline, a cap or an abort, never holding more than the caps."""
    res = _Streams()
    pending = bytearray()
    sock.setblocking(False)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            res.ended = "timeout"
            return res
        if abort.is_set():
            res.ended = "aborted"
            return res
        ready, _, _ = select.select([sock], [], [], min(left, 0.1))
        if not ready:
            continue
        try:
            chunk = sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError as e:
            raise _EngineFault(f"the attach stream broke: {e}") from None
        if not chunk:
            return res
        pending += chunk
        while len(pending) >= _FRAME_HEADER.size:
            kind, size = _FRAME_HEADER.unpack_from(pending)
            if len(pending) < _FRAME_HEADER.size + size:
                break
            data = pending[_FRAME_HEADER.size : _FRAME_HEADER.size + size]
            del pending[: _FRAME_HEADER.size + size]
            target, cap, name = (res.stderr, err_cap, "stderr") if kind == 2 else (res.stdout, out_cap, "stdout")
            target += data[: cap + 1 - len(target)]
            if len(target) > cap:
                res.ended = f"{name}_cap"
                return res


def _classify(
    stream: _Streams,
    state: dict[str, Any] | None,
    duration: float,
    job: SandboxJob,
    nonce: str,
    n: int,
    out_cap: int,
    err_cap: int,
) -> SandboxResult:
    exit_code = None if state is None else int(state.get("ExitCode", -1))
    detail = ""
    if stream.ended == "timeout" or (stream.ended == "eof" and state is None):
        status, detail = "timeout", f"killed after the {job.limits.timeout_s:g} s time limit"
    elif stream.ended == "stdout_cap":
        status, detail = "resource_limit", f"output exceeded {out_cap} bytes"
    elif stream.ended == "stderr_cap":
        status, detail = "resource_limit", f"stderr exceeded {err_cap} bytes"
    elif stream.ended == "aborted":
        status, detail = "crashed", "cancelled by the host"
    elif state is not None and state.get("OOMKilled") and exit_code != 0:
        status, detail = "resource_limit", f"out of memory ({job.limits.memory_mb} MB)"
    elif exit_code == wire.MEMORY_EXIT_CODE:
        status, detail = "resource_limit", f"the driver ran out of memory ({job.limits.memory_mb} MB)"
    elif exit_code == 0:
        status = "ok"
    else:
        status, detail = "crashed", _exit_detail(exit_code)
    # A killed run's records still count if complete: a record line is only accepted when newline-terminated.
    records = wire.decode_records(bytes(stream.stdout), nonce, n)
    run = SandboxRun(
        kind=KIND,
        status=status,  # type: ignore[arg-type]
        exit_code=exit_code,
        duration_s=duration,
        stdout=output.stored(stream.stdout),
        stderr=output.stored(stream.stderr),
        detail=detail,
    )
    return SandboxResult(run=run, records=records)


def _exit_detail(code: int | None) -> str:
    if code is not None and code > 128:
        return f"exited with code {code} (signal {code - 128})"
    return f"exited with code {code}"


def _infra_result(job: SandboxJob, detail: str, duration: float) -> SandboxResult:
    run = SandboxRun(kind=KIND, status="infra_error", exit_code=None, duration_s=duration, detail=detail)
    return SandboxResult(run=run, records=[None] * len(job.inputs))


class DockerSession:
    """One attempt's sandbox: a pre-warmed container, consumed by the first `run`; later runs get fresh ones."""

    def __init__(self, sandbox: DockerSandbox, label: str) -> None:
        self._sb = sandbox
        self._label = label
        self._box: _Container | None = None
        self._closed = False

    async def warm(self) -> None:
        self._box = await self._call(self._sb._start_retrying, _Shape.of(self._sb.limits), self._label)

    async def run(self, job: SandboxJob) -> SandboxResult:
        if self._closed:
            raise RuntimeError("run() on a closed sandbox session")
        t0 = time.monotonic()
        shape = _Shape.of(job.limits)
        errors: list[str] = []
        for attempt in range(ENGINE_ATTEMPTS):
            box, self._box = self._box, None
            if box is not None and box.shape != shape:
                await self._call(self._sb._discard, box)
                box = None
            try:
                if box is None:
                    box = await self._call(self._sb._start_retrying, shape, job.label or self._label)
                abort = threading.Event()
                # _execute removes the container whatever happens, so nothing is left to discard here.
                return await self._call(self._sb._execute, box, job, abort, abort=abort)
            except _EngineFault as e:
                errors.append(str(e))
            except SandboxInfraError as e:
                errors.append(str(e))
                break  # _start_retrying already retried
            if attempt + 1 < ENGINE_ATTEMPTS:
                await asyncio.sleep(ENGINE_BACKOFF_S[min(attempt, len(ENGINE_BACKOFF_S) - 1)])
        return _infra_result(job, f"Docker engine fault: {errors[-1]}", time.monotonic() - t0)

    async def close(self) -> None:
        self._closed = True
        box, self._box = self._box, None
        if box is not None:
            await self._call(self._sb._discard, box)

    async def _call(self, fn: Any, *args: Any, abort: threading.Event | None = None) -> Any:
        """Run a blocking engine call on the sandbox's pool. When the caller is cancelled, the call still
        finishes in its thread (an abort event cuts a running job short) and whatever container it
        created is removed, so a cancelled attempt leaves nothing behind."""
        fut = asyncio.get_running_loop().run_in_executor(self._sb._pool, fn, *args)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            if abort is not None:
                abort.set()
            fut.add_done_callback(self._cleanup_late)
            raise

    def _cleanup_late(self, fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is None and isinstance(fut.result(), _Container):
            self._sb._pool.submit(self._sb._discard, fut.result())


def reap_leftovers(client: docker.DockerClient) -> list[str]:
    """Remove containers that a Ripsaw process of this host left behind and no longer owns (it exited
    or crashed). Only containers carrying Ripsaw's owner label are considered; returns the removed ids."""
    me = _host_id()
    removed: list[str] = []
    try:
        listed = client.api.containers(all=True, filters={"label": LABEL_OWNER})
    except image.ENGINE_ERRORS:
        return removed
    for c in listed:
        host, _, rest = str((c.get("Labels") or {}).get(LABEL_OWNER, "")).partition("/")
        pid_text, _, start = rest.partition("/")
        if host != me or not pid_text.isdigit() or _process_alive(int(pid_text), start):
            continue
        with contextlib.suppress(*image.ENGINE_ERRORS):
            client.api.remove_container(c["Id"], force=True, v=True)
            removed.append(c["Id"])
    return removed


def _host_id() -> str:
    """This host (and boot): a pid from before a reboot names nobody now."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    return hashlib.sha256(f"{socket.gethostname()}\0{boot}".encode()).hexdigest()[:12]


def _process_stat(pid: int) -> tuple[str, str]:
    """(state, start time in clock ticks since boot) of a process; ('', '') where /proc can't tell."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rpartition(")")[2].split()
        return fields[0], fields[19]
    except (OSError, IndexError):
        return "", ""


def _process_alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if not start or not os.path.exists("/proc"):
        return True
    state, started = _process_stat(pid)
    # The start time guards against pid reuse. A process killed with -9 that its parent has not reaped yet is a
    # zombie (kill(pid, 0) still succeeds): it owns nothing any more.
    return started == start and state != "Z"


def owner_label() -> str:
    pid = os.getpid()
    return f"{_host_id()}/{pid}/{_process_stat(pid)[1]}"


with open(wire.DRIVER_PATH, encoding="utf-8") as _f:
    # The driver travels as `python3 -c` source in the container's command, so no host file is mounted or copied.
    _DRIVER_SOURCE = _f.read()
