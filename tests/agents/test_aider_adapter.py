"""The aider adapter without an engine: its command points every model aider uses at the proxy with the dummy key,
keeps aider off the network and out of the repository's history, lets it run the task's tests within the run's
command limit; its done signal is read from what it printed; its requirements are aider-chat's own pins, hashed."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from ripsaw.agents.proxy import DUMMY_KEY
from ripsaw.agents.scaffolds import SCAFFOLDS, Invocation
from ripsaw.agents.scaffolds.aider import EXIT_MARK, REQUIREMENTS, Aider

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


def _aider_args(command: str) -> list[str]:
    """The words of aider's own command line, as bash would pass them."""
    lexer = shlex.shlex(command.split("/opt/scaffold/bin/aider ", 1)[1], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    return words[: words.index(";")]


def test_the_aider_command_sends_every_model_to_the_proxy_and_nothing_to_the_network() -> None:
    adapter = SCAFFOLDS.get("aider")()
    assert isinstance(adapter, Aider) and adapter.api == "chat"
    command = adapter.command(INV)
    args = _aider_args(command)

    def value(flag: str) -> str:
        return args[args.index(flag) + 1]

    for flag in ("--model", "--weak-model", "--editor-model"):
        assert value(flag) == "openai/qwen-coder", flag
    assert value("--openai-api-base") == "http://127.0.0.1:8787/v1"
    assert value("--openai-api-key") == DUMMY_KEY
    assert value("--message-file") == "/opt/ripsaw/instruction.md"
    assert value("--test-cmd").startswith("timeout -k 5 30 python3 -m pytest")
    assert value("--chat-history-file").startswith("/tmp/ripsaw-scaffold/")
    for flag in ("--yes-always", "--no-auto-commits", "--auto-test", "--analytics-disable", "--no-check-update"):
        assert flag in args, flag
    assert "cd /app &&" in command and "LITELLM_LOCAL_MODEL_COST_MAP=True" in command
    assert "HOME=/tmp/ripsaw-scaffold/home" in command
    assert subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


def test_the_test_command_passes_when_there_are_no_tests_and_fails_when_one_fails(tmp_path: Path) -> None:
    test_cmd = _aider_args(Aider().command(INV))
    test_cmd = test_cmd[test_cmd.index("--test-cmd") + 1]
    # aider runs it with a shell, in the workspace.
    (tmp_path / "test_nothing.py").write_text("")
    assert subprocess.run(["sh", "-c", test_cmd], cwd=tmp_path, capture_output=True).returncode == 0
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert 1 == 2\n")
    assert subprocess.run(["sh", "-c", test_cmd], cwd=tmp_path, capture_output=True).returncode == 1


ANSWERED = "Tokens: 1.6k sent, 441 received.\nApplied edit to textkit/slug.py\n"


@pytest.mark.parametrize(
    ("output", "done"),
    [
        (f"{ANSWERED}1 passed in 0.1s\n{EXIT_MARK} 0\n", True),
        # A model call failed, aider retried it and got its answer.
        (f"litellm.APIConnectionError: reset\nRetrying in 0.2 seconds...\n{ANSWERED}{EXIT_MARK} 0\n", True),
        # It still had test failures to send back.
        (f"{ANSWERED}1 failed\nOnly 3 reflections allowed, stopping.\n{EXIT_MARK} 0\n", False),
        # It gave up on a model call after answers to earlier ones.
        (f"{ANSWERED}litellm.BadRequestError: OpenAIException - refused\n{EXIT_MARK} 0\n", False),
        (f"litellm.BadRequestError: OpenAIException - refused\n{EXIT_MARK} 0\n", False),
        (f"{ANSWERED}Traceback (most recent call last):\n{EXIT_MARK} 1\n", False),
        (f"{ANSWERED}{EXIT_MARK} 0 trailing\n", False),
        (ANSWERED, False),  # no status line: the command did not get to its end
        (f"{EXIT_MARK} 0\n", False),  # not a single answer
    ],
)
def test_aider_is_done_only_when_it_finished_its_message_on_an_answer(output: str, done: bool) -> None:
    assert Aider().submitted(output) is done


def test_the_requirements_are_aider_chats_own_pins_hashed() -> None:
    lines = [x for x in REQUIREMENTS.read_text().splitlines() if x and not x.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+ --hash=sha256:[0-9a-f]{64}", x) for x in lines)
    names = {x.split("==")[0] for x in lines}
    assert "aider-chat==0.86.2" in {x.split(" ")[0] for x in lines}
    assert {"litellm", "openai", "gitpython", "tree-sitter-language-pack", "flake8"} <= names
    assert len(names) == len(lines)


def test_a_new_requirements_file_or_install_step_changes_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    import ripsaw.agents.scaffolds.aider as module

    before = Aider().fingerprint()
    monkeypatch.setattr(module, "_COMPILE", module._COMPILE.replace("-q", "-qq"))
    assert Aider().fingerprint() != before
