from __future__ import annotations

import pytest

from ripsaw.tasks.humaneval import KNOWN_WRONG_EXAMPLES, load_humaneval
from ripsaw.tasks.public_examples import parse_examples, public_tests_from_prompt
from ripsaw.tasks.task import Task
from tests.support.trusted import passes


@pytest.fixture(scope="module")
def humaneval() -> dict[str, Task]:
    return {t.id: t for t in load_humaneval()}


def pairs(task: Task) -> list[tuple[str, str]]:
    return [(ex.expr, ex.expected) for ex in parse_examples(task.prompt, task.entry_point)]


def test_doctest_examples(humaneval: dict[str, Task]) -> None:
    assert pairs(humaneval["HumanEval/0"]) == [
        ("has_close_elements([1.0, 2.0, 3.0], 0.5)", "False"),
        ("has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)", "True"),
    ]


def test_doctest_without_output_means_none(humaneval: dict[str, Task]) -> None:
    # `>>> longest([])` is followed by a blank line: the call returns None.
    assert pairs(humaneval["HumanEval/12"])[0] == ("longest([])", "None")


def test_escapes_in_examples_keep_their_meaning(humaneval: dict[str, Task]) -> None:
    # The prompt's docstring is not raw: decoding it would split this example over two lines.
    assert ("remove_vowels('abcdef\\nghijklm')", "'bcdf\\nghjklm'") in pairs(humaneval["HumanEval/51"])


def test_doctest_written_as_comparison(humaneval: dict[str, Task]) -> None:
    assert pairs(humaneval["HumanEval/108"]) == [
        ("count_nums([])", "0"),
        ("count_nums([-1, 11, -11])", "1"),
        ("count_nums([1, 1, 2])", "3"),
    ]


def test_doctest_expression_around_the_call(humaneval: dict[str, Task]) -> None:
    tests = public_tests_from_prompt(humaneval["HumanEval/32"].prompt, "find_zero")
    assert tests is not None
    assert "assert abs(round(candidate([1, 2]), 2) - (-0.5)) < 1e-6" in tests.code


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        ("HumanEval/72", ("will_it_fly([1, 2], 5)", "False")),  # ➞
        ("HumanEval/77", ("iscube(-1)", "True")),  # ==>
        ("HumanEval/66", ("digitSum('abAB')", "131")),  # =>
        ("HumanEval/152", ("compare([1, 2, 3, 4, 5, 1], [1, 2, 3, 4, 2, -2])", "[0, 0, 0, 0, 3, 3]")),  # ->
        ("HumanEval/102", ("choose_num(12, 15)", "14")),  # =
        ("HumanEval/97", ("multiply(148, 412)", "16")),  # should return 16.
        ("HumanEval/86", ("anti_shuffle('hello')", "'ehllo'")),  # returns
        ("HumanEval/79", ("decimal_to_binary(15)", "'db1111db'")),  # # returns
        ("HumanEval/123", ("get_odd_collatz(5)", "[1, 5]")),  # trailing comment
        ("HumanEval/150", ("x_or_y(7, 34, 12)", "34")),  # "for f(x) == y"
        ("HumanEval/99", ("closest_integer('-14.5')", "-15")),  # inside a sentence
    ],
)
def test_free_text_forms(humaneval: dict[str, Task], task_id: str, expected: tuple[str, str]) -> None:
    assert expected in pairs(humaneval[task_id])


@pytest.mark.parametrize(
    ("task_id", "not_parsed"),
    [
        ("HumanEval/67", "fruit_distribution"),  # `-> 19 - 5 - 6 = 8`: arithmetic, not a value
        ("HumanEval/80", "is_happy"),  # `is_happy(a) => False`: a name, not a literal
        ("HumanEval/76", "is_simple_power"),  # `=> true`: not Python
    ],
)
def test_ambiguous_examples_are_skipped(humaneval: dict[str, Task], task_id: str, not_parsed: str) -> None:
    assert pairs(humaneval[task_id]) == []
    assert humaneval[task_id].public_tests is None


def test_partial_matches_are_skipped(humaneval: dict[str, Task]) -> None:
    found = pairs(humaneval["HumanEval/130"])
    assert ("tri(3)", "[1, 3, 2, 8]") in found
    assert all("n" not in expr.removeprefix("tri") for expr, _ in found)  # `tri(n) = 1 + n / 2` is skipped
    # `file_name_check("1example.dll") # => 'No' (the name should ...)`: prose after the value
    assert pairs(humaneval["HumanEval/141"]) == [("file_name_check('example.txt')", "'Yes'")]
    # `>>> sort_array([1, 0, 2, 3, 4]) [0, 1, 2, 3, 4]` parses as a subscript: not an example
    assert len(pairs(humaneval["HumanEval/116"])) == 2


def test_only_the_entry_points_docstring_is_read() -> None:
    prompt = 'def helper():\n    return g(3) == 5\n\n\ndef g(x):\n    """Double x.\n    g(2) == 4\n    """\n'
    assert [(e.expr, e.expected) for e in parse_examples(prompt, "g")] == [("g(2)", "4")]


def test_humaneval_public_tests_count(humaneval: dict[str, Task]) -> None:
    with_tests = [t for t in humaneval.values() if t.public_tests is not None]
    assert len(with_tests) == 138


def test_every_canonical_solution_passes_its_public_tests(humaneval: dict[str, Task]) -> None:
    failing = [
        t.id
        for t in humaneval.values()
        if t.public_tests is not None and t.canonical_solution
        if not passes(t.public_tests, t.canonical_solution, t.entry_point)
    ]
    assert failing == []


def test_public_tests_reject_a_constant_answer(humaneval: dict[str, Task]) -> None:
    accepted = [
        t.id
        for t in humaneval.values()
        if t.public_tests is not None and passes(t.public_tests, t.prompt + "    return None\n", t.entry_point)
    ]
    assert accepted == []


def test_known_wrong_examples_really_contradict_the_reference(humaneval: dict[str, Task]) -> None:
    for task_id, wrong in KNOWN_WRONG_EXAMPLES.items():
        task = humaneval[task_id]
        examples = {ex.text: ex for ex in parse_examples(task.prompt, task.entry_point)}
        assert wrong <= set(examples), f"{task_id}: an excluded example is no longer parsed"
        for text in wrong:
            single = public_tests_from_prompt(task.prompt, task.entry_point, frozenset(examples) - {text})
            assert single is not None
            assert not passes(single, task.canonical_solution or "", task.entry_point), f"{task_id}: {text}"
