"""`ripsaw tasks forge PACKAGE==VERSION`: repository tasks made by injecting one bug into a real package.

1. The package's source distribution comes from a PyPI-style index (the simple API, its sha256 checked) into a
   cache; it is unpacked, and the package's import directory, its test directory and the top-level files are the
   workspace (docs, CI files and the like are left out).
2. A derived image of Ripsaw's workspace image holds it at /app (a .pth file puts its import root on the path), with
   what its tests need beyond pytest when `requirements` names it (hashed pins; the task's environment carries the
   file, and its image installs the wheels offline: ripsaw.sandboxes.workspace.WHEELS_REQUIREMENTS), and one box of
   it (ripsaw.sandboxes.workspace.Box) runs the test suite exactly as the repository verdict will run it (Ripsaw's
   own ini, plugin autoloading and the cache off; PYTHONHASHSEED fixed so messages repeat): the passing
   tests are what mutations are checked against.
3. The functions whose names the test files use are the candidates; every mutation site of theirs
   (ripsaw.tasks.mutate) is listed in a stable order and shuffled with the seed. Each tried mutation is written into
   the box, the suite runs, the original goes back. It is kept when some passing tests now fail (fail_to_pass; at
   most `max_failing` of them, else the bug is not a small one) and the suite finished in time; at most one task per
   function.
4. A kept mutation is a Harbor task directory (the layout ripsaw.tasks.repo loads): the mutated workspace without
   the failing tests' files, those files as the hidden tests, a pass_to_pass sample drawn with the seed, the
   instruction written from the first failing test's observable behaviour (the statement it ran, the error it got;
   never the changed line), and solution/solve.sh applying the original back.

The same package, version, seed and options give byte-identical task files (nothing in them depends on time,
paths on this machine or the order tests finished in).
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import hashlib
import json
import random
import re
import secrets
import shutil
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ripsaw.errors import ConfigError, PrerequisiteError
from ripsaw.sandboxes.workspace import WHEELS_REQUIREMENTS
from ripsaw.tasks.mutate import Mutation, mutations
from ripsaw.tasks.repo import _NODE, content_hash
from ripsaw.tasks.task import RepoTests

DEFAULT_INDEX = "https://pypi.org/simple"
WORKDIR = "/app"
_PYTEST_INI = b"[pytest]\naddopts =\n"  # the verdict's own ini (ripsaw.verdict.repo): the project's config cannot act
# A conftest.py at the root is the test suite's (fixtures its tests take, e.g. attrs'), not the project's tooling.
_TOP_FILES = re.compile(r"(?i)(readme|license|licence|copying|notice|authors|changelog|changes)[^/]*|"
                        r"pyproject\.toml|setup\.py|setup\.cfg|conftest\.py")  # fmt: skip
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_PATCH_END = "RIPSAW_FORGE_PATCH"


@dataclass(frozen=True, slots=True)
class ForgeOptions:
    n: int = 20
    seed: int = 0
    max_tries: int = 0  # 0: 8 per wanted task
    max_failing: int = 20
    pass_to_pass: int = 20
    suite_timeout_s: float = 300.0
    index_url: str = DEFAULT_INDEX
    cache_dir: Path = Path.home() / ".cache" / "ripsaw" / "sdists"
    # What the tests need beyond pytest (hypothesis, ...): a requirements file, every line pinned with its hash
    # (`read_requirements`); installed from wheels into every task's image (ripsaw.sandboxes.workspace)
    requirements: Path | None = None


@dataclass(slots=True)
class ForgeResult:
    package: str
    version: str
    sdist: str
    sdist_sha256: str
    tests_collected: int = 0
    tests_passing: int = 0
    candidates: int = 0
    tried: int = 0
    kept: list[str] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    suite_s: float = 0.0
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "sdist": self.sdist,
            "sdist_sha256": self.sdist_sha256,
            "tests_collected": self.tests_collected,
            "tests_passing": self.tests_passing,
            "candidates": self.candidates,
            "tried": self.tried,
            "kept": len(self.kept),
            "tasks": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "suite_s": round(self.suite_s, 2),
            "duration_s": round(self.duration_s, 1),
        }


def parse_requirement(text: str) -> tuple[str, str]:
    name, sep, version = text.partition("==")
    name, version = name.strip(), version.strip()
    if (
        not sep
        or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name)
        or not re.fullmatch(r"[A-Za-z0-9.+!_-]+", version)
    ):
        raise ConfigError(f"{text!r}: expected PACKAGE==VERSION (an exact release, e.g. toolz==1.0.0)")
    return name, version


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- the source distribution ---------------------------------------------------------------------------------------


def fetch_sdist(name: str, version: str, index_url: str, cache_dir: Path) -> tuple[Path, str]:
    """The release's sdist (downloaded once into `cache_dir`, its sha256 checked against the index) and its sha256."""
    project = normalize(name)
    url = f"{index_url.rstrip('/')}/{project}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            listing = json.loads(response.read())
    except urllib.error.HTTPError as e:
        if e.code == 404:
            raise ConfigError(f"{name}: no such package on {index_url}") from None
        raise PrerequisiteError(f"{url}: the index answered HTTP {e.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise PrerequisiteError(
            f"{url}: the index cannot be reached ({e}); forging needs it once per release"
        ) from None
    stems = {f"{n}-{version}" for n in (name, project, project.replace("-", "_"), name.replace("-", "_"))}
    files = [
        f
        for f in listing.get("files", [])
        if any(f.get("filename", "").lower() == f"{s}.tar.gz".lower() for s in stems) and not f.get("yanked")
    ]
    if not files:
        released = any(f"-{version}" in f.get("filename", "") for f in listing.get("files", []))
        why = "has no source distribution (.tar.gz)" if released else "is not a release of it"
        raise ConfigError(f"{name}=={version}: {version} {why} on {index_url}")
    entry = files[0]
    sha = entry.get("hashes", {}).get("sha256", "")
    if not sha:
        raise ConfigError(f"{name}=={version}: the index gives no sha256 for {entry['filename']}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / entry["filename"]
    if not (path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha):
        try:
            with urllib.request.urlopen(urllib.parse.urljoin(url, entry["url"]), timeout=120) as response:
                data = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise PrerequisiteError(f"{entry['url']}: download failed ({e})") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise PrerequisiteError(f"{entry['filename']}: the download does not match the index's sha256 {sha}")
        path.write_bytes(data)
    return path, sha


_PINNED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==[A-Za-z0-9.+!_-]+(?:\s+--hash=sha256:[0-9a-f]{64})+")


def read_requirements(path: Path, package: str) -> str:
    """The text of a requirements file for the tests' dependencies: every line (comments and blank lines aside)
    `name==version --hash=sha256:...`, the whole closure (installed with --no-deps), and never the package being
    forged: an installed copy would shadow the workspace's, so no mutation would show (the .pth comes after
    site-packages on the path)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the requirements ({e.strerror})") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("--") else line.strip()
        if not line:
            continue
        pinned = _PINNED.fullmatch(line)
        if pinned is None:
            raise ConfigError(f"{path}:{number}: expected `name==version --hash=sha256:<64 hex>`, got {line!r}")
        if normalize(pinned.group(1)) == normalize(package):
            raise ConfigError(f"{path}:{number}: pins {package} itself; the workspace is its copy, leave it out")
    return text


@dataclass(frozen=True, slots=True)
class Layout:
    files: dict[str, bytes]  # the workspace: relative path -> content
    import_root: str  # "" (flat) or "src"
    packages: tuple[str, ...]  # import directories, relative to the workspace
    tests_dir: str  # relative to the workspace


def unpack(sdist: Path, tests_dir: str | None = None) -> Layout:
    """The workspace files of an sdist: its packages, its test directory and its top-level files."""
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or len(parts) < 2 or ".." in parts:
                continue
            rel = "/".join(parts[1:])
            f = tar.extractfile(member)
            if f is not None:
                files[rel] = f.read()
    root = "src" if any(r.startswith("src/") and r.endswith("/__init__.py") for r in files) else ""
    prefix = f"{root}/" if root else ""
    packages = sorted(
        {
            r[len(prefix) :].split("/")[0]
            for r in files
            if r.startswith(prefix)
            and r.count("/") == prefix.count("/") + 1
            and r.endswith("/__init__.py")
            and r[len(prefix) :].split("/")[0] not in ("tests", "test", "docs", "doc")
        }
    )
    if not packages:
        raise ConfigError(f"{sdist.name}: no Python package (a directory with __init__.py) in the sdist")
    if tests_dir is None:
        candidates: list[str] = ["tests", "test"] + [f"{prefix}{p}/{t}" for p in packages for t in ("tests", "test")]
        tests_dir = next((c for c in candidates if any(_is_test_file(r, c) for r in files)), None)
        if tests_dir is None:
            raise ConfigError(f"{sdist.name}: the sdist ships no tests (looked in {', '.join(candidates)}); "
                              "pass --tests DIR if they live elsewhere")  # fmt: skip
    elif not any(_is_test_file(r, tests_dir) for r in files):
        raise ConfigError(f"{sdist.name}: no test_*.py files under {tests_dir}/")
    keep_dirs = (*(f"{prefix}{p}/" for p in packages), f"{tests_dir}/")
    kept = {
        r: b
        for r, b in files.items()
        if (r.startswith(keep_dirs) or ("/" not in r and _TOP_FILES.fullmatch(r)))
        and "__pycache__" not in r
        and not r.endswith((".pyc", ".so"))
    }
    return Layout(kept, root, tuple(f"{prefix}{p}" for p in packages), tests_dir)


def _is_test_file(rel: str, tests_dir: str) -> bool:
    p = PurePosixPath(rel)
    return rel.startswith(f"{tests_dir}/") and p.name.startswith("test_") and p.suffix == ".py"


def dockerfile(import_root: str, wheels: bool = False) -> str:
    path = f"{WORKDIR}/{import_root}" if import_root else WORKDIR
    install = (
        f"# The tests' dependencies ({WHEELS_REQUIREMENTS}, pinned with hashes): wheels the host downloaded into the\n"
        "# build context, installed offline.\n"
        "USER 0:0\n"
        "COPY wheels/ /tmp/ripsaw-wheels/\n"
        "RUN python3 -m pip install --no-index --find-links /tmp/ripsaw-wheels --require-hashes --no-deps \\\n"
        "    --no-cache-dir --break-system-packages --root-user-action=ignore --disable-pip-version-check \\\n"
        "    -r /tmp/ripsaw-wheels/requirements.txt \\\n"
        " && rm -rf /tmp/ripsaw-wheels\n"
        if wheels
        else ""
    )
    return f"""# The task's workspace: Ripsaw's workspace image (Python 3.11, git, pytest) with the package's source at
# {WORKDIR} (the release's sdist with one bug injected, committed once: the base commit is all the history there
# is) and its import root on the path.
ARG BASE=ripsaw-workspace:latest
FROM ${{BASE}}
{install}COPY --chown=10001:10001 repo/ {WORKDIR}/
USER 0:0
RUN echo {path} > "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/forged.pth"
USER 10001:10001
RUN git -c init.defaultBranch=main init -q \\
 && git add -A \\
 && GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z \\
    git -c user.name=Ripsaw -c user.email=tasks@ripsaw.invalid commit -q -m "Base"
"""


def _write_environment(environment: Path, import_root: str, requirements: str) -> None:
    (environment / "Dockerfile").write_text(dockerfile(import_root, wheels=bool(requirements)))
    if requirements:
        (environment / WHEELS_REQUIREMENTS).write_text(requirements)


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# -- running the suite in a box --------------------------------------------------------------------------------------


@dataclass(slots=True)
class SuiteRun:
    results: dict[str, str]  # node id -> passed | failed | error | skipped
    failures: dict[str, str]  # node id -> the failure's text (JUnit)
    duration_s: float
    timed_out: bool
    output: str


def _read_junit(xml: str) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}, {}
    results: dict[tuple[str, str], str] = {}
    texts: dict[tuple[str, str], str] = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        status, text = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {"failure": "failed"}.get(child.tag, child.tag)
                text = child.text or child.get("message") or ""
                break
        if results.get(key, "passed") == "passed":
            results[key] = status
            texts[key] = text
    return results, texts


class Suite:
    """One box of the staging image; runs the test suite the way the repository verdict does."""

    def __init__(self, box: Any, tests_dir: str, ids: list[str]) -> None:
        self.box = box
        self.tests_dir = tests_dir
        self.ids = ids
        self.where = f"/var/lib/ripsaw-forge-{secrets.token_hex(4)}"

    @classmethod
    async def start(cls, box: Any, tests_dir: str) -> Suite:
        suite = cls(box, tests_dir, [])
        await box.put(suite.where, {"pytest.ini": _PYTEST_INI}, mode=0o644)
        await box.put(f"{suite.where}/out", {".keep": b""}, uid=10001)
        listed = await box.exec(
            f"{suite._pytest()} --collect-only {tests_dir}", timeout_s=300, cap_output=False, env=_ENV
        )
        suite.ids = [line.strip() for line in listed.output.splitlines() if "::" in line and " " not in line.strip()]
        if not suite.ids:
            raise ConfigError(f"no tests collected under {tests_dir}/ (exit {listed.exit_code}): "
                              f"{listed.output.strip()[-400:]}")  # fmt: skip
        return suite

    def _pytest(self) -> str:
        return (
            f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python3 -m pytest -c {self.where}/pytest.ini --rootdir=. "
            "-p no:cacheprovider -q -o junit_family=xunit1 --tb=long"
        )

    async def run(self, timeout_s: float) -> SuiteRun:
        from ripsaw.verdict.repo import node_key

        report = f"{self.where}/out/report.xml"
        t0 = time.monotonic()
        run = await self.box.exec(
            f"rm -f {report}; {self._pytest()} --junitxml={report} {self.tests_dir}", timeout_s=timeout_s, env=_ENV
        )
        duration = time.monotonic() - t0
        read = await self.box.exec(f"cat {report} 2>/dev/null", timeout_s=60, user="0:0", cap_output=False)
        by_key, texts = _read_junit(read.output)
        results = {i: by_key.get(node_key(i), "missing") for i in self.ids}
        failures = {i: texts.get(node_key(i), "") for i in self.ids if results[i] in ("failed", "error")}
        return SuiteRun(results, failures, duration, run.timed_out, run.output)


_ENV = {"PYTHONHASHSEED": "0"}


# -- the instruction -------------------------------------------------------------------------------------------------


_SNIPPET_LINES = 25


def failing_snippet(
    failure: str, test_file: str, test_source: str, test_class: str = ""
) -> tuple[list[str], list[str]]:
    """The failing test's code, from its def through the statement that failed (read from the test file at the line
    the traceback names: a `with` block's body is part of it), and the error lines of the traceback (what was
    raised, what was compared). The package's frames are left out: they would point at the change. A method the
    test's class (`test_class`) inherits comes after that class's own definition: the same mixin method runs under
    many classes (one per cache type, say), and only the class says which code it exercised."""
    code, owner = _statement(failure, test_file, test_source)
    if len(code) > _SNIPPET_LINES:
        code = [code[0], "    ...", *code[-(_SNIPPET_LINES - 2) :]]
    if code and test_class and owner != test_class:
        runner = _class_lines(test_source, test_class)
        if runner:
            code = [*runner, "", f"# the test method {test_class} runs" + (f", from {owner}:" if owner else ":"), *code]
    errors = [line[1:] for line in failure.splitlines() if line.startswith("E ")]
    return code, _dedent(errors)


def _statement(failure: str, test_file: str, test_source: str) -> tuple[list[str], str]:
    """The failing function's code through the failing statement, and the name of the class defining it ("" for a
    module-level function)."""
    where = re.search(rf"^{re.escape(test_file)}:(\d+): ", failure, re.MULTILINE)
    if where is None:
        return [], ""
    line = int(where.group(1))
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return [], ""
    around = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.lineno <= line <= (n.end_lineno or 0)
    ]
    if not around:
        return [], ""
    func = max(around, key=lambda n: n.lineno)  # the innermost
    stmt = next((s for s in func.body if s.lineno <= line <= (s.end_lineno or 0)), None)
    end = stmt.end_lineno if stmt is not None and stmt.end_lineno else line
    owner = next(
        (c.name for c in tree.body if isinstance(c, ast.ClassDef) and c.lineno <= func.lineno <= (c.end_lineno or 0)),
        "",
    )
    return _dedent(test_source.splitlines()[func.lineno - 1 : end]), owner


_CLASS_LINES = 12


def _class_lines(test_source: str, name: str) -> list[str]:
    """A module-level test class's definition: whole when short, else its header and its statements other than
    methods (the class attributes that configure what inherited tests run)."""
    tree = ast.parse(test_source)
    cls = next((c for c in tree.body if isinstance(c, ast.ClassDef) and c.name == name), None)
    if cls is None or cls.end_lineno is None:
        return []
    lines = test_source.splitlines()
    start = min([cls.lineno, *(d.lineno for d in cls.decorator_list)])
    if cls.end_lineno - start + 1 <= _CLASS_LINES:
        return lines[start - 1 : cls.end_lineno]
    head = lines[start - 1 : cls.body[0].lineno - 1]
    attrs = [s for s in cls.body if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
    body = [line for s in attrs for line in lines[s.lineno - 1 : s.end_lineno]][:_CLASS_LINES]
    return [*head, *body, "    ..."]


def _dedent(lines: list[str]) -> list[str]:
    body = [line for line in lines if line.strip()]
    if not body:
        return []
    pad = min(len(line) - len(line.lstrip()) for line in body)
    return [line[pad:].rstrip() for line in lines]


def instruction(
    package: str, failure: str, test_file: str, test_source: str, changed_lines: list[str], test_class: str = ""
) -> str:
    """A user's bug report: the code that used to work, the error it gives now. Never the changed line: a snippet
    line that repeats a changed line (a test may read like the code it tests) is left out."""
    code, errors = failing_snippet(failure, test_file, test_source, test_class)
    errors = errors[:20]
    changed = [c.strip() for c in changed_lines if len(c.strip()) >= 8]
    code = [line for line in code if not any(c in line for c in changed)]
    errors = [line for line in errors if not any(c in line for c in changed)]
    text_code = _ADDRESS.sub("0x…", "\n".join(code))
    text_errors = _ADDRESS.sub("0x…", "\n".join(errors))
    summary = next((e for e in errors if e and not e.startswith(("where", "+", "-", "?", "At index", "Full diff"))), "")
    summary = _ADDRESS.sub("0x…", summary.strip())
    title = f"{package}: {summary[:90]}" if summary else f"{package}: a call that used to work fails"
    return (
        f"# {title}\n\n"
        f"Something in `{package}` no longer does what it should. This code, run from the repository's root, used "
        "to work:\n\n"
        f"```python\n{text_code}\n```\n\n"
        f"It now fails:\n\n```\n{text_errors}\n```\n\n"
        "Please find the cause in the package's code and fix it there. The tests that exercise this (and the rest "
        "of the test suite) must pass; do not change the tests.\n"
    )


# -- writing a task --------------------------------------------------------------------------------------------------


def solve_script(rel: str, mutated: str, original: str) -> str:
    diff = "".join(
        difflib.unified_diff(
            mutated.splitlines(keepends=True), original.splitlines(keepends=True), f"a/{rel}", f"b/{rel}", n=3
        )
    )
    return (
        "#!/bin/bash\n# The known-good fix: the released source of the changed file, applied back as a patch.\n"
        f"set -euo pipefail\ncd {WORKDIR}\ngit apply --whitespace=nowarn <<'{_PATCH_END}'\n{diff}{_PATCH_END}\n"
    )


def test_script(tests_dir: str, hidden: list[str], run_files: list[str]) -> str:
    copies = "\n".join(f"cp /tests/{h} {WORKDIR}/{tests_dir}/{h}" for h in hidden)
    return f"""#!/bin/bash
# Harbor verifier entrypoint: the hidden tests copied back into the package's test directory, the required tests'
# files run, reward written for the harness. Ripsaw itself scores [ripsaw] fail_to_pass / pass_to_pass from its own
# JUnit report (ripsaw.verdict.repo).
mkdir -p /logs/verifier
{copies}
cd {WORKDIR} && python3 -m pytest -q -p no:cacheprovider {" ".join(run_files)}
status=$?
if [ $status -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
exit $status
"""


def _toml_list(name: str, values: list[str]) -> str:
    return f"{name} = [\n" + "".join(f"    {json.dumps(v)},\n" for v in values) + "]\n"


def task_toml(
    package: str,
    version: str,
    sha: str,
    m: Mutation,
    module: str,
    seed: int,
    f2p: list[str],
    p2p: list[str],
    tests_dir: str,
) -> str:
    return (
        'version = "1.0"\n\n[metadata]\ndifficulty = "medium"\ncategory = "bug-fix"\n'
        f"tags = [{json.dumps('forged')}, {json.dumps(normalize(package))}, {json.dumps(m.kind)}]\n"
        'author_name = "ripsaw tasks forge"\n'
        f"source_package = {json.dumps(package)}\nsource_version = {json.dumps(version)}\n"
        f'sdist_sha256 = "{sha}"\nforge_seed = {seed}\nmutation = {json.dumps(m.kind)}\n'
        f"module = {json.dumps(module)}\n\n"
        "[verifier]\ntimeout_sec = 300.0\n\n[agent]\ntimeout_sec = 900.0\n\n"
        "[environment]\nbuild_timeout_sec = 600.0\ncpus = 1\nmemory_mb = 2048\n\n"
        f'[ripsaw]\nworkdir = "{WORKDIR}"\ntests_into = {json.dumps(tests_dir)}\n'
        + _toml_list("fail_to_pass", f2p)
        + _toml_list("pass_to_pass", p2p)
    )


# -- the whole forge -------------------------------------------------------------------------------------------------


def _uses(name: str, tests_text: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", tests_text) is not None


async def forge(
    requirement: str,
    out: Path,
    opts: ForgeOptions,
    *,
    tests_dir: str | None = None,
    log: Callable[[str], None] = lambda line: None,
    progress: Callable[[int, int], None] = lambda kept, tried: None,
) -> ForgeResult:
    from ripsaw.sandboxes.workspace import Workspaces

    t0 = time.monotonic()
    name, version = parse_requirement(requirement)
    requirements = read_requirements(opts.requirements, name) if opts.requirements is not None else ""
    sdist, sha = await asyncio.to_thread(fetch_sdist, name, version, opts.index_url, opts.cache_dir)
    layout = unpack(sdist, tests_dir)
    result = ForgeResult(name, version, sdist.name, sha)
    slug = normalize(name)
    stage = opts.cache_dir / "stage" / f"{slug}-{version}"
    shutil.rmtree(stage, ignore_errors=True)
    _write_tree(stage / "environment" / "repo", layout.files)
    _write_environment(stage / "environment", layout.import_root, requirements)
    staging = RepoTests(
        dir=str(stage),
        content_sha256=content_hash(stage),
        workdir=WORKDIR,
        tests_into=layout.tests_dir,
        fail_to_pass=(),
        pass_to_pass=(),
        trust="tests",
        verifier_timeout_s=opts.suite_timeout_s,
        cpus=1.0,
        memory_mb=2048,
    )
    spaces = Workspaces("tasks-forge", log)
    try:
        box = await spaces.box(f"forge-{slug}", staging, f"forge::{slug}")
        try:
            suite = await Suite.start(box, layout.tests_dir)
            baseline = await suite.run(opts.suite_timeout_s)
            result.tests_collected = len(suite.ids)
            passing = sorted(i for i, s in baseline.results.items() if s == "passed" and _NODE.fullmatch(i))
            result.tests_passing = len(passing)
            result.suite_s = baseline.duration_s
            if baseline.timed_out:
                raise ConfigError(f"{requirement}: its test suite did not finish in {opts.suite_timeout_s:g} s")
            if not passing:
                hint = (
                    " (a test imports a module the image lacks: name the tests' dependencies with --requirements)"
                    if "ModuleNotFoundError" in baseline.output
                    else ""
                )
                raise ConfigError(f"{requirement}: none of its {len(suite.ids)} tests passes offline in the "
                                  f"workspace image{hint}: {baseline.output.strip()[-400:]}")  # fmt: skip
            network = [i for i, t in baseline.failures.items() if re.search(r"gaierror|Name or service not known|"
                       r"Temporary failure in name resolution|Network is unreachable|URLError", t)]  # fmt: skip
            if network:
                log(f"{len(network)} test(s) need the network and fail offline; they are left out")
            await _search(
                suite, layout, baseline, passing, name, version, sha, out, opts, result, progress, requirements
            )
        finally:
            await box.close()
    finally:
        spaces.close()
    result.duration_s = time.monotonic() - t0
    return result


async def _search(
    suite: Suite,
    layout: Layout,
    baseline: SuiteRun,
    passing: list[str],
    name: str,
    version: str,
    sha: str,
    out: Path,
    opts: ForgeOptions,
    result: ForgeResult,
    progress: Callable[[int, int], None],
    requirements: str,
) -> None:
    tests_text = "\n".join(
        layout.files[r].decode("utf-8", "replace") for r in sorted(layout.files) if _is_test_file(r, layout.tests_dir)
    )
    candidates: list[tuple[str, Mutation]] = []
    for rel in sorted(layout.files):
        if not rel.endswith(".py") or rel.startswith(f"{layout.tests_dir}/") or not rel.startswith(layout.packages):
            continue
        source = layout.files[rel].decode("utf-8", "replace")
        if not source.endswith("\n"):
            continue  # a patch to it would need "no newline at end of file" handling
        try:
            found = mutations(source)
        except SyntaxError:
            continue
        candidates += [(rel, m) for m in found if _uses(m.function.split(".")[-1], tests_text)]
    result.candidates = len(candidates)
    rng = random.Random(opts.seed)
    rng.shuffle(candidates)
    max_tries = opts.max_tries or 8 * opts.n
    done_functions: set[tuple[str, str]] = set()
    ids: set[str] = set()
    reports: set[str] = set()  # the instructions kept
    slug = normalize(name)
    timeout = min(opts.suite_timeout_s, max(30.0, 4 * baseline.duration_s))
    passing_set = set(passing)
    for rel, m in candidates:
        if len(result.kept) >= opts.n or result.tried >= max_tries:
            break
        if (rel, m.function) in done_functions:
            continue
        result.tried += 1
        directory, file = rel.rsplit("/", 1)
        await suite.box.put(f"{WORKDIR}/{directory}", {file: m.mutated.encode()}, uid=10001)
        try:
            run = await suite.run(timeout)
        finally:
            await suite.box.put(f"{WORKDIR}/{directory}", {file: m.original.encode()}, uid=10001)
        progress(len(result.kept), result.tried)
        if run.timed_out:
            result.rejected["timeout"] += 1
            continue
        failing = sorted(i for i in passing if run.results.get(i) in ("failed", "error"))
        if not failing:
            result.rejected["no test fails"] += 1
            continue
        if len(failing) > opts.max_failing:
            result.rejected[f"over {opts.max_failing} tests fail"] += 1
            continue
        still = sorted(i for i in passing_set - set(failing) if run.results.get(i) == "passed")
        task_id = f"{slug}-{re.sub(r'[^a-z0-9]+', '-', m.function.lower()).strip('-')}"
        if task_id in ids:
            task_id = f"{task_id}-{len(result.kept) + 1}"
        first = failing[0]
        test_file = first.split("::")[0]
        test_source = layout.files[test_file].decode("utf-8", "replace")
        test_class = first.split("::")[1] if first.count("::") >= 2 else ""
        text = instruction(name, run.failures.get(first, ""), test_file, test_source, _changed_lines(m), test_class)
        if "```python\n\n```" in text:
            result.rejected["no readable failure"] += 1
            continue
        if text in reports:  # two bugs one report describes alike: an agent could not tell which one it has
            result.rejected["same report as a kept task"] += 1
            continue
        hidden = sorted({i.split("::")[0] for i in failing})
        rng_task = random.Random(f"{opts.seed}:{task_id}")
        p2p = sorted(rng_task.sample(still, min(opts.pass_to_pass, len(still))))
        _write_task(
            out / task_id, layout, rel, m, hidden, failing, p2p, text, name, version, sha, opts.seed, requirements
        )
        ids.add(task_id)
        reports.add(text)
        done_functions.add((rel, m.function))
        result.kept.append(task_id)
        progress(len(result.kept), result.tried)


def _module_name(rel: str, import_root: str) -> str:
    path = rel[len(import_root) + 1 :] if import_root else rel
    return path[:-3].replace("/", ".").removesuffix(".__init__")


def _changed_lines(m: Mutation) -> list[str]:
    a, b = m.original.splitlines(), m.mutated.splitlines()
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            out += a[i1:i2] + b[j1:j2]
    return out


def _write_task(
    task_dir: Path,
    layout: Layout,
    rel: str,
    m: Mutation,
    hidden: list[str],
    f2p: list[str],
    p2p: list[str],
    text: str,
    name: str,
    version: str,
    sha: str,
    seed: int,
    requirements: str = "",
) -> None:
    shutil.rmtree(task_dir, ignore_errors=True)
    repo = {r: b for r, b in layout.files.items() if r not in hidden}
    repo[rel] = m.mutated.encode()
    _write_tree(task_dir / "environment" / "repo", repo)
    _write_environment(task_dir / "environment", layout.import_root, requirements)
    (task_dir / "instruction.md").write_text(text)
    module = _module_name(rel, layout.import_root)
    (task_dir / "task.toml").write_text(task_toml(name, version, sha, m, module, seed, f2p, p2p, layout.tests_dir))
    (task_dir / "solution").mkdir(parents=True, exist_ok=True)
    (task_dir / "solution" / "solve.sh").write_text(solve_script(rel, m.mutated, m.original))
    tests = task_dir / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    prefix = f"{layout.tests_dir}/"
    names = [h[len(prefix) :] for h in hidden]
    for h, short in zip(hidden, names, strict=True):
        (tests / short).parent.mkdir(parents=True, exist_ok=True)
        (tests / short).write_bytes(layout.files[h])
    run_files = sorted({i.split("::")[0] for i in (*f2p, *p2p)})
    (tests / "test.sh").write_text(test_script(layout.tests_dir, names, run_files))
