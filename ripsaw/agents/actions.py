"""What the agent is told, and how one reply becomes one action.

The scaffold is deliberately minimal, in the spirit of mini-swe-agent: one tool, `bash`. Each reply must name exactly
one command; the command's capped output, exit status and duration are the next observation. The agent ends by
running the command `submit` (alone), which is never executed. A malformed reply (no command, two commands, a tool
call whose arguments are not the JSON the tool takes) gets a format error as its observation and costs a turn.

Two modes, per combo (`tool_mode`): "native" uses the API's tool calling (the `bash` tool); "text" asks for one
fenced bash block per reply, for models without tool calling.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from ripsaw.records import ModelCall
from ripsaw.sandboxes.workspace import ExecResult
from ripsaw.types import ToolSpec

ToolMode = Literal["native", "text"]
TOOL_MODES: tuple[ToolMode, ...] = ("native", "text")
SUBMIT = "submit"

BASH_TOOL = ToolSpec(
    name="bash",
    description=(
        "Run one bash command in the repository (the working directory) and see its output, exit status and "
        f"duration. Run the command `{SUBMIT}` alone when the task is done."
    ),
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string", "description": "the bash command to run"}},
        "required": ["command"],
    },
)

_COMMON = """You are a software engineer fixing an issue in the repository at {workdir}, inside a container with no
network. You work by running bash commands, one per reply; each runs in a fresh shell in {workdir} (cd and variables
do not carry over), is cut after {timeout:g} s, and you see its output (long output is cut in the middle), exit
status and duration. Python 3.11, git and pytest are installed; nothing can be installed.

A good way to work:
1. Find the code the issue is about: `ls -R`, `grep -rn "name" --include=*.py .`
2. Read it: `cat path/to/file.py` or `sed -n '20,60p' path/to/file.py`
3. Change it: `sed -i 's/old/new/' path/to/file.py`, or rewrite a file with `cat <<'EOF' > path/to/file.py`, or a
   short `python3 -c` script
4. Check it: `python3 -m pytest -q` (and write a quick test of the issue's example if it helps)
5. When the issue is fixed, run the command `{submit}` alone: your changes are then checked by tests you cannot see.
Do not edit tests to make them pass; hidden tests replace them."""

_TEXT = """
Every reply must contain exactly one fenced bash block with the command, like this:

```bash
ls -la
```

Think briefly before the block if you need to. A reply without exactly one bash block is an error and costs a turn."""

_NATIVE = """
Call the `bash` tool exactly once per reply. A reply without exactly one tool call is an error and costs a turn."""


def system_prompt(mode: ToolMode, workdir: str, command_timeout_s: float) -> str:
    common = _COMMON.format(workdir=workdir, timeout=command_timeout_s, submit=SUBMIT)
    return common + (_TEXT if mode == "text" else _NATIVE)


@dataclass(frozen=True, slots=True)
class Action:
    """What one reply asks for: run `command`, submit, or nothing usable (`error` says why, in the model's words)."""

    kind: Literal["command", "submit", "format_error"]
    command: str = ""
    error: str = ""


_FENCE = re.compile(r"```(?:bash|sh|shell)[ \t]*\n(.*?)```", re.DOTALL)
_ANY_FENCE = re.compile(r"```[^\n`]*\n.*?```", re.DOTALL)


def _command(command: str) -> Action:
    command = command.strip()
    if not command:
        return Action("format_error", error="The command is empty.")
    if command == SUBMIT:
        return Action("submit", command=command)
    return Action("command", command=command)


def parse_text(reply: str) -> Action:
    """One fenced bash block → its command. An unterminated last block (a reply cut by max_tokens) is not one."""
    blocks = _FENCE.findall(reply)
    if len(blocks) == 1:
        return _command(blocks[0])
    if not blocks:
        other = len(_ANY_FENCE.findall(reply))
        hint = f" ({other} fenced block(s) of another language)" if other else ""
        return Action("format_error", error=f"No ```bash block found{hint}. Reply with exactly one ```bash block.")
    return Action("format_error", error=f"{len(blocks)} ```bash blocks found; reply with exactly one command per turn.")


def parse_native(call: ModelCall) -> Action:
    """Exactly one call of the bash tool with a JSON object holding a string `command`."""
    calls = call.tool_calls
    if not calls:
        return Action("format_error", error="No tool call: call the `bash` tool once with the next command.")
    if len(calls) > 1:
        return Action("format_error", error=f"{len(calls)} tool calls; call the `bash` tool exactly once per reply.")
    tool = calls[0]
    if tool.name != BASH_TOOL.name:
        return Action("format_error", error=f"Unknown tool {tool.name!r}: the only tool is `bash`.")
    try:
        args = json.loads(tool.arguments or "{}")
    except json.JSONDecodeError as e:
        return Action("format_error", error=f"The tool call's arguments are not valid JSON ({e.msg} at {e.pos}).")
    if not isinstance(args, dict) or not isinstance(args.get("command"), str):
        return Action("format_error", error='The arguments must be a JSON object {"command": "<bash command>"}.')
    return _command(args["command"])


def parse(mode: ToolMode, call: ModelCall) -> Action:
    return parse_native(call) if mode == "native" else parse_text(call.text)


def observation(result: ExecResult, *, timeout_s: float, budget_cut: bool) -> str:
    """The next observation: status line, then the output (already capped head and tail by the box)."""
    if result.timed_out:
        why = "the attempt's time budget ran out" if budget_cut else f"its {timeout_s:g} s timeout"
        status = f"The command was cut at {why} after {result.duration_s:.1f} s."
    else:
        status = f"Exit status {result.exit_code}, {result.duration_s:.2f} s."
    body = result.output if result.output else "(no output)"
    return f"{status}\n{body}"
