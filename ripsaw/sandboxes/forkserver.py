"""The process sandbox's fork server: runs inside the sandbox and forks one isolated job per request.

Started once per ProcessSandbox, as the last step of the sandbox prelude (after it built the read-only root
and pivoted into it), as `python3 -I -S forkserver.py DRIVER CONTROL_FD CANDIDATE_UID`. A fresh interpreter
per job costs ~16 ms of CPU before the first line of candidate code; forking this one, with the driver
already imported, costs a fraction of that. What forks carries nothing of other jobs: the server never
sees a job's code (it goes from the host straight to the job's stdin) and holds no secrets (it was started
with an empty environment, in a root without host files).

Each request is one SOCK_SEQPACKET message on CONTROL_FD: a JSON object {"disk_mb": N} with four file
descriptors attached (the job's stdin, stdout, stderr, and its own channel, a socket), answered with one
byte once the job is forked. Per job:

    server ── waiter: new mount, pid, net, ipc and uts namespaces; reports on the channel how the job
               │      ended, and kills it when the host shuts the channel (timeout, cancellation)
               └─ init: PID 1 of the job: a fresh tmpfs for /work and /tmp, its own /proc; reaps orphans
                   └─ driver: an unprivileged user in a user namespace of its own, no capabilities,
                              no new privileges, no namespaces left to create -> driver.main()

The waiter sends one JSON line on the channel: {"exit": CODE} (a signal death as -N: PID 1 passes the driver's
exact wait status on a pipe of its own, so an exit code of 137 is not read as a SIGKILL) or {"setup_error":
TEXT} when the sandbox could not be set up (never the candidate's doing: the pipe for it is closed before
candidate code runs). Nothing the candidate does reaches the server or the channel. When the host goes away,
the control socket ends, the server exits and every job dies with it (each waiter and each init asks the
kernel for SIGKILL when its parent dies; a dying PID 1 takes its whole pid namespace).

The judge sandbox's server (ripsaw/verdict/referee.py, which loads this file in its own sandbox) runs the same
request loop, waiter, self-test and privilege drop around a lighter job of its own.

Linux only; stdlib only (ctypes for the system calls Python 3.11's os module lacks).
"""

import contextlib
import ctypes
import glob
import importlib.util
import json
import os
import select
import signal
import socket
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND = 2, 4, 8, 4096
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

JOB_NAMESPACES = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
SCRATCH = "/.scratch"  # the job's tmpfs, mounted here only long enough to bind its two directories
MAX_REQUEST = 4096
ACK, NACK = b"+", b"-"  # the answer to every request: its job is forked, or the request was malformed
_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """The sandbox could not be set up for a job (reported to the host as an infrastructure failure)."""


def _check(result, what):
    if result == -1:
        errno = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(errno)}")


def _unshare(flags, what):
    _check(_libc.unshare(ctypes.c_int(flags)), f"unshare({what})")


def _c(text):
    return None if text is None else text.encode()


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_c(source), _c(target), _c(fstype), ctypes.c_ulong(flags), _c(data)), f"mount {target}")


def _prctl(option, value):
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _die_with_parent(lifeline=None):
    """SIGKILL when the parent goes; `lifeline` (a pipe only the parent writes) catches a parent already gone."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if lifeline is not None and select.select([lifeline], [], [], 0)[0]:
        os._exit(1)


# -- the job's three processes -----------------------------------------------------------------------------


def waiter(namespaces, what, stdio, channel, job):
    """Child of the server: owns the job's namespaces and tells the host how it ended.

    `job(setup_w, life_r, status_w)` runs as the first process of the new namespaces (PID 1) and never returns:
    it reports a set-up failure on `setup_w`, dies when `life_r` says the waiter is gone, and may pass the exact
    wait status of a process of its own on `status_w` (the job's own status counts when it passes none)."""
    try:
        _unshare(namespaces, what)
        setup_r, setup_w = os.pipe()
        life_r, life_w = os.pipe()
        status_r, status_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(setup_r)
            os.close(life_w)
            os.close(status_r)
            job(setup_w, life_r, status_w)
        os.close(setup_w)
        os.close(life_r)
        os.close(status_w)
        for fd in stdio:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.register(channel, select.POLLIN)
        if any(fd == channel for fd, _ in poller.poll()) and not select.select([pidfd], [], [], 0)[0]:
            os.kill(pid, signal.SIGKILL)  # the host shut the channel: timeout, cancellation, output flood
        # Returns once the job's whole pid namespace is gone: the kernel reaps it before its PID 1.
        _, status = os.waitpid(pid, 0)
        problem = os.read(setup_r, 4096).decode(errors="replace")
        # The driver's own wait status, as PID 1 saw it: an exit code is never mistaken for a signal death
        # (a candidate's os._exit(137) is not a SIGKILL). Without it, PID 1 itself was killed: its status.
        told = os.read(status_r, 64)
        if told:
            status = int(told)
        report = {"setup_error": problem} if problem else {"exit": os.waitstatus_to_exitcode(status)}
    except (OSError, SetupError) as e:
        report = {"setup_error": f"waiter: {e}"}
    os.write(channel, (json.dumps(report) + "\n").encode())
    os._exit(0)


def init(request, stdio, setup_w, life_r, status_w, candidate_uid, driver):
    """PID 1 of the job: gives it a fresh scratch disk and /proc, starts the driver, reaps, exits with it."""
    try:
        _die_with_parent(life_r)
        _prctl(PR_SET_DUMPABLE, 0)  # privileged here: not to be traced by the candidate, even as its host user
        size = max(1, int(request["disk_mb"]))  # tmpfs reads size=0 as "no limit"
        _mount("ripsaw", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}m,mode=755")
        os.mkdir(f"{SCRATCH}/work", 0o700)
        os.chown(f"{SCRATCH}/work", candidate_uid, candidate_uid)
        os.mkdir(f"{SCRATCH}/tmp")
        os.chmod(f"{SCRATCH}/tmp", 0o1777)
        # Binds of one tmpfs: /work and /tmp share the job's disk limit, and the tmpfs itself is detached.
        _mount(f"{SCRATCH}/work", "/work", None, MS_BIND)
        _mount(f"{SCRATCH}/tmp", "/tmp", None, MS_BIND)
        _check(_libc.umount2(SCRATCH.encode(), ctypes.c_int(MNT_DETACH)), f"umount {SCRATCH}")
        # hidepid: the candidate does not even see PID 1 (more privileged than itself).
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
        child = os.fork()
        if child == 0:
            candidate(stdio, setup_w, candidate_uid, driver)
    except BaseException as e:
        _report_setup(setup_w, f"init: {e}")
    os.close(setup_w)
    for fd in stdio:
        os.close(fd)
    while True:  # orphans of the candidate land here; the driver's end is the job's end
        pid, status = os.wait()
        if pid == child:
            os.write(status_w, str(status).encode())
            os._exit(0)


def candidate(stdio, setup_w, candidate_uid, driver):
    """The driver's process: gives up every privilege for good, then runs the job."""
    try:
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        os.dup2(setup_w, 3)
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))
        if _become(candidate_uid):  # the host runs Ripsaw as root: never the host's root here
            _prctl(PR_SET_DUMPABLE, 1)  # changing uid cleared it, which would leave /proc/self/uid_map root's
        outer_uid, outer_gid = os.getuid(), os.getgid()
        # Its own user namespace: its processes are counted apart from every other job's (RLIMIT_NPROC).
        _unshare(CLONE_NEWUSER, "user")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {outer_uid} 1")
        _write("/proc/self/gid_map", f"0 {outer_gid} 1")
        # No namespaces left to create: a fresh set of capabilities is out of reach (where cgroups are
        # delegated to the host user, a cgroup namespace would let it freeze or kill the host user's processes).
        for limit in glob.glob("/proc/sys/user/max_*_namespaces"):
            _write(limit, "0")
        drop_privileges()
        os.umask(0o022)
        os.chdir("/work")
    except BaseException as e:
        _report_setup(3, f"candidate: {e}")
        os._exit(1)
    os.close(3)
    sys.argv = ["/driver.py"]
    # As a fresh interpreter would end: driver.main() leaves through os._exit on every normal path.
    try:
        driver.main()
    except MemoryError:
        os._exit(driver.MEMORY_EXIT_CODE)
    except SystemExit as e:
        os._exit(e.code if isinstance(e.code, int) else 1)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        os._exit(1)
    os._exit(0)


def drop_privileges(uid=None):
    """No capabilities, now or after an exec, and no new privileges; with `uid`, that user too (see _become)."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):  # needs CAP_SETPCAP: before a change of user takes it away
        _prctl(PR_CAPBSET_DROP, cap)  # an exec as this namespace's root would otherwise regain them
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    if uid is not None:
        _become(uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def _become(uid):
    """Become `uid` (its group too, no supplementary groups) unless already it: never the host's root when
    Ripsaw runs as root. Whether it changed anything."""
    if os.getuid() == uid:
        return False
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    return True


def _report_setup(fd, text):
    with contextlib.suppress(OSError):
        os.write(fd, text.encode(errors="replace")[:4000])
    os._exit(1)


# -- the server --------------------------------------------------------------------------------------------


def load_driver(path):
    spec = importlib.util.spec_from_file_location("ripsaw_driver", path)
    if spec is None or spec.loader is None:
        raise SetupError(f"cannot load the driver from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fork_job(fds, control, waiter_main):
    """Start a job's waiter (`waiter_main()`, which never returns); the server keeps none of the job's
    descriptors."""
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _die_with_parent()
            control.close()
            _prctl(PR_SET_DUMPABLE, 0)
            # A session of its own: every job shares the server's host user, and a candidate's
            # killpg(0) would otherwise reach other jobs' processes (process groups span pid namespaces).
            os.setsid()
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.write(fds[3], (json.dumps({"setup_error": f"waiter: {e}"}) + "\n").encode())
            os._exit(1)
        waiter_main()
    for fd in fds:
        os.close(fd)
    return pid


def serve(control, start):
    """The server's loop: one request at a time, `start(request, fds)` forks its job (see fork_job), until the
    host closes the control socket."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the waiters
    while True:
        message, fds, _flags, _addr = socket.recv_fds(control, MAX_REQUEST, 4)
        if not message:  # the host is gone: so is every job (their waiters die with us)
            return
        try:
            request = json.loads(message)
        except ValueError:
            request = None
        if not isinstance(request, dict) or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            control.send(NACK)
            continue
        start(request, fds)
        control.send(ACK)


def trial(start, stdin):
    """One job through the whole path, before the server says it is ready: `start(fds)` forks it with these
    stdin, stdout, stderr and channel descriptors. Returns (its channel report, stdout, stderr)."""
    pipes = [os.pipe() for _ in range(3)]
    os.write(pipes[0][1], stdin)
    os.close(pipes[0][1])
    ours, theirs = socket.socketpair()
    pid = start([pipes[0][0], pipes[1][1], pipes[2][1], theirs.detach()])
    with ours, ours.makefile("rb") as channel:
        report = channel.readline()
    os.waitpid(pid, 0)
    out, err = (_read_all(r) for r, _ in pipes[1:])
    return report, out, err


def _start_job(request, fds, control, candidate_uid, driver):
    def job(setup_w, life_r, status_w):
        init(request, fds[:3], setup_w, life_r, status_w, candidate_uid, driver)

    return fork_job(fds, control, lambda: waiter(JOB_NAMESPACES, "mount, pid, net, ipc, uts", fds[:3], fds[3], job))


def self_test(control, candidate_uid, driver):
    """One small job through the whole path, so a server that reports ready can run jobs."""
    code = "def f(x):\n    return x + 1\n"
    job = {
        "nonce": "selftest",
        "mode": "calls",
        "code": code,
        "entry_point": "f",
        "inputs": [[41]],
        "max_record_bytes": 1024,
    }
    report, out, err = trial(
        lambda fds: _start_job({"disk_mb": 1}, fds, control, candidate_uid, driver), json.dumps(job).encode()
    )
    try:
        outcome = json.loads(report)
    except ValueError:
        return f"self-test: no report ({report!r})"
    if "setup_error" in outcome:
        return f"self-test: {outcome['setup_error']}"
    if outcome != {"exit": 0} or not out.startswith(b'selftest 0 {"value":42'):
        return f"self-test: unexpected end {outcome}, stdout {out[:200]!r}, stderr {err[-300:]!r}"
    return ""


def _read_all(fd):
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            os.close(fd)
            return data
        data += chunk


def main():
    driver_path, control_fd, candidate_uid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    control = socket.socket(fileno=control_fd)
    try:
        _prctl(PR_SET_DUMPABLE, 0)
        driver = load_driver(driver_path)
        problem = self_test(control, candidate_uid, driver)
    except BaseException as e:
        problem = f"start: {e}"
    control.send(json.dumps({"error": problem} if problem else {"ready": True}).encode())
    if problem:
        sys.exit(1)
    serve(control, lambda request, fds: _start_job(request, fds, control, candidate_uid, driver))


if __name__ == "__main__":
    main()
