"""The referee: runs a task's own test code, in the judge sandbox, to record and to replay check-style calls.

Task data is not trusted either: a suite from elsewhere (`hf:`, `jsonl:`) brings test code and a canonical
solution that could do anything with the privileges of whoever runs it. So this file never runs in Ripsaw's
process: ripsaw.verdict.judgebox starts it inside a judge sandbox of its own (apart from the candidates'), with
no network, an empty environment and no host files beyond the interpreter's standard library, and hands it
one job at a time on stdin:

    {"kind": "record", "solution": str, "entry_point": str, "tests": str, "bindings": [str], "seed": int,
     "rlimits": {...}}
    -> {"calls": [{"args": ENC, "elapsed_s": float, "out": RECORD}], "error": str | null}

    {"kind": "replay", ... the same ..., "calls": [{"args": ENC, "out": RECORD | null}]}
    -> {"outcome": "passed" | "failed" | "error" | "resource_limit", "detail": str, "feedback": str,
        "diverged_at": int | null, "new_args": ENC | null}

Record: the test code runs once with the canonical solution standing in for the candidate behind a recording
proxy, which captures each call's arguments (snapshot-encoded before the call), in order, with the reference's
result and time. Replay: the test code runs again with a fake candidate that checks each call's arguments
against the script and answers with the candidate's decoded results (or raises the recorded builtin
exception). A call the script does not have ends the replay with "diverged_at" and the new arguments, which the
host sends to the candidate's sandbox in a further, bounded round.

What the replay sees of the candidate is only what the host copied out of the candidate's sandbox: records in
the driver's strict encoding, decoded here into exact builtin values (None, bool, int, float, complex, str,
bytes, list, tuple, dict, set, frozenset) whose comparisons cannot be overridden. The candidate never runs here,
and the test code never runs where the candidate does.

The result goes to a private copy of the original stdout (fd 1 points at stderr while the test code runs, so
its prints cannot corrupt it); the host parses it strictly and decides nothing from the exit code alone.
`serve` is the judge sandbox's fork server (one light fork per job, see its docstring).

Standalone and stdlib only, like the driver whose value encoding it shares: in the sandbox it loads
`driver.py` and `forkserver.py` from the paths it is given; on the host (which imports the feedback helpers
below for call- and output-style tests) it uses the package's.
"""

import builtins
import contextlib
import functools
import importlib.util
import io
import json
import os
import random
import resource
import socket
import sys
import time
import traceback

try:  # on the host, part of the package
    from ripsaw.sandboxes import driver as drv
except ImportError:  # in the judge sandbox, main() loads the driver it is given
    drv = None  # type: ignore[assignment]

FEEDBACK_CHARS = 2000
VALUE_CHARS = 300  # of one value inside feedback
TEST_FILE = "<tests>"
NO_RECORD = "no valid result record (the program ended early, or its records were duplicated or malformed)"


class Replay:
    """What a replay decided: an outcome (an Outcome value), or a divergence to run another round for."""

    __slots__ = ("detail", "diverged_at", "feedback", "new_args", "outcome")

    def __init__(self, outcome, detail="", feedback="", diverged_at=None, new_args=None):
        self.outcome = outcome
        self.detail = detail
        self.feedback = feedback
        self.diverged_at = diverged_at
        self.new_args = new_args

    def to_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}


# -- feedback text: deterministic and capped (the host uses these for call- and output-style tests too) ----


def cap(text, limit=FEEDBACK_CHARS):
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 15] + " …[truncated]"


def show(value):
    text = repr(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 3] + "..."


def show_args(encoded_args):
    try:
        args = drv.decode_value(encoded_args)
    except (drv.WireFormatError, RecursionError):
        return "(...)"
    inner = ", ".join(repr(a) for a in args) if isinstance(args, list) else repr(args)
    return "(" + (inner if len(inner) <= VALUE_CHARS else inner[: VALUE_CHARS - 3] + "...") + ")"


def feedback(calls, index, what, extra=""):
    return cap(f"call {index + 1} with arguments {show_args(calls[index]['args'])} {what}\n{extra}")


def interpret(record, index, args):
    """A call record -> (value or exception to raise, None), or (None, the Replay it forces)."""
    call = f"call {index + 1} with arguments {show_args(args)}"
    if record is None:
        return None, Replay("error", f"{call}: {NO_RECORD}"[:300], cap(f"{call}: {NO_RECORD}"))
    if record.get("phase") == "load":
        text = f"{record.get('raised', 'Exception')}: {record.get('message', '')}"
        return None, Replay("error", f"the code failed to load: {text}"[:300], cap(f"loading the code raised {text}"))
    if "value" in record:
        try:
            return drv.decode_value(record["value"]), None
        except (drv.WireFormatError, RecursionError) as e:
            return None, Replay("error", f"malformed result for {call}: {e}", f"{call}: malformed result")
    if "unencodable" in record:
        kind = str(record.get("unencodable"))[:80]
        return None, Replay(
            "failed",
            f"{call} returned an unsupported value ({kind})",
            cap(f"{call} returned a {kind}; results must be plain builtin values ({record.get('reason', '')})"),
        )
    if "raised" in record:
        name = str(record["raised"])
        message = str(record.get("message", ""))
        if name == "MemoryError":
            return None, Replay("resource_limit", f"out of memory in {call}", f"{call} ran out of memory")
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            return _exception(cls, message), None
        return None, Replay("error", f"{call} raised {name}"[:300], cap(f"{call} raised {name}: {message}"))
    return None, Replay("error", f"malformed result for {call}", f"{call}: malformed result")


def _exception(cls, message):
    try:
        return cls(message)
    except Exception:  # classes with other constructors (UnicodeDecodeError, ...)
        return Exception(f"{cls.__name__}: {message}")


def _mutate(args, encoded_after, index, encoded_args):
    """Repeat on the test code's own objects what the candidate did to its copies of the arguments."""
    try:
        after = drv.decode_value(encoded_after)
    except (drv.WireFormatError, RecursionError):
        after = None
    if type(after) is not list or len(after) != len(args):
        call = f"call {index + 1} with arguments {show_args(encoded_args)}"
        return Replay("error", f"malformed result for {call}", f"{call}: malformed result")
    for old, new in zip(args, after, strict=True):
        if type(old) is list and type(new) is list:
            old[:] = new
        elif (type(old) is dict and type(new) is dict) or (type(old) is set and type(new) is set):
            old.clear()
            old.update(new)
    return None


def _caused_by(exc, cause):
    seen = 0
    while exc is not None and seen < 50:
        if exc is cause:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def key(encoded):
    """Canonical JSON of encoded arguments, for exact comparison (1 != 1.0 != True, -0.0 != 0.0)."""
    return json.dumps(encoded, separators=(",", ":"))


# -- the two jobs --------------------------------------------------------------------------------------------


_compiled = {}  # type: dict
# Compiled once per worker: a worker serves one program, and it arrives again with every replay.


def _compile(source, filename):
    code = _compiled.get((source, filename))
    if code is None:
        code = _compiled[(source, filename)] = compile(source, filename, "exec")
    return code


def _reference(job):
    # Executed afresh for every job: nothing a replay did to the reference's objects reaches the next one.
    ns = {"__name__": "__reference__"}
    exec(_compile(job["solution"], "<reference>"), ns)
    return ns


def record(job):
    calls = []  # type: list
    result = {"calls": calls, "error": None}  # type: dict
    try:
        ref_ns = _reference(job)
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
                out = {"raised": drv.builtin_exception_name(e), "message": drv.exception_message(e)}
                calls.append({"args": args_enc, "elapsed_s": time.perf_counter() - t0, "out": out})
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
        exec(_compile(job["tests"], TEST_FILE), ns)
        if callable(ns.get("check")):
            ns["check"](candidate)
    except drv.Unencodable as e:
        result["error"] = f"cannot record: {e.reason} ({e.type_name})"
    except BaseException as e:
        result["error"] = f"{type(e).__name__}: {drv.exception_message(e)}"
    return result


class _Diverged(BaseException):
    """Raised into the test code when it makes a call the script does not have (BaseException, so
    `except Exception` in test code does not swallow it; a bare `except:` is caught by a flag instead)."""


class _Unanswerable(BaseException):
    """Raised into the test code when the candidate's record for this call cannot be turned into a value."""


def replay(job):
    calls = job["calls"]
    keys = [key(c["args"]) for c in calls]
    lines = job["tests"].splitlines()
    position = 0
    diverged = []
    raised = []
    stop = []

    def fake(*args, **kwargs):
        nonlocal position
        try:
            encoded = drv.encode_value(list(args)) if not kwargs else None
        except (drv.Unencodable, RecursionError):
            encoded = None
        if encoded is None or position >= len(calls) or key(encoded) != keys[position]:
            diverged.append(encoded)
            raise _Diverged
        call, index = calls[position], position
        position += 1
        value, problem = interpret(call["out"], index, call["args"])
        if problem is None and call["out"] is not None and "args_after" in call["out"]:
            problem = _mutate(args, call["out"]["args_after"], index, call["args"])
        if problem is not None:
            stop.append(problem)
            raise _Unanswerable
        if isinstance(value, BaseException):
            raised.append(value)
            raise value
        return value

    def where(exc):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == TEST_FILE]
        if not frames or frames[-1].lineno is None or not 0 < frames[-1].lineno <= len(lines):
            return ""
        return f"failing test line: {lines[frames[-1].lineno - 1].strip()}"

    def failure(exc):
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if position == 0:
            return cap(f"{message}\n{where(exc)}")
        call = calls[position - 1]
        value, _ = interpret(call["out"], position - 1, call["args"])
        return feedback(calls, position - 1, f"returned {show(value)}", f"{message}\n{where(exc)}")

    ref_ns = _reference(job)
    ns = {k: v for k, v in ref_ns.items() if k != "__builtins__"}
    ns.update({name: fake for name in job["bindings"]})
    random.seed(job["seed"])
    try:
        exec(_compile(job["tests"], TEST_FILE), ns)
        if callable(ns.get("check")):
            ns["check"](fake)
    except (_Diverged, _Unanswerable):
        pass
    except BaseException as e:  # the test code failed; work out why
        if diverged or stop:
            pass
        elif any(_caused_by(e, r) for r in raised):
            exc = raised[0]
            return Replay(
                "error",
                f"candidate raised {type(exc).__name__}",
                feedback(calls, position - 1, f"raised {type(exc).__name__}: {exc}", where(e)),
            )
        elif isinstance(e, AssertionError):
            return Replay("failed", "assertion failed", failure(e))
        else:
            return Replay("failed", f"tests raised {type(e).__name__} on the results", failure(e))
    if stop:
        return stop[0]
    if diverged:
        return Replay("failed", "the tests' calls diverged", diverged_at=position, new_args=diverged[0])
    return Replay("passed")


def read_frame(stream):
    """One frame: a line with the byte length, then that many bytes of JSON; None at the end of the stream."""
    header = stream.readline(32)
    if not header:
        return None
    data = stream.read(int(header))
    return json.loads(data.decode("utf-8"))


def frame(obj):
    data = json.dumps(obj, allow_nan=False).encode()
    return b"%d\n" % len(data) + data


def run_jobs():
    """Jobs from stdin, one frame each, until it ends; each answer, one frame, to a private copy of stdout.

    A task's worker stays and answers every job of that task (its recording, then each replay), each a fresh
    run of the test code and reference (the host kills the worker on a timeout and starts another)."""
    out_fd = os.dup(1)
    os.set_inheritable(out_fd, False)
    os.dup2(2, 1)
    stdin = sys.stdin.buffer
    limited = False
    while True:
        job = read_frame(stdin)
        if job is None:
            break
        if not limited:  # the first job's limits hold for the worker's life
            for name, (soft, hard) in sorted(job.get("rlimits", {}).items()):
                resource.setrlimit(getattr(resource, name), (soft, hard))
            limited = True
        result = record(job) if job["kind"] == "record" else replay(job).to_dict()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        view = memoryview(frame(result))
        while view:
            view = view[os.write(out_fd, view) :]
    # Skip atexit handlers, threads and finalizers the test code may have left behind.
    os._exit(0)


# -- the judge sandbox's fork server -------------------------------------------------------------------------


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(fs, control, job_uid):
    """The judge sandbox's server, started by the sandbox prelude on its read-only root (no host files, no
    network, empty environment), in pid, net, ipc, uts and mount namespaces of its own.

    The process sandbox's fork server (ripsaw/sandboxes/forkserver.py, loaded as `fs`: its protocol, request loop,
    waiter and privilege drop) with a lighter job: test code needs no network of its own (there is none in here),
    so each job gets only a pid namespace (everything it starts dies with it) and a mount namespace (a fresh,
    size-limited /tmp as its only writable place), then drops every privilege and runs `run_jobs`.
    """
    fs._prctl(fs.PR_SET_DUMPABLE, 0)
    problem = _self_test(fs, control, job_uid)
    control.send(json.dumps({"error": problem} if problem else {"ready": True}).encode())
    if problem:
        sys.exit(1)
    fs.serve(control, lambda request, fds: _start_job(fs, request, fds, control, job_uid))


def _start_job(fs, request, fds, control, job_uid):
    def job(setup_w, life_r, _status_w):  # the referee is PID 1 itself: its own exit status is the job's
        _job(fs, request, fds[:3], setup_w, life_r, job_uid)

    waiter = functools.partial(fs.waiter, fs.CLONE_NEWPID | fs.CLONE_NEWNS, "pid, mount", fds[:3], fds[3], job)
    return fs.fork_job(fds, control, waiter)


def _job(fs, request, stdio, setup_w, life_r, job_uid):
    """PID 1 of the job's pid namespace: a private /tmp, no privileges, then the job itself."""
    try:
        fs._die_with_parent(life_r)
        size = max(1, int(request["disk_mb"]))  # tmpfs reads size=0 as "no limit"
        fs._mount("ripsaw-judge", "/tmp", "tmpfs", fs.MS_NOSUID | fs.MS_NODEV, f"size={size}m,mode=1777")
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        os.dup2(setup_w, 3)
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))
        fs.drop_privileges(job_uid)
        os.umask(0o077)
        os.chdir("/tmp")
    except BaseException as e:
        fs._report_setup(3, f"judge job: {e}")
    os.close(3)
    sys.argv = ["/referee.py"]
    try:
        run_jobs()
    except MemoryError:
        os._exit(drv.MEMORY_EXIT_CODE)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        os._exit(1)
    os._exit(0)


def _self_test(fs, control, job_uid):
    """One small record job through the whole path, so a server that says ready can judge."""
    job = {"kind": "record", "solution": "def f(x):\n    return x + 1\n", "entry_point": "f",
           "tests": "def check(c):\n    assert c(41) == 42\n", "bindings": ["candidate", "f"], "seed": 0}  # fmt: skip
    try:
        report, out, err = fs.trial(lambda fds: _start_job(fs, {"disk_mb": 1}, fds, control, job_uid), frame(job))
        outcome = json.loads(report)
        result = read_frame(io.BytesIO(out))
    except (OSError, ValueError) as e:
        return f"judge self-test: {e}"
    if outcome != {"exit": 0} or not result or result.get("error") or len(result.get("calls", ())) != 1:
        return f"judge self-test: unexpected end {outcome}, stdout {out[:200]!r}, stderr {err[-300:]!r}"
    return ""


def main():
    global drv
    # referee.py serve DRIVER FORKSERVER CONTROL_FD JOB_UID   (the judge sandbox's server)
    # referee.py jobs DRIVER                                  (jobs in a fresh interpreter, no namespaces)
    command, drv = sys.argv[1], _load("ripsaw_driver", sys.argv[2])
    if command == "jobs":
        run_jobs()
    fs = _load("ripsaw_forkserver", sys.argv[3])
    control = socket.socket(fileno=int(sys.argv[4]))
    try:
        serve(fs, control, int(sys.argv[5]))
    except Exception as e:
        with contextlib.suppress(OSError):
            control.send(json.dumps({"error": f"start: {e}"}).encode())
        raise


if __name__ == "__main__":
    try:
        main()
    except MemoryError:
        os._exit(3)
