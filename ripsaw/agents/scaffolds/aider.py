"""Scaffold `aider` (PyPI `aider-chat`): AI pair programming in the terminal, run on one message and left to finish it.

aider speaks OpenAI chat completions (streamed, through litellm) and edits files itself: it reads the model's reply
in its edit format (chosen by aider per model: SEARCH/REPLACE blocks for models it knows, whole-file listings for
the rest, which includes any name it has no settings for), applies it to the working tree and, with a repository map
of the task's git repository in the prompt, adds the files the model names to the chat. It is run on the task's
instruction as one `--message-file`, with `--yes-always` (every question it would ask a user answered yes: add the
file, allow the edit, add `.aider*` to .gitignore) and:

- `--auto-test --test-cmd "timeout T python3 -m pytest -q"`: after each edit it runs the task's visible tests and,
  when they fail, sends their output back to the model (T = the run's command_timeout_s; pytest's "no tests" exit
  counts as a pass). Its lint after each edit (flake8's fatal errors, aider's default) works the same way. Each such
  round is one of aider's "reflections", of which it allows 3 per message: that, not max_turns, bounds its calls
  (at most 4 per attempt, plus its own retries of a failed call).
- `--no-auto-commits` (so no dirty commits either): the change stays in the working tree, where snapshots read it.
- its main, weak and editor models all the combo's model: the proxy refuses any other.
- nothing that would reach the network (the container has none; each would fail after a wait or print noise):
  `--analytics-disable`, `--no-check-update`, `--no-show-release-notes`, `--no-detect-urls`,
  `--no-show-model-warnings` (it would offer to open a documentation URL), litellm's bundled model cost map
  (LITELLM_LOCAL_MODEL_COST_MAP), and aider's own model-info cache seeded, fresh, from litellm's bundled copy
  (otherwise it downloads it on every start). HOME is a directory under the log directory.
- its chat and input histories under the log directory, not in the repository; `--no-pretty`, `--no-fancy-input`.

Done: aider has no "I am finished" action; it exits after the message, 0 either way. The command prints
`ripsaw-scaffold-exit: CODE` after it, and the attempt counts as submitted only when aider exited 0, did not stop at
its reflection limit (it still had lint or test failures, or edits it could not apply, to send back) and did not end
on a model call it gave up on (it prints those as `litellm.` errors). Otherwise the stop reason is `exited`.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from pathlib import Path

from ripsaw.agents.scaffolds import SCAFFOLD_HOME, Invocation, file_digest, pip_install

REQUIREMENTS = Path(__file__).with_name("aider.txt")
EXIT_MARK = "ripsaw-scaffold-exit:"
# What aider prints when it stops with something left to send back to the model (aider/coders/base_coder.py).
REFLECTION_LIMIT = "reflections allowed, stopping."
# Compiled at build time: the venv is root's, so aider (run as the agent's user) could not cache its bytecode, and
# importing litellm from source would add seconds to every attempt's wall time.
_COMPILE = f"RUN {SCAFFOLD_HOME}/bin/python -m compileall -q -j 0 {SCAFFOLD_HOME}/lib >/dev/null\n"
_MODEL_INFO = "model_prices_and_context_window"


class Aider:
    name = "aider"
    api = "chat"

    def install(self, context: Path, log: Callable[[str], None]) -> str:
        return pip_install(REQUIREMENTS, context, log) + _COMPILE

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{file_digest(REQUIREMENTS)}\0{_COMPILE}".encode()).hexdigest()[:16]

    def command(self, inv: Invocation) -> str:
        model = f"openai/{inv.model}"
        timeout = max(1, int(inv.command_timeout_s))
        test_cmd = f"timeout -k 5 {timeout} python3 -m pytest -q; s=$?; test $s -eq 5 && s=0; exit $s"
        home = f"{inv.log_dir}/home"
        args = [
            "--model", model, "--weak-model", model, "--editor-model", model,
            "--openai-api-base", inv.base_url, "--openai-api-key", inv.api_key,
            "--message-file", inv.instruction,
            "--yes-always", "--no-auto-commits",
            "--auto-test", "--test-cmd", test_cmd,
            "--analytics-disable", "--no-check-update", "--no-show-release-notes", "--no-detect-urls",
            "--no-show-model-warnings", "--no-pretty", "--no-fancy-input",
            "--chat-history-file", f"{inv.log_dir}/aider.chat.md",
            "--input-history-file", f"{inv.log_dir}/aider.input.history",
        ]  # fmt: skip
        env = {
            "HOME": home,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OPENAI_API_KEY": inv.api_key,
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cache = shlex.quote(f"{home}/.aider/caches")
        bundled = f"{SCAFFOLD_HOME}/lib/python3*/site-packages/litellm/{_MODEL_INFO}_backup.json"
        return (
            f"export {exports}; mkdir -p {cache} && cp {bundled} {cache}/{_MODEL_INFO}.json; "
            f"cd {shlex.quote(inv.workdir)} && {SCAFFOLD_HOME}/bin/aider {' '.join(shlex.quote(a) for a in args)}; "
            f'rc=$?; echo "{EXIT_MARK} $rc"; exit $rc'
        )

    def submitted(self, output: str) -> bool:
        lines = output.splitlines()
        marks = [i for i, line in enumerate(lines) if line.startswith(EXIT_MARK)]
        if not marks or lines[marks[-1]].split() != [EXIT_MARK, "0"]:
            return False
        run = lines[: marks[-1]]
        if any(REFLECTION_LIMIT in line for line in run):
            return False
        # It finished on an answer: a model call it got one to (reported with a "Tokens: ..." line) after any call it
        # gave up on (its error, `litellm.SomeError: ...`, which ends its message).
        answered = max((i for i, line in enumerate(run) if line.startswith("Tokens: ")), default=-1)
        failed = max((i for i, line in enumerate(run) if line.startswith("litellm.")), default=-1)
        return answered > failed
