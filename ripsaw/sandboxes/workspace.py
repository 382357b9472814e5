"""Workspace containers for repository tasks: the task's image, an agent's container, and a verdict's container.

A repository task's image is built from its `environment/Dockerfile` FROM Ripsaw's workspace image (the build arg
BASE names it; see ripsaw.sandboxes.image.WORKSPACE), tagged by a hash of the task's files and the base's id, so it is
rebuilt exactly when either changes. `Box` is one running container of such an image: its main process only sleeps,
and everything happens through `docker exec` (`exec`), so a command's output, exit status and wall time are measured
one by one, and commands can be cut at a deadline.

Every box: no network, a non-root user for everything the agent or the candidate runs (root execs are Ripsaw's
own: snapshots, copying files in, reading reports; the main process, a sleep, is root's too), only the
capabilities those root execs need to read and write files whatever their mode (non-root processes get none),
no-new-privileges, memory (no swap), pids, CPU, open-file and file-size limits, a size-limited /tmp, no logging
driver, no host environment, Ripsaw's labels. A box may get host directories bind-mounted read-only (`mounts`):
the timing proxy's, whose Unix socket is then a scaffold's only way out (ripsaw.agents.proxy). It is removed (killed
included) by `close`, whatever happened; containers of a Ripsaw process that died are reaped like the sandbox's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import secrets
import shlex
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.types

from ripsaw.errors import PrerequisiteError, SandboxInfraError
from ripsaw.sandboxes import image, output
from ripsaw.sandboxes.docker import LABEL_ATTEMPT, LABEL_OWNER, LABEL_RUN, owner_label, reap_leftovers
from ripsaw.tasks.task import RepoTests

AGENT_UID = image.SANDBOX_UID  # the workspace image's `agent` user
# Snapshots: Ripsaw's own git directory and index, no system or global config, no hooks, no fsmonitor.
_GIT_HOME = "/var/lib/ripsaw-snapshot"
_GIT_ENV = (
    f"mkdir -p {_GIT_HOME} && export GIT_DIR={_GIT_HOME}/base.git GIT_WORK_TREE=$PWD "
    f"GIT_INDEX_FILE={_GIT_HOME}/index GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME={_GIT_HOME} && "
)
_GIT = "git -c core.fsmonitor=false -c core.hooksPath=/dev/null -c core.untrackedCache=false -c safe.directory='*'"
_EXCLUDES = (
    "':(exclude,glob)**/__pycache__/**' ':(exclude,glob)**/*.pyc' ':(exclude,glob)**/.pytest_cache/**' "
    "':(exclude,glob)**/.hypothesis/**'"  # hypothesis's example database: a test run's byproduct, like the cache
)
TASK_REPO_PREFIX = "ripsaw-task-"
# A task whose environment/ holds this file (every line `name==version --hash=sha256:...`) gets the wheels it pins
# downloaded by the host's pip into the build context's wheels/ (with the file) before its image is built: its
# Dockerfile installs them from there, offline (ripsaw.tasks.forge does so for a package's test dependencies).
WHEELS_REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True, slots=True)
class BoxLimits:
    """What one box may use. The agent's tool times depend on these, so they go into the run manifest."""

    cpus: float = 1.0
    memory_mb: int = 2048
    pids: int = 512
    file_size_mb: int = 256  # per file: a 2 GB file stops here
    tmp_mb: int = 256
    open_files: int = 1024


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int | None  # None: cut at its timeout
    output: str  # stdout and stderr interleaved, capped (head and tail) for an observation
    output_chars: int  # how much it printed in all
    duration_s: float
    timed_out: bool


class TaskImages:
    """Builds (once) and names the image of each repository task; thread-safe enough for one runner."""

    def __init__(self, client: docker.DockerClient, log: Callable[[str], None] = lambda line: None) -> None:
        self.client = client
        self.log = log
        self._built: dict[str, str] = {}
        self._lock = asyncio.Lock()

    def base(self) -> image.ImageStatus:
        st = image.image_status(self.client, image.image_tag(image.WORKSPACE))
        if not st.present:
            raise PrerequisiteError(
                f"the workspace image {st.tag} is missing (repository tasks build FROM it): "
                "run `ripsaw sandbox build --workspace`"
            )
        return st

    def tag(self, task_id: str, tests: RepoTests) -> str:
        base = self.base()
        digest = hashlib.sha256(f"{tests.content_sha256}\0{base.id}".encode()).hexdigest()[:12]
        return f"{TASK_REPO_PREFIX}{task_id.lower()}:{digest}"

    async def ensure(self, task_id: str, tests: RepoTests) -> str:
        """The task image's id, built now if its tag is missing."""
        async with self._lock:
            if task_id in self._built:
                return self._built[task_id]
            ident = await asyncio.to_thread(self._ensure, task_id, tests)
            self._built[task_id] = ident
            return ident

    def image_id(self, task_id: str, tests: RepoTests) -> str:
        """The id of the task's image, once `ensure` built it."""
        return self._built[task_id]

    def built(self) -> dict[str, str]:
        """Task id -> the id of its image, for every task `ensure` has seen so far."""
        return dict(self._built)

    def _ensure(self, task_id: str, tests: RepoTests) -> str:
        tag = self.tag(task_id, tests)
        st = image.image_status(self.client, tag)
        if not st.present:
            self.log(f"building the image of task {task_id} ({tag})")
            context = Path(tests.dir) / "environment"
            with tempfile.TemporaryDirectory(prefix="ripsaw-task-") as tmp:
                if (context / WHEELS_REQUIREMENTS).is_file():
                    # The build has no network: the host's pip downloads the pinned wheels into a copy of the context.
                    shutil.copytree(context, Path(tmp) / "environment", symlinks=True)
                    context = Path(tmp) / "environment"
                    image.download_wheels(context / WHEELS_REQUIREMENTS, context / "wheels", self.log)
                image.build_from(self.client, context, tag, {"BASE": image.image_tag(image.WORKSPACE)}, self.log)
            st = image.image_status(self.client, tag)
        if st.id is None:
            raise SandboxInfraError(f"the image of task {task_id} ({tag}) vanished after its build")
        return st.id


class Box:
    """One running container of a task image. Create with `await Box.start(...)`; always `await box.close()`."""

    def __init__(self, client: docker.DockerClient, cid: str, workdir: str, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.id = cid
        self.workdir = workdir
        self._pool = pool
        self.closed = False

    @classmethod
    async def start(
        cls,
        client: docker.DockerClient,
        image_id: str,
        *,
        workdir: str,
        limits: BoxLimits,
        run_id: str,
        label: str,
        pool: ThreadPoolExecutor,
        mounts: Mapping[str, str] | None = None,
    ) -> Box:
        loop = asyncio.get_running_loop()
        cid = await loop.run_in_executor(
            pool, _create, client, image_id, workdir, limits, run_id, label, dict(mounts or {})
        )
        return cls(client, cid, workdir, pool)

    async def exec(
        self,
        command: str,
        *,
        timeout_s: float,
        user: str = f"{AGENT_UID}:{AGENT_UID}",
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        cap_output: bool = True,
    ) -> ExecResult:
        """Run `command` with bash, killed (its whole process group) after `timeout_s`.

        The command's output goes to a file the wrapper reads back capped, never to the exec stream itself, so a
        background process that keeps the output open cannot hold the exec (or the attempt) past its timeout.
        """
        nonce = secrets.token_hex(8)
        out = f"/tmp/.ripsaw-{nonce}"
        # timeout(1) runs the command in its own process group and signals the whole group; KILL 2 s after TERM.
        wrapper = (
            f"timeout -k 2 {max(0.05, timeout_s):.3f} bash -c {shlex.quote(command)} >{out} 2>&1 </dev/null; rc=$?; "
            f"n=$(wc -c <{out}); echo {nonce} $rc $n; "
            + (
                f"if [ $n -le {output.HEAD + output.TAIL} ]; then cat {out}; "
                f"else head -c {output.HEAD} {out}; echo; echo {nonce}; tail -c {output.TAIL} {out}; fi; "
                if cap_output
                else f"cat {out}; "
            )
            + f"rm -f {out}"
        )
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        try:
            raw = await asyncio.wait_for(
                loop.run_in_executor(self._pool, self._exec, wrapper, user, workdir or self.workdir, env or {}),
                timeout_s + 20,
            )
        except TimeoutError:
            late = f"an exec in container {self.id[:12]} did not return in {timeout_s + 20:.0f} s"
            raise SandboxInfraError(late) from None
        duration = time.monotonic() - t0
        text = raw.decode("utf-8", "replace")
        head, _, body = text.partition("\n")
        parts = head.split()
        if len(parts) != 3 or parts[0] != nonce:
            raise SandboxInfraError(f"an exec in container {self.id[:12]} ended without its status ({head[:80]!r})")
        rc, n = int(parts[1]), int(parts[2])
        # timeout(1) exits 124 (TERM worked) or 137 (it had to KILL); a command exiting so early was not cut.
        timed_out = rc in (124, 137) and duration >= timeout_s
        if cap_output and n > output.HEAD + output.TAIL:
            first, _, last = body.partition(f"\n{nonce}\n")
            body = first + output.left_out(n - output.HEAD - output.TAIL) + last
        return ExecResult(None if timed_out else rc, body, n, duration, timed_out)

    def _exec(self, wrapper: str, user: str, workdir: str, env: dict[str, str]) -> bytes:
        api = self.client.api
        try:
            ex = api.exec_create(
                self.id, ["bash", "-c", wrapper], user=user, workdir=workdir, environment=env, stdin=False, tty=False
            )
            out = api.exec_start(ex["Id"], stream=False, demux=False)
        except image.ENGINE_ERRORS as e:
            raise SandboxInfraError(f"the Docker engine failed an exec: {image.one_line(e)}") from None
        return out if isinstance(out, bytes) else b""

    async def init_base(self) -> str:
        """Commit the untouched workspace into a git directory only root can read (outside the workspace), and
        return the commit: the base every snapshot diffs against. The agent may rewrite the workspace's own .git as
        it likes; snapshots never read it."""
        result = await self.exec(
            f"{_GIT_ENV} env -u GIT_WORK_TREE -u GIT_INDEX_FILE git init -q --bare $GIT_DIR "
            f"&& chmod -R go-rwx {_GIT_HOME} "
            f"&& {_GIT} add -A -- . {_EXCLUDES} "
            f"&& {_GIT} -c user.name=ripsaw -c user.email=base@ripsaw.invalid commit -q --allow-empty -m base "
            f"&& {_GIT} rev-parse HEAD",
            timeout_s=120,
            user="0:0",
            cap_output=False,
        )
        sha = result.output.strip().splitlines()[-1] if result.output.strip() else ""
        if result.exit_code != 0 or len(sha) != 40:
            raise SandboxInfraError(f"could not record the workspace's base commit: {result.output[-300:]}")
        return sha

    async def diff(self, base: str, max_bytes: int = 4 << 20) -> tuple[str, list[str]]:
        """The workspace's change since `base` as a binary git diff (tracked and new files, .gitignore honoured),
        and the files left out for being over 1 MiB. Run as root with Ripsaw's own git directory and config, so
        nothing in the workspace (hooks, attributes, config) runs or changes what is read."""
        result = await self.exec(
            f"{_GIT_ENV} big=$(find . -path ./.git -prune -o -type f -size +1024k -print | head -n 200 | cut -c3-); "
            'ex=(); while IFS= read -r f; do [ -n "$f" ] && ex+=(":(exclude,literal)$f"); done <<< "$big"; '
            f'{_GIT} add -A -- . {_EXCLUDES} "${{ex[@]}}" >/dev/null 2>&1; '
            'printf "%s\n" "$big" | head -c 20000; echo "--ripsaw-diff--"; '
            f"{_GIT} diff --cached --binary --full-index --no-ext-diff --no-textconv --no-color {base} "
            f"| head -c {max_bytes + 1}",
            timeout_s=120,
            user="0:0",
            cap_output=False,
        )
        if result.exit_code is None:
            raise SandboxInfraError("taking a workspace snapshot did not finish in 120 s")
        listed, sep, diff = result.output.partition("--ripsaw-diff--\n")
        if not sep:
            raise SandboxInfraError(f"a workspace snapshot failed: {result.output[-300:]}")
        return diff, [line for line in listed.splitlines() if line]

    async def put(self, path: str, files: dict[str, bytes], *, uid: int = 0, mode: int = 0o644) -> None:
        """Write `files` (relative name -> content) under the directory `path`, created owned by `uid` (as are the
        files). Not under /tmp: the engine copies into the container's own file system, beneath a tmpfs."""
        made = await self.exec(
            f"mkdir -p {shlex.quote(path)} && chown {uid}:{uid} {shlex.quote(path)}", timeout_s=30, user="0:0"
        )
        if made.exit_code != 0:
            raise SandboxInfraError(f"could not make {path} in the container: {made.output[-200:]}")
        data = _tar(files, uid, mode)
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(self._pool, self._put, path, data)
        if not ok:
            raise SandboxInfraError(f"the Docker engine refused to copy files into {path}")

    def _put(self, path: str, data: bytes) -> bool:
        try:
            return bool(self.client.api.put_archive(self.id, path, data))
        except image.ENGINE_ERRORS as e:
            raise SandboxInfraError(f"the Docker engine failed to copy files in: {image.one_line(e)}") from None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, _remove, self.client, self.id)


def _tar(files: dict[str, bytes], uid: int, mode: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs: set[str] = set()
        for name in sorted(files):
            parts = Path(name).parts
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, uid
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(files[name]), mode, uid, uid
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


def _create(
    client: docker.DockerClient,
    image_id: str,
    workdir: str,
    limits: BoxLimits,
    run_id: str,
    label: str,
    mounts: dict[str, str],
) -> str:
    api = client.api
    host_config = api.create_host_config(
        network_mode="none",
        binds={host: {"bind": inside, "mode": "ro"} for host, inside in mounts.items()} or None,
        tmpfs={"/tmp": f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
        # Only root execs (Ripsaw's own) hold these; the agent's processes run as a non-root user and get none.
        cap_drop=["ALL"],
        cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER"],
        security_opt=["no-new-privileges"],
        pids_limit=limits.pids,
        mem_limit=limits.memory_mb << 20,
        memswap_limit=limits.memory_mb << 20,
        nano_cpus=int(limits.cpus * 1e9),
        ulimits=[
            docker.types.Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
            docker.types.Ulimit(name="fsize", soft=limits.file_size_mb << 20, hard=limits.file_size_mb << 20),
            docker.types.Ulimit(name="core", soft=0, hard=0),
        ],
        log_config=docker.types.LogConfig(type="none"),
        init=True,  # reaps what the agent's commands leave behind, and dies on the kill
    )
    for attempt in range(3):
        try:
            container = api.create_container(
                image_id,
                command=["sleep", "infinity"],
                # The container's own user is root so that root execs (Ripsaw's) hold the capabilities added
                # below: Docker gives every process of a container whose user is non-root none at all. Execs as
                # the agent's user start without any (the kernel drops them on a non-root execve).
                user="0:0",
                working_dir=workdir,
                network_disabled=True,
                environment={"HOME": "/home/agent", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
                use_config_proxy=False,
                labels={LABEL_RUN: run_id, LABEL_ATTEMPT: label, LABEL_OWNER: owner_label()},
                host_config=host_config,
            )
            cid = str(container["Id"])
            try:
                api.start(cid)
            except BaseException:
                _remove(client, cid)
                raise
            return cid
        except docker.errors.ImageNotFound:
            raise SandboxInfraError(f"image {image_id[:19]} is gone") from None
        except image.ENGINE_ERRORS as e:
            if attempt == 2:
                raise SandboxInfraError(f"the Docker engine failed to start a workspace: {image.one_line(e)}") from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _remove(client: docker.DockerClient, cid: str) -> None:
    """Kill and remove; a failure leaves a labelled leftover that the next run reaps."""
    with contextlib.suppress(*image.ENGINE_ERRORS):
        client.api.remove_container(cid, force=True, v=True)


class Workspaces:
    """The engine connection, task images and worker threads that every box of one run shares."""

    def __init__(self, run_id: str, log: Callable[[str], None] = lambda line: None) -> None:
        self.run_id = run_id
        self.client = image.connect()
        self.images = TaskImages(self.client, log)
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="ripsaw-workspace")
        self.reaped = reap_leftovers(self.client)
        self.engine_version = image.engine_version(self.client)

    async def box(
        self,
        task_id: str,
        tests: RepoTests,
        label: str,
        limits: BoxLimits | None = None,
        *,
        image_id: str | None = None,
        mounts: Mapping[str, str] | None = None,
    ) -> Box:
        """A box of the task's image (or of `image_id`, an image derived from it: a scaffold's), with `mounts`
        (host directory -> path inside) bound read-only."""
        image_id = image_id or await self.images.ensure(task_id, tests)
        limits = limits or BoxLimits(cpus=tests.cpus, memory_mb=tests.memory_mb)
        return await Box.start(
            self.client,
            image_id,
            workdir=tests.workdir,
            limits=limits,
            run_id=self.run_id,
            label=label,
            pool=self.pool,
            mounts=mounts,
        )

    def describe(self, limits: BoxLimits | None = None) -> dict[str, Any]:
        base = self.images.base()
        return {
            "kind": "docker-workspace",
            "engine": self.engine_version,
            "workspace_image": base.tag,
            "workspace_image_id": base.id,
            "limits": _limits_dict(limits),
            "hardening": {
                "network_mode": "none",
                "agent_user": f"{AGENT_UID}:{AGENT_UID}",
                "cap_drop": ["ALL"],
                "cap_add_root_execs_only": ["CHOWN", "DAC_OVERRIDE", "FOWNER"],
                "security_opt": ["no-new-privileges"],
                "fresh_container_per_attempt": True,
            },
        }

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()


def _limits_dict(limits: BoxLimits | None) -> dict[str, Any]:
    limits = limits or BoxLimits()
    return {name: getattr(limits, name) for name in BoxLimits.__dataclass_fields__}
