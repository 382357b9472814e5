"""The trusted verdict: decide an attempt's outcome from the plain values a sandbox returned.

Why a pass cannot be forged: code in the sandbox can fake anything inside its own process (exit codes,
printed markers, `check`, `AssertionError`, always-equal objects, frames and `gc`), so nothing from
there is believed except values. The sandbox receives the candidate and the inputs only; it returns,
per input, one strictly encoded record of exact builtin values. Everything that decides the outcome
runs here, outside, on decoded values:

- CheckTests (HumanEval-style `check(candidate)`): `prepare()` runs the task's test code once against the
  canonical solution, with a recording proxy standing in for the candidate; it captures each call's
  arguments (snapshot-encoded before the call), in order, and the reference time. The sandbox computes
  the candidate's results for those arguments. A replay then runs the test code again with a fake
  candidate that checks each call's arguments against the recording and answers with the candidate's
  decoded results (or raises the recorded builtin exception). If the test code's calls diverge (they
  depend on earlier results), the new arguments go to the sandbox in a further, bounded round.
- CallTests: decoded results are compared with the expected values.
- IOTests: captured stdout is compared line by line (trailing whitespace and blank lines ignored).

Task data is not trusted either: the recording and every replay run the task's test code and canonical solution in
a judge sandbox of their own (ripsaw.verdict.judgebox: no network, no host environment, no host files, no
privileges; the referee program, ripsaw/verdict/referee.py), never in Ripsaw's process and never where the
candidate runs. The candidate's sandbox still never sees the tests; the judge sandbox sees only values the host
copied out of the candidate's sandbox, decoded into exact builtin values (None, bool, int, float, complex, str,
bytes, list, tuple, dict, set, frozenset) whose comparisons cannot be overridden. Each replay is a fresh run of the
test code (in the task's worker) seeded like the recording, because some HumanEval tests draw unseeded random
inputs. The host believes the referee's answer only in its strict shape; none, or a malformed one, is never a pass.
Call- and output-style tests need no task code: they are compared here, on decoded values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from ripsaw.errors import ConfigError, PrerequisiteError
from ripsaw.records import Outcome, SandboxRun
from ripsaw.sandboxes import wire
from ripsaw.sandboxes.base import Limits, SandboxJob, SandboxResult, SandboxSession
from ripsaw.tasks.task import CallTests, CheckTests, IOTests, Task, Tests
from ripsaw.verdict import referee
from ripsaw.verdict.judgebox import JudgeBox, JudgeRun, default_box, judge_limits
from ripsaw.verdict.referee import cap as _cap
from ripsaw.verdict.referee import interpret as _interpret
from ripsaw.verdict.referee import show as _show
from ripsaw.verdict.referee import show_args as _show_args

__all__ = ["Judge", "Verdict"]

_SEED = 0
_MAX_ROUNDS = 4  # sandbox runs per verdict when the test code's calls depend on the candidate's results
_RECORD_TIMEOUT_S = 120.0
_NO_RECORD = referee.NO_RECORD
_REPLAY_OUTCOMES = {Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.RESOURCE_LIMIT}


@dataclass(slots=True)
class Verdict:
    outcome: Outcome
    detail: str = ""
    run: SandboxRun | None = None  # the last sandbox run that decided the outcome
    # Deterministic, capped description of the first failing case, for a repair loop.
    feedback: str = ""
    sandbox_time_s: float = 0.0  # every sandbox run this verdict needed (rounds, the timeout re-run)


# ---------------------------------------------------------------------------------------------------
# A shared/exclusive lock that lets ordinary sandbox runs overlap and gives a timeout re-run the machine to itself.


class _SharedExclusive:
    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._active = 0
        self._exclusive = False
        self._waiting_exclusive = 0

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._exclusive and not self._waiting_exclusive)
            self._active += 1
        try:
            yield
        finally:
            async with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._cond:
            self._waiting_exclusive += 1
            try:
                await self._cond.wait_for(lambda: not self._exclusive and self._active == 0)
            finally:
                self._waiting_exclusive -= 1
            self._exclusive = True
        try:
            yield
        finally:
            async with self._cond:
                self._exclusive = False
                self._cond.notify_all()


_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedExclusive] = weakref.WeakKeyDictionary()


def _machine_lock() -> _SharedExclusive:
    loop = asyncio.get_running_loop()
    if loop not in _locks:
        _locks[loop] = _SharedExclusive()
    return _locks[loop]


def _normalize_output(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _jsonish(value: Any) -> Any:
    """Candidate results as their JSON shape (tuples are lists), to compare with JSON-encoded expectations."""
    if type(value) in (list, tuple):
        return [_jsonish(v) for v in value]
    if type(value) is dict:
        return {k: _jsonish(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------------
# CheckTests: the recording and the replays, as referee jobs in the judge sandbox.


@dataclass(frozen=True, slots=True)
class _Call:
    args: Any  # encoded positional-args list, as sent to the sandbox
    key: str  # canonical JSON of args, for exact comparison (1 != 1.0 != True, -0.0 != 0.0)
    out: dict[str, Any] | None = None  # a result record (the reference's, or the candidate's)


@dataclass(slots=True)
class _Replay:
    outcome: Outcome
    detail: str = ""
    feedback: str = ""
    diverged_at: int | None = None
    new_args: Any = None


def _key(encoded: Any) -> str:
    return referee.key(encoded)


class _Program:
    """The task's test code and canonical solution, as the referee receives them (never run on the host)."""

    def __init__(self, task: Task, tests: CheckTests) -> None:
        if task.canonical_solution is None:
            raise ConfigError(f"task {task.id}: check-style tests need a canonical solution to record calls")
        self.task = task
        self.job = {
            "solution": task.canonical_solution,
            "entry_point": task.entry_point,
            "tests": (tests.setup + "\n" if tests.setup else "") + tests.code,
            "bindings": ["candidate"] + ([task.entry_point] if "." not in task.entry_point else []),
            "seed": _SEED,
        }


def _replay_answer(answer: dict[str, Any] | None, calls: int) -> _Replay | None:
    """The referee's replay answer in its strict shape, else None."""
    if answer is None:
        return None
    try:
        outcome = Outcome(answer["outcome"])
        detail, feedback = answer["detail"], answer["feedback"]
        diverged_at, new_args = answer["diverged_at"], answer["new_args"]
    except (KeyError, ValueError, TypeError):
        return None
    if outcome not in _REPLAY_OUTCOMES or type(detail) is not str or type(feedback) is not str:
        return None
    if diverged_at is not None:
        if type(diverged_at) is not int or not 0 <= diverged_at <= calls or outcome is not Outcome.FAILED:
            return None
        if new_args is not None:
            try:
                if type(wire.decode_value(new_args)) is not list:
                    return None
            except wire.WireFormatError:
                return None
    return _Replay(outcome, detail[:300], _cap(feedback), diverged_at, new_args)


@dataclass(slots=True)
class _Prepared:
    calls: list[_Call] = field(default_factory=list)
    reference_s: float = 0.0


class Judge:
    """Judges candidates for one task against one test set; build once, `prepare()`, then `judge()` many times."""

    def __init__(
        self,
        task: Task,
        tests: Tests,
        *,
        timeout_floor_s: float,
        timeout_factor: float,
        limits: Limits,
        box: JudgeBox | None = None,
    ) -> None:
        """`box`: the judge sandbox the task's test code runs in (default: the one this process shares)."""
        self.task = task
        self.tests = tests
        self.timeout_floor_s = timeout_floor_s
        self.timeout_factor = timeout_factor
        self.limits = limits
        self._program = _Program(task, tests) if isinstance(tests, CheckTests) else None
        self._box = box
        self._prepared: _Prepared | None = None
        self._prepare_lock = asyncio.Lock()

    @property
    def timeout_s(self) -> float:
        reference = self._prepared.reference_s if self._prepared else 0.0
        return max(self.timeout_floor_s, self.timeout_factor * reference)

    async def prepare(self) -> None:
        """Trusted, once: record the calls check-style tests make (with the reference solution standing in)."""
        async with self._prepare_lock:
            if self._prepared is not None:
                return
            if self._program is None:
                self._prepared = _Prepared()
                return
            recorded = await self._record(self._program)
            # The recording must replay cleanly with the reference's own results, or the tests are not
            # deterministic enough to judge anyone by (time, identity, unseeded state across calls).
            check = await self._replay(self._program, recorded.calls, _RECORD_TIMEOUT_S)
            if isinstance(check, Verdict) or check.outcome is not Outcome.PASSED:
                raise ConfigError(
                    f"task {self.task.id}: its tests do not replay with the canonical solution's results "
                    f"({check.outcome.value}: {check.detail})"
                )
            self._prepared = recorded

    @property
    def box(self) -> JudgeBox:
        return self._box or default_box()

    async def _referee(self, job: dict[str, Any], timeout_s: float) -> JudgeRun:
        """One referee job in the judge sandbox (answered by the task's worker), re-run with the machine to itself
        if it timed out under load."""
        limits = judge_limits(timeout_s)
        async with _machine_lock().shared():
            done = await self.box.ask(job, limits)
        if done.run.status == "timeout":
            async with _machine_lock().exclusive():
                done = await self.box.ask(job, limits)
        return done

    async def _record(self, program: _Program) -> _Prepared:
        done = await self._referee({**program.job, "kind": "record"}, _RECORD_TIMEOUT_S)
        task = self.task.id
        if done.run.status == "infra_error":
            raise PrerequisiteError(f"task {task}: the judge sandbox failed: {done.run.detail}")
        if done.run.status == "timeout":
            raise ConfigError(
                f"task {task}: recording its tests with the canonical solution took over {_RECORD_TIMEOUT_S:g} s"
            )
        answer = done.answer
        try:
            assert answer is not None
            error, raw = answer["error"], answer["calls"]
            calls = [_Call(c["args"], _key(c["args"]), c["out"]) for c in raw]
            reference_s = sum(float(c["elapsed_s"]) for c in raw)
            assert error is None or type(error) is str
        except (AssertionError, KeyError, TypeError, ValueError):
            tail = "; ".join(filter(None, [done.run.detail, *done.run.stderr.strip().splitlines()[-1:]]))[:300]
            raise ConfigError(f"task {task}: recording its tests failed: {tail or 'no valid answer'}") from None
        if error:
            raise ConfigError(f"task {task}: its tests fail with the canonical solution: {error}")
        return _Prepared(calls=calls, reference_s=reference_s)

    async def _replay(self, program: _Program, calls: list[_Call], timeout_s: float) -> _Replay | Verdict:
        """The test code run on these results, in the judge sandbox: its replay, or the verdict its run forces."""
        job = {**program.job, "kind": "replay", "calls": [{"args": c.args, "out": c.out} for c in calls]}
        done = await self._referee(job, timeout_s)
        run = done.run
        if run.status == "ok":
            replay = _replay_answer(done.answer, len(calls))
            if replay is not None:
                return replay
        if run.status == "timeout":
            detail = f"the tests ran over {timeout_s:g} s on the results"
            return Verdict(Outcome.TIMEOUT, detail, None, _cap(detail))
        if run.status == "resource_limit":
            detail = f"the tests hit a limit on the results: {run.detail}"[:300]
            return Verdict(Outcome.RESOURCE_LIMIT, detail, None, _cap(detail))
        if run.status == "infra_error":
            return Verdict(Outcome.INFRA_ERROR, f"the judge sandbox failed: {run.detail}"[:300])
        tail = run.stderr.strip().splitlines()[-1:]
        detail = "; ".join(["the tests ended without a verdict on the results", run.detail, *tail])[:300]
        return Verdict(Outcome.ERROR, detail, None, _cap(detail))

    async def judge(self, code: str, session: SandboxSession) -> Verdict:
        await self.prepare()
        try:
            compile(code, "<candidate>", "exec")  # parse only; untrusted code never runs on the host
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            return Verdict(
                Outcome.SYNTAX_ERROR, f"{type(e).__name__}: {e}"[:300], None, _cap(f"{type(e).__name__}: {e}")
            )
        limits = replace(self.limits, timeout_s=self.timeout_s)
        if isinstance(self.tests, CheckTests):
            return await self._judge_check(code, session, limits)
        if isinstance(self.tests, CallTests):
            return await self._judge_calls(code, session, limits, self.tests)
        if isinstance(self.tests, IOTests):
            return await self._judge_io(code, session, limits, self.tests)
        raise TypeError(f"task {self.task.id}: a repository task is judged by ripsaw.verdict.repo, not by a Judge")

    async def _run(self, session: SandboxSession, job: SandboxJob, spent: list[float]) -> SandboxResult:
        async with _machine_lock().shared():
            result = await session.run(job)
        spent.append(result.run.duration_s)
        if result.run.status == "timeout":
            # Machine load must not be scored as slowness: run it again with the sandbox to itself.
            async with _machine_lock().exclusive():
                result = await session.run(job)
            spent.append(result.run.duration_s)
        return result

    def _job(self, code: str, mode: Any, inputs: list[Any], limits: Limits) -> SandboxJob:
        return SandboxJob(
            code=code, entry_point=self.task.entry_point, mode=mode, inputs=inputs, limits=limits, label=self.task.id
        )

    async def _judge_check(self, code: str, session: SandboxSession, limits: Limits) -> Verdict:
        assert self._program is not None and self._prepared is not None
        script = [_Call(c.args, c.key) for c in self._prepared.calls]
        spent: list[float] = []
        replay = _Replay(Outcome.FAILED)
        run: SandboxRun | None = None
        for _ in range(_MAX_ROUNDS):
            result = await self._run(session, self._job(code, "calls", [c.args for c in script], limits), spent)
            run = result.run
            if (status := _status_verdict(run)) is not None:
                return _finish(status, run, spent)
            script = [replace(c, out=r) for c, r in zip(script, result.records, strict=True)]
            answer = await self._replay(self._program, script, limits.timeout_s)
            if isinstance(answer, Verdict):
                return _finish(answer, run, spent)
            replay = answer
            if replay.diverged_at is None:
                return _finish(Verdict(replay.outcome, replay.detail, run, replay.feedback), run, spent)
            # Keep the calls before the divergence, put the new one in its place and the rest after it.
            i = replay.diverged_at
            if replay.new_args is None:
                break
            script = [*script[:i], _Call(replay.new_args, _key(replay.new_args)), *script[i + 1 :]]
            script = [_Call(c.args, c.key) for c in script]
        detail = "the tests' calls depend on the results and did not settle"
        return _finish(Verdict(Outcome.FAILED, detail, run, _cap(detail)), run, spent)

    async def _judge_calls(self, code: str, session: SandboxSession, limits: Limits, tests: CallTests) -> Verdict:
        inputs = [wire.encode_value(json.loads(case.args)) for case in tests.cases]
        spent: list[float] = []
        result = await self._run(session, self._job(code, "calls", inputs, limits), spent)
        if (status := _status_verdict(result.run)) is not None:
            return _finish(status, result.run, spent)
        for i, (case, record) in enumerate(zip(tests.cases, result.records, strict=True)):
            value, problem = _interpret(record, i, inputs[i])
            if problem is not None:
                return _finish(
                    Verdict(Outcome(problem.outcome), problem.detail, result.run, problem.feedback),
                    result.run,
                    spent,
                )
            if isinstance(value, BaseException):
                feedback = _cap(
                    f"call {i + 1} with arguments {_show_args(inputs[i])} raised {type(value).__name__}: {value}"
                )
                return _finish(
                    Verdict(Outcome.ERROR, f"call {i + 1} raised {type(value).__name__}", result.run, feedback),
                    result.run,
                    spent,
                )
            expected = json.loads(case.expected)
            if _jsonish(value) != expected:
                feedback = _cap(
                    f"call {i + 1} with arguments {_show_args(inputs[i])} returned {_show(value)}, "
                    f"expected {_show(expected)}"
                )
                return _finish(
                    Verdict(Outcome.FAILED, f"wrong result for call {i + 1}", result.run, feedback), result.run, spent
                )
        return _finish(Verdict(Outcome.PASSED, "", result.run), result.run, spent)

    async def _judge_io(self, code: str, session: SandboxSession, limits: Limits, tests: IOTests) -> Verdict:
        # Room for each case's expected output (twice over), however many cases there are.
        biggest = max((len(c.output.encode()) for c in tests.cases), default=0)
        limits = replace(limits, output_bytes=max(limits.output_bytes, len(tests.cases) * (2 * biggest + 4096)))
        spent: list[float] = []
        result = await self._run(session, self._job(code, "stdin", [c.input for c in tests.cases], limits), spent)
        run = result.run
        if (status := _status_verdict(run)) is not None:
            return _finish(status, run, spent)
        for i, (case, record) in enumerate(zip(tests.cases, result.records, strict=True)):
            verdict = _io_case(i, case.input, case.output, record)
            if verdict is not None:
                verdict.run = run
                return _finish(verdict, run, spent)
        return _finish(Verdict(Outcome.PASSED, "", run), run, spent)


def _io_case(i: int, stdin: str, expected: str, record: dict[str, Any] | None) -> Verdict | None:
    case = f"case {i + 1}"
    if record is None or not isinstance(record.get("stdout"), str):
        return Verdict(Outcome.ERROR, f"{case}: {_NO_RECORD}", None, f"{case}: {_NO_RECORD}")
    shown_input = _show(stdin)
    if record.get("raised") == "MemoryError":
        return Verdict(Outcome.RESOURCE_LIMIT, f"out of memory in {case}", None, f"{case} ran out of memory")
    if "raised" in record or "exit_code" in record:
        how = (
            f"raised {record.get('raised')}: {record.get('message', '')}"
            if "raised" in record
            else f"exited with code {record.get('exit_code')}"
        )
        return Verdict(Outcome.ERROR, f"{case} {how}"[:300], None, _cap(f"{case} with input {shown_input} {how}"))
    if record.get("truncated"):
        return Verdict(Outcome.RESOURCE_LIMIT, f"{case}: output limit exceeded", None, f"{case} printed too much")
    if _normalize_output(record["stdout"]) != _normalize_output(expected):
        feedback = _cap(
            f"{case} with input {shown_input} printed {_show(record['stdout'])}, expected {_show(expected)}"
        )
        return Verdict(Outcome.FAILED, f"wrong output for {case}", None, feedback)
    return None


def _status_verdict(run: SandboxRun) -> Verdict | None:
    """Statuses other than ok decide the outcome alone: records from a run that did not end cleanly never pass."""
    outcome = {
        "timeout": Outcome.TIMEOUT,
        "resource_limit": Outcome.RESOURCE_LIMIT,
        "crashed": Outcome.ERROR,
        "infra_error": Outcome.INFRA_ERROR,
    }.get(run.status)
    if outcome is None:
        return None
    tail = run.stderr.strip().splitlines()[-1:] if run.status == "crashed" else []
    detail = "; ".join([run.detail, *tail])[:300]
    return Verdict(outcome, detail, run, _cap(f"{outcome.value}: {detail}"))


def _finish(verdict: Verdict, run: SandboxRun | None, spent: list[float]) -> Verdict:
    verdict.run = run
    verdict.sandbox_time_s = sum(spent)
    return verdict
