"""Code extraction on messy, realistic replies. Nothing is executed: programs are checked by text and by parsing."""

from __future__ import annotations

import ast

import pytest

from ripsaw.records import DroppedStatement
from ripsaw.solvers.closure import statements
from ripsaw.solvers.extract import extract, extract_code, strip_thinking
from ripsaw.solvers.prompts import repair_completion_prompt
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import CallCase, CallTests, CheckTests, IOCase, IOTests, Task

PROMPT = '''from typing import List


def below_zero(operations: List[int]) -> bool:
    """Return True if the running balance ever drops below zero.
    >>> below_zero([1, 2, -4])
    True
    """
'''
BODY = """    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False
"""
SOLUTION = PROMPT + BODY
FUNC = Task(id="t/below_zero", prompt=PROMPT, entry_point="below_zero", tests=CheckTests(code="assert True"))

# The model's own full definition, without the prompt's docstring.
DEF_ONLY = """def below_zero(operations: List[int]) -> bool:
    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False
"""

CLASS_PROMPT = "class Solution:\n    def twoSum(self, nums: list[int], target: int) -> list[int]:\n        "
CLASS_TASK = Task(
    id="t/two_sum",
    prompt=CLASS_PROMPT,
    entry_point="Solution.twoSum",
    tests=CallTests(cases=(CallCase(args="[[2, 7], 9]", expected="[0, 1]"),)),
)
CLASS_SOLUTION = """class Solution:
    def twoSum(self, nums: list[int], target: int) -> list[int]:
        seen = {}
        for i, n in enumerate(nums):
            if target - n in seen:
                return [seen[target - n], i]
            seen[n] = i
        return []
"""

STDIO = Task(
    id="t/sum",
    prompt="Read two integers from one line and print their sum.",
    entry_point="",
    tests=IOTests(cases=(IOCase(input="1 2\n", output="3\n"),)),
)
STDIO_PROGRAM = """def main():
    a, b = map(int, input().split())
    print(a + b)


if __name__ == "__main__":
    main()
"""


def fenced(code: str, lang: str = "python") -> str:
    return f"```{lang}\n{code.rstrip()}\n```"


def _without(program: str, dropped: list[DroppedStatement]) -> str:
    """`program` without the top-level statements that start at the dropped lines, ending in one newline."""
    starts = {d.line for d in dropped}
    spans = {n for s in statements(program) if s.first in starts for n in range(s.first, s.last + 1)}
    return "\n".join(line for n, line in enumerate(program.split("\n"), 1) if n not in spans).rstrip() + "\n"


def defines(program: str, name: str) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.parse(program).body)


# ---- complete mode -------------------------------------------------------------------------------------------


def test_complete_cuts_check_function_spill() -> None:
    reply = BODY + "\n\ndef check(candidate):\n    assert candidate([1, -2]) is True\n"
    assert extract_code(reply, FUNC, "complete") == SOLUTION


def test_complete_cuts_main_guard_spill() -> None:
    reply = BODY + '\n\nif __name__ == "__main__":\n    import doctest\n    doctest.testmod()\n'
    assert extract_code(reply, FUNC, "complete") == SOLUTION


def test_complete_applies_stops_a_server_ignored() -> None:
    # The server streamed past every stop: a usage print, a comment, another function.
    reply = BODY + "\nprint(below_zero([1, -5]))\n# Output: True\ndef other():\n    pass\n"
    assert extract_code(reply, FUNC, "complete") == SOLUTION


def test_complete_cuts_trailing_prose_at_column_zero() -> None:
    reply = BODY + "```\n\nThis function keeps a running balance and returns as soon as it's negative.\n"
    assert extract_code(reply, FUNC, "complete") == SOLUTION


def test_complete_cuts_column_zero_assert_lines() -> None:
    reply = BODY + "\nassert below_zero([1, 2, -4])\nassert not below_zero([1])\n"
    assert extract_code(reply, FUNC, "complete") == SOLUTION


def test_complete_keeps_column_zero_lines_inside_a_string() -> None:
    body = '    banner = """\nnot code, inside a string\n"""\n    return banner.count("-") > 0\n'
    assert extract_code(body + "\nThat's it.\n", FUNC, "complete") == PROMPT + body


def test_complete_helpers_follow_the_requested_stops() -> None:
    body = "    return _negative_prefix(operations)\n"
    helper = (
        "\n\nimport itertools\n\n\ndef _negative_prefix(ops):\n    total = 0\n    for op in ops:\n        total += op\n"
        + ("        if total < 0:\n            return True\n    return False\n")
    )
    reply = body + helper + "\n\nprint(below_zero([1]))\n"
    # The classic stops include "\ndef ": helpers after the entry point go, as in HumanEval's protocol
    # (the column-0 import before the stop is code, but the entry point does not use it).
    assert extract_code(reply, FUNC, "complete") == PROMPT + body
    # A spec whose stops leave "\ndef " out keeps them (and still drops the column-0 print).
    kept = extract_code(reply, FUNC, "complete", stop=("\nif __name__",))
    assert kept == PROMPT + body + helper.replace("import itertools\n", "")


def test_complete_normalizes_windows_newlines() -> None:
    reply = BODY.replace("\n", "\r\n") + "\r\n\r\ndef check(candidate):\r\n    pass\r\n"
    assert extract_code(reply, FUNC, "complete") == SOLUTION


@pytest.mark.parametrize("reply", ["", "   \n\n", "\n# Test the function\n", "def check(candidate):\n    pass\n"])
def test_complete_without_a_body_is_no_code(reply: str) -> None:
    # The last case starts at column 0 right after the prompt's final newline, so "\ndef " matches at once.
    assert extract_code(reply, FUNC, "complete") is None


def test_complete_repair_prompt_is_not_part_of_the_program() -> None:
    text = repair_completion_prompt(FUNC, PROMPT + "    return True\n", "AssertionError: below_zero([1]) != False")
    assert extract_code(BODY + "\n\ndef check(c):\n    pass\n", FUNC, "complete", prompt_text=text) == SOLUTION


def test_complete_class_method_continuation() -> None:
    reply = (
        CLASS_SOLUTION.split("-> list[int]:\n        ", 1)[1] + "\n\nsol = Solution()\nprint(sol.twoSum([2, 7], 9))\n"
    )
    assert extract_code(reply, CLASS_TASK, "complete") == CLASS_SOLUTION


def test_complete_stdio_program_keeps_top_level_code_and_drops_prose() -> None:
    task = Task(id="t/c", prompt="import sys\n", entry_point="", tests=STDIO.tests)
    reply = "a, b = map(int, sys.stdin.read().split())\nprint(a + b)\n\nThis reads both numbers at once.\n"
    assert (
        extract_code(reply, task, "complete") == "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n"
    )


def test_complete_prompt_ending_at_module_level_keeps_the_definition() -> None:
    task = Task(id="t/area", prompt="import math\n\n", entry_point="area", tests=CheckTests(code="assert True"))
    reply = "def area(r):\n    return math.pi * r * r\n\nprint(area(1))\nThat's all.\n"
    assert extract_code(reply, task, "complete") == "import math\n\ndef area(r):\n    return math.pi * r * r\n"


# ---- chat mode -----------------------------------------------------------------------------------------------


def test_chat_thinking_then_code() -> None:
    reply = (
        "<think>\nWe need a running sum.\n```python\ndef below_zero(operations):\n    return True\n```\n"
        "No wait, that is wrong.\n</think>\n\nHere is the solution:\n\n" + fenced(SOLUTION)
    )
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_only_closing_think_tag() -> None:
    # The chat template opened <think> in the prompt, so the reply shows only the closing tag.
    reply = "def below_zero(x): return 'draft'\nHmm, a loop is clearer.\n</think>\n" + fenced(SOLUTION)
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_unclosed_thinking_is_not_code() -> None:
    reply = "<think>\nLet me try:\ndef below_zero(operations):\n    return any(o < 0 for o in operations)\n"
    assert strip_thinking(reply) == ""
    assert extract_code(reply, FUNC, "chat") is None


def test_chat_reasoning_preamble_without_fence() -> None:
    reply = (
        "Reasoning: from the examples, a running balance is enough.\n"
        "import the typing names first.\n\n" + SOLUTION + "\nThe loop stops at the first negative balance."
    )
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_picks_the_solution_block_among_test_blocks() -> None:
    tests = "assert below_zero([1, 2, -4])\nassert not below_zero([1, 2])"
    reply = f"Tests first:\n{fenced(tests)}\nThen the code:\n{fenced(SOLUTION)}\nRun:\n{fenced('pytest -q', 'bash')}"
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_takes_the_last_revision() -> None:
    first = "def below_zero(operations):\n    return min(operations) < 0\n"
    reply = f"{fenced(first)}\nActually that ignores the running sum. Fixed:\n{fenced(SOLUTION)}"
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_joins_a_helper_from_another_block() -> None:
    helper = (
        "def prefix_sums(xs):\n    out, total = [], 0\n    for x in xs:\n"
        "        total += x\n        out.append(total)\n    return out"
    )
    main = (
        "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n"
        "    return any(s < 0 for s in prefix_sums(operations))"
    )
    reply = f"A helper:\n{fenced(helper)}\nAnd the function:\n{fenced(main)}"
    program = extract_code(reply, FUNC, "chat")
    assert program == f"{helper}\n\n\n{main}\n"


def test_chat_without_fence_drops_trailing_prose() -> None:
    reply = "Sure! Here's my answer.\n\n" + SOLUTION + "\nThis runs in O(n) time and it's easy to read.\n"
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_truncated_fence_takes_the_rest() -> None:
    reply = "Here you go:\n```python\n" + SOLUTION
    assert extract_code(reply, FUNC, "chat") == SOLUTION


@pytest.mark.parametrize("open_fence,close_fence", [("~~~python", "~~~"), ("```py", "```"), ("````Python3", "````")])
def test_chat_fence_variants(open_fence: str, close_fence: str) -> None:
    reply = f"Solution:\n{open_fence}\n{SOLUTION}{close_fence}\n"
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_fence_indented_in_a_list_item() -> None:
    indented = "".join(f"   {line}" if line.strip() else line for line in SOLUTION.splitlines(keepends=True))
    reply = f"1. The code:\n   ```python\n{indented}   ```\n"
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_windows_newlines() -> None:
    reply = ("Here:\n" + fenced(SOLUTION) + "\n").replace("\n", "\r\n")
    assert extract_code(reply, FUNC, "chat") == SOLUTION


def test_chat_tab_indented_code_is_kept_as_written() -> None:
    code = SOLUTION.replace(PROMPT, "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n")
    tabbed = code.replace("        ", "\t\t").replace("    ", "\t")
    program = extract_code(fenced(tabbed), FUNC, "chat")
    assert program == tabbed
    assert defines(program, "below_zero")


def test_chat_body_only_goes_under_the_prompt_signature() -> None:
    body = (
        "balance = 0\nfor op in operations:\n    balance += op\n    if balance < 0:\n        return True\nreturn False"
    )
    assert extract_code(fenced(body), FUNC, "chat") == SOLUTION


def test_chat_tab_indented_body_only() -> None:
    body = BODY.replace("        ", "\t\t").replace("    ", "\t")
    assert extract_code(fenced(body), FUNC, "chat") == SOLUTION


def test_chat_def_only_gets_the_prompt_imports() -> None:
    assert extract_code(fenced(DEF_ONLY), FUNC, "chat") == "from typing import List\n\n\n" + DEF_ONLY


def test_chat_gets_a_helper_the_prompt_defines() -> None:
    task = next(t for t in load_humaneval() if t.id == "HumanEval/38")  # decode_cyclic next to encode_cyclic
    code = "def decode_cyclic(s: str):\n    return encode_cyclic(encode_cyclic(s))"
    program = extract_code(fenced(code), task, "chat")
    assert program is not None and program.endswith("\n\n\n" + code + "\n")
    tree = ast.parse(program)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["encode_cyclic", "decode_cyclic"]


def test_chat_prompt_context_goes_after_future_imports() -> None:
    code = "from __future__ import annotations\n\n" + DEF_ONLY.replace("bool:", "bool:\n    xs: List[int] = []")
    program = extract_code(fenced(code), FUNC, "chat")
    assert program is not None
    assert program.startswith("from __future__ import annotations\nfrom typing import List\n")
    assert ast.parse(program)


def test_chat_repeating_the_full_prompt_is_kept_verbatim() -> None:
    reply = "Here is the completed function, docstring included:\n\n" + fenced(SOLUTION) + "\nHope this helps!"
    program = extract_code(reply, FUNC, "chat")
    assert program == SOLUTION
    assert program.count("from typing import List") == 1


def test_chat_drops_import_time_demos() -> None:
    demo = (
        'print(below_zero([1, 2, -4]))  # True\nassert below_zero([-1])\n\nif __name__ == "__main__":\n'
        "    import doctest\n    doctest.testmod()\n"
    )
    assert extract_code(fenced(SOLUTION + "\n\n" + demo), FUNC, "chat") == SOLUTION


def test_chat_keeps_other_top_level_statements() -> None:
    code = "import sys\n\nsys.setrecursionlimit(10_000)\nLIMIT = 0\n\n\n" + DEF_ONLY.replace("< 0", "< LIMIT")
    assert extract_code(fenced(code), FUNC, "chat") == "from typing import List\n\n\n" + code


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "  \n",
        "I'm sorry, I can't solve this without more information.",
        "Yes",
        "The function should import the values from the list and return True when the balance is negative.",
        "```python\n```",
        "<think>all thinking, never closed",
    ],
)
def test_chat_prose_only_is_no_code(reply: str) -> None:
    assert extract_code(reply, FUNC, "chat") is None


def test_chat_class_method_entry_point() -> None:
    standalone = "def twoSum(nums, target):\n    return [0, 1]"
    reply = f"Plain function:\n{fenced(standalone)}\nLeetCode form:\n{fenced(CLASS_SOLUTION)}"
    assert extract_code(reply, CLASS_TASK, "chat") == CLASS_SOLUTION


def test_chat_class_method_body_only() -> None:
    body = CLASS_SOLUTION.split("-> list[int]:\n", 1)[1]
    assert extract_code(fenced(body), CLASS_TASK, "chat") == CLASS_SOLUTION


def test_chat_stdio_program_keeps_main_guard_and_prints() -> None:
    usage = "Example:\n```text\n1 2\n```\n"
    assert extract_code(fenced(STDIO_PROGRAM) + "\n" + usage, STDIO, "chat") == STDIO_PROGRAM


def test_chat_stdio_script_without_fence_or_def() -> None:
    script = "a, b = map(int, input().split())\nprint(a + b)\n"
    assert extract_code(script, STDIO, "chat") == script


def test_chat_unparsable_blocks_fall_back_to_the_longest() -> None:
    broken = "def below_zero(operations:\n    return"
    program = extract_code(f"{fenced('x = 1')}\n{fenced(broken)}", STDIO, "chat")
    assert program == "x = 1\n"  # the longest block that parses wins over a longer broken one
    assert extract_code(fenced(broken), STDIO, "chat") == broken + "\n"  # broken code is a syntax error, not no code


def test_parse_warnings_do_not_escape() -> None:
    # Invalid escape sequences make ast.parse warn; pytest turns warnings into errors here.
    code = DEF_ONLY.replace("balance = 0", "pattern = '\\d+'\n    balance = 0")
    assert extract_code(fenced("from typing import List\n" + code), FUNC, "chat") == "from typing import List\n" + code


def test_every_humaneval_canonical_solution_round_trips() -> None:
    for task in load_humaneval():
        assert task.canonical_solution is not None
        body = task.canonical_solution[len(task.prompt) :]
        spill = body + "\n\ndef check(candidate):\n    assert True\n"
        program, report = extract(spill, task, "complete")
        # Only what the prompt brings and the entry point does not use goes: `from typing import List` under a
        # function on strings, a second function of the prompt (HumanEval/50), HumanEval/64's `FIX = """..."""`.
        assert program == _without(task.canonical_solution, report.dropped), task.id
        assert all(d.kind in ("import", "def", "assignment") and d.text in task.prompt for d in report.dropped), task.id
        chat = f"Sure, here it is:\n\n{fenced(task.canonical_solution.strip(chr(10)))}\n\nIt's simple."
        program, report = extract(chat, task, "chat")
        assert program == _without(task.canonical_solution.strip("\n"), report.dropped), task.id
        body_only, report = extract(fenced(body.strip("\n")), task, "chat")
        assert report.reindented, task.id
        assert body_only is not None and body_only.startswith(_without(task.prompt, report.dropped).rstrip()), task.id
        assert ast.parse(body_only), task.id
