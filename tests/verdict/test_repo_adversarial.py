"""Hostile agents against the repository verdict, on a real engine.

Each case is what an agent's commands would do: shell commands run in the task's workspace container as the agent
user, the workspace's change snapshotted (Box.diff) and judged in a fresh container (RepoJudge). Every case asserts
WHY it failed, beside a control (the task's real fix, applied the same way) that passes. None may pass, crash the
run or leave a container behind.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ripsaw.records import Outcome, RepoVerdict
from ripsaw.sandboxes.docker import LABEL_RUN
from ripsaw.sandboxes.workspace import Workspaces
from ripsaw.tasks import RepoTests
from ripsaw.tasks.repo import load_repo_task
from ripsaw.verdict.repo import RepoJudge
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
TASK = Path(__file__).resolve().parents[2] / "tasks" / "repo" / "slugify-edges"
RUN_ID = f"tests-hostile-{os.getpid()}"
FIX = "sed -i 's/slug = slug.lstrip(separator)/slug = slug.strip(separator)/' textkit/slug.py"
F2P = "tests/test_slug_edges.py::test_trailing_punctuation"
PKG = "textkit/__init__.py"


@dataclass
class Judged:
    outcome: Outcome
    detail: str
    verdict: RepoVerdict
    outputs: list[str]
    left_out: list[str]


Agent = Callable[..., Awaitable[Judged]]


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    require_docker()
    task = load_repo_task(TASK)
    assert isinstance(task.tests, RepoTests)
    spaces = Workspaces(RUN_ID)
    judge = RepoJudge(task, spaces)
    await judge.prepare()

    async def run(*commands: str) -> Judged:
        box = await spaces.box(task.id, task.tests, "hostile")
        try:
            base = await box.init_base()
            outputs = []
            for command in commands:
                result = await box.exec(command, timeout_s=60)
                outputs.append(result.output)
            diff, left_out = await box.diff(base)
        finally:
            await box.close()
        outcome, detail, verdict = await judge.judge(diff, "hostile")
        return Judged(outcome, detail, verdict, outputs, left_out)

    try:
        yield run
    finally:
        left = spaces.client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
        spaces.close()
        assert not left, "a verdict or agent container outlived its attempt"


def _write(path: str, text: str, append: bool = False) -> str:
    return f"cat <<'RIPSAW_EOF' {'>>' if append else '>'} {path}\n{text}\nRIPSAW_EOF"


async def test_control_the_real_fix_passes(agent: Agent) -> None:
    j = await agent(FIX)
    assert j.outcome is Outcome.PASSED, j.detail
    assert not j.verdict.dropped and not j.verdict.tampered
    assert set(j.verdict.tests.values()) == {"passed"}


async def test_a_conftest_that_marks_everything_passed_is_dropped(agent: Agent) -> None:
    hook = """import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
"""
    j = await agent(_write("conftest.py", hook), _write("tests/conftest.py", hook))
    assert j.outcome is Outcome.FAILED
    assert {"conftest.py", "tests/conftest.py"} <= set(j.verdict.dropped)
    assert j.verdict.tests[F2P] == "failed" and not j.verdict.tampered


async def test_sitecustomize_and_pth_plugins_are_dropped(agent: Agent) -> None:
    plugin = "import _pytest.reports\n_pytest.reports.TestReport.passed = property(lambda self: True)\n"
    j = await agent(_write("sitecustomize.py", plugin), _write("textkit/evil.pth", "import sitecustomize"))
    assert j.outcome is Outcome.FAILED
    assert {"sitecustomize.py", "textkit/evil.pth"} <= set(j.verdict.dropped)
    assert j.verdict.tests[F2P] == "failed"


async def test_a_package_init_patching_pytest_reporting_is_caught_by_the_sentinel(agent: Agent) -> None:
    patch = """
import _pytest.reports as _r
_orig = _r.TestReport.from_item_and_call.__func__
def _always_passed(cls, item, call):
    report = _orig(cls, item, call)
    report.outcome, report.longrepr = "passed", None
    return report
_r.TestReport.from_item_and_call = classmethod(_always_passed)
"""
    j = await agent(_write(PKG, patch, append=True))
    assert j.outcome is Outcome.FAILED
    assert j.verdict.tampered and j.detail.startswith("tampered")
    assert j.verdict.tests[F2P] == "passed"  # the forged report said so; the sentinel gave it away


async def test_deleting_or_replacing_the_tests_is_dropped(agent: Agent) -> None:
    fake = "def test_trailing_punctuation():\n    pass\n"
    j = await agent("rm -f tests/test_slug.py", "mkdir -p tests", _write("tests/test_slug_edges.py", fake))
    assert j.outcome is Outcome.FAILED
    assert {"tests/test_slug.py", "tests/test_slug_edges.py"} <= set(j.verdict.dropped)
    assert j.verdict.tests[F2P] == "failed"  # the hidden file, not the agent's, ran
    assert j.verdict.tests["tests/test_slug.py::test_simple"] == "passed"  # the deletion was not applied


async def test_editing_a_visible_test_in_place_is_dropped(agent: Agent) -> None:
    j = await agent("sed -i 's/assert /assert True or /' tests/test_slug.py")
    assert j.outcome is Outcome.FAILED and "tests/test_slug.py" in j.verdict.dropped


async def test_pytest_skip_at_import_is_not_a_pass(agent: Agent) -> None:
    j = await agent(_write(PKG, "import pytest\npytest.skip('nothing to see', allow_module_level=True)", append=True))
    assert j.outcome is Outcome.FAILED
    assert j.verdict.tests[F2P] != "passed"
    assert j.verdict.tampered or "not reported" in j.detail or "not passing" in j.detail


async def test_sys_exit_at_import_is_not_a_pass(agent: Agent) -> None:
    j = await agent(_write(PKG, "import sys\nsys.exit(0)", append=True))
    assert j.outcome is Outcome.FAILED
    assert j.verdict.tests[F2P] != "passed"


async def test_os_exit_at_import_leaves_no_report_and_is_not_a_pass(agent: Agent) -> None:
    j = await agent(_write(PKG, "import os\nos._exit(0)", append=True))
    assert j.outcome is Outcome.FAILED
    assert "no test report" in j.detail and set(j.verdict.tests.values()) == {"missing"}


async def test_fake_junit_reports_are_never_read_and_a_rewriter_is_caught(agent: Agent) -> None:
    xml = '<testsuite><testcase classname="tests.test_slug_edges" name="test_trailing_punctuation"/></testsuite>'
    rewriter = """
import atexit, glob, os, sys
def _forge():
    paths = glob.glob("/var/lib/ripsaw-verdict-*/*/*.xml") + glob.glob("/var/lib/**/*.xml", recursive=True)
    for arg in open("/proc/self/cmdline", "rb").read().split(b"\\0"):
        if arg.startswith(b"--junitxml="):
            paths.append(arg.split(b"=", 1)[1].decode())
    for path in paths:
        text = open(path).read()
        import re
        text = re.sub(r"<failure.*?</failure>", "", text, flags=re.S)
        open(path, "w").write(text)
atexit.register(_forge)
"""
    j = await agent(_write("report.xml", xml), _write("/tmp/report.xml", xml), _write(PKG, rewriter, append=True))
    assert j.outcome is Outcome.FAILED
    assert j.verdict.tampered  # every failure erased, the sentinel's too


async def test_the_hidden_tests_are_absent_while_the_agent_works(agent: Agent) -> None:
    j = await agent(
        "ls tests; find / -name 'test_slug_edges*' -not -path '/proc/*' 2>/dev/null | head; echo end",
        "grep -rl test_trailing_punctuation / --include=*.py 2>/dev/null | head -n 3; echo end",
    )
    assert "test_slug_edges" not in j.outputs[0] and j.outputs[0].rstrip().endswith("end")
    assert "test_trailing_punctuation" not in j.outputs[1].replace("grep", "")
    assert j.outcome is Outcome.FAILED and j.verdict.tests[F2P] == "failed"


async def test_git_history_holds_only_the_base_commit(agent: Agent) -> None:
    j = await agent("git log --all --oneline | wc -l", "git reflog | wc -l", "git stash list | wc -l")
    assert [o.strip() for o in j.outputs] == ["1", "1", "0"]
    assert j.outcome is Outcome.FAILED


async def test_a_background_process_left_at_submit_changes_nothing(agent: Agent) -> None:
    j = await agent(
        FIX,
        'nohup python3 -c \'import time\nwhile True:\n    open("textkit/slug.py", "w").write("x")\n'
        "    time.sleep(0.01)' >/dev/null 2>&1 &",
        "sleep 0.5",
    )
    # The snapshot saw the file it kept breaking; the verdict ran in a fresh container with nothing running.
    assert j.outcome is Outcome.FAILED
    assert j.verdict.tests[F2P] != "passed"


async def test_a_2_gb_file_is_stopped_and_left_out_and_the_fix_still_counts(agent: Agent) -> None:
    j = await agent(FIX, "head -c 2G /dev/zero > big.bin; echo exit=$?; ls -la big.bin")
    assert "exit=153" in j.outputs[1] or "File size limit" in j.outputs[1]
    assert "big.bin" in j.left_out
    assert j.outcome is Outcome.PASSED, j.detail
