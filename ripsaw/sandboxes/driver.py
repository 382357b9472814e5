"""Ripsaw's in-sandbox driver: runs candidate code on given inputs and prints its outputs as framed records.

Run as `python3 -I -S driver.py [WORKDIR]` inside a sandbox, with one job JSON object on stdin:

    {"nonce": str, "mode": "calls" | "stdin", "code": str, "entry_point": str, "inputs": [...],
     "max_record_bytes": int, "rlimits": {"RLIMIT_AS": [soft, hard], ...}}   # rlimits optional

For every input it writes exactly one line `<nonce> <index> <json>` to a private copy of the original
stdout; fd 1 and `sys.stdout` point elsewhere, so whatever the candidate prints cannot split a record.
Record shapes (the keys the host reads):

    calls:  {"value": ENC} | {"raised": NAME, "message": str} | {"unencodable": TYPE, "reason": str}
            (+ "elapsed_s"; + "args_after": ENC args when the call changed its arguments in place;
            "phase": "load" when the module or its entry point failed before any call)
    stdin:  {"stdout": str, "truncated": bool} (+ "raised"/"message" or "exit_code" when the program
            did not end normally, + "elapsed_s")

Nothing here is trusted by the host: candidate code shares this process and could forge any record.
The defence is outside: the host only accepts plain values in this strict encoding and judges them
with trusted code that never runs here. The encoding therefore accepts exact builtin types only
(an object whose `__eq__` always says True is "unencodable"), bounds depth and size, and tags
what JSON cannot express so that values round-trip exactly:

    None, bool, str, finite float, int in (-2**63, 2**63)  -> themselves
    {"int": hex} {"float": "nan"|"inf"|"-inf"} {"complex": [F, F]} {"bytes": base64}
    {"tuple": [...]} {"set": [...]} {"frozenset": [...]} {"dict": [[K, V], ...]}; a list is a JSON array

This file must stay standalone (stdlib only, Python >= 3.9): sandbox images may carry an older python3.
The host imports the same functions (ripsaw.sandboxes.wire), so there is one implementation of the format.
"""

import base64
import contextlib
import io
import json
import math
import os
import sys
import time

MAX_DEPTH = 100
MESSAGE_CHARS = 2000
# Candidate prints in "calls" mode go to stderr up to this many bytes; the rest is dropped.
PRINT_PASSTHROUGH_BYTES = 64 * 1024
_BIG = 1 << 63
# Exit code when the driver itself (not a candidate call) runs out of memory.
MEMORY_EXIT_CODE = 3


class WireFormatError(ValueError):
    """A value or record does not follow the strict encoding."""


class Unencodable(Exception):
    def __init__(self, type_name, reason):
        super().__init__(reason)
        self.type_name = type_name
        self.reason = reason


def encode_value(value, budget=1 << 20):
    """Encode `value` strictly; raise Unencodable for anything but exact builtin types or when too big.

    `budget` bounds the work: every node costs at least one unit and strings/bytes their length,
    which is a lower bound on the JSON size, so the walk stops early on huge or cyclic structures.
    """
    left = [budget]

    def spend(units, v):
        left[0] -= units
        if left[0] < 0:
            raise Unencodable(type(v).__name__, f"value exceeds {budget} bytes")

    def enc_float(v):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        return v

    def enc(v, depth):
        if depth > MAX_DEPTH:
            raise Unencodable(type(v).__name__, f"nested deeper than {MAX_DEPTH}")
        t = type(v)
        if v is None or t is bool:
            spend(4, v)
            return v
        if t is int:
            spend(8, v)
            return v if -_BIG < v < _BIG else {"int": hex(v)}
        if t is float:
            spend(8, v)
            return enc_float(v)
        if t is str:
            spend(len(v) + 2, v)
            return v
        if t is bytes:
            spend(len(v) * 4 // 3 + 12, v)
            return {"bytes": base64.b64encode(v).decode("ascii")}
        if t is complex:
            spend(24, v)
            return {"complex": [enc_float(v.real), enc_float(v.imag)]}
        if t is list or t is tuple or t is set or t is frozenset:
            spend(2, v)
            items = [enc(x, depth + 1) for x in v]
            return items if t is list else {t.__name__: items}
        if t is dict:
            spend(2, v)
            return {"dict": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        raise Unencodable(t.__name__, "not an exact builtin type")

    return enc(value, 0)


def decode_value(obj, depth=0):
    """Inverse of encode_value for JSON-parsed data; raise WireFormatError on anything malformed."""
    if depth > MAX_DEPTH + 1:
        raise WireFormatError("nested too deeply")
    t = type(obj)
    if obj is None or t is bool or t is int or t is float or t is str:
        if t is float and not math.isfinite(obj):
            raise WireFormatError("untagged non-finite float")
        return obj
    if t is list:
        return [decode_value(x, depth + 1) for x in obj]
    if t is not dict or len(obj) != 1:
        raise WireFormatError("expected a value or a one-key tag object")
    ((tag, body),) = obj.items()
    try:
        if tag == "int" and type(body) is str:
            return int(body, 16)
        if tag == "float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "complex" and type(body) is list and len(body) == 2:
            re, im = (decode_value(x, depth + 1) for x in body)
            if type(re) is float and type(im) is float:
                return complex(re, im)
        if tag == "bytes" and type(body) is str:
            return base64.b64decode(body.encode("ascii"), validate=True)
        if tag in ("tuple", "set", "frozenset") and type(body) is list:
            items = [decode_value(x, depth + 1) for x in body]
            return tuple(items) if tag == "tuple" else set(items) if tag == "set" else frozenset(items)
        if tag == "dict" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise WireFormatError("dict items must be [key, value] pairs")
                out[decode_value(pair[0], depth + 1)] = decode_value(pair[1], depth + 1)
            return out
    except WireFormatError:
        raise
    except (ValueError, TypeError, UnicodeError) as e:  # bad hex/base64, unhashable key
        raise WireFormatError(f"malformed {tag!r} value: {e}") from None
    raise WireFormatError(f"unknown or malformed tag {tag!r}")


def builtin_exception_name(exc):
    """The nearest builtin exception class in the MRO, so `except ValueError` behaves the same on replay."""
    import builtins

    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls and issubclass(cls, BaseException):
            return cls.__name__
    return "Exception"


def exception_message(exc):
    try:
        text = str(exc)
    except BaseException:  # a hostile __str__
        text = "<unprintable>"
    return text[:MESSAGE_CHARS]


class _Sink(io.BufferedIOBase):
    """A write-only byte stream that keeps (or forwards to `fd`) the first `cap` bytes and drops the rest."""

    def __init__(self, cap, fd=None):
        super().__init__()
        self.cap = cap
        self.fd = fd
        self.kept = bytearray()
        self.seen = 0

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        room = self.cap - self.seen
        self.seen += len(data)
        if room > 0:
            chunk = data[:room]
            if self.fd is None:
                self.kept += chunk
            else:
                _write_all(self.fd, chunk)
        return len(data)


def _text_stream(sink):
    return io.TextIOWrapper(sink, encoding="utf-8", errors="backslashreplace", write_through=True)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Emitter:
    def __init__(self, fd, nonce, max_record_bytes):
        self.fd = fd
        self.nonce = nonce
        self.max_record_bytes = max_record_bytes

    def dumps(self, record):
        return json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False)

    def emit(self, index, record):
        _write_all(self.fd, f"{self.nonce} {index} {self.dumps(record)}\n".encode("ascii"))


def _apply_rlimits(rlimits):
    import resource

    for name, (soft, hard) in sorted(rlimits.items()):
        resource.setrlimit(getattr(resource, name), (soft, hard))


def resolve_entry_point(ns, entry_point):
    """`name` or `Class.method` (on a fresh instance) in a module namespace."""
    head, _, method = entry_point.partition(".")
    if head not in ns:
        raise NameError(f"entry point {head!r} is not defined")
    target = ns[head]
    if method:
        target = getattr(target(), method)
    if not callable(target):
        raise TypeError(f"entry point {entry_point!r} is not callable")
    return target


def args_after(args, before, budget=1 << 20):
    """The encoded arguments after a call that changed them in place (tests may look), else None."""
    try:
        after = encode_value(list(args), budget)
    except (Unencodable, RecursionError):
        return None
    return None if json.dumps(after) == json.dumps(before) else after


def _call_record(fn, encoded_args, budget):
    args = decode_value(encoded_args)
    t0 = time.perf_counter()
    try:
        result = fn(*args)
    except MemoryError:
        return {"raised": "MemoryError", "message": "", "elapsed_s": time.perf_counter() - t0}
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the candidate raised them
        record = {"raised": builtin_exception_name(e), "message": exception_message(e)}
    else:
        try:
            record = {"value": encode_value(result, budget)}
        except Unencodable as e:
            record = {"unencodable": e.type_name, "reason": e.reason}
        except RecursionError:
            record = {"unencodable": type(result).__name__, "reason": "too deep"}
    record["elapsed_s"] = time.perf_counter() - t0
    changed = args_after(args, encoded_args, budget)
    if changed is not None:
        record["args_after"] = changed
    return record


def run_calls(job, emitter):
    n = len(job["inputs"])
    budget = emitter.max_record_bytes - 256
    sys.stdout = _text_stream(_Sink(PRINT_PASSTHROUGH_BYTES, fd=2))
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(job["code"], "<candidate>", "exec"), ns)
        fn = resolve_entry_point(ns, job["entry_point"])
    except BaseException as e:
        record = {"raised": builtin_exception_name(e), "message": exception_message(e), "phase": "load"}
        for i in range(n):
            emitter.emit(i, record)
        return
    for i, encoded_args in enumerate(job["inputs"]):
        record = _call_record(fn, encoded_args, budget)
        line = emitter.dumps(record)
        if len(line) > emitter.max_record_bytes:
            record = {"unencodable": "record", "reason": f"record exceeds {emitter.max_record_bytes} bytes"}
        emitter.emit(i, record)


def _stdin_fd(text):
    """A readable fd holding `text`, so `sys.stdin`, `open(0)` and `os.read(0, ...)` all see it."""
    data = text.encode("utf-8", "surrogateescape")
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("stdin")
    else:
        import tempfile

        fd, path = tempfile.mkstemp()
        os.unlink(path)
    _write_all(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _exit(code=None):
    raise SystemExit(code)


def run_stdin(job, emitter):
    import builtins

    # -S skips `site`, which is what normally provides exit() and quit(); programs call them.
    for name in ("exit", "quit"):
        setattr(builtins, name, _exit)
    code = compile(job["code"], "<candidate>", "exec")
    cap = emitter.max_record_bytes - 256
    for i, text in enumerate(job["inputs"]):
        fd = _stdin_fd(text)
        if fd != 0:  # 0 itself is free again when the previous program closed it (`open(0)`)
            os.dup2(fd, 0)
            os.close(fd)
        sink = _Sink(cap)
        out = _text_stream(sink)
        sys.stdin = open(0, encoding="utf-8", errors="surrogateescape", closefd=False)  # noqa: SIM115
        sys.stdout = out
        sys.argv = ["<candidate>"]
        record = {}  # type: dict
        t0 = time.perf_counter()
        try:
            exec(code, {"__name__": "__main__", "__builtins__": builtins})
        except SystemExit as e:
            if e.code is not None and e.code != 0:
                record["exit_code"] = e.code if type(e.code) is int else 1
        except MemoryError:
            record.update(raised="MemoryError", message="")
        except BaseException as e:
            record.update(raised=builtin_exception_name(e), message=exception_message(e))
        record["elapsed_s"] = time.perf_counter() - t0
        with contextlib.suppress(BaseException):  # the program closed or broke its stdout; keep what reached the sink
            out.flush()
        sys.stdout = sys.__stdout__
        stdout = bytes(sink.kept).decode("utf-8", "replace")
        truncated = sink.seen > len(sink.kept)
        record.update(stdout=stdout, truncated=truncated)
        # JSON escapes can inflate the text; shrink until the line fits.
        while len(emitter.dumps(record)) > emitter.max_record_bytes:
            record.update(stdout=stdout[: len(record["stdout"]) // 2], truncated=True)
        emitter.emit(i, record)


def main():
    if len(sys.argv) > 1:  # the working directory, when the sandbox could not start us in it (chroot)
        os.chdir(sys.argv[1])
    # Keep the only route to the real stdout private, then send fd 1 to stderr.
    record_fd = os.dup(1)
    os.set_inheritable(record_fd, False)
    os.dup2(2, 1)
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    if job.get("rlimits"):
        _apply_rlimits(job["rlimits"])
    emitter = _Emitter(record_fd, job["nonce"], int(job["max_record_bytes"]))
    # Seeded so that candidates using `random` behave the same on every run (and on the timeout re-run).
    import random

    random.seed(0)
    if job["mode"] == "calls":
        run_calls(job, emitter)
    else:
        run_stdin(job, emitter)
    sys.stdout.flush()
    # Skip atexit handlers, non-daemon threads and finalizers the candidate may have left behind.
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except MemoryError:
        os._exit(MEMORY_EXIT_CODE)
