"""A SWE-bench-format instance made on the spot: a real git repository with a base commit holding a bug, the fix
(the gold patch), a test patch that exposes it, and the instance's JSON line, in a repository cache's layout."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTANCE_ID = "acme__calc-7"
REPO = "acme/calc"

OPS = '''\
"""Small numeric helpers."""


def clamp(x, lo, hi):
    """x limited to the range [lo, hi]."""
    if lo > hi:
        raise ValueError("lo must not exceed hi")
    return max(lo, min(x, {upper}))


def mean(values):
    values = list(values)
    return sum(values) / len(values)
'''
BUG, FIX = "lo", "hi"  # the bug: the upper bound is the lower one

TEST_OPS = """\
from calc.ops import clamp, mean


def test_mean():
    assert mean([1, 2, 3]) == 2


def test_clamp_below():
    assert clamp(-5, 0, 10) == 0
"""

TEST_OPS_ADDED = """

def test_clamp_inside():
    assert clamp(5, 0, 10) == 5
"""

TEST_NEW_FILE = """\
import pytest

from calc.ops import clamp


class TestClampUpper:
    def test_above(self):
        assert clamp(50, 0, 10) == 10

    @pytest.mark.parametrize("x", [11, 12])
    def test_just_above(self, x):
        assert clamp(x, 0, 10) == 10


def test_bad_range():
    with pytest.raises(ValueError):
        clamp(1, 5, 0)
"""

ISSUE = """clamp() ignores its upper bound

`calc.ops.clamp(5, 0, 10)` returns 0 instead of 5, and `clamp(50, 0, 10)` returns 0 instead of 10: the value
never gets above the lower bound. Values below the range are handled correctly.
"""

FAIL_TO_PASS = [
    "tests/test_upper.py::TestClampUpper::test_above",
    "tests/test_upper.py::TestClampUpper::test_just_above[11]",
    "tests/test_upper.py::TestClampUpper::test_just_above[12]",
    "tests/test_ops.py::test_clamp_inside",
]
PASS_TO_PASS = [
    "tests/test_ops.py::test_mean",
    "tests/test_ops.py::test_clamp_below",
    "tests/test_upper.py::test_bad_range",
]


@dataclass(frozen=True)
class Fixture:
    cache: Path  # the repository cache: cache/acme__calc is the clone
    clone: Path
    jsonl: Path
    instance: dict[str, Any]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    env |= {"GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def make(root: Path, *, instance_id: str = INSTANCE_ID, **overrides: Any) -> Fixture:
    """The clone under root/cache, and root/instances.jsonl with one instance (fields overridden as given)."""
    clone = root / "cache" / "acme__calc"
    (clone / "calc").mkdir(parents=True)
    (clone / "tests").mkdir()
    git(clone, "init", "-q")
    (clone / "calc" / "__init__.py").write_text("")
    (clone / "calc" / "ops.py").write_text(OPS.format(upper=BUG))
    (clone / "tests" / "test_ops.py").write_text(TEST_OPS)
    (clone / "README.md").write_text("calc: small numeric helpers\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "base")
    base = git(clone, "rev-parse", "HEAD").strip()
    # Upstream's later history: the fix, then its tests, as the pull request that closed the issue made them.
    (clone / "calc" / "ops.py").write_text(OPS.format(upper=FIX))
    git(clone, "commit", "-q", "-am", "fix clamp")
    (clone / "tests" / "test_ops.py").write_text(TEST_OPS + TEST_OPS_ADDED)
    (clone / "tests" / "test_upper.py").write_text(TEST_NEW_FILE)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "test clamp")
    patch = git(clone, "diff", base, "HEAD", "--", "calc")
    test_patch = git(clone, "diff", base, "HEAD", "--", "tests")
    git(clone, "checkout", "-q", base)  # a clone's checkout is left wherever; only its objects are read
    instance: dict[str, Any] = {
        "instance_id": instance_id,
        "repo": REPO,
        "base_commit": base,
        "problem_statement": ISSUE,
        "patch": patch,
        "test_patch": test_patch,
        # JSON-encoded lists, as the Hugging Face datasets store them
        "FAIL_TO_PASS": json.dumps(FAIL_TO_PASS),
        "PASS_TO_PASS": json.dumps(PASS_TO_PASS),
        "version": "1.0",
        "environment_setup_commit": base,
        "created_at": "2024-01-01T00:00:00Z",
        "hints_text": "",
    }
    instance.update(overrides)
    jsonl = root / "instances.jsonl"
    jsonl.write_text(json.dumps(instance) + "\n")
    return Fixture(root / "cache", clone, jsonl, instance)
