"""Runs candidate programs against a task's own check code: one job per forked child, in this separate process.

    python -I check_runner.py < jobs.json > results.json

jobs: [{"program", "reference", "tests", "entry_point"}, ...]; results: [{"passed": bool, "detail": str}, ...].

Each job runs in a child forked from here (up to twice as many at once as there are CPUs), with a CPU-time,
memory and wall-clock limit, its output sent to /dev/null and a fresh working directory: the candidate in a
namespace of its own (`__name__ == "__main__"`, as in Ripsaw's sandbox driver), the check code in the namespace of
the task's reference solution (which is where Ripsaw's verdict runs it, so helpers of the task prompt such as
HumanEval/50's `encode_shift` are there), with the entry point's name and `candidate` bound to the candidate's
function; `check(candidate)` is called when defined. `random` is seeded before the candidate and before the check
code, as Ripsaw does. Standalone (stdlib only).
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


def _start(job):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(job, write_fd)
    os.close(write_fd)
    return {"pid": pid, "fd": read_fd, "data": b"", "deadline": time.monotonic() + TIMEOUT_S}


def _finish(child, result=None):
    if result is not None:  # timed out
        os.kill(child["pid"], signal.SIGKILL)
    _, status = os.waitpid(child["pid"], 0)
    os.close(child["fd"])
    if result is not None:
        return result
    if not child["data"]:
        return {"passed": False, "detail": f"child ended without a result (wait status {status})"}
    return json.loads(child["data"])


def run_all(jobs, parallel):
    """Every job, up to `parallel` children at a time; results in job order."""
    results = [None] * len(jobs)
    running = {}  # fd -> (index, child)
    next_job = 0
    while next_job < len(jobs) or running:
        while next_job < len(jobs) and len(running) < parallel:
            child = _start(jobs[next_job])
            running[child["fd"]] = (next_job, child)
            next_job += 1
        wait = max(0.0, min(c["deadline"] for _, c in running.values()) - time.monotonic())
        ready = select.select(list(running), [], [], wait)[0]
        for fd in ready:
            index, child = running[fd]
            chunk = os.read(fd, 65536)
            if chunk:
                child["data"] += chunk
            else:
                results[index] = _finish(child)
                del running[fd]
        now = time.monotonic()
        for fd, (index, child) in list(running.items()):
            if now >= child["deadline"]:
                results[index] = _finish(child, {"passed": False, "detail": f"timeout after {TIMEOUT_S:g} s"})
                del running[fd]
    return results


def main():
    jobs = json.loads(sys.stdin.read())
    parallel = int(os.environ.get("CHECK_PARALLEL", "0")) or (os.cpu_count() or 1) * 2
    sys.stdout.write(json.dumps(run_all(jobs, parallel)))


if __name__ == "__main__":
    main()
