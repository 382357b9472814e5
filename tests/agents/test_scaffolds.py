"""Scaffold adapters without an engine: the mini-swe-agent adapter's command carries the run's limits and the
proxy's address (never a real key), its done signal is read from the status line it prints, its requirements are
pinned and hashed; the forwarder wrapper fails loudly when the forwarder does not start; a scaffold that speaks
another API than the combo's provider is refused before anything runs."""

from __future__ import annotations

import re
import subprocess

import pytest

from ripsaw.agents.proxy import DUMMY_KEY
from ripsaw.agents.scaffold import with_forwarder
from ripsaw.agents.scaffolds import SCAFFOLDS, Invocation
from ripsaw.agents.scaffolds.mini_swe_agent import EXIT_MARK, REQUIREMENTS, MiniSweAgent

INV = Invocation(
    model="qwen-coder",
    base_url="http://127.0.0.1:8787/v1",
    socket="/run/ripsaw/model.sock",
    api_key=DUMMY_KEY,
    instruction="/opt/ripsaw/instruction.md",
    workdir="/app",
    log_dir="/tmp/ripsaw-scaffold",
    budget_s=300.5,
    command_timeout_s=30,
    max_turns=12,
)


def test_the_mini_swe_agent_command_carries_the_limits_and_the_proxy() -> None:
    adapter = SCAFFOLDS.get("mini-swe-agent")()
    assert isinstance(adapter, MiniSweAgent) and adapter.api == "chat"
    command = adapter.command(INV)
    for part in (
        "model.model_name=openai/qwen-coder",
        "model.model_kwargs.api_base=http://127.0.0.1:8787/v1",
        f"model.model_kwargs.api_key={DUMMY_KEY}",
        "agent.step_limit=12",
        "agent.wall_time_limit_seconds=300",
        "environment.timeout=30",
        "environment.cwd=/app",
        "--agent-class default",
        "--exit-immediately",
        '"$(cat /opt/ripsaw/instruction.md)"',
    ):
        assert part in command, part
    # The command is valid bash.
    assert subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


@pytest.mark.parametrize(
    ("output", "done"),
    [
        (f"...\n{EXIT_MARK} Submitted\n", True),
        (f"{EXIT_MARK} Submitted\n...\n{EXIT_MARK} LimitsExceeded\n", False),
        (f"{EXIT_MARK} unknown FileNotFoundError(2)\n", False),
        ("Submitted\n", False),  # the scaffold's own words are not the status line
        ("", False),
    ],
)
def test_mini_swe_agent_is_done_only_when_its_trajectory_says_submitted(output: str, done: bool) -> None:
    assert MiniSweAgent().submitted(output) is done


def test_the_requirements_are_pinned_and_hashed() -> None:
    lines = [x for x in REQUIREMENTS.read_text().splitlines() if x and not x.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+ --hash=sha256:[0-9a-f]{64}", x) for x in lines)
    names = {x.split("==")[0] for x in lines}
    assert {"mini-swe-agent", "litellm", "openai", "jinja2"} <= names


def test_the_forwarder_wrapper_stops_when_the_forwarder_cannot_start(tmp_path: object) -> None:
    # No /opt/ripsaw/forwarder.py here: python3 fails at once, so "ready" never appears.
    wrapped = with_forwarder("echo scaffold ran").replace("seq 200", "seq 2")
    done = subprocess.run(["bash", "-c", wrapped], capture_output=True, text=True, timeout=60)
    assert done.returncode == 97 and "forwarder did not start" in done.stdout
    assert "scaffold ran" not in done.stdout
