"""What the bench scripts share: the machine header, the reference server in its own process, its send log,
a clock that tells each call's send instant, and plain-text tables."""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the scripts run as `python bench/x.py` from a clone, not an installed package
    sys.path.insert(0, str(REPO))


def machine() -> str:
    """One line naming the host the numbers come from."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {os.cpu_count()} CPUs ({cpu}) · Python {platform.python_version()}"
        f" · {platform.system()} {platform.release()} · load average {load}"
    )


# -- the reference server, in its own process --------------------------------------------------------------


@dataclass(slots=True)
class ServerProcess:
    """`python -m tests.refserver` started in a child process (SCHED_BATCH: its wake-ups never preempt the client
    it serves); its log is read after it stops."""

    log: Path
    tx_stamps: bool = False  # log each event's send as the kernel's transmit timestamp (see tests/refserver.py)
    base_url: str = ""
    _proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        self.log.unlink(missing_ok=True)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                *("-m", "tests.refserver", "--port", "0", "--log", str(self.log), "--batch"),
                *(("--tx-stamps",) if self.tx_stamps else ()),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if "listening on" not in line:
            self._proc.kill()
            raise RuntimeError(f"the reference server did not start: {line!r}")
        self.base_url = line.split()[-1]
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)  # the server flushes its log and exits
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid


@dataclass(slots=True)
class Sent:
    """One request as the server saw it, and every data event it sent back, from its log."""

    t_recv_ns: int  # the request's last byte reached the server's socket (the kernel's timestamp)
    body: dict[str, Any]
    chunks: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, tokens, t_ns)
    t_read_ns: int = 0  # when the server's loop read it: later by however long the server waited to run
    # Per chunk, with transmit stamps: the kernel's send minus the server's stamp before its write (how late the
    # write really left), or None where the kernel stamped nothing and t_ns is that earlier stamp
    write_lag_ns: list[int | None] = field(default_factory=list)


def read_log(path: Path) -> dict[str, Sent]:
    """The server log, keyed by the tag each request carried as its first message (chat `messages`, Responses
    `input`, Messages `messages` of content blocks)."""
    by_index: dict[int, Sent] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["type"] == "request":
                t_ns = record["t_ns"]
                by_index[record["request"]] = Sent(t_ns, record["body"] or {}, t_read_ns=record.get("t_read_ns", t_ns))
            else:
                sent = by_index[record["request"]]
                sent.chunks.append((record["kind"], record["tokens"], record["t_ns"]))
                tx = record.get("tx", False)
                sent.write_lag_ns.append(record["t_ns"] - record["t_write_ns"] if tx else None)
    tagged = {}
    for sent in by_index.values():
        first = (sent.body.get("messages") or sent.body.get("input") or [{}])[0]
        content = first.get("content", "")
        if isinstance(content, list):
            content = "".join(block.get("text", "") for block in content if isinstance(block, dict))
        tagged[str(content)] = sent
    return tagged


def sched_ns(pid: int) -> tuple[int, int]:
    """(time on a CPU, time runnable but waiting for one), ns, from the scheduler's own counts (no 10 ms tick
    rounding). The wait says whether something else on the host took the cores while we measured."""
    on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(on_cpu), int(waiting)


# -- a clock that knows each call's t_send ------------------------------------------------------------------

_reads: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("clock_reads", default=None)


def recording_clock() -> int:
    """time.perf_counter_ns, also noted in the calling task's list (see `clock_reads`): the provider keeps only
    offsets from t_send, and comparing with another process's log needs the absolute instant."""
    t = time.perf_counter_ns()
    reads = _reads.get()
    if reads is not None:
        reads.append(t)
    return t


@contextlib.contextmanager
def clock_reads() -> Iterator[list[int]]:
    """Collect the reads `recording_clock` makes in the current task (run each call in its own task)."""
    reads: list[int] = []
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def t_send_of(reads: list[int], chunk_ns: Sequence[int]) -> int:
    """The absolute t_send of a call whose clock reads were collected: the read from which every chunk offset
    lands on another read. Checked, so a provider that read its clock differently fails loudly here."""
    seen = set(reads)
    for t in reads:
        if all(t + offset in seen for offset in chunk_ns):
            return t
    raise RuntimeError("no clock read matches the call's chunk offsets: cannot place t_send")


# -- numbers and tables -------------------------------------------------------------------------------------


def quantile(xs: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (q in [0, 1]) of a non-empty sequence."""
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns right-aligned except the first, sized to their widest cell."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded)

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("PASS" if ok else "MISS")
