"""Timing fidelity: what Ripsaw's OpenAI-compatible client measures against what the reference server really did.

    python bench/fidelity.py [--only GROUP[,GROUP]] [--reps-scale X] [--json FILE]

The reference server (tests/refserver.py) runs in its own process, paces every reply on an absolute schedule
(token i due at t_first + i/R) and logs the send time of every SSE event with perf_counter_ns, the clock the
client times with (CLOCK_MONOTONIC: comparable across processes). Each call is compared with that log, never
with the nominal schedule:

    true TTFT   = server's send of the first non-empty delta - client's t_send
    true speed  = (N - 1) / (send of the last token - send of the first)       N = tokens the server sent
    true E2E    = send of the last token - client's t_send

The server's own pacing error (send - due) is printed beside the client's delivery lag (client stamp - server
send, per event), so a cell where the server itself could not keep its schedule is visible as such.

The sweep is fractional: one dimension at a time around a base cell (1 stream, TTFT 50 ms, 1 token per chunk,
usage on, role-only first chunk), plus the worst combinations (3,000 tok/s x N=2,048 x 16 streams; TTFT 2 s
only at small N). Targets, checked per cell (PASS / MISS; "—" where no target applies):
  tokens  exact when the server sends usage (reasoning tokens too); marked "estimated" otherwise
  TTFT    median |measured - true| <= 1 ms; for reasoning replies the time to first answer token as well
  speed   worst |error| <= 0.5% for one stream with N >= 256; <= 2% at 16 streams with 4 tokens per chunk
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    Sent,
    ServerProcess,
    clock_reads,
    machine,
    quantile,
    read_log,
    recording_clock,
    sched_ns,
    t_send_of,
    table,
)
from _common import verdict as pass_miss

from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.records import CallTiming, ModelCall, Usage
from ripsaw.types import Message, Prompt, RequestParams

# Code-like tokens; " café" and " →" put multi-byte characters in the stream (split writes cut inside them).
VOCAB = (" def", " solve", "(", "nums", ")", ":", "\n   ", " return", " sum", "(", "x", " for", " x", " in",
         " nums", ")", " #", " café", " →", " ok")  # fmt: skip
TTFT_TARGET_S = 0.001
MAX_STREAMS = 16


@dataclass(frozen=True, slots=True)
class Cell:
    group: str
    rate: float
    n: int  # answer tokens
    ttft_s: float = 0.05
    k: int = 1  # tokens per chunk
    streams: int = 1
    reps: int = 3  # rounds of `streams` concurrent calls
    usage: bool = True
    role_only: bool = True
    keepalive: bool = False
    split: bool = False
    reasoning: int = 0  # reasoning tokens streamed before the answer

    @property
    def total(self) -> int:
        return self.n + self.reasoning

    @property
    def flags(self) -> str:
        names = [
            "no-usage" if not self.usage else "",
            "no-role" if not self.role_only else "",
            "keepalive" if self.keepalive else "",
            "split" if self.split else "",
            f"reason{self.reasoning}" if self.reasoning else "",
        ]
        return ",".join(n for n in names if n) or "-"

    @property
    def speed_target(self) -> float | None:
        if not self.usage:
            return None  # the speed then rests on an estimated N: the count, not the clock, sets its error
        if self.streams == 1 and self.total >= 256:
            return 0.005
        if self.streams == 16 and self.k == 4:
            return 0.02
        return None

    def reply(self) -> dict[str, Any]:
        """The Reply fields the request carries in its "refserver" object."""
        return {
            "text": [VOCAB[i % len(VOCAB)] for i in range(self.n)],
            "reasoning": [VOCAB[(i + 7) % len(VOCAB)] for i in range(self.reasoning)],
            "ttft_s": self.ttft_s,
            "rate": self.rate,
            "tokens_per_chunk": self.k,
            "send_usage": self.usage,
            "role_only_first_chunk": self.role_only,
            "keepalive": self.keepalive,
            "split_writes": self.split,
        }


def cells() -> list[Cell]:
    return [
        # output rate and length, one stream
        Cell("rate", 50, 16),
        Cell("rate", 50, 256, reps=1),
        Cell("rate", 200, 256),
        Cell("rate", 1000, 16),
        Cell("rate", 1000, 256),
        Cell("rate", 1000, 2048, reps=2),
        Cell("rate", 2100, 256),
        Cell("rate", 2100, 2048),
        Cell("rate", 3000, 16),
        Cell("rate", 3000, 256, reps=5),
        Cell("rate", 3000, 2048, reps=5),
        # time to first token (2 s only at small N)
        Cell("ttft", 1000, 16, ttft_s=0.5),
        Cell("ttft", 1000, 16, ttft_s=2.0),
        Cell("ttft", 3000, 256, ttft_s=0.5),
        # tokens per chunk: N comes from usage, never from counting chunks
        Cell("chunk", 1000, 256, k=4),
        Cell("chunk", 3000, 2048, k=4),
        # usage chunk absent: the count is estimated and says so
        Cell("usage", 1000, 256, usage=False),
        Cell("usage", 3000, 2048, k=4, usage=False, reps=1),
        # wire quirks
        Cell("wire", 3000, 256, role_only=False),
        Cell("wire", 3000, 256, keepalive=True),
        Cell("wire", 3000, 2048, keepalive=True, reps=1),
        Cell("wire", 200, 256, split=True, reps=1),
        Cell("wire", 1000, 256, k=4, split=True),
        # reasoning before the answer: TTFT and time to first answer token
        Cell("reason", 1000, 128, reasoning=128),
        Cell("reason", 3000, 1024, reasoning=1024, reps=2),
        # concurrency, ending with the worst combinations
        Cell("streams", 1000, 256, streams=4, reps=2),
        Cell("streams", 3000, 2048, streams=4, reps=1),
        Cell("streams", 200, 256, streams=16, keepalive=True, split=True, reps=1),
        Cell("streams", 1000, 256, streams=16, reps=1),
        Cell("streams", 3000, 2048, k=4, streams=16, reps=2),
        Cell("streams", 3000, 2048, k=1, streams=16, reps=1),
    ]


# -- running ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Call:
    tag: str
    t_send_ns: int
    result: ModelCall


async def _one(provider: OpenAICompatProvider, tag: str, reply: dict[str, Any]) -> Call:
    with clock_reads() as reads:
        call = await provider.complete(
            Prompt("chat", messages=(Message("user", tag),)), _params(reply), deadline_ns=None
        )
    return Call(tag, t_send_of(reads, call.timing.chunk_ns), call)


def _params(reply: dict[str, Any]) -> RequestParams:
    return RequestParams(temperature=None, max_tokens=None, extra_body={"refserver": reply})


async def _round(provider: OpenAICompatProvider, tags: list[str], reply: dict[str, Any]) -> list[Call]:
    # Each call in its own task: its clock reads are collected apart from the others'.
    return list(await asyncio.gather(*(asyncio.create_task(_one(provider, t, reply)) for t in tags)))


@dataclass(slots=True)
class CellRun:
    calls: list[Call]
    wall_s: float  # the measured rounds, warm-up excluded
    client_cpu_s: float
    server_cpu_s: float
    client_wait_s: float = 0.0  # runnable but not running: the host's other load
    server_wait_s: float = 0.0


async def run(selected: list[Cell], base_url: str, server_pid: int) -> list[CellRun]:
    provider = OpenAICompatProvider(base_url, "ref-model", max_concurrency=MAX_STREAMS, clock=recording_clock)
    warm = {"text": ["ok"], "rate": None}
    out: list[CellRun] = []
    client_pid = os.getpid()
    try:
        for i, cell in enumerate(selected):
            # Open (or re-open: idle connections expire after 5 s) one pooled connection per stream first.
            await _round(provider, [f"warmup {i} {j}" for j in range(cell.streams)], warm)
            calls: list[Call] = []
            t0, (c0, cw0), (s0, sw0) = time.perf_counter_ns(), sched_ns(client_pid), sched_ns(server_pid)
            for rep in range(cell.reps):
                calls += await _round(provider, [f"cell {i} rep {rep} stream {j}" for j in range(cell.streams)],
                                      cell.reply())  # fmt: skip
            wall = time.perf_counter_ns() - t0
            (c1, cw1), (s1, sw1) = sched_ns(client_pid), sched_ns(server_pid)
            out.append(
                CellRun(calls, wall / 1e9, (c1 - c0) / 1e9, (s1 - s0) / 1e9, (cw1 - cw0) / 1e9, (sw1 - sw0) / 1e9)
            )
            print(f"  ran {i + 1}/{len(selected)}: {cell.group} R={cell.rate:g} N={cell.total} x{cell.streams}",
                  flush=True)  # fmt: skip
    finally:
        await provider.aclose()
    return out


def bare_call(base_url: str, tag: str, reply: dict[str, Any]) -> Call:
    """The same request read by a bare-socket stdlib client: blocking recv, a clock read per recv, events split
    on blank lines. The yardstick the harness must match: what Python on this host can time at all."""
    parts = urllib.parse.urlsplit(base_url)
    body = json.dumps({"model": "ref-model", "messages": [{"role": "user", "content": tag}], "stream": True,
                       "stream_options": {"include_usage": True}, "refserver": reply}).encode()  # fmt: skip
    head = (f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    timing, usage = CallTiming(), Usage(source="estimated")
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t_send = time.perf_counter_ns()
        sock.sendall(head + body)
        pending = b""
        while not pending.endswith(b"0\r\n\r\n"):
            data = sock.recv(1 << 16)
            now = time.perf_counter_ns() - t_send
            if not data:
                break
            *events, pending = (pending + data).split(b"\n\n")
            for event in events:
                _, found, payload = event.partition(b"data: ")
                if not found or payload == b"[DONE]":
                    continue
                obj = json.loads(payload)
                timing.chunk_ns.append(now)
                delta = obj["choices"][0]["delta"] if obj["choices"] else {}
                for key, first in (("reasoning_content", "first_reasoning_ns"), ("content", "first_content_ns")):
                    if delta.get(key):
                        timing.last_token_ns = now
                        timing.first_any_ns = now if timing.first_any_ns is None else timing.first_any_ns
                        if getattr(timing, first) is None:
                            setattr(timing, first, now)
                if obj.get("usage"):
                    details = obj["usage"].get("completion_tokens_details") or {}
                    usage = Usage(completion_tokens=obj["usage"]["completion_tokens"],
                                  reasoning_tokens=details.get("reasoning_tokens"), source="server")  # fmt: skip
    timing.chunks = len(timing.chunk_ns)
    return Call(tag, t_send, ModelCall(timing=timing, usage=usage))


def bare_runs(selected: list[Cell], base_url: str) -> dict[int, CellRun]:
    """The bare client on every one-stream cell it can read (it does not undo split HTTP chunks)."""
    out = {}
    for i, cell in enumerate(selected):
        if cell.streams == 1 and cell.usage and not cell.split:
            t0, c0 = time.perf_counter_ns(), time.process_time_ns()
            calls = [bare_call(base_url, f"bare {i} rep {rep}", cell.reply()) for rep in range(cell.reps)]
            out[i] = CellRun(calls, (time.perf_counter_ns() - t0) / 1e9, (time.process_time_ns() - c0) / 1e9, 0.0)
    return out


# -- comparing with the log ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Measured:
    """One call: truth from the server log, measurement from the ModelCall (seconds, tok/s)."""

    ttft_true: float
    ttft: float | None
    ttfat_true: float | None
    ttfat: float | None
    speed_true: float
    speed: float | None
    e2e_true: float
    e2e: float | None
    n_true: int
    n: int | None
    reasoning_true: int
    reasoning: int | None
    source: str
    lags_s: list[float]  # client stamp - server send, per data event
    pacing_s: list[float]  # server send - due, per token event


def measure(cell: Cell, call: Call, sent: Sent) -> Measured:
    tokens = [(kind, n, t) for kind, n, t in sent.chunks if n > 0]
    first, last = tokens[0][2], tokens[-1][2]
    first_answer = next((t for kind, _, t in tokens if kind == "content"), None)
    n_true = sum(n for _, n, _ in tokens)
    reasoning_true = sum(n for kind, n, _ in tokens if kind == "reasoning")
    # The server's schedule, recomputed exactly as it does: due = t_recv + TTFT + int(tokens before * ns/token).
    t_first_due = sent.t_recv_ns + int(cell.ttft_s * 1e9)
    ns_per_token = 1e9 / cell.rate
    pacing, before = [], 0
    for _, n, t in tokens:
        pacing.append((t - (t_first_due + int(before * ns_per_token))) / 1e9)
        before += n
    timing, usage = call.result.timing, call.result.usage
    arrivals = timing.chunk_ns
    lags = []
    if len(arrivals) == len(sent.chunks):
        lags = [(call.t_send_ns + a - t) / 1e9 for a, (_, _, t) in zip(arrivals, sent.chunks, strict=True)]
    t0 = call.t_send_ns
    return Measured(
        ttft_true=(first - t0) / 1e9,
        ttft=timing.ttft_s,
        ttfat_true=None if first_answer is None else (first_answer - t0) / 1e9,
        ttfat=timing.ttfat_s,
        speed_true=(n_true - 1) / ((last - first) / 1e9),
        speed=timing.output_speed(usage.completion_tokens),
        e2e_true=(last - t0) / 1e9,
        e2e=timing.e2e_s,
        n_true=n_true,
        n=usage.completion_tokens,
        reasoning_true=reasoning_true,
        reasoning=usage.reasoning_tokens,
        source=usage.source,
        lags_s=lags,
        pacing_s=pacing,
    )


@dataclass(slots=True)
class Row:
    cell: Cell
    calls: int
    ttft_true_ms: float
    ttft_ms: float
    ttft_err_ms: float  # median of |measured - true|
    ttfat_err_ms: float | None
    speed_true: float  # median over calls
    speed: float
    speed_err: float  # median relative error over calls: the verdict
    speed_err_worst: float  # the call furthest off
    e2e_err_ms: float
    n_true: int
    n: int
    source: str
    tokens_ok: bool
    ttft_ok: bool
    speed_ok: bool | None
    lag_p50_ms: float
    lag_p99_ms: float
    pacing_p50_ms: float
    pacing_p99_ms: float
    pacing_max_ms: float
    client_cpu: float  # CPU seconds per second of the measured rounds
    client_wait_ms: float  # runnable but not running, in total: the host's other load took the cores
    server_wait_ms: float
    server_cpu: float
    client_us_per_event: float
    server_us_per_event: float  # includes the server's busy-wait while it is ahead of schedule
    events_per_s: float  # SSE data events the client received per second
    notes: list[str] = field(default_factory=list)
    bare: Row | None = None  # the same cell read by the bare-socket stdlib client

    @property
    def passed(self) -> bool:
        return self.tokens_ok and self.ttft_ok and self.speed_ok is not False

    @property
    def events_asked(self) -> float:
        """Token events per second the cell's schedule asks of the server."""
        return self.cell.streams * self.cell.rate / self.cell.k

    @property
    def out_of_reach(self) -> bool:
        """The schedule asks more of the single-threaded server than one core gives, and it fell behind: its CPU
        per event (no busy-wait left once behind) times the events asked exceeds 90% of a core, and its pacing
        p99 is over 5 ms. Timing targets then measure the host, not the client."""
        return self.events_asked * self.server_us_per_event > 0.9e6 and self.pacing_p99_ms > 5.0

    def target(self, ok: bool | None) -> str:
        return "OUT" if ok is False and self.out_of_reach else pass_miss(ok)


def summarize(cell: Cell, run: CellRun, ms: list[Measured]) -> Row:
    notes = []
    events = sum(len(call.result.timing.chunk_ns) for call in run.calls)
    ttft_errs = [abs(m.ttft - m.ttft_true) for m in ms if m.ttft is not None]
    ttfat_errs = [abs(m.ttfat - m.ttfat_true) for m in ms if m.ttfat is not None and m.ttfat_true is not None]
    speed_errs = [m.speed / m.speed_true - 1 for m in ms if m.speed is not None]
    e2e_errs = [abs(m.e2e - m.e2e_true) for m in ms if m.e2e is not None]
    if len(ttft_errs) < len(ms) or len(speed_errs) < len(ms):
        notes.append("some calls lacked a TTFT or speed")
    if cell.usage:
        tokens_ok = all(m.source == "server" and m.n == m.n_true and m.reasoning == m.reasoning_true for m in ms)
    else:
        tokens_ok = all(m.source == "estimated" for m in ms)
    ttft_err = statistics.median(ttft_errs) if ttft_errs else float("inf")
    ttfat_err = statistics.median(ttfat_errs) if cell.reasoning and ttfat_errs else None
    ttft_ok = ttft_err <= TTFT_TARGET_S and (ttfat_err is None or ttfat_err <= TTFT_TARGET_S)
    worst = max(speed_errs, key=abs) if speed_errs else float("inf")
    median_err = statistics.median(speed_errs) if speed_errs else float("inf")
    target = cell.speed_target
    lags = [x for m in ms for x in m.lags_s]
    if not lags:
        notes.append("event counts differ between client and log")
        lags = [float("nan")]
    pacing = [x for m in ms for x in m.pacing_s]
    return Row(
        cell=cell,
        calls=len(ms),
        ttft_true_ms=statistics.median(m.ttft_true for m in ms) * 1e3,
        ttft_ms=statistics.median(m.ttft for m in ms if m.ttft is not None) * 1e3,
        ttft_err_ms=ttft_err * 1e3,
        ttfat_err_ms=None if ttfat_err is None else ttfat_err * 1e3,
        speed_true=statistics.median(m.speed_true for m in ms),
        speed=statistics.median(m.speed for m in ms if m.speed is not None),
        speed_err=median_err,
        speed_err_worst=worst,
        e2e_err_ms=statistics.median(e2e_errs) * 1e3,
        n_true=ms[0].n_true,
        n=ms[0].n or 0,
        source=ms[0].source,
        tokens_ok=tokens_ok,
        ttft_ok=ttft_ok,
        speed_ok=None if target is None else abs(median_err) <= target,
        lag_p50_ms=quantile(lags, 0.5) * 1e3,
        lag_p99_ms=quantile(lags, 0.99) * 1e3,
        pacing_p50_ms=quantile(pacing, 0.5) * 1e3,
        pacing_p99_ms=quantile(pacing, 0.99) * 1e3,
        pacing_max_ms=max(pacing) * 1e3,
        client_cpu=run.client_cpu_s / run.wall_s,
        client_wait_ms=run.client_wait_s * 1e3,
        server_wait_ms=run.server_wait_s * 1e3,
        server_cpu=run.server_cpu_s / run.wall_s,
        client_us_per_event=run.client_cpu_s / events * 1e6,
        server_us_per_event=run.server_cpu_s / events * 1e6,
        events_per_s=events / run.wall_s,
        notes=notes,
    )


# -- printing -----------------------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    headers = ["cell", "str", "R", "N", "k", "ttft s", "flags",
               "TTFT true", "meas", "err", "TTFAT err", "speed true", "meas", "err% med/worst", "E2E err",
               "tokens", "lag p50/p99", "srv pace p50/p99/max", "CPU cli/srv", "wait cli/srv", "tok", "TTFT",
               "speed"]  # fmt: skip
    body = []
    for i, r in enumerate(rows):
        c = r.cell
        body.append([
            f"{i + 1:02d} {c.group}", str(c.streams), f"{c.rate:g}", str(c.total), str(c.k), f"{c.ttft_s:g}", c.flags,
            f"{r.ttft_true_ms:.2f}", f"{r.ttft_ms:.2f}", f"{r.ttft_err_ms:.3f}",
            "" if r.ttfat_err_ms is None else f"{r.ttfat_err_ms:.3f}",
            f"{r.speed_true:.1f}", f"{r.speed:.1f}", f"{r.speed_err * 100:+.3f}/{r.speed_err_worst * 100:+.3f}",
            f"{r.e2e_err_ms:.3f}",
            f"{r.n_true}/{r.n}{'' if r.source == 'server' else ' est'}",
            f"{r.lag_p50_ms:.2f}/{r.lag_p99_ms:.2f}",
            f"{r.pacing_p50_ms:.2f}/{r.pacing_p99_ms:.2f}/{r.pacing_max_ms:.1f}",
            f"{r.client_cpu * 100:.0f}/{r.server_cpu * 100:.0f}%",
            f"{r.client_wait_ms:.0f}/{r.server_wait_ms:.0f}",
            pass_miss(r.tokens_ok), r.target(r.ttft_ok), r.target(r.speed_ok),
        ])  # fmt: skip
    print(table(headers, body))
    print("times in ms; speeds in tok/s (median over calls); speed err% = median / furthest call (the verdict uses")
    print("the median); TTFT/E2E err = median |error|; wait = ms the process was runnable but had no core (other load)")
    print("lag = client stamp - server send per SSE event; srv pace = server send - scheduled due time per token event")
    print("(split cells: an event's last piece leaves ~2 ms after its first, by design); CPU = share of one core")
    for i, r in enumerate(rows):
        for note in r.notes:
            print(f"  note {i + 1:02d}: {note}")


def print_bare(rows: list[Row]) -> None:
    """The harness beside the bare-socket stdlib client, cell by cell."""
    body = []
    for i, r in enumerate(rows):
        if r.bare is None:
            continue
        c, b = r.cell, r.bare
        body.append([
            f"{i + 1:02d} {c.group}", f"{c.rate:g}", str(c.total), str(c.k), c.flags,
            f"{r.ttft_err_ms:.3f}", f"{b.ttft_err_ms:.3f}", f"{r.speed_err * 100:+.3f}", f"{b.speed_err * 100:+.3f}",
            f"{r.lag_p50_ms:.2f}/{r.lag_p99_ms:.2f}", f"{b.lag_p50_ms:.2f}/{b.lag_p99_ms:.2f}",
        ])  # fmt: skip
    print("one stream: Ripsaw's client vs a bare-socket stdlib client (blocking recv, one clock read per recv)")
    print(table(["cell", "R", "N", "k", "flags", "TTFT err ripsaw", "bare", "speed err% ripsaw", "bare",
                 "lag p50/p99 ripsaw", "bare"], body))  # fmt: skip


def summary(rows: list[Row]) -> list[str]:
    reachable = [r for r in rows if not r.out_of_reach] or rows
    worst_ttft = max(reachable, key=lambda r: max(r.ttft_err_ms, r.ttfat_err_ms or 0))
    out = [r for r in rows if not r.passed and r.out_of_reach]
    missed = [r for r in rows if not r.passed and not r.out_of_reach]
    lines = [
        f"cells: {sum(r.passed for r in rows)} PASS, {len(missed)} MISS, {len(out)} out of reach of {len(rows)}"
        f" ({sum(r.calls for r in rows)} calls)",
        f"worst TTFT median error: {max(worst_ttft.ttft_err_ms, worst_ttft.ttfat_err_ms or 0):.3f} ms"
        f" (cell {rows.index(worst_ttft) + 1:02d}; target <= 1 ms; out-of-reach cells excluded)",
    ]
    one = [r for r in rows if r.cell.streams == 1 and r.cell.rate == 3000 and r.cell.speed_target is not None]
    if one:
        w = max(one, key=lambda r: abs(r.speed_err))
        lines.append(
            f"speed error at 3,000 tok/s, one stream, N >= 256: median up to {w.speed_err * 100:+.3f}%"
            f" (cell {rows.index(w) + 1:02d}; target 0.5%), furthest single call"
            f" {max((r.speed_err_worst for r in one), key=abs) * 100:+.3f}%"
        )
        bare = [r.bare for r in one if r.bare is not None]
        if bare:
            lines.append(
                f"  the bare-socket stdlib client on the same cells: median up to"
                f" {max((b.speed_err for b in bare), key=abs) * 100:+.3f}%, furthest call"
                f" {max((b.speed_err_worst for b in bare), key=abs) * 100:+.3f}%"
            )
    for r in rows:
        if r.cell.streams == 16 and r.cell.k == 4 and r.cell.rate == 3000:
            lines.append(
                f"16 streams x 4 tokens/chunk at 3,000 tok/s: speed error median {r.speed_err * 100:+.3f}%,"
                f" furthest call {r.speed_err_worst * 100:+.3f}% (target 2%)"
            )
    for r in rows:
        if r.out_of_reach:
            cores = r.events_asked * (r.client_us_per_event + r.server_us_per_event) / 1e6
            c = r.cell
            lines += [
                f"cell {rows.index(r) + 1:02d} ({c.streams} streams x {c.rate:,.0f} tok/s x {c.k} token(s)/chunk)"
                f" is out of reach on this host (OUT): TTFT error {r.ttft_err_ms:.2f} ms, speed error"
                f" {r.speed_err * 100:+.3f}%, client lag p99 {r.lag_p99_ms:.2f} ms, server pacing p99"
                f" {r.pacing_p99_ms:.2f} ms",
                f"  {r.events_asked:,.0f} SSE events/s asked; measured CPU per event: server"
                f" {r.server_us_per_event:.1f} µs (one core sends at most {1e6 / r.server_us_per_event:,.0f}/s),"
                f" client {r.client_us_per_event:.1f} µs; together {cores:.2f} cores of {os.cpu_count()}"
                f" (server ran at {r.server_cpu * 100:.0f}%, client at {r.client_cpu * 100:.0f}%)",
            ]
    usage = [r for r in rows if r.cell.usage]
    lines.append(
        f"token counts: exact in {sum(r.tokens_ok for r in usage)}/{len(usage)} usage cells;"
        f" marked estimated in {sum(r.tokens_ok for r in rows if not r.cell.usage)}/{len(rows) - len(usage)} others"
    )
    lines.append(
        f"other load on the host while measuring: the client waited {sum(r.client_wait_ms for r in rows):.0f} ms"
        f" for a core, the server {sum(r.server_wait_ms for r in rows):.0f} ms (over"
        f" {sum(r.calls for r in rows)} calls; near 0 on an idle host)"
    )
    by_streams: dict[int, list[Row]] = {}
    for r in rows:
        by_streams.setdefault(r.cell.streams, []).append(r)
    for s, rs in sorted(by_streams.items()):
        lines.append(
            f"{s:2d} stream(s): server pacing p99 up to {max(r.pacing_p99_ms for r in rs):.3f} ms;"
            f" client lag p99 up to {max(r.lag_p99_ms for r in rs):.3f} ms"
        )
    return lines


def pin(server_pid: int) -> str:
    """Server on one core, client on another. Unpinned, the scheduler often wakes the client on the core the
    server is busy on (its busy-wait, its next writes), and the client then reads tokens a scheduling slice
    late: an artifact of serving and measuring on one host that no remote endpoint would cause."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else []
    if len(cpus) < 2:
        return "not pinned (fewer than 2 usable CPUs)"
    os.sched_setaffinity(server_pid, {cpus[0]})
    os.sched_setaffinity(0, {cpus[1]})
    return f"pinned: server on CPU {cpus[0]}, client on CPU {cpus[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated groups: rate, ttft, chunk, usage, wire, reason, streams")
    parser.add_argument("--json", type=Path, help="also write every cell's numbers here")
    parser.add_argument("--pin", action="store_true", help="server on one core, client on another (quiet hosts)")
    args = parser.parse_args()
    selected = cells()
    if args.only:
        groups = set(args.only.split(","))
        selected = [c for c in selected if c.group in groups]

    print(f"fidelity · {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "sends.jsonl"
        with ServerProcess(log) as server:
            print(f"reference server pid {server.pid} at {server.base_url}; {len(selected)} cells", flush=True)
            print(f"  {pin(server.pid) if args.pin else 'server and client not pinned (see --pin)'}", flush=True)
            results = asyncio.run(run(selected, server.base_url, server.pid))
            print("  the bare-socket client on the one-stream cells", flush=True)
            bare = bare_runs(selected, server.base_url)
        sent = read_log(log)

    def row(cell: Cell, run: CellRun) -> Row:
        return summarize(cell, run, [measure(cell, call, sent[call.tag]) for call in run.calls])

    rows = []
    for i, cell in enumerate(selected):
        rows.append(row(cell, results[i]))
        if i in bare:
            rows[-1].bare = row(cell, bare[i])
    print()
    print_table(rows)
    print()
    print_bare(rows)
    print("\nsummary")
    for line in summary(rows):
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "passed": r.passed} for r in rows], indent=1))


if __name__ == "__main__":
    main()
