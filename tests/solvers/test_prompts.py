from __future__ import annotations

import ast

import pytest

from ripsaw.solvers.extract import extract_code
from ripsaw.solvers.prompts import (
    COMPLETE_STOP,
    SYSTEM_MESSAGE,
    build_prompt,
    default_stop,
    ends_inside_definition,
    repair_completion_prompt,
    repair_messages,
)
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import CheckTests, IOCase, IOTests, Task
from ripsaw.types import Message, Prompt

PROMPT = 'def add(a: int, b: int) -> int:\n    """Return a + b.\n    >>> add(1, 2)\n    3\n    """\n'
FUNC = Task(id="t/add", prompt=PROMPT, entry_point="add", tests=CheckTests(code="assert add(1, 2) == 3"))
STDIO = Task(
    id="t/sum",
    prompt="Read two integers and print their sum.\n",
    entry_point="",
    tests=IOTests(cases=(IOCase(input="1 2\n", output="3\n"),)),
)
CLASS_TASK = Task(
    id="t/two_sum",
    prompt="class Solution:\n    def twoSum(self, nums: list[int], target: int) -> list[int]:\n        ",
    entry_point="Solution.twoSum",
    tests=CheckTests(code="pass"),
)
PROSE = Task(
    id="t/mbpp",
    prompt="Write a function to find the shared elements of two lists.",
    entry_point="similar_elements",
    tests=CheckTests(code="pass"),
)


def test_complete_prompt_is_the_task_prompt() -> None:
    assert build_prompt(FUNC, "complete") == Prompt(mode="complete", text=PROMPT)


def test_chat_prompt_wording() -> None:
    prompt = build_prompt(FUNC, "chat")
    assert prompt.mode == "chat" and prompt.text == ""
    assert prompt.messages == (
        Message("system", SYSTEM_MESSAGE),
        Message(
            "user",
            "Complete the following Python code. Reply with a complete, self-contained solution, including the "
            "imports it needs and the full definition of `add`, in a single ```python code block.\n\n"
            f"```python\n{PROMPT}```",
        ),
    )


def test_chat_prompt_for_stdio_task_asks_for_a_program() -> None:
    user = build_prompt(STDIO, "chat").messages[1].content
    assert user == (
        "Solve the following problem in Python. Reply with a complete, self-contained program that reads the "
        "input from standard input and writes the answer to standard output, in a single ```python code block."
        "\n\nRead two integers and print their sum."
    )


def test_chat_prompt_for_class_method_and_prose_tasks() -> None:
    assert "the full definition of class `Solution` with its method `twoSum`" in (
        build_prompt(CLASS_TASK, "chat").messages[1].content
    )
    user = build_prompt(PROSE, "chat").messages[1].content
    assert user.startswith("Solve the following problem in Python.")
    assert "`similar_elements`" in user
    assert "```python\nWrite" not in user and user.endswith(
        "\n\nWrite a function to find the shared elements of two lists."
    )


def test_chat_prompt_fence_survives_backticks_in_the_prompt() -> None:
    task = Task(id="t/md", prompt='def md(s):\n    """Wrap s in ``` fences."""\n', entry_point="md", tests=FUNC.tests)
    user = build_prompt(task, "chat").messages[1].content
    assert f"````python\n{task.prompt}````" in user
    # The model's reply in the same form extracts cleanly.
    assert extract_code(f"````python\n{task.prompt}    return s\n````", task, "chat") == task.prompt + "    return s\n"


def test_every_humaneval_prompt_is_framed_as_code() -> None:
    for task in load_humaneval():
        user = build_prompt(task, "chat").messages[1].content
        assert user.startswith("Complete the following Python code."), task.id
        assert f"`{task.entry_point}`" in user, task.id
        assert default_stop(task, "complete") == COMPLETE_STOP, task.id


def test_default_stop() -> None:
    assert default_stop(FUNC, "complete") == ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")
    assert default_stop(CLASS_TASK, "complete") == COMPLETE_STOP
    assert default_stop(FUNC, "chat") == ()
    assert default_stop(STDIO, "complete") == ()  # a program lives at column 0
    module_level = Task(id="t/m", prompt="import math\n\n", entry_point="area", tests=FUNC.tests)
    assert default_stop(module_level, "complete") == ()


@pytest.mark.parametrize(
    "prompt,inside",
    [
        (PROMPT, True),
        ("def f(x):\n", True),
        ("class A:\n    def f(self):\n        ", True),
        ("import math\n\n", False),
        ("def f(x):\n    return x\n\n\nX = 1\n", False),
        ("", False),
    ],
)
def test_ends_inside_definition(prompt: str, inside: bool) -> None:
    assert ends_inside_definition(prompt) is inside


def test_repair_messages_append_the_candidate_and_the_feedback() -> None:
    history = list(build_prompt(FUNC, "chat").messages)
    code = PROMPT + "    return a - b\n"
    feedback = "Failed: add(1, 2)\nexpected: 3\ngot: -1\n```\n"
    messages = repair_messages(FUNC, history, code, feedback)
    assert messages[:2] == tuple(history)
    assert messages[2] == Message("assistant", f"```python\n{code}```")
    assert messages[3] == Message(
        "user",
        "Your solution failed the public tests. Output:\n\n"
        "````text\nFailed: add(1, 2)\nexpected: 3\ngot: -1\n```\n````\n\n"
        "Fix it. Reply with the complete corrected solution, including the imports it needs and the full "
        "definition of `add`, in a single ```python code block.",
    )
    # The next turn builds on the previous one.
    again = repair_messages(FUNC, list(messages), PROMPT + "    return a * b\n", "got: 2")
    assert again[:4] == messages and len(again) == 6


def test_repair_messages_for_stdio_task_ask_for_a_program() -> None:
    messages = repair_messages(STDIO, list(build_prompt(STDIO, "chat").messages), "print(0)", "expected 3, got 0")
    assert "corrected program that reads the input from standard input" in messages[-1].content


def test_repair_messages_need_a_candidate() -> None:
    with pytest.raises(ValueError, match="candidate"):
        repair_messages(FUNC, [], "  \n", "no code")


def test_repair_completion_prompt() -> None:
    text = repair_completion_prompt(FUNC, PROMPT + "    return a - b\n", "AssertionError\r\nadd(1, 2) == -1\n")
    assert text == (
        "# A previous attempt failed the public tests.\n"
        "# Attempt:\n"
        "#     def add(a: int, b: int) -> int:\n"
        '#         """Return a + b.\n'
        "#         >>> add(1, 2)\n"
        "#         3\n"
        '#         """\n'
        "#         return a - b\n"
        "# Test output:\n"
        "#     AssertionError\n"
        "#     add(1, 2) == -1\n"
        "# Corrected version:\n" + PROMPT
    )
    # Nothing but comments before the task prompt: a continuation is a normal program.
    assert ast.parse(text + "    return a + b\n")
    # The model continues right after the docstring, exactly as on the first try; stops still apply.
    assert default_stop(FUNC, "complete") == COMPLETE_STOP
    reply = "    return a + b\n\n\ndef check(candidate):\n    pass\n"
    assert extract_code(reply, FUNC, "complete", prompt_text=text) == PROMPT + "    return a + b\n"
