"""Task source `swebench:DATASET`: SWE-bench-format instances as repository tasks, scored by the repo verdict.

DATASET is a local JSON Lines (or JSON array) file of instances, or a Hugging Face dataset in SWE-bench's layout
(`princeton-nlp/SWE-bench_Verified`, `princeton-nlp/SWE-bench_Lite`, ...; `tasks.split` defaults to "test",
`tasks.revision` pins it, `tasks.data_files` reads a local Parquet/JSON mirror). An instance's fields:

    instance_id  repo  base_commit  problem_statement  patch  test_patch  FAIL_TO_PASS  PASS_TO_PASS
    version  environment_setup_commit   (optional; kept as metadata)

FAIL_TO_PASS / PASS_TO_PASS are lists of test ids, or JSON-encoded lists as on the hub. Each selected instance
becomes a repository task (ripsaw.tasks.task.RepoTests) written out as a task directory in Harbor's layout under
the cache (RIPSAW_SWEBENCH_CACHE, default ~/.cache/ripsaw/swebench):

    instruction.md            the problem statement: what the agent is told
    environment/Dockerfile    the workspace: the repository at base_commit in /testbed (see below)
    tests/<path in the repo>  the files the test patch adds or changes, as they are after it: the hidden tests,
                              copied over the workspace (tests_into ".") after the agent's change is applied
    solution/solve.sh         applies the gold `patch`, so `ripsaw tasks validate` proves the instance

The workspace comes from, in this order:

1. a prebuilt per-instance image, named as the `swebench` package names them, when the Docker engine has it:
   `sweb.eval.x86_64.<instance_id>:latest` (built by its harness), `swebench/sweb.eval.x86_64.<instance_id with
   "__" written "_1776_">:latest` (pulled from Docker Hub) or `sweb.eval.x86_64.<the same>:latest` (that one
   retagged). The repository is at /testbed and its dependencies in the conda environment `testbed`; the task
   image adds the agent's user and puts the environment on PATH;
2. a local repository cache (`tasks.repo_cache`, or `--repo-cache` for `ripsaw tasks validate`): a directory of
   clones, `<owner>__<name>`, `<owner>/<name>` or `<name>`, holding base_commit. The tree at base_commit goes
   into an image built FROM Ripsaw's workspace image (Python 3.11, git, pytest; nothing else is installed, so
   this suits repositories whose tests need only those, or that vendor what they import).

The verdict runs pytest, so only instances whose test ids are pytest node ids (`path/to/test_x.py::name`) are
supported: the repositories SWE-bench's harness itself tests with pytest (astropy, flask, matplotlib, pylint,
pytest, requests, scikit-learn, seaborn, sphinx, xarray, ...). Django (tests/runtests.py) and SymPy (bin/test)
name tests another way; their instances are refused with the reason. Everything is checked when the tasks are
selected: a missing field, a patch that does not apply at base_commit, a commit the cache lacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ripsaw.errors import ConfigError, InvalidKey
from ripsaw.tasks.base import TaskSource, resolve_dir, resolve_file
from ripsaw.tasks.task import RepoTests, Task
from ripsaw.types import TasksSpec

CACHE_ENV = "RIPSAW_SWEBENCH_CACHE"
WORKDIR = "/testbed"  # where SWE-bench's images keep the repository; the repo-cache images use it too
IMAGE_PREFIX = "sweb.eval.x86_64."
HUB_NAMESPACE = "swebench"  # the Docker Hub namespace of the harness's published images
# Bumped when what a task directory holds changes, so a cached one is rewritten.
LAYOUT_VERSION = 1
REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch")
ID_LISTS = ("FAIL_TO_PASS", "PASS_TO_PASS")
OPTIONAL = ("version", "environment_setup_commit")
# The repositories SWE-bench's harness runs with another test runner, and that runner.
OTHER_RUNNERS = {"django/django": "Django's tests/runtests.py", "sympy/sympy": "SymPy's bin/test"}
PYTEST_REPOS = (
    "astropy/astropy",
    "marshmallow-code/marshmallow",
    "matplotlib/matplotlib",
    "mwaskom/seaborn",
    "pallets/flask",
    "psf/requests",
    "pydata/xarray",
    "pylint-dev/pylint",
    "pytest-dev/pytest",
    "scikit-learn/scikit-learn",
    "sphinx-doc/sphinx",
    "sqlfluff/sqlfluff",
)
# A pytest node id: a test file in the repository, then a function, or classes and a method; parameters after.
_NODE = re.compile(r"[A-Za-z0-9_./-]+\.py(::[A-Za-z_][A-Za-z0-9_]*)+(\[.*\])?")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA = re.compile(r"[0-9a-f]{7,40}")
# Task-level limits: SWE-bench repositories are bigger than the bundled tasks, and so are their test runs.
VERIFIER_TIMEOUT_S = 900.0
MEMORY_MB = 4096


@dataclass(frozen=True, slots=True)
class Instance:
    instance_id: str
    repo: str  # owner/name on GitHub
    base_commit: str
    problem_statement: str
    patch: str  # the gold fix
    test_patch: str  # the tests that decide it
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    extra: dict[str, str]  # version, environment_setup_commit, ... (metadata only)
    where: str  # "file:line" or "hf:name row N", for messages


# -- the source and its options --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweBenchSource(TaskSource):
    """`swebench:DATASET`: the argument is a local file when one exists by that name, else a hub dataset."""

    def check(self, argument: str, tasks: dict[str, Any], base: Path) -> None:
        if not argument:
            raise InvalidKey("tasks.source", f"'{self.name}:' needs {self.argument_is}, e.g. {self.example!r}")
        if _looks_like_file(argument, base):
            tasks["source"] = f"{self.name}:{resolve_file(argument, base, 'tasks.source')}"
            for key in ("split", "revision", "data_files"):
                if key in tasks:
                    raise InvalidKey(f"tasks.{key}", f"applies to a Hugging Face dataset; {argument!r} is a file")
        for key in ("preset", "subset", "fields"):
            if key in tasks:
                raise InvalidKey(f"tasks.{key}", f"does not apply to the {self.name}: source (its layout is fixed)")
        if "data_files" in tasks and "://" not in tasks["data_files"]:
            tasks["data_files"] = resolve_file(tasks["data_files"], base, "tasks.data_files")
        if "repo_cache" in tasks:
            tasks["repo_cache"] = resolve_dir(tasks["repo_cache"], base, "tasks.repo_cache")


def _looks_like_file(argument: str, base: Path) -> bool:
    given = Path(argument).expanduser()
    if given.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return True
    return (given if given.is_absolute() else base / given).is_file() or given.is_file()


def load_source(argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    """Every instance as a task, not yet written out (`prepare` does that for the selected ones)."""
    instances = read_instances(argument, spec, base_dir)
    return [_task(inst, workspace=None, task_dir="") for inst in instances]


def prepare(tasks: list[Task], spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    """The selected tasks, each with its task directory written and its workspace chosen."""
    by_id = {i.instance_id: i for i in read_instances(spec.source.partition(":")[2].strip(), spec, base_dir)}
    selected = [by_id[t.id] for t in tasks]
    unsupported = [i for i in selected if _not_pytest(i)]
    if unsupported:
        raise ConfigError(_unsupported_message(unsupported, len(selected)))
    cache = Path(spec.repo_cache) if spec.repo_cache else None
    images = _PrebuiltImages()
    try:
        return [materialize(inst, cache, images) for inst in selected]
    finally:
        images.close()


# -- reading instances -----------------------------------------------------------------------------------------------


def read_instances(argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Instance]:
    path = Path(argument).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    rows = list(_file_rows(path) if path.is_file() else _hub_rows(argument, spec, base_dir))
    if not rows:
        raise ConfigError(f"swebench:{argument}: no instances in it")
    instances = [parse_instance(row, where) for where, row in rows]
    seen: dict[str, str] = {}
    for inst in instances:
        if inst.instance_id in seen:
            raise ConfigError(f"{inst.where}: instance_id {inst.instance_id!r} repeats {seen[inst.instance_id]}")
        seen[inst.instance_id] = inst.where
    return instances


def _file_rows(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """A JSON Lines file, or one JSON array of instances."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: invalid JSON: {e}") from None
        if not isinstance(rows, list):
            raise ConfigError(f"{path}: expected an array of instances")
        for i, row in enumerate(rows):
            yield f"{path}[{i}]", _object(row, f"{path}[{i}]")
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}:{n}: invalid JSON: {e}") from None
        yield f"{path}:{n}", _object(row, f"{path}:{n}")


def _object(row: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(row, dict):
        raise ConfigError(f"{where}: expected a JSON object (an instance), got {type(row).__name__}")
    return row


def _hub_rows(name: str, spec: TasksSpec, base_dir: Path | None) -> Iterator[tuple[str, Mapping[str, Any]]]:
    from ripsaw.tasks.hf import Preset, _load_rows

    layout = Preset("swebench", name, None, "test", (*REQUIRED, *ID_LISTS), lambda row, source: _never())
    rows = _load_rows(
        name,
        layout,
        split=spec.split,
        revision=spec.revision,
        subset=None,
        data_files=spec.data_files,
        base_dir=base_dir,
    )
    for i, row in enumerate(rows):
        yield f"swebench:{name} row {i}", row


def _never() -> Task:
    raise AssertionError("the swebench layout builds its tasks itself")


def parse_instance(row: Mapping[str, Any], where: str) -> Instance:
    for key in REQUIRED:
        if key not in row:
            raise ConfigError(f"{where}: missing field {key!r} (an instance needs {', '.join(REQUIRED + ID_LISTS)})")
        if not isinstance(row[key], str) or not row[key].strip():
            raise ConfigError(f"{where}: {key}: expected a non-empty string")
    iid = row["instance_id"]
    if not _ID.fullmatch(iid):
        raise ConfigError(f"{where}: instance_id: {iid!r} is not an id (letters, digits, '.', '_', '-')")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", row["repo"]):
        raise ConfigError(f"{where}: repo: expected 'owner/name', got {row['repo']!r}")
    if not _SHA.fullmatch(row["base_commit"]):
        raise ConfigError(f"{where}: base_commit: expected a git commit hash, got {row['base_commit']!r}")
    lists = {key: _id_list(row, key, where) for key in ID_LISTS}
    if not lists["FAIL_TO_PASS"]:
        raise ConfigError(f"{where}: FAIL_TO_PASS: empty (nothing would tell a fix from no change)")
    both = sorted(set(lists["FAIL_TO_PASS"]) & set(lists["PASS_TO_PASS"]))
    if both:
        raise ConfigError(f"{where}: {both[0]!r} is in both FAIL_TO_PASS and PASS_TO_PASS")
    return Instance(
        instance_id=iid,
        repo=row["repo"],
        base_commit=row["base_commit"],
        problem_statement=row["problem_statement"].strip(),
        patch=row["patch"],
        test_patch=row["test_patch"],
        fail_to_pass=lists["FAIL_TO_PASS"],
        pass_to_pass=lists["PASS_TO_PASS"],
        extra={k: str(row[k]) for k in OPTIONAL if row.get(k) not in (None, "")},
        where=where,
    )


def _id_list(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    if key not in row:
        raise ConfigError(f"{where}: missing field {key!r} (a list of test ids, or one JSON-encoded)")
    value = row[key]
    if isinstance(value, str):  # the hub stores these as JSON-encoded lists
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: {key}: not a JSON-encoded list: {e}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key}: expected a list of test ids")
    if len(set(value)) != len(value):
        dup = next(v for v in value if value.count(v) > 1)
        raise ConfigError(f"{where}: {key}: lists {dup!r} twice")
    return tuple(value)


# -- which instances the pytest verdict can score --------------------------------------------------------------------


def _not_pytest(inst: Instance) -> str | None:
    """Why the verdict cannot score this instance with pytest, or None."""
    for key, ids in (("FAIL_TO_PASS", inst.fail_to_pass), ("PASS_TO_PASS", inst.pass_to_pass)):
        for test in ids:
            if not _NODE.fullmatch(test):
                return f"{key} id {test!r} is not a pytest node id (path/to/test_x.py::name)"
    return None


def _unsupported_message(bad: list[Instance], selected: int) -> str:
    first = bad[0]
    runner = OTHER_RUNNERS.get(first.repo)
    uses = f"; {first.repo} is tested with {runner}, not pytest" if runner else ""
    by_repo: dict[str, int] = {}
    for inst in bad:
        by_repo[inst.repo] = by_repo.get(inst.repo, 0) + 1
    counts = ", ".join(f"{repo} {n}" for repo, n in sorted(by_repo.items(), key=lambda kv: -kv[1]))
    return (
        f"{first.where}: {first.instance_id}: {_not_pytest(first)}{uses}. The swebench: source scores with pytest "
        f"(repositories such as {', '.join(PYTEST_REPOS[:6])}, ...); {len(bad)} of {selected} selected instance(s) "
        f"use another runner ({counts}): select the others with tasks.ids"
    )


# -- the task --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workspace:
    kind: str  # "image" (a prebuilt SWE-bench image) or "repo-cache"
    image: str = ""  # the prebuilt image's name
    image_id: str = ""  # and id: a rebuilt image is another task


def _task(inst: Instance, workspace: Workspace | None, task_dir: str) -> Task:
    return Task(
        id=inst.instance_id,
        prompt=inst.problem_statement,
        entry_point="",
        tests=RepoTests(
            dir=task_dir,
            content_sha256=content_key(inst, workspace),
            workdir=WORKDIR,
            tests_into=".",
            fail_to_pass=_sentinel_first(inst),
            pass_to_pass=inst.pass_to_pass,
            trust="tests",
            verifier_timeout_s=VERIFIER_TIMEOUT_S,
            memory_mb=MEMORY_MB,
        ),
        metadata={
            "source": "swebench",
            "repo": inst.repo,
            "base_commit": inst.base_commit,
            **inst.extra,
            **({"workspace": workspace.kind} if workspace else {}),
            **({"image": workspace.image} if workspace and workspace.image else {}),
        },
    )


def content_key(inst: Instance, workspace: Workspace | None) -> str:
    """What decides the task: the instance and where its workspace comes from (base_commit pins a cache's tree;
    a prebuilt image is pinned by its id). The cache's location on this machine is left out."""
    decided = {
        "layout": LAYOUT_VERSION,
        **{f.name: getattr(inst, f.name) for f in dataclasses.fields(inst) if f.name not in ("where", "extra")},
        "workspace": [workspace.kind, workspace.image_id] if workspace else None,
    }
    return "sha256:" + hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


def _sentinel_first(inst: Instance) -> tuple[str, ...]:
    """FAIL_TO_PASS with an id from a file the test patch writes first: the verdict hides its sentinel in the first
    id's file, which must be one of the hidden test files."""
    written = set(patched_files(inst.test_patch, f"{inst.where}: test_patch"))
    inside = [t for t in inst.fail_to_pass if t.split("::")[0] in written]
    return (*inside, *(t for t in inst.fail_to_pass if t not in inside))


def patched_files(patch: str, where: str) -> list[str]:
    """The files a git diff adds or changes (deleted ones left out), in order."""
    files: list[str] = []
    for section in re.split(r"^(?=diff --git )", patch, flags=re.MULTILINE):
        if not section.startswith("diff --git "):
            continue
        lines = section.split("\n")
        if any(line.startswith("deleted file mode") for line in lines[1:6]):
            continue
        target = next((line[6:] for line in lines if line.startswith("+++ b/")), None)
        target = target or next((line[10:] for line in lines if line.startswith("rename to ")), None)
        if target is None:
            m = re.match(r"diff --git a/(\S+) b/(\S+)$", lines[0])
            target = m.group(2) if m else None
        if target is None or target.startswith('"'):
            raise ConfigError(f"{where}: cannot read the file name in {lines[0][:120]!r}")
        path = PurePosixPath(target)
        if path.is_absolute() or ".." in path.parts or ".git" in path.parts:
            raise ConfigError(f"{where}: writes outside the repository: {target!r}")
        files.append(str(path))
    if not files:
        raise ConfigError(f"{where}: not a git diff (no 'diff --git' section that adds or changes a file)")
    return files


# -- writing the task directory --------------------------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ripsaw" / "swebench")


def materialize(inst: Instance, repo_cache: Path | None, images: _PrebuiltImages) -> Task:
    """The instance as a task whose directory exists (written now unless an identical one is cached)."""
    names = prebuilt_images(inst.instance_id)
    image, image_id = next(((n, i) for n in names if (i := images.image_id(n)) is not None), (names[0], None))
    # A prebuilt image wins: it holds the repository's dependencies, which a bare clone does not.
    clone = find_clone(repo_cache, inst) if image_id is None and repo_cache is not None else None
    if image_id is not None:
        workspace = Workspace("image", image=image, image_id=image_id)
    elif clone is not None:
        workspace = Workspace("repo-cache")
    else:
        raise ConfigError(_no_workspace(inst, repo_cache, images.reason))
    key = content_key(inst, workspace)
    task_dir = cache_dir() / f"{inst.instance_id}-{key.removeprefix('sha256:')[:16]}"
    if not (task_dir / ".complete").is_file():
        _write(inst, workspace, clone, images, task_dir)
    return _task(inst, workspace, str(task_dir))


def prebuilt_images(instance_id: str) -> list[str]:
    """The names the `swebench` package gives an instance's evaluation image: as its harness builds it, as Docker
    Hub serves it (where "__" may not appear), and that one without its namespace."""
    local = f"{IMAGE_PREFIX}{instance_id}:latest".lower()
    hub = local.replace("__", "_1776_")
    return [local, f"{HUB_NAMESPACE}/{hub}", hub]


def _no_workspace(inst: Instance, repo_cache: Path | None, engine: str | None) -> str:
    names = " or ".join(prebuilt_images(inst.instance_id)[:2])
    have_image = f"no image {names}" + (f" ({engine})" if engine else "")
    if repo_cache is None:
        have_cache = "no repository cache (tasks.repo_cache, or --repo-cache)"
    else:
        names = ", ".join(str(repo_cache / n) for n in _clone_names(inst.repo))
        have_cache = f"no clone of {inst.repo} in {repo_cache} (looked for {names})"
    return (
        f"{inst.where}: {inst.instance_id}: no workspace: {have_image}, and {have_cache}. Build the image with the "
        f"swebench harness, or clone https://github.com/{inst.repo} into the cache (tasks/README.md, SWE-bench)"
    )


def _clone_names(repo: str) -> list[str]:
    owner, name = repo.split("/")
    return [f"{owner}__{name}", f"{owner}/{name}", name]


def find_clone(repo_cache: Path, inst: Instance) -> Path | None:
    """The clone of the instance's repository in the cache, checked to hold base_commit; None when there is none."""
    for rel in _clone_names(inst.repo):
        path = repo_cache / rel
        if path.is_dir():
            found = _git(path, "rev-parse", "--verify", "--quiet", f"{inst.base_commit}^{{commit}}", check=False)
            if found.returncode != 0:
                raise ConfigError(
                    f"{inst.where}: {inst.instance_id}: the clone {path} lacks base_commit {inst.base_commit} "
                    f"(update it: git -C {path} fetch origin)"
                )
            return path
    return None


def _git(
    clone: Path, *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """git against the clone, with no system or global config, hooks or pager acting."""
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in ("HOME", "XDG_CONFIG_HOME")
    }
    full_env = {**base_env, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **(env or {})}
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*", "-C", str(clone), *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        check=False,
    )
    if check and result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()[-300:]
        raise ConfigError(f"git {' '.join(args[:2])} in {clone} failed: {said}")
    return result


def _write(inst: Instance, ws: Workspace, clone: Path | None, images: _PrebuiltImages, task_dir: Path) -> None:
    """Write the task directory beside its final place, then move it there whole: a crash leaves no half task."""
    task_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{inst.instance_id}-", dir=task_dir.parent))
    try:
        (tmp / "instruction.md").write_text(inst.problem_statement + "\n", encoding="utf-8")
        env = tmp / "environment"
        env.mkdir()
        hidden = patched_files(inst.test_patch, f"{inst.where}: test_patch")
        if clone is not None:
            contents = _hidden_from_clone(inst, clone, hidden)
            _export_tree(clone, inst.base_commit, env / "repo")
            (env / "Dockerfile").write_text(_REPO_CACHE_DOCKERFILE, encoding="utf-8")
        else:
            contents = images.hidden_from_image(inst, ws.image, hidden)
            (env / "Dockerfile").write_text(_IMAGE_DOCKERFILE.format(image=ws.image), encoding="utf-8")
        for rel, data in contents.items():
            if PurePosixPath(rel).name == "test.sh":
                raise ConfigError(f"{inst.where}: test_patch writes {rel!r}; a hidden file named test.sh is reserved")
            out = tmp / "tests" / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        solution = tmp / "solution"
        solution.mkdir()
        (solution / "gold.patch").write_text(inst.patch, encoding="utf-8")
        (solution / "solve.sh").write_text(_SOLVE, encoding="utf-8")
        (tmp / ".complete").write_text(json.dumps({"instance_id": inst.instance_id, "workspace": ws.kind}) + "\n")
        if task_dir.exists():  # a half-written leftover of an older crash (no .complete)
            shutil.rmtree(task_dir)
        os.replace(tmp, task_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_REPO_CACHE_DOCKERFILE = """\
# A SWE-bench instance's repository at base_commit, on Ripsaw's workspace image (Python 3.11, git, pytest).
ARG BASE=ripsaw-workspace:latest
FROM ${BASE}
USER root
RUN mkdir -p /testbed && chown 10001:10001 /testbed
USER 10001:10001
COPY --chown=10001:10001 repo/ /testbed/
WORKDIR /testbed
RUN git -c init.defaultBranch=main init -q \\
 && git add -A \\
 && GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z \\
    git -c user.name=Ripsaw -c user.email=tasks@ripsaw.invalid commit -q -m "Base"
"""

# The prebuilt image already holds /testbed and its conda environment; Ripsaw adds what its boxes expect: the
# agent's user (uid 10001) owning the repository, and the environment's python first on PATH (SWE-bench activates
# it from root's .bashrc, which `docker exec` never reads).
_IMAGE_DOCKERFILE = """\
# A SWE-bench instance's prebuilt evaluation image, made fit for Ripsaw's workspace boxes.
FROM {image}
USER root
RUN (id -u agent >/dev/null 2>&1 || useradd --uid 10001 --user-group --create-home --home-dir /home/agent \\
        --shell /bin/bash agent) \\
 && chown -R 10001:10001 /testbed \\
 && git config --system --add safe.directory /testbed
ENV PATH=/opt/miniconda3/envs/testbed/bin:/opt/miniconda3/bin:$PATH PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
WORKDIR /testbed
USER 10001:10001
"""

_SOLVE = """\
#!/bin/bash
# The instance's gold patch, applied to the workspace.
set -euo pipefail
git apply --whitespace=nowarn "$(dirname "$0")/gold.patch"
"""


def _export_tree(clone: Path, commit: str, out: Path) -> None:
    archive = _git(clone, "archive", "--format=tar", commit)
    out.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(out, filter="data")  # no links out of the tree, no devices, no absolute paths


def _hidden_from_clone(inst: Instance, clone: Path, hidden: list[str]) -> dict[str, bytes]:
    """The hidden files after the test patch, applied to base_commit in a scratch index (the clone is not touched);
    the gold patch is checked to apply there too."""
    with tempfile.TemporaryDirectory(prefix="ripsaw-swebench-") as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(clone, "read-tree", inst.base_commit, env=index)
        for name, patch in (("patch", inst.patch), ("test_patch", inst.test_patch)):
            checked = _git(clone, "apply", "--cached", "--check", env=index, stdin=patch.encode(), check=False)
            if checked.returncode != 0:
                why = checked.stderr.decode(errors="replace").strip()[-300:]
                raise ConfigError(f"{inst.where}: {name} does not apply at base_commit {inst.base_commit}: {why}")
        _git(clone, "apply", "--cached", env=index, stdin=inst.test_patch.encode())
        out: dict[str, bytes] = {}
        for rel in hidden:
            listed = _git(clone, "ls-files", "--stage", "--", rel, env=index).stdout.decode().split()
            out[rel] = _git(clone, "cat-file", "blob", listed[1]).stdout
        return out


class _PrebuiltImages:
    """The Docker engine, asked which prebuilt SWE-bench images it has (and for their ids). No engine: no images."""

    def __init__(self) -> None:
        from ripsaw.errors import PrerequisiteError
        from ripsaw.sandboxes import image

        self.reason: str | None = None
        self._client: Any = None
        try:
            self._client = image.connect()
        except PrerequisiteError as e:  # no engine: the repository cache is the way then
            self.reason = str(e)[:200]

    def image_id(self, name: str) -> str | None:
        if self._client is None:
            return None
        from ripsaw.sandboxes import image

        status = image.image_status(self._client, name)
        return status.id if status.present else None

    def hidden_from_image(self, inst: Instance, name: str, hidden: list[str]) -> dict[str, bytes]:
        """The hidden files after the test patch, read from a throwaway container of the prebuilt image (no
        network, nothing started but git and tar); the gold patch is checked to apply there too."""
        from ripsaw.sandboxes import image
        from ripsaw.sandboxes.workspace import _tar

        api = self._client.api
        work = "/var/lib/ripsaw-swebench"
        script = (
            f"set -e; cd {WORKDIR}; "
            f"if ! git apply --check --whitespace=nowarn {work}/gold.patch 2>{work}/err; then "
            f"echo 'patch does not apply:'; cat {work}/err; exit 3; fi; "
            f"if ! git apply --whitespace=nowarn {work}/test.patch 2>{work}/err; then "
            f"echo 'test_patch does not apply:'; cat {work}/err; exit 3; fi; "
            f"tar -cf {work}/hidden.tar -T {work}/files"
        )
        files = {
            "gold.patch": inst.patch.encode(),
            "test.patch": inst.test_patch.encode(),
            "files": "".join(f"{h}\n" for h in hidden).encode(),
        }
        try:
            cid = api.create_container(
                name,
                command=["bash", "-c", script],
                user="0:0",
                network_disabled=True,
                host_config=api.create_host_config(network_mode="none"),
            )["Id"]
        except image.ENGINE_ERRORS as e:
            raise ConfigError(f"{inst.where}: {inst.instance_id}: cannot start {name}: {image.one_line(e)}") from None
        try:
            api.put_archive(cid, "/", _tar({f"{work[1:]}/{k}": v for k, v in files.items()}, 0, 0o644))
            api.start(cid)
            status = api.wait(cid, timeout=300).get("StatusCode")
            if status != 0:
                said = api.logs(cid).decode(errors="replace").strip()[-300:]
                raise ConfigError(f"{inst.where}: {inst.instance_id}: in {name}: {said} (exit {status})")
            stream, _ = api.get_archive(cid, f"{work}/hidden.tar")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as outer:
                inner_file = outer.extractfile("hidden.tar")
                assert inner_file is not None  # get_archive of a file is a tar holding that file
                inner_bytes = inner_file.read()
            with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
                out = {}
                for rel in hidden:
                    member = inner.extractfile(rel)
                    if member is None:
                        raise ConfigError(f"{inst.where}: {inst.instance_id}: {rel} is not a file after test_patch")
                    out[rel] = member.read()
                return out
        except image.ENGINE_ERRORS as e:
            raise ConfigError(f"{inst.where}: {inst.instance_id}: reading {name}: {image.one_line(e)}") from None
        finally:
            with contextlib.suppress(*image.ENGINE_ERRORS):
                api.remove_container(cid, force=True, v=True)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


SOURCE = SweBenchSource(
    "swebench",
    "ripsaw.tasks.swebench:load_source",
    argument="DATASET",
    argument_is="a JSON Lines file of instances or a Hugging Face dataset",
    example="swebench:princeton-nlp/SWE-bench_Verified",
    hf_options=True,
    prepare="ripsaw.tasks.swebench:prepare",
)
