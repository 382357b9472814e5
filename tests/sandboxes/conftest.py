"""Fixtures shared by the sandbox suites: one sandbox per backend, and a leftover check after every test.

Docker tests carry `@pytest.mark.docker`. They skip when no engine or image is there, except under CI=true,
where a missing engine is a failure (CI builds the image first: .ci/docker-setup.sh).
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ripsaw.sandboxes.base import Limits, Sandbox, SandboxJob, SandboxResult
from ripsaw.sandboxes.docker import LABEL_RUN, DockerSandbox, docker_unavailable_reason
from ripsaw.sandboxes.image import connect
from ripsaw.sandboxes.process import ProcessSandbox
from tests.conftest import in_ci

# Unique per pytest process, so the leftover check never sees another test session's containers.
RUN_ID = f"tests-{os.getpid()}"
BACKENDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]


def require_docker() -> None:
    reason = docker_unavailable_reason()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true, but Docker sandboxes are unavailable: {reason}")
    pytest.skip(f"Docker sandboxes unavailable: {reason}")


@pytest.fixture(scope="session")
def sandbox_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private temp root for the process sandbox's job dirs, so leftovers are ours to count."""
    return tmp_path_factory.mktemp("jobs")


@pytest.fixture(scope="session")
def docker_sandbox() -> Iterator[DockerSandbox]:
    require_docker()
    sb = DockerSandbox(run_id=RUN_ID)
    yield sb
    sb.close()


@pytest.fixture(scope="session")
def process_sandbox() -> ProcessSandbox:
    return ProcessSandbox(run_id=RUN_ID)


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest, sandbox_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    sb: Sandbox = request.getfixturevalue(f"{request.param}_sandbox")
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox_tmp))
    before = _descendants()
    yield sb
    assert_no_leftovers(sb, sandbox_tmp, before)


def assert_no_leftovers(sb: Sandbox, job_root: Path, before: set[int], grace_s: float = 5.0) -> None:
    """No container of ours, no child process, no job directory survives a test.

    Clean-up after a cancellation finishes in the background, so allow it a few seconds.
    """
    deadline = time.monotonic() + grace_s
    while True:
        problems = _leftovers(sb, job_root, before)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not problems, "; ".join(problems)


def _leftovers(sb: Sandbox, job_root: Path, before: set[int]) -> list[str]:
    problems = []
    if sb.kind == "docker":
        with contextlib.closing(connect()) as client:
            left = client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
        if left:
            problems.append(f"leftover containers: {[c['Id'][:12] for c in left]}")
    stray = _descendants() - before - _fork_servers()
    if stray:
        problems.append(f"leftover processes: {sorted(stray)}")
    if any(job_root.iterdir()):
        problems.append(f"leftover job dirs: {list(job_root.iterdir())}")
    return problems


def _live_parents() -> dict[int, int]:
    """pid -> parent pid of every live (non-zombie) process."""
    parent: dict[int, int] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != "Z":
            parent[int(entry)] = int(fields[1])
    return parent


def _fork_servers() -> set[int]:
    """The process sandbox's fork servers (its `unshare` child and the server under it), which live as long as
    the sandbox is open: the processes of their jobs are one level further down, and still count."""
    parent = _live_parents()
    servers = set()
    for pid in [p for p, ppid in parent.items() if ppid == os.getpid()]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                launcher = b"\0ripsaw-sandbox\0" in f.read()
        except OSError:
            continue
        if launcher:
            servers |= {pid, *(p for p, ppid in parent.items() if ppid == pid)}
    return servers


def _descendants() -> set[int]:
    """Live (non-zombie) descendants of this test process."""
    parent = _live_parents()
    found: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


async def run_job(
    sb: Sandbox, code: str, inputs: list[Any], mode: str = "calls", entry_point: str = "f", **limits: Any
) -> SandboxResult:
    """One job in a fresh session, closed afterwards."""
    session = await sb.session("conformance")
    try:
        job = SandboxJob(code=code, entry_point=entry_point, mode=mode, inputs=inputs, limits=Limits(**limits))  # type: ignore[arg-type]
        return await session.run(job)
    finally:
        await session.close()


class LoopbackServer:
    """A TCP server on the host's loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self._sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server
