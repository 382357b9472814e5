"""Scaffold `mini-swe-agent` (PyPI `mini-swe-agent`, SWE-agent's minimal agent): one bash command per turn, parsed
from a fenced block of the model's reply, over litellm (OpenAI chat completions).

Run as its `mini` command with its text-based configuration (`mini_textbased.yaml`: the action is a
```mswea_bash_command block, so any chat model works, with or without tool calling) and the default
(non-interactive) agent class; each command runs in a fresh subshell of the container, as the agent's user, in the
task's working directory. Its limits are set from the run's: `agent.step_limit` = max_turns,
`environment.timeout` = command_timeout_s, `agent.wall_time_limit_seconds` = the budget (the proxy and the
container's deadline enforce it anyway). litellm is kept offline (its bundled model cost map; cost is Ripsaw's,
from the proxied calls) and mini's first-run setup and banner are skipped.

Done: it submits by running `echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`, and its trajectory then records the exit
status "Submitted"; the command prints that status after the run as `ripsaw-scaffold-exit: STATUS`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from ripsaw.agents.scaffolds import SCAFFOLD_HOME, Invocation, file_digest, pip_install

REQUIREMENTS = Path(__file__).with_name("mini-swe-agent.txt")
EXIT_MARK = "ripsaw-scaffold-exit:"
# Reads the trajectory mini saves and prints its exit status (standard library only).
_STATUS = (
    "import json, sys\n"
    "try:\n"
    "    print('" + EXIT_MARK + "', json.load(open(sys.argv[1]))['info']['exit_status'])\n"
    "except Exception as e:\n"
    "    print('" + EXIT_MARK + "', 'unknown', repr(e)[:200])\n"
)


class MiniSweAgent:
    name = "mini-swe-agent"
    api = "chat"

    def install(self, context: Path, log: Callable[[str], None]) -> str:
        return pip_install(REQUIREMENTS, context, log)

    def fingerprint(self) -> str:
        return file_digest(REQUIREMENTS)

    def command(self, inv: Invocation) -> str:
        trajectory = f"{inv.log_dir}/trajectory.json"
        config = [
            "mini_textbased.yaml",
            "model.model_class=litellm_textbased",
            f"model.model_name=openai/{inv.model}",
            f"model.model_kwargs.api_base={inv.base_url}",
            f"model.model_kwargs.api_key={inv.api_key}",
            f"agent.step_limit={inv.max_turns}",
            "agent.cost_limit=0",
            f"agent.wall_time_limit_seconds={max(1, int(inv.budget_s))}",
            f"environment.timeout={max(1, int(inv.command_timeout_s))}",
            f"environment.cwd={inv.workdir}",
        ]
        env = {
            "MSWEA_CONFIGURED": "true",
            "MSWEA_SILENT_STARTUP": "1",
            "MSWEA_COST_TRACKING": "ignore_errors",
            "MSWEA_GLOBAL_CONFIG_DIR": f"{inv.log_dir}/config",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OPENAI_API_KEY": inv.api_key,
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        args = " ".join(f"-c {shlex.quote(c)}" for c in config)
        return (
            f"export {exports}; "
            f'{SCAFFOLD_HOME}/bin/mini --agent-class default {args} -t "$(cat {shlex.quote(inv.instruction)})" '
            f"--exit-immediately -o {shlex.quote(trajectory)}; rc=$?; "
            f"{SCAFFOLD_HOME}/bin/python -c {shlex.quote(_STATUS)} {shlex.quote(trajectory)}; exit $rc"
        )

    def submitted(self, output: str) -> bool:
        marks = [line.split(EXIT_MARK, 1)[1].split() for line in output.splitlines() if EXIT_MARK in line]
        return bool(marks) and marks[-1][:1] == ["Submitted"]
