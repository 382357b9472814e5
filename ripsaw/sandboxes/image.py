"""The Docker engine connection and Ripsaw's images: their tags, their status, how to build them.

Two recipes (`Recipe`): the sandbox image (`sandboxes/python/`: Python only, what candidate code runs in) and the
workspace image (`sandboxes/workspace/`: Python, git and pytest, what repository tasks build FROM, so what an
agent works in and what its verdict runs in). A tag is a hash of the recipe's files and of the offline build
script, so an image is rebuilt exactly when its recipe changes and `ripsaw sandbox build` is a no-op otherwise.
Two ways to build the same recipe:

- online: the Dockerfile's default base, python:3.11-slim, pulled from a registry;
- offline: `sandboxes/build-offline.sh` debootstraps Debian bookworm (Python 3.11, plus the recipe's packages)
  from a Debian mirror and imports it, then the Dockerfile is built with that base (no registry needed).

A recipe with a `requirements.txt` gets its wheels downloaded by the host's pip (from the host's package index,
hash-checked) into the build context: pip inside `docker build` would not see the host's index settings.
Which base an image came from is recorded in its `org.ripsaw.base` label; its id goes into run manifests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors
import requests.exceptions

from ripsaw.errors import PrerequisiteError, SandboxInfraError
from ripsaw.shipped import shipped_file

ONLINE_BASE = "python:3.11-slim"
SANDBOX_UID = 10001  # the Dockerfile's non-root user
ENGINE_TIMEOUT_S = 30  # API calls; short calls answer in milliseconds, this bounds a hung daemon

# Errors that mean "the engine did not do what we asked" (as opposed to a bug in Ripsaw).
ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    ConnectionError,
)

ENGINE_HINT = (
    "start the Docker engine (`sudo systemctl start docker`, or `sudo dockerd &`), check that your user may use "
    'it (`docker info`), or use the process sandbox (sandbox = "process")'
)

BuildMode = Literal["auto", "online", "offline"]


@dataclass(frozen=True, slots=True)
class Recipe:
    """One image Ripsaw builds: `sandboxes/<directory>/Dockerfile`, on an offline base with `packages`."""

    directory: str
    repo: str
    base_repo: str
    packages: str  # debootstrap --include for the offline base
    alias: str | None = None  # a stable name besides the hash tag (what task Dockerfiles say FROM)

    def files(self) -> tuple[str, ...]:
        names = ["Dockerfile", "requirements.txt"]
        return tuple(f"{self.directory}/{n}" for n in names if (recipe_dir() / self.directory / n).exists())


SANDBOX = Recipe("python", "ripsaw-sandbox-python", "ripsaw-sandbox-base", "python3")
WORKSPACE = Recipe(
    "workspace",
    "ripsaw-workspace-python",
    "ripsaw-workspace-base",
    "python3,python3-pip,git",
    alias="ripsaw-workspace:latest",
)


def recipe_dir() -> Path:
    """sandboxes/ with the recipes and the offline build script (the checkout's, or the wheel's copy)."""
    return shipped_file("sandboxes/python/Dockerfile").parents[1]


def image_tag(recipe: Recipe = SANDBOX) -> str:
    """`<repo>:<12 hex>`, a hash of everything the image is built from."""
    root = recipe_dir()
    h = hashlib.sha256()
    for rel in (*recipe.files(), "build-offline.sh"):
        h.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    if recipe.packages != SANDBOX.packages:
        h.update(recipe.packages.encode())
    return f"{recipe.repo}:{h.hexdigest()[:12]}"


def connect(timeout: int = ENGINE_TIMEOUT_S) -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (default: the local socket); PrerequisiteError if it is silent."""
    _probe_local_socket()
    try:
        # Room for a connection per concurrent engine call: attach streams hold theirs for a whole run.
        client = docker.from_env(timeout=timeout, max_pool_size=64)
    except ENGINE_ERRORS as e:
        raise PrerequisiteError(f"no Docker engine answers ({one_line(e)}): {ENGINE_HINT}") from None
    try:
        client.ping()
    except ENGINE_ERRORS as e:
        client.close()
        raise PrerequisiteError(f"no Docker engine answers ({one_line(e)}): {ENGINE_HINT}") from None
    return client


def _probe_local_socket() -> None:
    """Fail fast, and without the socket docker-py leaks on a refused connect, when a local engine is absent."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return
    path = host[len("unix://") :]
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except OSError as e:
            raise PrerequisiteError(f"no Docker engine answers at {path} ({e.strerror or e}): {ENGINE_HINT}") from None


def engine_version(client: docker.DockerClient) -> str:
    try:
        return str(client.version().get("Version", "unknown"))
    except ENGINE_ERRORS as e:
        raise SandboxInfraError(f"the Docker engine stopped answering: {one_line(e)}") from None


@dataclass(slots=True)
class ImageStatus:
    tag: str
    present: bool
    id: str | None = None
    repo_digests: list[str] = field(default_factory=list)
    base: str | None = None  # org.ripsaw.base: python:3.11-slim, or the debootstrapped base's tag
    created: str | None = None
    size_bytes: int | None = None


@dataclass(slots=True)
class EngineStatus:
    engine: str | None  # engine version; None when no engine answers
    engine_error: str | None
    image: ImageStatus

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def image_status(client: docker.DockerClient, tag: str | None = None) -> ImageStatus:
    tag = tag or image_tag()
    try:
        attrs = client.api.inspect_image(tag)
    except docker.errors.ImageNotFound:
        return ImageStatus(tag=tag, present=False)
    except ENGINE_ERRORS as e:
        raise SandboxInfraError(f"the Docker engine failed to inspect {tag}: {one_line(e)}") from None
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ImageStatus(
        tag=tag,
        present=True,
        id=attrs["Id"],
        repo_digests=list(attrs.get("RepoDigests") or []),
        base=labels.get("org.ripsaw.base"),
        created=attrs.get("Created"),
        size_bytes=attrs.get("Size"),
    )


def status(recipe: Recipe = SANDBOX) -> EngineStatus:
    """Engine and image facts for `ripsaw sandbox status`; never raises for a missing engine."""
    tag = image_tag(recipe)
    try:
        client = connect(timeout=10)
    except PrerequisiteError as e:
        return EngineStatus(engine=None, engine_error=str(e), image=ImageStatus(tag=tag, present=False))
    try:
        return EngineStatus(engine=engine_version(client), engine_error=None, image=image_status(client, tag))
    except SandboxInfraError as e:
        return EngineStatus(engine=None, engine_error=str(e), image=ImageStatus(tag=tag, present=False))
    finally:
        client.close()


def build_image(
    client: docker.DockerClient,
    mode: BuildMode = "auto",
    force: bool = False,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    recipe: Recipe = SANDBOX,
) -> ImageStatus:
    """Build the recipe's image unless the expected tag exists (or `force`); return its status.

    `auto` uses the registry base when it is present or can be pulled, and the offline path otherwise.
    """
    tag = image_tag(recipe)
    current = image_status(client, tag)
    if current.present and not force:
        log(f"{tag} is up to date ({current.id})")
        _alias(client, recipe, tag)
        return current
    if mode == "auto":
        mode = "online" if _have_online_base(client, log) else "offline"
    if mode == "online":
        base = ONLINE_BASE
        if not _have_online_base(client, log):
            raise PrerequisiteError(
                f"cannot pull {ONLINE_BASE} (no registry reachable?): "
                "build offline with `ripsaw sandbox build --offline`"
            )
    else:
        base = f"{recipe.base_repo}:{tag.partition(':')[2]}"
        if force or not image_status(client, base).present:
            _build_offline_base(base, recipe.packages, log)
    log(f"building {tag} on {base}")
    with tempfile.TemporaryDirectory(prefix="ripsaw-build-") as tmp:
        context = Path(tmp) / recipe.directory
        shutil.copytree(recipe_dir() / recipe.directory, context)
        requirements = context / "requirements.txt"
        if requirements.exists():
            download_wheels(requirements, context / "wheels", log)
        build_from(client, context, tag, {"BASE": base}, log)
    _alias(client, recipe, tag)
    return image_status(client, tag)


def build_from(
    client: docker.DockerClient, context: Path, tag: str, buildargs: dict[str, str], log: Callable[[str], None]
) -> None:
    """`docker build` of `context` as `tag`, never pulling; its output goes to `log` line by line."""
    try:
        _, lines = client.images.build(
            path=str(context), tag=tag, buildargs=buildargs, pull=False, rm=True, forcerm=True
        )
        for chunk in lines:
            text = str(chunk.get("stream", "")).rstrip() if isinstance(chunk, dict) else ""
            if text:
                log(text)
    except docker.errors.BuildError as e:
        raise SandboxInfraError(f"building {tag} failed: {one_line(e)}") from None
    except ENGINE_ERRORS as e:
        raise SandboxInfraError(f"the Docker engine failed while building {tag}: {one_line(e)}") from None


def _alias(client: docker.DockerClient, recipe: Recipe, tag: str) -> None:
    if recipe.alias is None:
        return
    repo, _, version = recipe.alias.partition(":")
    try:
        client.api.tag(tag, repo, version or "latest")
    except ENGINE_ERRORS as e:
        raise SandboxInfraError(f"the Docker engine failed to tag {tag} as {recipe.alias}: {one_line(e)}") from None


def download_wheels(requirements: Path, dest: Path, log: Callable[[str], None]) -> None:
    """The requirements' wheels from the host's package index, for Python 3.11 (the images' Python); the
    requirements file goes with them."""
    log(f"downloading the wheels of {requirements.name} with the host's pip")
    dest.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--no-deps",
        "--python-version",
        "3.11",
        "--require-hashes",
        "-r",
        str(requirements),
        "--dest",
        str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PrerequisiteError(
            f"could not download the wheels of {requirements.name} ({one_line(RuntimeError(proc.stderr[-600:]))}): "
            "the host's pip needs its package index (PIP_INDEX_URL / PIP_FIND_LINKS)"
        )
    shutil.copy(requirements, dest / "requirements.txt")


def _have_online_base(client: docker.DockerClient, log: Callable[[str], None]) -> bool:
    if image_status(client, ONLINE_BASE).present:
        return True
    log(f"pulling {ONLINE_BASE}")
    repo, _, version = ONLINE_BASE.partition(":")
    try:
        client.images.pull(repo, tag=version)
    except ENGINE_ERRORS as e:
        log(f"cannot pull {ONLINE_BASE}: {one_line(e)}")
        return False
    return True


def _build_offline_base(base: str, packages: str, log: Callable[[str], None]) -> None:
    script = recipe_dir() / "build-offline.sh"
    log(f"building the offline base {base} with {script} (debootstrap {packages}; about 1-2 minutes)")
    # The script's own progress goes to our stderr as it happens: it is the slow part of a first build.
    proc = subprocess.run(["sh", str(script), base, packages], stdin=subprocess.DEVNULL, check=False)
    if proc.returncode == 2:
        raise PrerequisiteError(f"{script} could not run (exit 2, see above): it needs root and debootstrap")
    if proc.returncode != 0:
        raise SandboxInfraError(f"{script} failed with exit code {proc.returncode} (see its output above)")


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 300 else text[:297] + "..."
