"""Docker-only behaviour: the hardening actually applied, leftover reaping, engine faults, pre-warming."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from ripsaw.errors import PrerequisiteError
from ripsaw.sandboxes.base import Limits, SandboxJob
from ripsaw.sandboxes.docker import LABEL_ATTEMPT, LABEL_OWNER, LABEL_RUN, DockerSandbox, _host_id
from ripsaw.sandboxes.image import connect, image_tag
from tests.sandboxes.conftest import RUN_ID, require_docker

pytestmark = pytest.mark.docker

JOB = SandboxJob(code="def f(x):\n    return x + 1\n", entry_point="f", mode="calls", inputs=[[1]])


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    require_docker()
    with contextlib.closing(connect()) as c:
        yield c


def _ours(client: docker.DockerClient) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
    return containers


async def test_pre_warmed_container_is_hardened(docker_sandbox: DockerSandbox, client: docker.DockerClient) -> None:
    session = await docker_sandbox.session("hardening")
    try:
        (listed,) = _ours(client)
        info = client.api.inspect_container(listed["Id"])
        hc, cfg = info["HostConfig"], info["Config"]
        limits = docker_sandbox.limits
        assert info["State"]["Running"]  # started before any code exists
        assert hc["NetworkMode"] == "none" and cfg.get("NetworkDisabled") is True
        assert hc["ReadonlyRootfs"] is True
        assert hc["CapDrop"] == ["ALL"] and not hc.get("CapAdd")
        assert hc["SecurityOpt"] == ["no-new-privileges"]
        assert hc["Privileged"] is False
        assert hc["PidsLimit"] == limits.pids
        assert hc["Memory"] == hc["MemorySwap"] == limits.memory_mb << 20
        assert hc["NanoCpus"] == int(limits.cpus * 1e9)
        ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in hc["Ulimits"]}
        assert ulimits["nofile"] == (limits.open_files, limits.open_files)
        assert ulimits["fsize"] == (limits.file_size_mb << 20,) * 2
        assert set(hc["Tmpfs"]) == {"/work", "/tmp"} and all(
            f"size={limits.disk_mb}m" in v for v in hc["Tmpfs"].values()
        )
        assert not hc.get("Binds") and not info["Mounts"]  # nothing from the host is mounted
        assert hc["LogConfig"]["Type"] == "none"
        assert hc["AutoRemove"] is False  # removal is ours, in `finally`
        assert cfg["User"] == "10001:10001" and cfg["WorkingDir"] == "/work"
        assert sorted(v.split("=", 1)[0] for v in cfg["Env"]) == sorted(
            ["PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "LANG"]
        )  # the image's variables only
        assert cfg["Labels"][LABEL_RUN] == RUN_ID and cfg["Labels"][LABEL_ATTEMPT] == "hardening"
        assert info["Image"] == docker_sandbox.image_id
    finally:
        await session.close()
    assert _ours(client) == []


def test_describe_names_image_and_engine(docker_sandbox: DockerSandbox) -> None:
    facts = docker_sandbox.describe()
    assert facts["image"] == image_tag() and facts["image_id"].startswith("sha256:")
    assert facts["engine"] and facts["hardening"]["network_mode"] == "none"


def test_missing_image_is_a_prerequisite_error(client: docker.DockerClient) -> None:
    with pytest.raises(PrerequisiteError, match="ripsaw sandbox build"):
        DockerSandbox(run_id=RUN_ID, image_ref="ripsaw-sandbox-python:no-such-tag")


def test_leftovers_of_dead_owners_are_reaped_and_nothing_else(client: docker.DockerClient) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    labels = {
        "dead": {LABEL_RUN: "crashed", LABEL_OWNER: f"{_host_id()}/{dead.pid}/1"},
        "alive": {LABEL_RUN: "running", LABEL_OWNER: f"{_host_id()}/{os.getpid()}/"},
        "other_host": {LABEL_RUN: "elsewhere", LABEL_OWNER: f"0123456789ab/{dead.pid}/1"},
        "not_ours": {"org.example": "x"},
    }
    created = {
        name: client.api.create_container(image_tag(), command=["true"], labels=lab)["Id"]
        for name, lab in labels.items()
    }
    try:
        sb = DockerSandbox(run_id=RUN_ID)
        sb.close()
        assert created["dead"] in sb.reaped
        remaining = {c["Id"] for c in client.api.containers(all=True)}
        assert created["dead"] not in remaining
        assert {created["alive"], created["other_host"], created["not_ours"]} <= remaining
    finally:
        for cid in created.values():
            with contextlib.suppress(Exception):
                client.api.remove_container(cid, force=True)


async def test_a_container_lost_before_the_job_is_retried(
    docker_sandbox: DockerSandbox, client: docker.DockerClient
) -> None:
    """The engine losing the pre-warmed container (daemon restart, someone's `docker rm`) is not the model's fault."""
    session = await docker_sandbox.session("lost")
    try:
        (listed,) = _ours(client)
        client.api.remove_container(listed["Id"], force=True)
        result = await session.run(JOB)
    finally:
        await session.close()
    assert result.run.status == "ok", result.run
    assert result.records[0] == {"value": 2, "elapsed_s": result.records[0]["elapsed_s"]}  # type: ignore[index]


class _EngineProxy:
    """A unix-socket proxy in front of the real engine that can be cut, as a daemon dying would cut it."""

    def __init__(self, path: Path, upstream: str = "/var/run/docker.sock") -> None:
        self.path, self.upstream = path, upstream
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(str(path))
        self._server.listen()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self._server.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX)
            up.connect(self.upstream)
            with self._lock:
                self._conns += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()


# urllib3 drops (without closing) the sockets of requests whose peer vanished mid-request; collected below.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_engine_gone_mid_attempt_is_infra_error(
    client: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = _EngineProxy(tmp_path / "engine.sock")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{proxy.path}")
    sb = DockerSandbox(run_id=RUN_ID)
    session = await sb.session("engine-gone")
    try:
        proxy.cut()
        result = await session.run(JOB)
    finally:
        await session.close()
        sb.close()
    assert result.run.status == "infra_error", result.run
    assert "engine" in result.run.detail.lower()
    assert result.records == [None]
    # The pre-warmed container outlived the connection; the next sandbox reaps it once we are gone,
    # here we remove it by its label ourselves.
    for c in _ours(client):
        client.api.remove_container(c["Id"], force=True)
    gc.collect()


async def test_pre_warm_hides_start_up(docker_sandbox: DockerSandbox) -> None:
    """Sanity, not a benchmark (bench/sandboxes.py measures): a warm run is much cheaper than start-up."""
    session = await docker_sandbox.session("warm")
    try:
        await asyncio.sleep(1.0)  # the model "generates"
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        result = await session.run(JOB)
        warm_run = loop.time() - t0
    finally:
        await session.close()
    assert result.run.status == "ok"
    assert warm_run < 2.0


async def test_job_limits_other_than_the_pre_warm_get_a_fitting_container(docker_sandbox: DockerSandbox) -> None:
    code = "def f():\n    return open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read().strip()\n"
    session = await docker_sandbox.session("reshape")
    try:
        job = SandboxJob(code=code, entry_point="f", mode="calls", inputs=[[]], limits=Limits(memory_mb=96))
        result = await session.run(job)
    finally:
        await session.close()
    record = result.records[0]
    assert record is not None
    if "value" in record:  # cgroup v1 exposes the limit inside; v2 keeps it elsewhere
        assert int(record["value"]) == 96 << 20


def test_a_killed_but_unreaped_owner_counts_as_gone() -> None:
    """`kill -9` of a run leaves a zombie until its parent reaps it; its containers are leftovers all the same."""
    import signal
    import subprocess
    import time

    from ripsaw.sandboxes.docker import _process_alive, _process_stat

    child = subprocess.Popen(["sleep", "30"])
    try:
        start = _process_stat(child.pid)[1]
        assert _process_alive(child.pid, start)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _process_stat(child.pid)[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _process_stat(child.pid)[0] == "Z"
        assert not _process_alive(child.pid, start)
    finally:
        child.kill()
        child.wait()
