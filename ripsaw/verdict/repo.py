"""The verdict of a repository task: the agent's change, judged where the agent never was.

The agent controls its workspace for minutes, so nothing it left there is trusted. Its change arrives as a git diff
(ripsaw.sandboxes.workspace.Box.diff) and is judged like this:

1. Changes to protected paths are dropped (and recorded): the hidden tests' paths and every test file the verdict
   runs, test configuration (`conftest.py`, `pytest.ini`, `tox.ini`, `setup.cfg`), start-up hooks
   (`sitecustomize.py`, `usercustomize.py`, `*.pth`) and anything under `.git/`, and a pyproject.toml change
   that touches pytest's configuration (other pyproject.toml changes are project changes and kept). Test sections
   could not act anyway: pytest runs with Ripsaw's own config file (`-c`), plugin autoloading and cache off.
2. A fresh container of the task's image (the untouched workspace) gets the diff applied (`git apply`; a diff
   that does not apply is the agent's failure), then the hidden tests copied in, with one more test appended to a
   hidden test file: the sentinel, named and written at random per verdict like the tests around it, and failing.
3. pytest runs the test files of the required ids, as the non-root user, with Ripsaw's own ini file (`-c`, so the
   project's pytest configuration cannot act), plugin autoloading and the cache off, and a JUnit report written to a
   path chosen per verdict under a directory the tests cannot list; Ripsaw reads it back as root after the run.
4. `passed` only if every fail_to_pass and pass_to_pass id is in the report and passed, and the sentinel is in
   it and failed. A missing id (deleted, skipped, renamed, not collected, the run killed) is not a pass; a sentinel
   that passed or vanished means the test process was tampered with: `failed`, detail `tampered`, counted.

A task without [ripsaw] ids (a plain Harbor task) is judged by its own `tests/test.sh` reward instead (trust
"reward"): the same fresh container and diff, the task's tests at /tests, the reward read from
/logs/verifier/reward.txt; the test script and the agent's code then run in one process tree, which is why the
report shows such verdicts apart. Only engine failures are infra errors; whatever the change does is scored.

What the sentinel can and cannot catch: code of the change runs inside the test process, so it could rewrite the
report from within. Blanket tampering (every test passes, every failure flipped, a plugin or an atexit hook that
rewrites reports, the process exiting early) flips or drops the sentinel too and is caught; tampering aimed at the
required ids alone would have to tell the sentinel from the real tests, which are written alike and hidden.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import os
import random
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ripsaw.errors import ConfigError, SandboxInfraError
from ripsaw.records import Outcome, RepoVerdict
from ripsaw.sandboxes.workspace import AGENT_UID, Box, Workspaces
from ripsaw.tasks.repo import hidden_test_files
from ripsaw.tasks.task import RepoTests, Task

PROTECTED_NAMES = ("conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "sitecustomize.py", "usercustomize.py")
PROTECTED_GLOBS = ("*.pth", ".git/*", ".git")
MAX_DIFF_BYTES = 4 << 20
MAX_REPORT_BYTES = 8 << 20
_PYTEST_INI = b"[pytest]\naddopts =\n"


@dataclass(slots=True)
class _Judged:
    outcome: Outcome
    detail: str
    verdict: RepoVerdict


# -- the diff ------------------------------------------------------------------------------------------------------

_SECTION = re.compile(r"^diff --git ", re.MULTILINE)
_HEADER = re.compile(r'^diff --git (?:"?a/(.+?)"? "?b/(.+?)"?)$')


def split_diff(diff: str) -> list[tuple[list[str], str]]:
    """A git diff's file sections, each with the paths it touches (old and new)."""
    starts = [m.start() for m in _SECTION.finditer(diff)]
    sections = []
    for i, start in enumerate(starts):
        text = diff[start : starts[i + 1] if i + 1 < len(starts) else len(diff)]
        first = text.split("\n", 1)[0]
        paths: set[str] = set()
        m = _HEADER.match(first)
        if m:
            paths |= {m.group(1), m.group(2)}
        for line in text.split("\n")[1:8]:
            for prefix in ("rename from ", "rename to ", "copy from ", "copy to ", "--- a/", "+++ b/"):
                if line.startswith(prefix):
                    paths.add(line[len(prefix) :].strip('"'))
        sections.append((sorted(paths) or [first], text))
    return sections


def protected(path: str, tests: RepoTests, hidden: list[str]) -> bool:
    p = PurePosixPath(path)
    if p.name in PROTECTED_NAMES or any(
        fnmatch.fnmatch(path, g) or fnmatch.fnmatch(p.name, g) for g in PROTECTED_GLOBS
    ):
        return True
    if ".git" in p.parts:
        return True
    test_files = {i.split("::")[0] for i in (*tests.fail_to_pass, *tests.pass_to_pass)}
    test_files |= {f"{tests.tests_into}/{h}".lstrip("./") for h in hidden}
    return path in test_files


def _test_config(paths: list[str], text: str) -> bool:
    """A pyproject.toml change whose lines touch pytest's configuration ([tool.pytest.ini_options] and the like).
    pytest runs with Ripsaw's own ini, so it could not act; it is dropped all the same, as the protocol says."""
    changed = [line for line in text.splitlines()[1:] if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return any(PurePosixPath(p).name == "pyproject.toml" for p in paths) and any("pytest" in c for c in changed)


def filter_diff(diff: str, tests: RepoTests, hidden: list[str]) -> tuple[str, list[str]]:
    kept, dropped = [], []
    for paths, text in split_diff(diff):
        if any(protected(p, tests, hidden) for p in paths) or _test_config(paths, text):
            dropped += paths
        else:
            kept.append(text)
    return "".join(kept), sorted(set(dropped))


# -- the sentinel --------------------------------------------------------------------------------------------------

_VERBS = [
    "parse",
    "render",
    "merge",
    "split",
    "load",
    "resolve",
    "format",
    "count",
    "apply",
    "build",
    "match",
    "scan",
    "encode",
    "handle",
    "keep",
]
_NOUNS = [
    "empty_input",
    "nested_items",
    "unicode_names",
    "large_values",
    "edge_case",
    "defaults",
    "order",
    "spacing",
    "limits",
    "keys",
]


def sentinel(existing: str) -> tuple[str, str]:
    """A failing test written like its neighbours: (function name, source to append)."""
    rng = random.Random(secrets.randbits(64))
    while True:
        name = f"test_{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}_{rng.randrange(2, 99)}"
        if name not in existing:
            break
    values = [rng.randrange(1, 500) for _ in range(rng.randrange(3, 6))]
    var = rng.choice(["values", "items", "data", "sizes", "counts"])
    off = rng.choice([-3, -2, -1, 1, 2, 3])
    body = f"\n\ndef {name}():\n    {var} = {values!r}\n    assert sum({var}) == {sum(values) + off}\n"
    return name, body


# -- the JUnit report ----------------------------------------------------------------------------------------------


def node_key(node_id: str) -> tuple[str, str]:
    """A pytest id as JUnit's (classname, name): tests/t.py::TestA::test_b[1] -> (tests.t.TestA, test_b[1])."""
    file, *rest = node_id.split("::")
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    return ".".join([module, *rest[:-1]]), rest[-1]


def read_report(xml: str) -> dict[tuple[str, str], str]:
    """(classname, name) -> passed | failed | error | skipped, from a pytest JUnit report; {} when unreadable."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    results: dict[tuple[str, str], str] = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        tags = {child.tag for child in case}
        status = next((s for s in ("error", "failure", "skipped") if s in tags), "passed")
        status = {"failure": "failed"}.get(status, status)
        # A test reported twice (pytest reports a teardown error as a second testcase) keeps its worst status.
        if results.get(key, "passed") == "passed":
            results[key] = status
    return results


# -- the judge -----------------------------------------------------------------------------------------------------


class RepoJudge:
    """Judges diffs against one repository task. `prepare` builds the task's image; `judge` is safe to call
    concurrently (every verdict gets its own container)."""

    def __init__(self, task: Task, workspaces: Workspaces) -> None:
        assert isinstance(task.tests, RepoTests)
        self.task = task
        self.tests: RepoTests = task.tests
        self.workspaces = workspaces
        self.hidden = hidden_test_files(Path(self.tests.dir))
        self._hidden_bytes = {h: (Path(self.tests.dir) / "tests" / h).read_bytes() for h in self.hidden}

    async def prepare(self) -> None:
        await self.workspaces.images.ensure(self.task.id, self.tests)

    async def judge(self, diff: str, label: str = "") -> tuple[Outcome, str, RepoVerdict]:
        """The verdict on `diff` (a git diff against the task's untouched workspace) in a fresh container: the
        outcome, its detail in words, and how it was reached. Raises SandboxInfraError only for the engine's
        failures; whatever the change does is scored."""
        t0 = time.monotonic()
        trust = self.tests.trust
        if len(diff.encode()) > MAX_DIFF_BYTES:
            return Outcome.FAILED, f"the change is over {MAX_DIFF_BYTES >> 20} MiB", RepoVerdict(trust=trust)
        kept, dropped = filter_diff(diff, self.tests, self.hidden)
        box = await self.workspaces.box(self.task.id, self.tests, f"{label}::verdict")
        try:
            judged = await (self._reward(box, kept) if trust == "reward" else self._tests(box, kept))
        finally:
            await box.close()
        judged.verdict.dropped = dropped
        judged.verdict.duration_s = time.monotonic() - t0
        detail = judged.detail
        if dropped:
            detail += f"; changes to {len(dropped)} protected path(s) dropped: {', '.join(dropped[:3])}"
        return judged.outcome, detail, judged.verdict

    async def _apply(self, box: Box, where: str, diff: str) -> str | None:
        """Apply the diff in the fresh workspace; the reason it did not apply, or None."""
        if not diff.strip():
            return None
        await box.put(where, {"change.diff": diff.encode()}, mode=0o644)
        result = await box.exec(
            f"git apply --binary --whitespace=nowarn {where}/change.diff", timeout_s=60, cap_output=True
        )
        if result.exit_code == 0:
            return None
        return f"the change does not apply: {result.output.strip()[-300:]}"

    async def _tests(self, box: Box, diff: str) -> _Judged:
        tests = self.tests
        where = f"/var/lib/ripsaw-verdict-{secrets.token_hex(6)}"
        problem = await self._apply(box, where, diff)
        if problem:
            return _Judged(Outcome.FAILED, problem, RepoVerdict(trust="tests"))
        # The sentinel goes into the first fail_to_pass file, among the tests it must not be told apart from.
        target = tests.fail_to_pass[0].split("::")[0]
        target_rel = str(PurePosixPath(target).relative_to(tests.tests_into))
        files = dict(self._hidden_bytes)
        name, body = sentinel(files[target_rel].decode("utf-8", "replace"))
        files[target_rel] = files[target_rel] + body.encode()
        out = f"{where}/{secrets.token_hex(8)}"  # `where` is root's and not listable: the tests cannot find `out`
        report = f"{out}/report.xml"
        await box.put(f"{where}/hidden", files, uid=AGENT_UID)
        await box.put(where, {"pytest.ini": _PYTEST_INI})
        await box.put(out, {".keep": b""}, uid=AGENT_UID)
        hidden = await box.exec(f"chmod 0711 {where} && chmod 0700 {out}", timeout_s=30, user="0:0")
        if hidden.exit_code != 0:
            raise SandboxInfraError(f"could not prepare the verdict's directories: {hidden.output[-200:]}")
        run_files = sorted({i.split("::")[0] for i in (*tests.fail_to_pass, *tests.pass_to_pass)})
        into = tests.tests_into
        command = (
            f"mkdir -p {into} && cp -r {where}/hidden/. {into}/ && "
            f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python3 -m pytest -c {where}/pytest.ini --rootdir=. "
            f"-p no:cacheprovider -q -o junit_family=xunit1 --junitxml={report} -- {' '.join(run_files)}"
        )
        run = await box.exec(command, timeout_s=tests.verifier_timeout_s)
        read = await box.exec(
            f"head -c {MAX_REPORT_BYTES} {report} 2>/dev/null", timeout_s=60, user="0:0", cap_output=False
        )
        results = read_report(read.output)
        required = (*tests.fail_to_pass, *tests.pass_to_pass)
        verdict = RepoVerdict(trust="tests", tests={i: results.get(node_key(i), "missing") for i in required})
        missing = [i for i, status in verdict.tests.items() if status == "missing"]
        failing = [i for i, status in verdict.tests.items() if status not in ("passed", "missing")]
        sentinel_status = results.get(node_key(f"{target}::{name}"))
        if results and sentinel_status != "failed":
            verdict.tampered = True
            said = "passed" if sentinel_status == "passed" else (sentinel_status or "missing")
            return _Judged(Outcome.FAILED, f"tampered: a hidden test that must fail was reported {said}", verdict)
        if run.timed_out:
            return _Judged(Outcome.TIMEOUT, f"the tests did not finish in {tests.verifier_timeout_s:g} s", verdict)
        if not results:
            why = f"no test report (the test run exited {run.exit_code}): {run.output.strip()[-300:]}"
            return _Judged(Outcome.FAILED, why, verdict)
        if missing or failing:
            parts = []
            if failing:
                parts.append(f"{len(failing)} required test(s) not passing: {', '.join(failing[:3])}")
            if missing:
                parts.append(f"{len(missing)} required test(s) not reported: {', '.join(missing[:3])}")
            return _Judged(Outcome.FAILED, "; ".join(parts), verdict)
        return _Judged(Outcome.PASSED, f"{len(required)} required tests passed", verdict)

    async def _reward(self, box: Box, diff: str) -> _Judged:
        """Harbor's convention: tests/test.sh (with the hidden files beside it, at /tests) writes the reward to
        /logs/verifier/reward.txt (a number) or reward.json ({"reward": number}); 1 is a pass."""
        verdict = RepoVerdict(trust="reward")
        where = f"/var/lib/ripsaw-verdict-{secrets.token_hex(6)}"
        problem = await self._apply(box, where, diff)
        if problem:
            return _Judged(Outcome.FAILED, problem, verdict)
        files = {**self._hidden_bytes, "test.sh": (Path(self.tests.dir) / "tests" / "test.sh").read_bytes()}
        await box.put("/tests", files, mode=0o755)
        await box.put("/logs/verifier", {".keep": b""}, uid=AGENT_UID)
        run = await box.exec("bash /tests/test.sh", timeout_s=self.tests.verifier_timeout_s)
        if run.timed_out:
            return _Judged(Outcome.TIMEOUT, f"test.sh did not finish in {self.tests.verifier_timeout_s:g} s", verdict)
        read = await box.exec(
            "cat /logs/verifier/reward.txt 2>/dev/null || cat /logs/verifier/reward.json 2>/dev/null",
            timeout_s=30,
            user="0:0",
        )
        reward = _reward_value(read.output)
        if reward is None:
            return _Judged(Outcome.FAILED, f"test.sh wrote no reward (exit {run.exit_code})", verdict)
        if reward >= 1:
            return _Judged(Outcome.PASSED, "test.sh reward 1 (the task's own verifier)", verdict)
        return _Judged(Outcome.FAILED, f"test.sh reward {reward:g}", verdict)


def _reward_value(text: str) -> float | None:
    text = text.strip()[:4096]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        value = json.loads(text).get("reward")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# -- validation ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Validation:
    task_id: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    duration_s: float = 0.0


async def validate(judge: RepoJudge, runs: int = 2) -> Validation:
    """The task's own proof: the untouched workspace fails every fail_to_pass id and passes every pass_to_pass id;
    the solution (solution/solve.sh run in a workspace, its change judged like an agent's) passes all, `runs` times
    (a test that flips between runs is flaky and named)."""
    t0 = time.monotonic()
    tests = judge.tests
    problems: list[str] = []
    outcome, detail, base = await judge.judge("", label=f"validate::{judge.task.id}::base")
    if tests.trust == "tests":
        if base.tampered:
            problems.append(f"untouched workspace: {detail}")
        for i in tests.fail_to_pass:
            if base.tests.get(i) == "passed":
                problems.append(f"{i} passes on the untouched workspace (it must fail before the fix)")
            elif base.tests.get(i) == "missing":
                problems.append(f"{i} is not reported on the untouched workspace")
        for i in tests.pass_to_pass:
            if base.tests.get(i) != "passed":
                problems.append(f"{i} does not pass on the untouched workspace (it must pass before and after)")
    elif outcome is Outcome.PASSED:
        problems.append("the untouched workspace already earns the reward")
    diff, problem = await solution_diff(judge)
    if problem:
        return Validation(judge.task.id, False, [*problems, problem], time.monotonic() - t0)
    judged = [await judge.judge(diff, label=f"validate::{judge.task.id}::solution{k}") for k in range(runs)]
    not_passing = [frozenset(i for i, status in v.tests.items() if status != "passed") for _, _, v in judged]
    flaky = sorted(frozenset().union(*not_passing) - not_passing[0].intersection(*not_passing[1:]))
    if flaky:
        problems.append(f"flaky: {', '.join(flaky)} passed in some runs of the solution and not in others")
    for k, (outcome, detail, _) in enumerate(judged):
        if outcome is not Outcome.PASSED and not flaky:
            problems.append(f"the solution fails (run {k + 1}): {detail}")
    return Validation(judge.task.id, not problems, problems, time.monotonic() - t0)


async def solution_diff(judge: RepoJudge) -> tuple[str, str | None]:
    """The change solution/solve.sh makes to the workspace, as a snapshot of an agent's workspace would see it,
    or the reason there is none."""
    solution = Path(judge.tests.dir) / "solution"
    box = await judge.workspaces.box(judge.task.id, judge.tests, f"validate::{judge.task.id}::solve")
    try:
        base = await box.init_base()
        files = {str(p.relative_to(solution)): p.read_bytes() for p in solution.rglob("*") if p.is_file()}
        where = f"/var/lib/ripsaw-solution-{secrets.token_hex(4)}"
        await box.put(where, files, uid=AGENT_UID, mode=0o755)
        run = await box.exec(f"bash {where}/solve.sh", timeout_s=300)
        if run.exit_code != 0:
            return "", f"solution/solve.sh exited {run.exit_code}: {run.output.strip()[-300:]}"
        diff, _ = await box.diff(base)
        return diff, None if diff.strip() else "solution/solve.sh changed nothing"
    finally:
        await box.close()


async def validate_all(
    judges: list[RepoJudge], runs: int = 2, concurrency: int = 2, done: Callable[[Validation], None] | None = None
) -> list[Validation]:
    gate = asyncio.Semaphore(concurrency)

    async def one(judge: RepoJudge) -> Validation:
        async with gate:
            await judge.prepare()
            result = await validate(judge, runs)
        if done is not None:
            done(result)
        return result

    return list(await asyncio.gather(*(one(j) for j in judges)))


# -- validation before a run, remembered -----------------------------------------------------------------------------

CACHE_ENV = "RIPSAW_VALIDATED_CACHE"


def validated_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ripsaw" / "validated")


def _cache_file(judge: RepoJudge) -> Path:
    """Keyed by the task's content and its image: an edited task, a rebuilt image or another engine is new."""
    image_id = judge.workspaces.images.image_id(judge.task.id, judge.tests)
    key = hashlib.sha256(f"{judge.tests.content_sha256}\0{image_id}".encode()).hexdigest()[:24]
    return validated_dir() / f"{judge.task.id}-{key}.json"


async def ensure_valid(judges: list[RepoJudge], log: Callable[[str], None] = lambda line: None) -> None:
    """Validate every task not validated before (with this content and image); raise ConfigError naming the first
    invalid task and its problem. Called before a run: a broken task would score every agent as failing."""
    todo = []
    for judge in judges:
        await judge.prepare()
        if not _cache_file(judge).is_file():
            todo.append(judge)
    if not todo:
        return
    log(f"validating {len(todo)} repository task(s) (the untouched workspace fails, the solution passes, twice)")
    results = await validate_all(todo)
    bad = [v for v in results if not v.ok]
    for judge, result in zip(todo, results, strict=True):
        if result.ok:
            path = _cache_file(judge)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"task": result.task_id, "duration_s": round(result.duration_s, 3)}) + "\n")
    if bad:
        first = bad[0]
        more = f" (and {len(bad) - 1} more task(s); `ripsaw tasks validate` lists them)" if len(bad) > 1 else ""
        raise ConfigError(f"task {first.task_id} is invalid: {first.problems[0]}{more}")
