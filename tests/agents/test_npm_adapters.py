"""The Codex CLI and Claude Code adapters without an engine: each command carries the proxy's address, the dummy
key, the model and the run's limits, and is valid bash; Codex's config.toml is valid TOML that names the proxy as
a Responses provider; each done signal is read from the status line the command prints; the npm pins are exact
versions with sha512 integrity; a downloaded tarball whose hash is not the pinned one is refused, and so is a host
without npm, each with one message that says what to do."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from ripsaw.agents.proxy import DUMMY_KEY
from ripsaw.agents.scaffolds import SCAFFOLDS, NpmPackage, claude_code, codex, npm_install
from ripsaw.errors import PrerequisiteError
from tests.agents.test_scaffolds import INV


def _valid_bash(command: str) -> bool:
    return subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


def test_the_codex_command_points_codex_at_the_proxy_through_its_own_config() -> None:
    adapter = SCAFFOLDS.get("codex")()
    assert isinstance(adapter, codex.Codex) and adapter.api == "responses"
    command = adapter.command(INV)
    for part in ("codex exec", "--strict-config", "--ephemeral", "-C /app", "CODEX_HOME=/tmp/ripsaw-scaffold/",
                 f"RIPSAW_PROXY_KEY={DUMMY_KEY}", '"$(cat /opt/ripsaw/instruction.md)"', "</dev/null"):  # fmt: skip
        assert part in command, part
    assert _valid_bash(command)
    config = tomllib.loads(codex.config_toml(INV))
    assert config["model"] == "qwen-coder" and config["model_provider"] == "ripsaw"
    assert config["model_providers"]["ripsaw"] == {
        "name": "ripsaw",
        "base_url": "http://127.0.0.1:8787/v1",
        "env_key": "RIPSAW_PROXY_KEY",
        "wire_api": "responses",
    }
    assert (config["approval_policy"], config["sandbox_mode"]) == ("never", "danger-full-access")
    assert config["analytics"]["enabled"] is False and config["check_for_update_on_startup"] is False
    assert config["web_search"] == "disabled" and config["otel"]["exporter"] == "none"


def test_the_claude_code_command_pins_the_model_and_the_limits() -> None:
    adapter = SCAFFOLDS.get("claude-code")()
    assert isinstance(adapter, claude_code.ClaudeCode) and adapter.api == "messages"
    command = adapter.command(INV)
    for part in (
        "ANTHROPIC_BASE_URL=http://127.0.0.1:8787 ",  # Claude Code adds /v1/messages itself
        f"ANTHROPIC_API_KEY={DUMMY_KEY}",
        "ANTHROPIC_MODEL=qwen-coder",
        "ANTHROPIC_SMALL_FAST_MODEL=qwen-coder",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
        "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1",
        "DISABLE_AUTOUPDATER=1",
        "DISABLE_TELEMETRY=1",
        "BASH_DEFAULT_TIMEOUT_MS=30000",
        "BASH_MAX_TIMEOUT_MS=30000",
        "HOME=/tmp/ripsaw-scaffold/claude-home",
        "cd /app",
        "claude -p",
        "--max-turns 12",
        "--output-format json",
        "--dangerously-skip-permissions",
        "--model qwen-coder",
    ):
        assert part in command, part
    assert _valid_bash(command)


@pytest.mark.parametrize(
    ("output", "done"),
    [
        (f"...\n{codex.EXIT_MARK} completed\n", True),
        (f"{codex.EXIT_MARK} completed\n{codex.EXIT_MARK} failed 1\n", False),
        (f"{codex.EXIT_MARK} failed 0\n", False),  # exit 0 without a last message
        ("completed\n", False),
        ("", False),
    ],
)
def test_codex_is_done_when_it_exited_0_with_a_last_message(output: str, done: bool) -> None:
    assert codex.Codex().submitted(output) is done


@pytest.mark.parametrize(
    ("output", "done"),
    [
        (f'{{"subtype":"success"}}\n{claude_code.EXIT_MARK} success 4\n', True),
        (f"{claude_code.EXIT_MARK} error_max_turns 12\n", False),
        (f"{claude_code.EXIT_MARK} error 3\n", False),
        (f"{claude_code.EXIT_MARK} unknown JSONDecodeError()\n", False),
        ('{"subtype":"success"}\n', False),  # the scaffold's own output is not the status line
    ],
)
def test_claude_code_is_done_when_its_result_says_success(output: str, done: bool) -> None:
    assert claude_code.ClaudeCode().submitted(output) is done


@pytest.mark.parametrize(
    ("subtype", "is_error", "line"),
    [
        ("success", "false", "success 3"),
        ("error_max_turns", "true", "error_max_turns 3"),
        ("success", "true", "error 3"),
    ],
)
def test_the_claude_code_status_line_is_read_from_its_result(
    tmp_path: Path, subtype: str, is_error: str, line: str
) -> None:
    # The command's own reader, run on a result file as Claude Code writes it (one JSON object on a line).
    result = tmp_path / "result.json"
    result.write_text(f'{{"type":"result","subtype":"{subtype}","is_error":{is_error},"num_turns":3}}\n')
    out = subprocess.run(["python3", "-c", claude_code._STATUS, str(result)], capture_output=True, text=True)
    assert out.stdout.strip() == f"{claude_code.EXIT_MARK} {line}"
    assert claude_code.ClaudeCode().submitted(out.stdout) is (line == "success 3")


def test_the_npm_pins_are_exact_versions_with_sha512() -> None:
    for package in (*codex.PACKAGES, *claude_code.PACKAGES):
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[a-z0-9-]+)?", package.version), package
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", package.integrity), package
        assert package.root.startswith("/opt/scaffold/npm/") and package.root.endswith("/package")
    assert codex.Codex().fingerprint() != claude_code.ClaudeCode().fingerprint()


def _fake_npm(bin_dir: Path, body: str) -> None:
    """An `npm` on PATH that writes a tarball of `body` where `npm pack` would and prints its --json line."""
    npm = bin_dir / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        'dest=$(echo "$@" | sed "s/.*--pack-destination \\([^ ]*\\).*/\\1/")\n'
        f'printf %s "{body}" > "$dest/toy-1.0.0.tgz"\n'
        'echo \'[{"filename": "toy-1.0.0.tgz"}]\'\n'
    )
    npm.chmod(0o755)


def test_a_tarball_with_another_hash_than_the_pinned_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_npm(tmp_path, "not the package")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    pinned = NpmPackage("toy", "1.0.0", "sha512-" + "A" * 86 + "==")
    (tmp_path / "ctx").mkdir()
    with pytest.raises(PrerequisiteError, match=r"npm pack toy@1\.0\.0: the tarball's sha512 is sha512-\S+, not the"):
        npm_install((pinned,), tmp_path / "ctx", lambda _: None)
    # The same bytes pinned with their own hash: one ADD step that unpacks the tarball at the package's root.
    good = NpmPackage(
        "toy", "1.0.0", "sha512-" + base64.b64encode(hashlib.sha512(b"not the package").digest()).decode()
    )
    (tmp_path / "ctx2").mkdir()
    assert npm_install((good,), tmp_path / "ctx2", lambda _: None) == "ADD npm/toy-1.0.0.tgz /opt/scaffold/npm/toy/\n"


def test_a_host_without_npm_is_told_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with pytest.raises(PrerequisiteError, match="needs npm on the host"):
        npm_install(codex.PACKAGES, tmp_path, lambda _: None)
