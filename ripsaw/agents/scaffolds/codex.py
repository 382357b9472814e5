"""Scaffold `codex` (npm `@openai/codex`, OpenAI's Codex CLI): the Responses API, tools called natively (chiefly
`exec_command`, which runs a shell command as `bash -lc`), run as `codex exec`, non-interactive.

Installed from its platform package only (`@openai/codex@VERSION-linux-x64`, a static musl executable, with the
`rg` it puts on its PATH): the `@openai/codex` package itself is a Node.js launcher that only finds that
executable and `exec`s it, so the image needs no Node.js runtime.

Configured by a `config.toml` in its own `CODEX_HOME` (under the log directory, so nothing of the agent user's home
is read): a custom model provider `ripsaw` whose `base_url` is the proxy through the loopback forwarder, with
`wire_api = "responses"` and the dummy key in an environment variable; approvals never, and its own sandbox off
(`danger-full-access`: the container is the sandbox, and the verdict never trusts it anyway); no update check,
analytics, feedback, OpenTelemetry export, history or web search (there is no network to reach, and none of it
belongs in a timed run). `--strict-config` makes a key this version does not know an
error instead of a silent no-op.

Limits: Codex has no step limit or per-command timeout of its own to set (its commands yield after a while and it
polls them); the deadline (the proxy and the container's) is what stops it.

Done: `codex exec` ends when the model ends its turn (a reply without tool calls) and writes that last message to
the `--output-last-message` file; it then exits 0. The command prints `ripsaw-scaffold-exit: completed` when both
hold, `ripsaw-scaffold-exit: failed RC` otherwise.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

from ripsaw.agents.scaffolds import SCAFFOLD_HOME, Invocation, NpmPackage, npm_digest, npm_install

VERSION = "0.171.0"
PACKAGES = (
    NpmPackage(
        "@openai/codex",
        f"{VERSION}-linux-x64",
        "sha512-l66NZkQgdk2C3pbcfULDz42yEUB581MVA6I+Y43Wp4OIqEy73HCdmZ0GTjeAHY2ycuH4N00d9VsLrwT1jxshTw==",
    ),
)
VENDOR = f"{PACKAGES[0].root}/vendor/x86_64-unknown-linux-musl"
EXIT_MARK = "ripsaw-scaffold-exit:"
KEY_ENV = "RIPSAW_PROXY_KEY"


def config_toml(inv: Invocation) -> str:
    """Codex's config.toml for one attempt (strings as JSON literals, which TOML's basic strings accept)."""
    q = json.dumps
    return "\n".join(
        [
            f"model = {q(inv.model)}",
            'model_provider = "ripsaw"',
            'approval_policy = "never"',
            'sandbox_mode = "danger-full-access"',
            "check_for_update_on_startup = false",
            'web_search = "disabled"',
            "",
            "[analytics]",
            "enabled = false",
            "",
            "[feedback]",
            "enabled = false",
            "",
            "[history]",
            'persistence = "none"',
            "",
            "[otel]",
            'exporter = "none"',
            "",
            "[model_providers.ripsaw]",
            'name = "ripsaw"',
            f"base_url = {q(inv.base_url)}",
            f"env_key = {q(KEY_ENV)}",
            'wire_api = "responses"',
            "",
        ]
    )


class Codex:
    name = "codex"
    api = "responses"

    def install(self, context: Path, log: Callable[[str], None]) -> str:
        return npm_install(PACKAGES, context, log) + (
            f"RUN mkdir -p {SCAFFOLD_HOME}/bin && ln -s {VENDOR}/bin/codex {SCAFFOLD_HOME}/bin/codex\n"
        )

    def fingerprint(self) -> str:
        return npm_digest(PACKAGES)

    def command(self, inv: Invocation) -> str:
        home = f"{inv.log_dir}/codex-home"
        last = f"{inv.log_dir}/last-message.txt"
        env = {
            "CODEX_HOME": home,
            KEY_ENV: inv.api_key,
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        return (
            f'export {exports} PATH="{VENDOR}/codex-path:$PATH"; mkdir -p {shlex.quote(home)} && '
            f"printf %s {shlex.quote(config_toml(inv))} > {shlex.quote(home)}/config.toml && "
            f"{SCAFFOLD_HOME}/bin/codex exec --strict-config --ephemeral --skip-git-repo-check --color never "
            f"-C {shlex.quote(inv.workdir)} -o {shlex.quote(last)} "
            f'"$(cat {shlex.quote(inv.instruction)})" </dev/null; rc=$?; '
            f'if [ $rc = 0 ] && [ -s {shlex.quote(last)} ]; then echo "{EXIT_MARK} completed"; '
            f'else echo "{EXIT_MARK} failed $rc"; fi; exit $rc'
        )

    def submitted(self, output: str) -> bool:
        marks = [line.split(EXIT_MARK, 1)[1].split() for line in output.splitlines() if EXIT_MARK in line]
        return bool(marks) and marks[-1][:1] == ["completed"]
