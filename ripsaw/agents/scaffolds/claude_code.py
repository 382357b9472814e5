"""Scaffold `claude-code` (npm `@anthropic-ai/claude-code`, Anthropic's Claude Code): the Messages API, tools called
natively (`Bash`, `Read`, `Edit`, `Write`, ...), run headless as `claude -p`.

Installed from its platform package only (`@anthropic-ai/claude-code-linux-x64`, one self-contained glibc
executable): the `@anthropic-ai/claude-code` package itself is a placeholder that its install script replaces
with that executable, so the image needs no Node.js runtime and no install script runs.

Configured by environment only, in a home of its own under the log directory (it writes `~/.claude.json` and
`~/.claude/` there): `ANTHROPIC_BASE_URL` = the proxy through the loopback forwarder (Claude Code adds
`/v1/messages` itself), the dummy key in `ANTHROPIC_API_KEY`, the combo's model for the main model and for every
alias and the small/fast model (the proxy refuses any other), telemetry, error reporting, auto-update and
nonessential traffic off (there is no network to reach), and experimental betas off: the proxy does not forward
`anthropic-beta` headers, so request fields that need one (`context_management`) must not be sent. Each Bash
command's timeout is the run's `command_timeout_s`; its turn limit is the run's `max_turns` (`--max-turns`);
permission prompts are skipped (`--dangerously-skip-permissions`: the container is the sandbox; it refuses this
as root, and the agent's user is not root).

Done: `--output-format json` prints one result object; its `subtype` is `success` when the model ended its turn
(`error_max_turns` at the turn limit, `error_during_execution` on a failure). The command saves it and prints
`ripsaw-scaffold-exit: SUBTYPE` from it (standard library Python, which every task image has).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from ripsaw.agents.scaffolds import SCAFFOLD_HOME, Invocation, NpmPackage, npm_digest, npm_install

VERSION = "2.1.332"
PACKAGES = (
    NpmPackage(
        "@anthropic-ai/claude-code-linux-x64",
        VERSION,
        "sha512-f4JWhzwYutJIHScC7/dYOPX6s28tt7ZADhsOi8zwOHq5fFPEuUeChh2NMfinSg0GrUckYxaeebC4h0DqiKzLcw==",
    ),
)
EXIT_MARK = "ripsaw-scaffold-exit:"
# Reads the result object Claude Code printed and prints its subtype ("error" for a success flagged as an error).
_STATUS = (
    "import json, sys\n"
    "try:\n"
    "    r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])\n"
    "    s = r.get('subtype')\n"
    "    print('" + EXIT_MARK + "', 'error' if s == 'success' and r.get('is_error') else s, r.get('num_turns'))\n"
    "except Exception as e:\n"
    "    print('" + EXIT_MARK + "', 'unknown', repr(e)[:200])\n"
)


class ClaudeCode:
    name = "claude-code"
    api = "messages"

    def install(self, context: Path, log: Callable[[str], None]) -> str:
        return npm_install(PACKAGES, context, log) + (
            f"RUN mkdir -p {SCAFFOLD_HOME}/bin && ln -s {PACKAGES[0].root}/claude {SCAFFOLD_HOME}/bin/claude\n"
        )

    def fingerprint(self) -> str:
        return npm_digest(PACKAGES)

    def command(self, inv: Invocation) -> str:
        home = f"{inv.log_dir}/claude-home"
        result = f"{inv.log_dir}/result.json"
        timeout_ms = str(max(1000, int(inv.command_timeout_s * 1000)))
        env = {
            "HOME": home,
            "ANTHROPIC_BASE_URL": inv.base_url.removesuffix("/").removesuffix("/v1"),
            "ANTHROPIC_API_KEY": inv.api_key,
            "ANTHROPIC_MODEL": inv.model,
            "ANTHROPIC_SMALL_FAST_MODEL": inv.model,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": inv.model,
            "ANTHROPIC_DEFAULT_SONNET_MODEL": inv.model,
            "ANTHROPIC_DEFAULT_OPUS_MODEL": inv.model,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "BASH_DEFAULT_TIMEOUT_MS": timeout_ms,
            "BASH_MAX_TIMEOUT_MS": timeout_ms,
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        return (
            f"export {exports}; mkdir -p {shlex.quote(home)} && cd {shlex.quote(inv.workdir)} && "
            f'{SCAFFOLD_HOME}/bin/claude -p "$(cat {shlex.quote(inv.instruction)})" --model {shlex.quote(inv.model)} '
            f"--output-format json --max-turns {inv.max_turns} --dangerously-skip-permissions "
            f"--no-session-persistence </dev/null > {shlex.quote(result)}; rc=$?; cat {shlex.quote(result)}; echo; "
            f"python3 -c {shlex.quote(_STATUS)} {shlex.quote(result)}; exit $rc"
        )

    def submitted(self, output: str) -> bool:
        marks = [line.split(EXIT_MARK, 1)[1].split() for line in output.splitlines() if EXIT_MARK in line]
        return bool(marks) and marks[-1][:1] == ["success"]
