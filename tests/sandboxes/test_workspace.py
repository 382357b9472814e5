"""Workspace boxes of repository tasks, on a real engine: who holds which capability, copying files in, commands cut
at their timeout, snapshots against the base commit, and nothing left behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ripsaw.sandboxes.docker import LABEL_RUN
from ripsaw.sandboxes.workspace import AGENT_UID, Box, Workspaces
from ripsaw.tasks import RepoTests
from ripsaw.tasks.repo import load_repo_task
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
TASK = Path(__file__).resolve().parents[2] / "tasks" / "repo" / "slugify-edges"
RUN_ID = f"tests-workspace-{os.getpid()}"


@pytest.fixture
async def box() -> AsyncIterator[Box]:
    require_docker()
    task = load_repo_task(TASK)
    assert isinstance(task.tests, RepoTests)
    spaces = Workspaces(RUN_ID)
    b = await spaces.box(task.id, task.tests, label="test")
    try:
        yield b
    finally:
        await b.close()
        left = spaces.client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
        spaces.close()
        assert not left, "a box outlived close()"


def _caps(status: str) -> int:
    line = next(x for x in status.splitlines() if x.startswith("CapEff:"))
    return int(line.split()[1], 16)


async def test_root_execs_hold_their_capabilities_and_the_agent_has_none(box: Box) -> None:
    root = await box.exec("grep CapEff /proc/self/status", timeout_s=10, user="0:0")
    agent = await box.exec("grep CapEff /proc/self/status; id -u", timeout_s=10)
    assert _caps(root.output) != 0
    assert _caps(agent.output) == 0
    assert agent.output.split()[-1] == str(AGENT_UID)


async def test_put_makes_the_directory_owned_by_the_given_user(box: Box) -> None:
    await box.put("/var/lib/ripsaw-put/deep", {"a/b.txt": b"hello"}, uid=0, mode=0o600)
    denied = await box.exec("cat /var/lib/ripsaw-put/deep/a/b.txt", timeout_s=10)
    assert denied.exit_code != 0  # root's 0600 file: the agent cannot read it
    allowed = await box.exec("cat /var/lib/ripsaw-put/deep/a/b.txt", timeout_s=10, user="0:0")
    assert allowed.output == "hello"
    await box.put(f"{box.workdir}/new", {"x.py": b"X = 1\n"}, uid=AGENT_UID)
    mine = await box.exec("echo more >> new/x.py && cat new/x.py", timeout_s=10)
    assert mine.exit_code == 0 and mine.output == "X = 1\nmore\n"


async def test_a_command_is_cut_at_its_timeout_even_with_a_background_child(box: Box) -> None:
    cut = await box.exec("(sleep 300 &) ; echo started; sleep 300", timeout_s=1.0)
    assert cut.timed_out and cut.exit_code is None and "started" in cut.output
    assert cut.duration_s < 30  # the background sleep kept the output file open, not the exec


async def test_a_snapshot_holds_edits_and_new_files_but_not_big_ones(box: Box) -> None:
    base = await box.init_base()
    empty, _ = await box.diff(base)
    assert empty == ""
    change = await box.exec(
        "echo '# edited' >> $(git ls-files '*.py' | head -n 1) && echo new > added.txt "
        "&& head -c 2000000 /dev/zero > big.bin "
        # a test run's byproducts: pytest's cache and hypothesis's example database are not the agent's change
        "&& mkdir -p .pytest_cache/v .hypothesis/examples/ab "
        "&& echo 1 > .pytest_cache/v/x && echo 1 > .hypothesis/examples/ab/c",
        timeout_s=20,
    )
    assert change.exit_code == 0, change.output
    diff, big = await box.diff(base)
    assert "+# edited" in diff and "added.txt" in diff
    assert "big.bin" not in diff and big == ["big.bin"]
    assert ".pytest_cache" not in diff and ".hypothesis" not in diff


async def test_output_is_capped_head_and_tail(box: Box) -> None:
    loud = await box.exec("seq 1 100000", timeout_s=20)
    assert loud.output_chars > 100000
    assert loud.output.startswith("1\n2\n") and loud.output.rstrip().endswith("100000")
    assert "bytes left out" in loud.output and len(loud.output) < 9000


async def test_boxes_start_concurrently(box: Box) -> None:
    results = await asyncio.gather(*(box.exec(f"echo {i}", timeout_s=10) for i in range(4)))
    assert [r.output for r in results] == [f"{i}\n" for i in range(4)]
