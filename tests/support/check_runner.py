"""Runs candidate programs against a task's own check code: one job per forked child, in this separate process.

    python -I check_runner.py < jobs.json > results.json

jobs: [{"program", "reference", "tests", "entry_point"}, ...]; results: [{"passed": bool, "detail": str}, ...].

Each job runs in a child forked from here, with a CPU-time, memory and wall-clock limit, its output sent to
/dev/null and a fresh working directory: the candidate in a namespace of its own (`__name__ == "__main__"`, as in
Ripsaw's sandbox driver), the check code in the namespace of the task's reference solution (which is where
Ripsaw's verdict runs it, so helpers of the task prompt such as HumanEval/50's `encode_shift` are there), with the
entry point's name and `candidate` bound to the candidate's function; `check(candidate)` is called when defined.
`random` is seeded before the candidate and before the check code, as Ripsaw does. Standalone (stdlib only).
"""

import json
import os
import random
import resource
import select
import signal
import sys
import tempfile
import time

TIMEOUT_S = float(os.environ.get("CHECK_TIMEOUT_S", "10"))
MEMORY_BYTES = 1 << 30


def _entry(ns, entry_point):
    head, _, method = entry_point.partition(".")
    if head not in ns:
        raise NameError(f"entry point {head!r} is not defined")
    return getattr(ns[head](), method) if method else ns[head]


def _run(job):
    random.seed(0)
    cand_ns = {"__name__": "__main__"}
    exec(compile(job["program"], "<candidate>", "exec"), cand_ns)
    fn = _entry(cand_ns, job["entry_point"])
    ns = {"__name__": "__reference__"}
    exec(compile(job["reference"], "<reference>", "exec"), ns)
    ns["candidate"] = fn
    if "." not in job["entry_point"]:
        ns[job["entry_point"]] = fn
    random.seed(0)
    exec(compile(job["tests"], "<tests>", "exec"), ns)
    if callable(ns.get("check")):
        ns["check"](fn)


def _child(job, fd):
    devnull = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(devnull, target)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    cpu = int(TIMEOUT_S) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    os.chdir(tempfile.mkdtemp(prefix="check-"))
    try:
        _run(job)
        result = {"passed": True, "detail": ""}
    except BaseException as e:  # the candidate may raise anything, SystemExit included
        try:
            message = str(e)[:300]
        except BaseException:
            message = "<unprintable>"
        result = {"passed": False, "detail": f"{type(e).__name__}: {message}"}
    os.write(fd, json.dumps(result).encode())
    os._exit(0)


def run_one(job):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(job, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + TIMEOUT_S
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([read_fd], [], [], left)[0]:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
            return {"passed": False, "detail": f"timeout after {TIMEOUT_S:g} s"}
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if not data:
        return {"passed": False, "detail": f"child ended without a result (wait status {status})"}
    return json.loads(data)


def main():
    jobs = json.loads(sys.stdin.read())
    sys.stdout.write(json.dumps([run_one(job) for job in jobs]))


if __name__ == "__main__":
    main()
