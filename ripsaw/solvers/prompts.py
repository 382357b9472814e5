"""What the model is shown: first prompts, repair turns and the stop sequences that go with them.

`complete` mode (base models, /v1/completions) sends the task prompt unchanged: a code prefix ending inside
the entry point, which the model continues with a body, as HumanEval was designed.

`chat` mode sends the words of a prompt preset (`[run] prompt`, `[[combos]] prompt`; the registry PROMPTS; the run
manifest records each combo's preset and a hash of its texts). The default, `ripsaw`, sends two messages, worded
to be short and neutral (no persona, no tips, no chain-of-thought request), so that models are compared on the
task and not on prompt engineering:

    system: You write correct, self-contained Python 3 code.
    user:   Complete the following Python code. Reply with a complete, self-contained solution, including
            the imports it needs and the full definition of `ENTRY`, in a single ```python code block.

            ```python
            <task prompt>
            ```

A task whose prompt is a problem statement rather than code gets "Solve the following problem in Python."
and the statement as plain text; a stdin/stdout task (IOTests) asks for a program that reads standard input
and writes standard output instead of a definition.

Repair turns (issue 6) append the candidate as the assistant's turn and the public-test output as the user's
turn. Base models cannot chat, so `complete` mode repairs with a continuation prompt instead (see
`repair_completion_prompt`).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, fields

from ripsaw.registry import Registry
from ripsaw.tasks.task import IOTests, Task
from ripsaw.types import Message, Prompt, PromptMode

SYSTEM_MESSAGE = "You write correct, self-contained Python 3 code."


@dataclass(frozen=True, slots=True)
class PromptPreset:
    """The words a chat model is shown (complete mode sends the task prompt unchanged, whatever the preset).

    Templates: complete_code gets {request} and {code} (the task prompt, fenced); solve_statement gets {request}
    and {statement}; function_request and program_request get {what} ("a complete, self-contained", or "the
    complete corrected" in a repair turn), function_request also {definition}; repair gets {feedback} (the
    public-test output, fenced) and {request}.
    """

    name: str
    about: str  # one line for `ripsaw validate` and the docs
    system: str | None
    complete_code: str
    solve_statement: str
    function_request: str
    program_request: str
    repair: str

    def fingerprint(self) -> str:
        """sha256 of every text the preset can send: two runs with equal fingerprints were asked the same way."""
        texts = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("name", "about")}
        return "sha256:" + hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()


RIPSAW_PROMPT = PromptPreset(
    name="ripsaw",
    about="short and neutral: no persona, no tips, no chain-of-thought request (the default)",
    system=SYSTEM_MESSAGE,
    complete_code="Complete the following Python code. {request}\n\n{code}",
    solve_statement="Solve the following problem in Python. {request}\n\n{statement}",
    function_request=(
        "Reply with {what} solution, including the imports it needs and {definition}, in a single ```python code block."
    ),
    program_request=(
        "Reply with {what} program that reads the input from standard input and writes the answer "
        "to standard output, in a single ```python code block."
    ),
    repair="Your solution failed the public tests. Output:\n\n{feedback}\n\nFix it. {request}",
)

# Small instruct models answer the default with the task's docstring copied back, usage examples and self-tests
# nobody asked for; on a CPU each of those tokens costs time. This preset asks for the code alone. Measured with
# Qwen2.5-Coder-0.5B-Instruct on the quickstart's 15 HumanEval tasks (with the quickstart's stops): 190 output
# tokens per attempt, against about 280 with the default on HumanEval. The quickstart's chat combo uses it.
_CODE_ONLY = " Only the code: do not repeat the docstring; no explanation, no examples, no tests."
CONCISE_PROMPT = PromptPreset(
    name="concise",
    about="the default's words plus 'only the code': no explanation, examples or tests (for small local models)",
    system=SYSTEM_MESSAGE,
    complete_code=RIPSAW_PROMPT.complete_code,
    solve_statement=RIPSAW_PROMPT.solve_statement,
    function_request=RIPSAW_PROMPT.function_request + _CODE_ONLY,
    program_request=RIPSAW_PROMPT.program_request + _CODE_ONLY,
    repair=RIPSAW_PROMPT.repair,
)

# EvalPlus's instruct prompt (evalplus 0.3.1, `codegen.run_codegen` and `provider/openai.py`, the path EvalPlus
# itself takes for a chat endpoint): its system message, then the instruction and the task prompt stripped and
# fenced. For local chat models EvalPlus instead pre-fills the assistant turn with "Below is a Python script with a
# self-contained function that solves the problem and passes corresponding tests:\n```python\n" (its
# `response_prefix`, through the model's chat template); an OpenAI-compatible chat endpoint has no portable way to
# continue an assistant turn, so that prefix is not sent, as in EvalPlus's own chat-endpoint path. The model
# therefore writes its own fence and may add prose around it; extraction handles both. EvalPlus has no repair
# turn and no stdin/stdout tasks: the repair text here asks in the same words, and a stdin/stdout task gets the
# instruction alone.
_EVALPLUS_INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
EVALPLUS_PROMPT = PromptPreset(
    name="evalplus",
    about="EvalPlus's instruct prompt (evalplus 0.3.1, chat-endpoint path; no assistant prefill)",
    system="You are a helpful assistant good at coding.",
    complete_code=_EVALPLUS_INSTRUCTION + "\n{code}",
    solve_statement=_EVALPLUS_INSTRUCTION + "\n```python\n{statement}\n```",
    function_request="",
    program_request="",
    repair=(
        "Your script failed the public tests. Output:\n\n{feedback}\n\n"
        "Please provide a corrected self-contained Python script in a markdown code block."
    ),
)

# Chat prompt presets by name: `[run] prompt` / `[[combos]] prompt`. Entry-point group `ripsaw.prompts`.
PROMPTS: Registry[PromptPreset] = Registry(
    "prompt preset",
    "ripsaw.prompts",
    {
        "ripsaw": RIPSAW_PROMPT,
        "evalplus": EVALPLUS_PROMPT,
        "concise": CONCISE_PROMPT,
    },
)
DEFAULT_PROMPT = "ripsaw"

# The classic HumanEval stop sequences. Each starts with a newline followed by column-0 text, so they end the
# continuation only when the model leaves the function: methods, nested defs and indented comments are safe.
COMPLETE_STOP = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")

# A line that starts Python code (not prose that happens to begin with "from" or "import"). Shared with
# extraction, which uses it to find where code starts in a reply without fences.
CODE_LINE = re.compile(
    r"(?:async\s+)?def\s+\w+\s*\("
    r"|class\s+\w+\s*[:(]"
    r"|import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*(?:#.*)?$"
    r"|from\s+\.*[\w.]*\s+import\s+[\w*(]"
    r"|@[\w.]+"
)


def is_stdio(task: Task) -> bool:
    """A task solved by a program reading stdin and writing stdout, not by a definition."""
    return isinstance(task.tests, IOTests)


def build_prompt(task: Task, mode: PromptMode, preset: PromptPreset = RIPSAW_PROMPT) -> Prompt:
    if mode == "complete":
        return Prompt(mode="complete", text=task.prompt)
    system = (Message("system", preset.system),) if preset.system else ()
    return Prompt(mode="chat", messages=(*system, Message("user", _first_user_message(task, preset))))


def default_stop(task: Task, mode: PromptMode) -> tuple[str, ...]:
    """Stops to request when the combo sets none; extraction applies the same list to the reply.

    The column-0 stops end a body, so they only fit a prompt that ends inside a definition (HumanEval's).
    A stdin/stdout program, or a prompt that ends at module level, is continued at column 0 (its own defs,
    `print(` calls and `if __name__` guard): it gets none. Chat replies are whole answers: none either.
    """
    if mode == "chat" or is_stdio(task) or not ends_inside_definition(task.prompt):
        return ()
    return COMPLETE_STOP


def ends_inside_definition(prompt: str) -> bool:
    """Whether a continuation of `prompt` starts inside a block: its last line is indented or opens a block."""
    lines = [line for line in prompt.splitlines() if line.strip()]
    return bool(lines) and (lines[-1][:1] in (" ", "\t") or lines[-1].rstrip().endswith(":"))


def repair_messages(
    task: Task, history: list[Message], code: str, feedback: str, preset: PromptPreset = RIPSAW_PROMPT
) -> tuple[Message, ...]:
    """The conversation for the next repair turn: `history` + the candidate + the public-test feedback.

    The assistant turn replays the extracted candidate in a fence rather than the raw reply: reasoning text is
    not sent back (reasoning APIs ask for that) and every model sees its attempt in the same form.
    `feedback` is the public-test output, already capped by the caller so the turn is deterministic.
    A reply without code has no candidate to repair: the runner re-sends `history` instead.
    """
    if not code.strip():
        raise ValueError("repair_messages needs a candidate program; re-send the history for a reply without code")
    user = preset.repair.format(
        feedback=_fence(feedback.rstrip(), "text"), request=_reply_request(task, preset, corrected=True)
    )
    return (*history, Message("assistant", _fence(code.rstrip(), "python")), Message("user", user))


def repair_completion_prompt(task: Task, code: str, feedback: str) -> str:
    """A continuation prompt that lets a base model try again after failing the public tests.

    The failing attempt and the test output come first as Python comments (so they cannot run and cannot be
    continued as code), then the task prompt again, which restarts the entry point's signature and docstring:
    the model writes a new body exactly as on its first try, with the failure in its context.

        # A previous attempt failed the public tests.
        # Attempt:
        #     def add(a, b):
        #         return a - b
        # Test output:
        #     AssertionError: add(1, 2) returned -1, expected 3
        # Corrected version:
        <task prompt>

    Extraction keeps only the task prompt and the continuation as the candidate program.
    """
    return (
        "# A previous attempt failed the public tests.\n"
        "# Attempt:\n"
        f"{_comment(code)}"
        "# Test output:\n"
        f"{_comment(feedback)}"
        "# Corrected version:\n"
        f"{task.prompt}"
    )


def _first_user_message(task: Task, preset: PromptPreset) -> str:
    if not is_stdio(task) and _looks_like_code(task.prompt):
        code = _fence(task.prompt.strip("\n"), "python")
        return preset.complete_code.format(request=_reply_request(task, preset), code=code)
    return preset.solve_statement.format(request=_reply_request(task, preset), statement=task.prompt.strip())


def _reply_request(task: Task, preset: PromptPreset, *, corrected: bool = False) -> str:
    what = "the complete corrected" if corrected else "a complete, self-contained"
    if is_stdio(task):
        return preset.program_request.format(what=what)
    return preset.function_request.format(what=what, definition=_definition(task))


def _definition(task: Task) -> str:
    cls, _, method = task.entry_point.rpartition(".")
    if cls:
        return f"the full definition of class `{cls}` with its method `{method}`"
    return f"the full definition of `{task.entry_point}`"


def _looks_like_code(text: str) -> bool:
    """Code that parses (HumanEval) or starts like code (starter code with an empty body does not parse)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if CODE_LINE.match(first):
        return True
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _fence(text: str, lang: str) -> str:
    """A fence longer than any backtick run inside `text`, so test output or code cannot close it early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _comment(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    return "".join(f"#     {line}".rstrip() + "\n" for line in lines)
