"""The trusted verdict: decide an attempt's outcome from the plain values a sandbox returned.

Why a pass cannot be forged: code in the sandbox can fake anything inside its own process (exit codes,
printed markers, `check`, `AssertionError`, always-equal objects, frames and `gc`), so nothing from
there is believed except values. The sandbox receives the candidate and the inputs only; it returns,
per input, one strictly encoded record of exact builtin values. Everything that decides the outcome
runs here, outside, on decoded values:

- CheckTests (HumanEval-style `check(candidate)`): `prepare()` runs the task's test code once against the
  canonical solution in a separate trusted subprocess, with a recording proxy standing in for the
  candidate; it captures each call's arguments (snapshot-encoded before the call), in order, and the
  reference time. The sandbox computes the candidate's results for those arguments. A replay then
  runs the test code again with a fake candidate that checks each call's arguments against the
  recording and answers with the candidate's decoded results (or raises the recorded builtin
  exception). If the test code's calls diverge (they depend on earlier results), the new arguments go
  to the sandbox in a further, bounded round.
- CallTests: decoded results are compared with the expected values.
- IOTests: captured stdout is compared line by line (trailing whitespace and blank lines ignored).

The replay runs in the host process. That is safe because nothing the candidate controls executes in
it: the test code and canonical solution are task data, and the fake candidate only hands them values
built by our own decoder (None, bool, int, float, complex, str, bytes, list, tuple, dict, set,
frozenset), whose comparisons cannot be overridden. Sizes are bounded by the sandbox's record cap.
The replay is synchronous (no other coroutine runs meanwhile) and saves and restores the global
`random` state it seeds, because some HumanEval tests draw unseeded random inputs.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import os
import random
import sys
import tempfile
import traceback
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.records import Outcome, SandboxRun
from ripsaw.sandboxes import wire
from ripsaw.sandboxes.base import Limits, SandboxJob, SandboxResult, SandboxSession
from ripsaw.tasks.task import CallTests, CheckTests, IOTests, Task, Tests

__all__ = ["Judge", "Verdict"]

FEEDBACK_CHARS = 2000
_VALUE_CHARS = 300  # of one value inside feedback
_SEED = 0
_MAX_ROUNDS = 4  # sandbox runs per verdict when the test code's calls depend on the candidate's results
_RECORD_TIMEOUT_S = 120.0
_TEST_FILE = "<tests>"
_NO_RECORD = "no valid result record (the program ended early, or its records were duplicated or malformed)"


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


# ---------------------------------------------------------------------------------------------------
# Recording (trusted subprocess) and replay (host) for CheckTests.

# Runs in `python -I -c`, argv[1] = path of the driver (for the shared encoding). Job on stdin; the
# result JSON goes to a private copy of stdout so the test code's own prints cannot corrupt it.
_RECORDER = r"""
import importlib.util, json, os, random, sys, time
spec = importlib.util.spec_from_file_location("ripsaw_driver", sys.argv[1])
drv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(drv)
out_fd = os.dup(1)
os.dup2(2, 1)
job = json.loads(sys.stdin.buffer.read())
calls = []
result = {"calls": calls, "error": None}
try:
    ref_ns = {"__name__": "__reference__"}
    exec(compile(job["solution"], "<reference>", "exec"), ref_ns)
    fn = drv.resolve_entry_point(ref_ns, job["entry_point"])

    def candidate(*args, **kwargs):
        if kwargs:
            raise drv.Unencodable("kwargs", "the tests pass keyword arguments; only positional calls are recorded")
        args_enc = drv.encode_value(list(args))
        state = random.getstate()  # the reference's own random use must not shift the test code's stream
        t0 = time.perf_counter()
        try:
            value = fn(*args)
        except Exception as e:
            calls.append({"args": args_enc, "elapsed_s": time.perf_counter() - t0,
                          "out": {"raised": drv.builtin_exception_name(e), "message": drv.exception_message(e)}})
            raise
        finally:
            random.setstate(state)
        elapsed = time.perf_counter() - t0
        out = {"value": drv.encode_value(value)}
        changed = drv.args_after(args, args_enc)
        if changed is not None:
            out["args_after"] = changed
        calls.append({"args": args_enc, "elapsed_s": elapsed, "out": out})
        return value

    ns = {k: v for k, v in ref_ns.items() if k != "__builtins__"}
    ns.update({name: candidate for name in job["bindings"]})
    random.seed(job["seed"])
    exec(compile(job["tests"], "<tests>", "exec"), ns)
    if callable(ns.get("check")):
        ns["check"](candidate)
except drv.Unencodable as e:
    result["error"] = "cannot record: %s (%s)" % (e.reason, e.type_name)
except BaseException as e:
    result["error"] = "%s: %s" % (type(e).__name__, drv.exception_message(e))
data = json.dumps(result).encode()
view = memoryview(data)
while view:
    view = view[os.write(out_fd, view):]
os._exit(0)
"""


@dataclass(frozen=True, slots=True)
class _Call:
    args: Any  # encoded positional-args list, as sent to the sandbox
    key: str  # canonical JSON of args, for exact comparison (1 != 1.0 != True, -0.0 != 0.0)
    out: dict[str, Any] | None = None  # a result record (the reference's, or the candidate's)


def _key(encoded: Any) -> str:
    return json.dumps(encoded, separators=(",", ":"))


class _Diverged(BaseException):
    """Raised into the test code when it makes a call the recording does not have (BaseException, so
    `except Exception` in test code does not swallow it; a bare `except:` is caught by a flag instead)."""


class _Unanswerable(BaseException):
    """Raised into the test code when the candidate's record for this call cannot be turned into a value."""


@dataclass(slots=True)
class _Replay:
    outcome: Outcome
    detail: str = ""
    feedback: str = ""
    diverged_at: int | None = None
    new_args: Any = None


class _Program:
    """The task's test code, compiled once, with the trusted reference namespace it runs in."""

    def __init__(self, task: Task, tests: CheckTests) -> None:
        if task.canonical_solution is None:
            raise ConfigError(f"task {task.id}: check-style tests need a canonical solution to record calls")
        self.task = task
        self.solution = task.canonical_solution
        self.source = (tests.setup + "\n" if tests.setup else "") + tests.code
        self.lines = self.source.splitlines()
        self.code = compile(self.source, _TEST_FILE, "exec")
        ref_ns: dict[str, Any] = {"__name__": "__reference__"}
        exec(compile(self.solution, "<reference>", "exec"), ref_ns)
        self.helpers = {k: v for k, v in ref_ns.items() if k != "__builtins__"}
        self.bindings = ["candidate"] + ([task.entry_point] if "." not in task.entry_point else [])

    def replay(self, calls: list[_Call]) -> _Replay:
        position = 0
        diverged: list[Any] = []
        raised: list[BaseException] = []
        stop: list[_Replay] = []

        def fake(*args: Any, **kwargs: Any) -> Any:
            nonlocal position
            encoded = wire.encode_value(list(args)) if not kwargs else None
            if encoded is None or position >= len(calls) or _key(encoded) != calls[position].key:
                diverged.append(encoded)
                raise _Diverged
            call, index = calls[position], position
            position += 1
            value, problem = _interpret(call.out, index, call.args)
            if problem is None and call.out is not None and "args_after" in call.out:
                problem = _mutate(args, call.out["args_after"], index, call.args)
            if problem is not None:
                stop.append(problem)
                raise _Unanswerable
            if isinstance(value, BaseException):
                raised.append(value)
                raise value
            return value

        ns = dict(self.helpers)
        ns.update({name: fake for name in self.bindings})
        state = random.getstate()
        random.seed(_SEED)
        try:
            exec(self.code, ns)
            if callable(ns.get("check")):
                ns["check"](fake)
        except _Diverged:
            pass
        except _Unanswerable:
            pass
        except BaseException as e:  # the test code failed; work out why
            if diverged or stop:
                pass
            elif any(_caused_by(e, r) for r in raised):
                exc = raised[0]
                return _Replay(
                    Outcome.ERROR,
                    f"candidate raised {type(exc).__name__}",
                    _feedback(calls, position - 1, f"raised {type(exc).__name__}: {exc}", self._where(e)),
                )
            elif isinstance(e, AssertionError):
                return _Replay(Outcome.FAILED, "assertion failed", self._failure(calls, position, e))
            else:
                return _Replay(
                    Outcome.FAILED, f"tests raised {type(e).__name__} on the results", self._failure(calls, position, e)
                )
        finally:
            random.setstate(state)
        if stop:
            return stop[0]
        if diverged:
            return _Replay(Outcome.FAILED, "the tests' calls diverged", diverged_at=position, new_args=diverged[0])
        return _Replay(Outcome.PASSED)

    def _where(self, exc: BaseException) -> str:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == _TEST_FILE]
        if not frames or frames[-1].lineno is None or not 0 < frames[-1].lineno <= len(self.lines):
            return ""
        return f"failing test line: {self.lines[frames[-1].lineno - 1].strip()}"

    def _failure(self, calls: list[_Call], position: int, exc: BaseException) -> str:
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if position == 0:
            return _cap(f"{message}\n{self._where(exc)}")
        call = calls[position - 1]
        value, _ = _interpret(call.out, position - 1, call.args)
        return _feedback(calls, position - 1, f"returned {_show(value)}", f"{message}\n{self._where(exc)}")


def _caused_by(exc: BaseException | None, cause: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 50:
        if exc is cause:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _interpret(record: dict[str, Any] | None, index: int, args: Any) -> tuple[Any, _Replay | None]:
    """A call record -> (value or exception to raise, None), or (None, the verdict it forces)."""
    call = f"call {index + 1} with arguments {_show_args(args)}"
    if record is None:
        return None, _Replay(Outcome.ERROR, f"{call}: {_NO_RECORD}"[:300], _cap(f"{call}: {_NO_RECORD}"))
    if record.get("phase") == "load":
        text = f"{record.get('raised', 'Exception')}: {record.get('message', '')}"
        return None, _Replay(
            Outcome.ERROR, f"the code failed to load: {text}"[:300], _cap(f"loading the code raised {text}")
        )
    if "value" in record:
        try:
            return wire.decode_value(record["value"]), None
        except wire.WireFormatError as e:
            return None, _Replay(Outcome.ERROR, f"malformed result for {call}: {e}", f"{call}: malformed result")
    if "unencodable" in record:
        kind = str(record.get("unencodable"))[:80]
        return None, _Replay(
            Outcome.FAILED,
            f"{call} returned an unsupported value ({kind})",
            _cap(f"{call} returned a {kind}; results must be plain builtin values ({record.get('reason', '')})"),
        )
    if "raised" in record:
        name = str(record["raised"])
        message = str(record.get("message", ""))
        if name == "MemoryError":
            return None, _Replay(Outcome.RESOURCE_LIMIT, f"out of memory in {call}", f"{call} ran out of memory")
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            return _exception(cls, message), None
        return None, _Replay(Outcome.ERROR, f"{call} raised {name}"[:300], _cap(f"{call} raised {name}: {message}"))
    return None, _Replay(Outcome.ERROR, f"malformed result for {call}", f"{call}: malformed result")


def _mutate(args: tuple[Any, ...], encoded_after: Any, index: int, encoded_args: Any) -> _Replay | None:
    """Repeat on the test code's own objects what the candidate did to its copies of the arguments."""
    try:
        after = wire.decode_value(encoded_after)
    except wire.WireFormatError:
        after = None
    if type(after) is not list or len(after) != len(args):
        call = f"call {index + 1} with arguments {_show_args(encoded_args)}"
        return _Replay(Outcome.ERROR, f"malformed result for {call}", f"{call}: malformed result")
    for old, new in zip(args, after, strict=True):
        if type(old) is list and type(new) is list:
            old[:] = new
        elif (type(old) is dict and type(new) is dict) or (type(old) is set and type(new) is set):
            old.clear()
            old.update(new)
    return None


def _exception(cls: type[Exception], message: str) -> Exception:
    try:
        return cls(message)
    except Exception:  # classes with other constructors (UnicodeDecodeError, ...)
        return Exception(f"{cls.__name__}: {message}")


# ---------------------------------------------------------------------------------------------------
# Feedback text: deterministic and capped.


def _cap(text: str, limit: int = FEEDBACK_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 15] + " …[truncated]"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 3] + "..."


def _show_args(encoded_args: Any) -> str:
    try:
        args = wire.decode_value(encoded_args)
    except wire.WireFormatError:
        return "(...)"
    inner = ", ".join(repr(a) for a in args) if isinstance(args, list) else repr(args)
    return "(" + (inner if len(inner) <= _VALUE_CHARS else inner[: _VALUE_CHARS - 3] + "...") + ")"


def _feedback(calls: list[_Call], index: int, what: str, extra: str = "") -> str:
    return _cap(f"call {index + 1} with arguments {_show_args(calls[index].args)} {what}\n{extra}")


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


@dataclass(slots=True)
class _Prepared:
    calls: list[_Call] = field(default_factory=list)
    reference_s: float = 0.0


class Judge:
    """Judges candidates for one task against one test set; build once, `prepare()`, then `judge()` many times."""

    def __init__(
        self, task: Task, tests: Tests, *, timeout_floor_s: float, timeout_factor: float, limits: Limits
    ) -> None:
        self.task = task
        self.tests = tests
        self.timeout_floor_s = timeout_floor_s
        self.timeout_factor = timeout_factor
        self.limits = limits
        self._program = _Program(task, tests) if isinstance(tests, CheckTests) else None
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
            recorded = await _record(self._program)
            # The recording must replay cleanly with the reference's own results, or the tests are not
            # deterministic enough to judge anyone by (time, identity, unseeded state across calls).
            check = self._program.replay(recorded.calls)
            if check.outcome is not Outcome.PASSED:
                raise ConfigError(
                    f"task {self.task.id}: its tests do not replay with the canonical solution's results "
                    f"({check.outcome.value}: {check.detail})"
                )
            self._prepared = recorded

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
            replay = self._program.replay(script)
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
                    Verdict(problem.outcome, problem.detail, result.run, problem.feedback), result.run, spent
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


async def _record(program: _Program) -> _Prepared:
    payload = json.dumps(
        {
            "solution": program.solution,
            "entry_point": program.task.entry_point,
            "tests": program.source,
            "bindings": program.bindings,
            "seed": _SEED,
        }
    ).encode()
    with tempfile.TemporaryDirectory(prefix="ripsaw-record-") as cwd:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            _RECORDER,
            str(wire.DRIVER_PATH),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.defpath, "LANG": "C.UTF-8"},
            cwd=cwd,
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(payload), timeout=_RECORD_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ConfigError(
                f"task {program.task.id}: recording its tests with the canonical solution took over "
                f"{_RECORD_TIMEOUT_S:g} s"
            ) from None
    try:
        data = json.loads(out)
    except ValueError:
        tail = err.decode(errors="replace").strip()[-300:]
        raise ConfigError(f"task {program.task.id}: recording its tests failed: {tail}") from None
    if data["error"]:
        raise ConfigError(f"task {program.task.id}: its tests fail with the canonical solution: {data['error']}")
    calls = [_Call(c["args"], _key(c["args"]), c["out"]) for c in data["calls"]]
    return _Prepared(calls=calls, reference_s=sum(c["elapsed_s"] for c in data["calls"]))
