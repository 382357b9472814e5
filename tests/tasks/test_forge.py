"""`ripsaw tasks forge`: the sdist from a real (local) index, its layout, the bug report, the solution patch, the
written task loading as a repository task; in Docker, a forged package end to end through validation, and the
shipped suite reproduced byte for byte from its seed."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError
from ripsaw.tasks.forge import (
    Layout,
    _changed_lines,
    _write_task,
    fetch_sdist,
    instruction,
    parse_requirement,
    read_requirements,
    solve_script,
    unpack,
)
from ripsaw.tasks.mutate import mutations
from ripsaw.tasks.repo import load_repo_task, load_repo_tasks
from ripsaw.tasks.task import RepoTests
from tests.sandboxes.conftest import require_docker

REPO = Path(__file__).resolve().parents[2]
FORGED = REPO / "tasks" / "forged"

LIB = '''"""Small helpers."""


def clamp(value, low=0, high=10):
    if value < low:
        return low
    if value > high:
        return high
    return value


def chunks(items, size):
    out = []
    for start in range(0, len(items), size):
        out.append(items[start : start + size])
    return out


def pad(text, width, fill=" "):
    return text + fill * max(0, width - len(text))
'''

TESTS = """import tinylib


def test_clamp_inside():
    assert tinylib.clamp(5) == 5


def test_clamp_bounds():
    assert tinylib.clamp(-3) == 0
    assert tinylib.clamp(42) == 10
    assert tinylib.clamp(10) == 10


def test_chunks():
    assert tinylib.chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
"""

TESTS_PAD = """from tinylib import pad


def test_pad():
    assert pad("ab", 4) == "ab  "
    assert pad("ab", 4, ".") == "ab.."


def test_pad_short_width():
    assert pad("abc", 1) == "abc"
"""


def make_sdist(
    name: str = "tinylib",
    version: str = "1.0",
    *,
    layout: str = "flat",
    tests: bool = True,
    extra_tests: dict[str, str] | None = None,
) -> bytes:
    root = f"{name}-{version}"
    pkg = f"{root}/src/{name}" if layout == "src" else f"{root}/{name}"
    files = {f"{pkg}/__init__.py": LIB, f"{root}/LICENSE": "MIT\n", f"{root}/docs/index.md": "docs\n"}
    if tests:
        files[f"{root}/tests/test_lib.py"] = TESTS
        files[f"{root}/tests/test_pad.py"] = TESTS_PAD
    files.update({f"{root}/{rel}": text for rel, text in (extra_tests or {}).items()})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


CORRUPT = "corrupt-downloads"


@pytest.fixture
def index() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A PyPI-style simple index (JSON) over HTTP; tests put sdists into the returned dict by file name."""
    served: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/simple/"):
                project = self.path.split("/")[2]
                files = [
                    {"filename": f, "url": f"/files/{f}", "hashes": {"sha256": hashlib.sha256(b).hexdigest()}}
                    for f, b in sorted(served.items())
                    if f.startswith(f"{project}-") and f != CORRUPT
                ]
                body = json.dumps({"files": files}).encode() if files else b""
                self.send_response(200 if files else 404)
            else:
                body = served.get(self.path.removeprefix("/files/"), b"")
                body += b"x" if body and CORRUPT in served else b""
                self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", served
    finally:
        server.shutdown()
        server.server_close()


def test_requirements_must_pin_one_release() -> None:
    assert parse_requirement("toolz==1.0.0") == ("toolz", "1.0.0")
    for bad in ("toolz", "toolz>=1", "toolz==", "==1.0", "to olz==1"):
        with pytest.raises(ConfigError, match="PACKAGE==VERSION"):
            parse_requirement(bad)


def test_the_sdist_is_fetched_checked_and_cached(index: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, served = index
    served["tinylib-1.0.tar.gz"] = make_sdist()
    path, sha = fetch_sdist("TinyLib", "1.0", url, tmp_path)
    assert path.read_bytes() == served["tinylib-1.0.tar.gz"]
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ConfigError, match="nosuch: no such package"):
        fetch_sdist("nosuch", "1.0", url, tmp_path)
    with pytest.raises(ConfigError, match=r"2\.0 is not a release of it"):
        fetch_sdist("tinylib", "2.0", url, tmp_path)
    # A cached file that no longer matches the index's hash is fetched again, not trusted.
    path.write_bytes(b"tampered")
    again, _ = fetch_sdist("tinylib", "1.0", url, tmp_path)
    assert again.read_bytes() == served["tinylib-1.0.tar.gz"]


def test_a_download_that_does_not_match_the_index_is_refused(
    index: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    from ripsaw.errors import PrerequisiteError

    url, served = index
    served["tinylib-1.0.tar.gz"] = make_sdist()
    served[CORRUPT] = b"1"  # the index lists the right hash, the file server sends other bytes
    with pytest.raises(PrerequisiteError, match="does not match the index's sha256"):
        fetch_sdist("tinylib", "1.0", url, tmp_path)
    assert not (tmp_path / "tinylib-1.0.tar.gz").exists()


def test_unpack_finds_the_package_and_its_tests_in_each_layout(tmp_path: Path) -> None:
    for kind, root, tests_dir in (("flat", "", "tests"), ("src", "src", "tests")):
        sdist = tmp_path / f"{kind}.tar.gz"
        sdist.write_bytes(make_sdist(layout=kind))
        layout = unpack(sdist)
        assert layout.import_root == root and layout.tests_dir == tests_dir
        assert layout.packages == (f"{root}/tinylib".lstrip("/"),)
        assert "docs/index.md" not in layout.files and "LICENSE" in layout.files
    bare = tmp_path / "bare.tar.gz"
    bare.write_bytes(make_sdist(tests=False))
    with pytest.raises(ConfigError, match="ships no tests"):
        unpack(bare)


def _pytest_failure(tmp_path: Path, source: str, tests: str, node: str) -> str:
    """The JUnit failure text of `node`, from a real pytest run of `tests` against `source`."""
    work = tmp_path / "run"
    (work / "tinylib").mkdir(parents=True)
    (work / "tinylib" / "__init__.py").write_text(source)
    (work / "tests").mkdir()
    (work / "tests" / "test_lib.py").write_text(tests)
    (work / "pytest.ini").write_text("[pytest]\naddopts =\n")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=long", "-o", "junit_family=xunit1",
         "--junitxml=report.xml", "tests"],
        cwd=work, capture_output=True, timeout=120,
    )  # fmt: skip
    import xml.etree.ElementTree as ET

    for case in ET.parse(work / "report.xml").iter("testcase"):
        if case.get("name") == node:
            failure = case.find("failure")
            assert failure is not None and failure.text
            return failure.text
    raise AssertionError(f"{node} not in the report")


def test_the_bug_report_shows_the_call_and_the_error_never_the_changed_line(tmp_path: Path) -> None:
    m = next(x for x in mutations(LIB) if x.kind == "wrong-default" and "high=11" in x.mutated)
    failure = _pytest_failure(tmp_path, m.mutated, TESTS, "test_clamp_bounds")
    text = instruction("tinylib", failure, "tests/test_lib.py", TESTS, _changed_lines(m))
    assert "assert tinylib.clamp(42) == 10" in text  # the failing call, from the test's source
    assert "assert 11 == 10" in text.split("It now fails")[1]
    assert "high=11" not in text and "def clamp" not in text
    assert "tinylib/__init__.py" not in text  # the package's frames are left out
    assert text.startswith("# tinylib: ")


MIXIN_TESTS = """import unittest

import tinylib


class BoundsMixin:
    def test_bounds(self):
        assert self.FN(42) == 10


class ClampTest(BoundsMixin, unittest.TestCase):
    FN = staticmethod(tinylib.clamp)


class ClampTwiceTest(BoundsMixin, unittest.TestCase):
    FN = staticmethod(lambda v: tinylib.clamp(tinylib.clamp(v)))

    def test_own(self):
        assert self.FN(42) == 10
"""


def test_a_mixin_test_method_is_reported_with_the_class_that_ran_it(tmp_path: Path) -> None:
    m = next(x for x in mutations(LIB) if x.kind == "wrong-default" and "high=11" in x.mutated)
    failure = _pytest_failure(tmp_path, m.mutated, MIXIN_TESTS, "test_bounds")
    once = instruction("tinylib", failure, "tests/test_lib.py", MIXIN_TESTS, _changed_lines(m), "ClampTest")
    twice = instruction("tinylib", failure, "tests/test_lib.py", MIXIN_TESTS, _changed_lines(m), "ClampTwiceTest")
    # The same mixin method, failing under two classes: each report says which class (and so which code) ran it.
    assert once != twice
    assert "class ClampTest(BoundsMixin, unittest.TestCase):\n    FN = staticmethod(tinylib.clamp)" in once
    assert "# the test method ClampTest runs, from BoundsMixin:\ndef test_bounds(self):" in once
    assert "ClampTwiceTest" not in once and "FN = staticmethod(lambda v:" in twice
    own = _pytest_failure(tmp_path / "own", m.mutated, MIXIN_TESTS, "test_own")
    text = instruction("tinylib", own, "tests/test_lib.py", MIXIN_TESTS, _changed_lines(m), "ClampTwiceTest")
    assert "```python\ndef test_own(self):" in text and "class " not in text  # its own method: no class around it


def test_the_solution_patch_restores_the_release(tmp_path: Path) -> None:
    m = next(x for x in mutations(LIB) if x.kind == "off-by-one")
    (tmp_path / "tinylib").mkdir()
    (tmp_path / "tinylib" / "__init__.py").write_text(m.mutated)
    script = tmp_path / "solve.sh"
    script.write_text(solve_script("tinylib/__init__.py", m.mutated, m.original).replace("cd /app", f"cd {tmp_path}"))
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tinylib" / "__init__.py").read_text() == LIB


def test_a_written_task_loads_as_a_repository_task_without_its_hidden_tests(tmp_path: Path) -> None:
    layout = Layout(
        files={"tinylib/__init__.py": LIB.encode(), "tests/test_lib.py": TESTS.encode(), "LICENSE": b"MIT\n"},
        import_root="",
        packages=("tinylib",),
        tests_dir="tests",
    )
    m = next(x for x in mutations(LIB) if x.kind == "comparison")
    task_dir = tmp_path / "tinylib-clamp"
    f2p = ["tests/test_lib.py::test_clamp_bounds"]
    p2p = ["tests/test_lib.py::test_chunks"]
    _write_task(task_dir, layout, "tinylib/__init__.py", m, ["tests/test_lib.py"], f2p, p2p, "# bug\n", "tinylib",
                "1.0", "ab" * 32, 7)  # fmt: skip
    task = load_repo_task(task_dir)
    assert isinstance(task.tests, RepoTests)
    assert task.tests.fail_to_pass == tuple(f2p) and task.tests.pass_to_pass == tuple(p2p)
    assert not (task_dir / "environment" / "repo" / "tests" / "test_lib.py").exists()
    assert (task_dir / "tests" / "test_lib.py").read_text() == TESTS
    assert (task_dir / "environment" / "repo" / "tinylib" / "__init__.py").read_text() == m.mutated
    meta = tomllib.loads((task_dir / "task.toml").read_text())["metadata"]
    assert meta["forge_seed"] == 7 and meta["source_package"] == "tinylib" and meta["mutation"] == "comparison"


# -- in Docker -------------------------------------------------------------------------------------------------------


def _forge(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ripsaw", "tasks", "forge", *args, "--no-progress"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_a_package_is_forged_into_valid_tasks_from_a_local_index(
    index: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    require_docker()
    url, served = index
    served["tinylib-1.0.tar.gz"] = make_sdist(layout="src")
    out = tmp_path / "forged"
    opts = ["--out", str(out), "--n", "2", "--seed", "3", "--index-url", url, "--json"]
    done = _forge(["tinylib==1.0", *opts], REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["kept"] == 2 and summary["tests_passing"] == 5 and summary["tried"] >= 2
    assert sorted(p.name for p in out.iterdir()) == sorted(summary["tasks"])
    checked = subprocess.run(
        [sys.executable, "-m", "ripsaw", "tasks", "validate", str(out), "--json", "--no-progress", "--runs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert all(r["ok"] for r in json.loads(checked.stdout))
    # The same seed again: the same task files, byte for byte.
    again = tmp_path / "again"
    done = _forge(["tinylib==1.0", "--out", str(again), *opts[2:]], REPO)
    assert done.returncode == 0, done.stderr
    assert _tree(again) == _tree(out)


def test_the_tests_requirements_must_pin_every_package_with_its_hash_and_never_the_package(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(f"# the tests' dependencies\n\nsix==1.16.0 --hash=sha256:{'a' * 64}\n")
    assert read_requirements(good, "tinylib") == good.read_text()
    for line, problem in (
        ("six>=1.16", "expected `name==version --hash=sha256:<64 hex>`"),
        ("six==1.16.0", "expected `name==version --hash=sha256:<64 hex>`"),
        (f"TinyLib==1.0 --hash=sha256:{'b' * 64}", "pins tinylib itself"),
    ):
        bad = tmp_path / "bad.txt"
        bad.write_text(f"six==1.16.0 --hash=sha256:{'a' * 64}\n{line}\n")
        with pytest.raises(ConfigError, match=re.escape(f"{bad}:2: {problem}")):
            read_requirements(bad, "tinylib")


def _wheel(directory: Path, name: str, version: str, module: str) -> Path:
    """A pure-Python wheel holding one module, as pip reads it."""
    import base64
    import zipfile

    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in sorted(files.items()):
            z.writestr(path, text)
    return wheel


TESTS_HELPED = """import tinyhelper
from tinylib import chunks


def test_chunks_of_the_helpers_data():
    assert chunks(tinyhelper.DATA, 2) == [[1, 2], [3, 4], [5]]
"""


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_tests_that_need_more_than_pytest_get_their_wheels_installed_offline(
    index: tuple[str, dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_docker()
    url, served = index
    served["tinylib-1.0.tar.gz"] = make_sdist(extra_tests={"tests/test_helped.py": TESTS_HELPED})
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = _wheel(wheels, "tinyhelper", "1.0", "DATA = [1, 2, 3, 4, 5]\n")
    # The host's pip finds the wheel here and nowhere else: no index, as in an offline build.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    requirements = tmp_path / "tests.txt"
    requirements.write_text(f"tinyhelper==1.0 --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}\n")
    opts = ["--n", "1", "--seed", "3", "--index-url", url, "--json"]

    # Control: without the requirements the helper's import fails the collection, and no test can run.
    done = _forge(["tinylib==1.0", "--out", str(tmp_path / "bare"), *opts], REPO)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "name the tests' dependencies with --requirements" in done.stderr
    assert "No module named 'tinyhelper'" in done.stderr

    out = tmp_path / "forged"
    done = _forge(["tinylib==1.0", "--out", str(out), "--requirements", str(requirements), *opts], REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["tests_passing"] == 6 and summary["kept"] == 1
    [task] = [out / t for t in summary["tasks"]]
    assert (task / "environment" / "requirements.txt").read_text() == requirements.read_text()
    assert not (task / "environment" / "wheels").exists()  # downloaded into the build's copy, never into the task
    checked = subprocess.run(
        [sys.executable, "-m", "ripsaw", "tasks", "validate", str(out), "--json", "--no-progress", "--runs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_forge_reproduces_the_shipped_toolz_tasks_from_their_seed(tmp_path: Path) -> None:
    """Needs the package index (PyPI), as forging does."""
    require_docker()
    shipped = sorted(p for p in FORGED.iterdir() if p.is_dir() and p.name.startswith("toolz-"))
    assert len(shipped) >= 3
    metas = {json.dumps(tomllib.loads((p / "task.toml").read_text())["metadata"], sort_keys=True) for p in shipped}
    seeds = {json.loads(m)["forge_seed"] for m in metas}
    versions = {json.loads(m)["source_version"] for m in metas}
    assert len(seeds) == len(versions) == 1
    out = tmp_path / "toolz"
    done = _forge([f"toolz=={versions.pop()}", "--out", str(out), "--n", str(len(shipped)), "--seed", str(seeds.pop())],
                  REPO)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in shipped]
    for task in shipped:
        assert _tree(out / task.name) == _tree(task), task.name


def test_the_shipped_forged_suite_loads_and_names_each_packages_licence() -> None:
    tasks = load_repo_tasks(FORGED)
    packages = Counter(str(t.metadata["source_package"]) for t in tasks)
    assert len(tasks) >= 30 and len(packages) >= 4, packages
    readme = (FORGED / "README.md").read_text()
    for package in packages:
        row = next((line for line in readme.splitlines() if line.startswith(f"| {package} ")), "")
        licence = r"(MIT|BSD-3-Clause|Apache-2\.0|BSD-2-Clause|PSF-2\.0)"
        assert re.search(rf"\| {licence}( / {licence})? \|", row), (package, row)
    for t in tasks:
        assert isinstance(t.tests, RepoTests) and t.tests.fail_to_pass and t.tests.pass_to_pass
        assert t.metadata["author_name"] == "ripsaw tasks forge"
