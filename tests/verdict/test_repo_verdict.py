"""The repository verdict's parts (fast), and task validation on a real engine: every bundled task through
`ripsaw tasks validate`, a broken task named with its test id, and a run refusing to start on a broken task."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError
from ripsaw.records import Outcome
from ripsaw.sandboxes.workspace import Workspaces
from ripsaw.tasks import RepoTests
from ripsaw.tasks.repo import hidden_test_files, load_repo_task
from ripsaw.verdict.repo import (
    RepoJudge,
    _reward_value,
    ensure_valid,
    filter_diff,
    node_key,
    read_report,
    sentinel,
    split_diff,
    validate,
    validated_dir,
)
from tests.sandboxes.conftest import require_docker

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "tasks" / "repo"
TASK = BUNDLED / "slugify-edges"


def _section(path: str, body: str = "+x\n") -> str:
    return f"diff --git a/{path} b/{path}\nindex 1..2 100644\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n{body}"


def test_protected_paths_are_dropped_and_named_and_the_rest_kept() -> None:
    task = load_repo_task(TASK)
    assert isinstance(task.tests, RepoTests)
    hidden = hidden_test_files(TASK)
    diff = "".join(
        _section(p)
        for p in (
            "textkit/slug.py",
            "conftest.py",
            "deep/dir/conftest.py",
            "pytest.ini",
            "tox.ini",
            "setup.cfg",
            "sitecustomize.py",
            "lib/usercustomize.py",
            "x/hook.pth",
            ".git/config",
            "tests/test_slug_edges.py",  # a hidden test's path
            "tests/test_slug.py",  # a pass_to_pass file
            "README.md",
        )
    )
    kept, dropped = filter_diff(diff, task.tests, hidden)
    assert [paths for paths, _ in split_diff(kept)] == [["textkit/slug.py"], ["README.md"]]
    assert "tests/test_slug_edges.py" in dropped and ".git/config" in dropped and "x/hook.pth" in dropped
    assert len(dropped) == 11


def test_a_rename_onto_a_protected_path_is_dropped() -> None:
    task = load_repo_task(TASK)
    assert isinstance(task.tests, RepoTests)
    rename = (
        "diff --git a/helper.py b/conftest.py\nsimilarity index 100%\nrename from helper.py\nrename to conftest.py\n"
    )
    kept, dropped = filter_diff(rename, task.tests, hidden_test_files(TASK))
    assert kept == "" and "conftest.py" in dropped


def test_node_ids_map_to_junit_names_parametrized_and_in_classes() -> None:
    assert node_key("tests/test_a.py::test_b") == ("tests.test_a", "test_b")
    assert node_key("tests/test_a.py::TestX::test_b[1-2]") == ("tests.test_a.TestX", "test_b[1-2]")


def test_a_report_keeps_each_tests_worst_status() -> None:
    xml = """<testsuites><testsuite>
      <testcase classname="t" name="ok"/>
      <testcase classname="t" name="bad"><failure message="x"/></testcase>
      <testcase classname="t" name="skip"><skipped/></testcase>
      <testcase classname="t" name="teardown"/>
      <testcase classname="t" name="teardown"><error message="teardown"/></testcase>
    </testsuite></testsuites>"""
    assert read_report(xml) == {
        ("t", "ok"): "passed",
        ("t", "bad"): "failed",
        ("t", "skip"): "skipped",
        ("t", "teardown"): "error",
    }
    assert read_report("<not xml") == {}


def test_sentinels_differ_every_time_and_never_reuse_a_name() -> None:
    existing = "def test_parse_order_5():\n    pass\n"
    made = {sentinel(existing)[0] for _ in range(50)}
    assert len(made) > 40 and "test_parse_order_5" not in made
    name, body = sentinel("")
    namespace: dict[str, object] = {}
    exec(compile(body, "<sentinel>", "exec"), namespace)  # it is a real test, and it fails
    with pytest.raises(AssertionError):
        namespace[name]()  # type: ignore[operator]


def test_harbor_rewards_are_read_from_text_or_json() -> None:
    assert _reward_value("1\n") == 1.0 and _reward_value('{"reward": 0.5}') == 0.5
    assert _reward_value("") is None and _reward_value('{"reward": true}') is None and _reward_value("x") is None


# --- a real engine ------------------------------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_every_bundled_task_is_valid_through_ripsaw() -> None:
    require_docker()
    done = subprocess.run(
        [sys.executable, "-m", "ripsaw", "tasks", "validate", str(BUNDLED), "--json", "--no-progress"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    assert len(results) >= 20 and all(r["ok"] for r in results)


@pytest.mark.docker
def test_a_broken_task_is_named_with_its_test_id(tmp_path: Path) -> None:
    require_docker()
    broken = tmp_path / "slugify-broken"
    shutil.copytree(TASK, broken)
    toml = broken / "task.toml"
    # A pass_to_pass id that fails before the fix: the task's ids are wrong.
    text = (
        toml.read_text()
        .replace('    "tests/test_slug_edges.py::test_custom_separator_not_at_ends",\n', "")
        .replace(
            "pass_to_pass = [\n",
            'pass_to_pass = [\n    "tests/test_slug_edges.py::test_custom_separator_not_at_ends",\n',
        )
    )
    toml.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "ripsaw", "tasks", "validate", str(tmp_path), "--no-progress"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert (
        "INVALID  slugify-broken: tests/test_slug_edges.py::test_custom_separator_not_at_ends does not pass on the "
        "untouched workspace" in done.stdout
    )


@pytest.mark.docker
async def test_a_run_validates_its_tasks_once_and_refuses_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_docker()
    monkeypatch.setenv("RIPSAW_VALIDATED_CACHE", str(tmp_path / "validated"))
    spaces = Workspaces(f"tests-validate-{os.getpid()}")
    try:
        good = RepoJudge(load_repo_task(TASK), spaces)
        await ensure_valid([good])
        assert len(list(validated_dir().iterdir())) == 1
        await ensure_valid([good])  # remembered: no second validation (nothing new in the cache)
        assert len(list(validated_dir().iterdir())) == 1

        broken = tmp_path / "tasks" / "slugify-nofix"
        shutil.copytree(TASK, broken)
        (broken / "solution" / "solve.sh").write_text("#!/bin/bash\necho nothing > /app/NOTES.txt\n")
        with pytest.raises(ConfigError, match="task slugify-nofix is invalid: the solution fails"):
            await ensure_valid([RepoJudge(load_repo_task(broken), spaces)])
    finally:
        spaces.close()


@pytest.mark.docker
async def test_a_harbor_task_without_ids_is_judged_by_its_reward(tmp_path: Path) -> None:
    require_docker()
    harbor = tmp_path / "slugify-reward"
    shutil.copytree(TASK, harbor)
    toml = harbor / "task.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("fail_to_pass")])  # the [ripsaw] table keeps only workdir and tests_into
    task = load_repo_task(harbor)
    assert isinstance(task.tests, RepoTests) and task.tests.trust == "reward"
    spaces = Workspaces(f"tests-reward-{os.getpid()}")
    try:
        judge = RepoJudge(task, spaces)
        await judge.prepare()
        outcome, detail, verdict = await judge.judge("", "reward-base")
        assert outcome is Outcome.FAILED and "reward 0" in detail and verdict.trust == "reward"
        result = await validate(judge)
        assert result.ok, result.problems
    finally:
        spaces.close()


def test_a_pyproject_change_is_dropped_only_when_it_touches_pytest() -> None:
    task = load_repo_task(TASK)
    assert isinstance(task.tests, RepoTests)
    hidden = hidden_test_files(TASK)
    config = _section("pyproject.toml", '+[tool.pytest.ini_options]\n+addopts = "-p evil"\n')
    version = _section("pyproject.toml", '-version = "1.0"\n+version = "1.1"\n')
    assert filter_diff(config, task.tests, hidden) == ("", ["pyproject.toml"])
    assert filter_diff(version, task.tests, hidden) == (version, [])
