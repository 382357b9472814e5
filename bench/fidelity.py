"""Timing fidelity: what Ripsaw's streamed providers measure against what the reference server really did.

    python bench/fidelity.py [--only GROUP[,GROUP]] [--json FILE] [--pin]

The reference server (tests/refserver.py) runs in its own process, paces every reply on an absolute schedule
(token i due at t_first + i/R; a chunk of k tokens leaves when its LAST token is due, as a real server sends
what it has generated) and logs, on perf_counter_ns's clock, the kernel's receive timestamp of each request's
last byte and the kernel's transmit timestamp of each SSE event's last byte (so neither moves when the server
waits for a core between its stamp and its write; the stamp before the write is logged beside it). The truth of
every call comes from that log alone, never from the client's own stamps (its record says only which chunks
bound its speed span):

    TTFT truth   = server's write of the first token chunk - server's arrival of the request + loopback RTT
    speed truth  = (tokens the server sent after chunk a, up to chunk b) / (server's write of b - of a), where a
                   is the last token chunk of the client's first read and b the one its span ends at (Ripsaw's
                   timing definitions 4: a read's stamp is exact only for its last event; with one read per
                   chunk, a is the first token chunk and b the last, and this is (N - n1) / span)
    E2E truth    = server's write of the last token chunk - arrival + loopback RTT

The loopback RTT (one way up plus one way down, wake-ups included) is measured before the cells by a blocking
stdlib client: its send-to-first-event time minus the server's own arrival-to-write time, median of many pings.

Cells: the grid k (tokens per chunk) in {1, 4, 8, 16} x N in {64, 256, 1024} x rate in {50, 1,000, 3,000 tok/s}
x {1, 16} streams, streaming real o200k tokens for a model whose tokenizer Ripsaw knows (n1 counted); n1 taken
from the first chunk's share of the characters (reported, not judged: the estimate, not the clock, sets it);
wire quirks and token-count cells (no usage, a real tokenizer, usage on every chunk);
and the first call of a fresh process (import, connect and all); and the "native" group: the same cells for each
native provider (`openai-responses`, `anthropic`) against the server's Responses and Messages dialects, a row per
provider beside the chat provider's. Every target is judged on the WORST call of
its cell:
  TTFT    |error| <= 1 ms at 1 stream (first call of a process included), <= 2 ms at 16 streams
  speed   |error| <= 0.5% at 1 stream, <= 2% at 16 streams
  tokens  exact with usage; without usage <= 3% where a tokenizer applies, else marked "estimated"
  leave   16 requests started together reach the server within 1 ms of each other (worst round)
A cell whose schedule needs more of the single-threaded server than one core gives is OUT, with the proof. A
"leave" miss is OUT when that round's requests left in one release of the client's departure gate and, less the
time the sending thread waited for a core during those writes (its scheduler's count, read around them), they
would have arrived within the 1 ms: the host's other load, proven in that run. A TTFT or speed miss is OUT when
every call would have been within the target had the client not waited for a core before the reads that stamped
its first and last token events (`Read`, `unwaited`: waits measured in that run, at each loop turn and read).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import inspect
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import REPO, Sent, ServerProcess, machine, quantile, read_log, sched_ns, table
from _common import verdict as pass_miss

from ripsaw.providers import streaming
from ripsaw.providers.anthropic import AnthropicProvider
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.providers.openai_responses import OpenAIResponsesProvider
from ripsaw.providers.streaming import DepartureGate, freeze_heap
from ripsaw.records import Attempt, ModelCall, Outcome
from ripsaw.types import Message, Prompt, RequestParams

# Code-like tokens; " café" and " →" put multi-byte characters in the stream (split writes cut inside them).
VOCAB = (" def", " solve", "(", "nums", ")", ":", "\n   ", " return", " sum", "(", "x", " for", " x", " in",
         " nums", ")", " #", " café", " →", " ok")  # fmt: skip
MAX_STREAMS = 16
TOKENIZER_MODEL = "gpt-4o"  # a model whose tokenizer Ripsaw knows (o200k_base)
PROVIDERS: dict[str, Any] = {
    "openai": OpenAICompatProvider,
    "openai-responses": OpenAIResponsesProvider,
    "anthropic": AnthropicProvider,
}
Provider = OpenAICompatProvider | OpenAIResponsesProvider | AnthropicProvider


@dataclass(frozen=True, slots=True)
class Cell:
    group: str
    rate: float
    n: int  # answer tokens
    k: int = 1  # tokens per chunk
    streams: int = 1
    reps: int = 3  # rounds of `streams` concurrent calls
    ttft_s: float = 0.05
    usage: bool = True
    usage_every_chunk: bool = False
    role_only: bool = True
    keepalive: bool = False
    split: bool = False
    reasoning: int = 0  # reasoning tokens streamed before the answer
    model: str = "ref-model"  # TOKENIZER_MODEL: the text is that tokenizer's own tokens of real code
    first_call: bool = False  # each call is the first of a fresh process
    provider: str = "openai"  # which API: a PROVIDERS name

    @property
    def total(self) -> int:
        return self.n + self.reasoning

    @property
    def flags(self) -> str:
        names = [
            "" if self.provider == "openai" else self.provider,
            "no-usage" if not self.usage else "",
            "usage/chunk" if self.usage_every_chunk else "",
            "no-role" if not self.role_only else "",
            "keepalive" if self.keepalive else "",
            "split" if self.split else "",
            f"reason{self.reasoning}" if self.reasoning else "",
            "tiktoken" if self.model == TOKENIZER_MODEL else "",
            "first-call" if self.first_call else "",
        ]
        return ",".join(n for n in names if n) or "-"

    @property
    def ttft_target_s(self) -> float:
        return 0.001 if self.streams == 1 else 0.002

    @property
    def speed_target(self) -> float | None:
        if self.model != TOKENIZER_MODEL and (not self.usage or (self.k > 1 and not self.usage_every_chunk)):
            # The speed then rests on an estimated N, or on n1 estimated from the first chunk's share of the
            # characters: the count, not the clock, sets its error (reported, not judged).
            return None
        return 0.005 if self.streams == 1 else 0.02

    def reply(self, code_tokens: list[str]) -> dict[str, Any]:
        """The Reply fields the request carries in its "refserver" object."""
        if self.model == TOKENIZER_MODEL:
            text = [code_tokens[i % len(code_tokens)] for i in range(self.n)]
        else:
            text = [VOCAB[i % len(VOCAB)] for i in range(self.n)]
        return {
            "text": text,
            "reasoning": [VOCAB[(i + 7) % len(VOCAB)] for i in range(self.reasoning)],
            "ttft_s": self.ttft_s,
            "rate": self.rate,
            "tokens_per_chunk": self.k,
            "send_usage": self.usage,
            "usage_every_chunk": self.usage_every_chunk,
            "role_only_first_chunk": self.role_only,
            "keepalive": self.keepalive,
            "split_writes": self.split,
        }


def _reps(streams: int, rate: float, n: int) -> int:
    """Rounds per cell: about 5 s of streaming, at least one round (16 calls) at 16 streams, 2-5 at one."""
    seconds = n / rate + 0.06
    if streams > 1:
        return 1 if seconds > 1 else 2
    return max(1, min(5, math.ceil(5 / seconds))) if seconds < 10 else 1


def cells() -> list[Cell]:
    # The grid streams real o200k tokens of real code for a model whose tokenizer Ripsaw knows, so n1 is counted,
    # not estimated, and the speed error is the clock's; the "n1" cells show the character-share estimate.
    grid = [
        Cell("grid", rate, n, k=k, streams=streams, reps=_reps(streams, rate, n), model=TOKENIZER_MODEL)
        for streams in (1, MAX_STREAMS)
        for k in (1, 4, 8, 16)
        for rate in (50, 1000, 3000)
        for n in (64, 256, 1024)
    ]
    return [
        Cell("first", 1000, 64, reps=5, first_call=True),
        *grid,
        # n1 from the first chunk's share of the characters (no tokenizer, no per-chunk usage)
        *(Cell("n1", 1000, n, k=k) for k in (4, 16) for n in (64, 256)),
        # token counts: N never comes from counting chunks
        Cell("tokens", 1000, 256, k=4, usage=False),
        Cell("tokens", 1000, 256, k=4, usage=False, model=TOKENIZER_MODEL),
        Cell("tokens", 3000, 1024, k=8, usage=False, model=TOKENIZER_MODEL, reps=2),
        Cell("tokens", 3000, 1024, k=8, usage_every_chunk=True, reps=2),
        # wire quirks
        Cell("wire", 3000, 256, role_only=False),
        Cell("wire", 3000, 256, keepalive=True),
        Cell("wire", 200, 256, split=True, reps=1),
        Cell("wire", 1000, 256, k=4, split=True),
        Cell("wire", 200, 256, k=4, streams=MAX_STREAMS, keepalive=True, split=True, reps=1),
        # reasoning before the answer: TTFT and time to first answer token
        Cell("reason", 1000, 128, reasoning=128),
        Cell("reason", 3000, 1024, k=4, reasoning=1024, reps=2),
        # a long time to first token
        Cell("ttft", 1000, 64, ttft_s=1.0, reps=2),
        # the same standard for every API: the chat provider's key cells, per native provider
        *(
            cell
            for provider in ("openai-responses", "anthropic")
            for cell in (
                Cell("native", 1000, 64, reps=5, first_call=True, provider=provider),
                *(
                    Cell("native", rate, n, k=k, reps=_reps(1, rate, n), model=TOKENIZER_MODEL, provider=provider)
                    for rate, n, k in ((50, 64, 1), (1000, 256, 1), (3000, 1024, 1), (1000, 256, 4), (3000, 1024, 16))
                ),
                Cell("native", 1000, 256, streams=MAX_STREAMS, reps=2, model=TOKENIZER_MODEL, provider=provider),
                Cell("native", 1000, 256, k=4, usage=False, model=TOKENIZER_MODEL, provider=provider),
                Cell("native", 1000, 256, keepalive=True, split=True, provider=provider),
                Cell("native", 1000, 128, reasoning=128, provider=provider),
            )
        ),
    ]


def code_tokens() -> list[str]:
    """Real o200k_base tokens of real Python code (textwrap's source, ASCII): what a model would stream."""
    from ripsaw.providers.tokenizers import tokenizer_for

    tokenizer = tokenizer_for(TOKENIZER_MODEL)
    assert tokenizer is not None
    return tokenizer.pieces(inspect.getsource(textwrap))


# -- running ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Burst:
    """One release of the client's departure gate: the requests it held, written back to back."""

    start_ns: int
    end_ns: int
    requests: int
    wait_ns: int  # the sending thread's time runnable without a core during the writes (its scheduler's count)


BURSTS: list[Burst] = []


def record_bursts() -> None:
    """Record every release of the client's departure gate with the sending thread's run-queue wait around it
    (/proc/thread-self/schedstat, read just before the first write and after the last). Requests that left in
    one release reached the server apart only by the time between its writes; this tells whether that time was
    the client's own code or the client waiting for a core (the host's other load)."""
    fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    release = DepartureGate._release

    def waited() -> int:
        return int(os.pread(fd, 128, 0).split()[1])

    def recorded(gate: DepartureGate) -> None:
        held = len(gate._held)
        if not held:
            release(gate)
            return
        w0, t0 = waited(), time.perf_counter_ns()
        release(gate)
        t1, w1 = time.perf_counter_ns(), waited()
        BURSTS.append(Burst(t0, t1, held, w1 - w0))

    DepartureGate._release = recorded  # type: ignore[method-assign,assignment]


@dataclass(frozen=True, slots=True)
class Read:
    """One socket read of the client, made at `read_ns` in an event-loop turn. Since `t_prev_ns`, the start of
    the turn before (the loop's poll returned; the thread was running then, so every wait counted here began
    after it), the loop's thread waited `wait_ns` for a core: its scheduler's count between the two turns'
    starts, plus, within this turn up to the read, the wall time it did not run (the loop's thread is the
    client's only running thread, and a turn never blocks)."""

    t_prev_ns: int
    read_ns: int
    wait_ns: int


SENDS: dict[int, int] = {}  # id(CallTiming) -> the call's absolute t_send
READS: dict[int, Read] = {}  # a read's arrival stamp (absolute) -> the read


def record_reads() -> None:
    """Record, for every read of the client, its loop turn and the thread's wait for a core since the turn before,
    and every call's absolute t_send: what tells a stamp made late by a read that came after the client waited for
    a core (it then holds later events too, stamped with the last one's arrival) from one late by the client's
    own work. Costs one /proc read per loop turn and two clock reads per socket read."""
    fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    turn = [0, 0, 0, 0, 0]  # t_prev, wait_prev, t, wait, the thread's CPU time at t

    def waited() -> int:
        return int(os.pread(fd, 128, 0).split()[1])

    note_send = streaming._note_send

    def noted(timing: Any, ticket: Any) -> None:
        note_send(timing, ticket)
        if ticket.t_send is not None:
            SENDS[id(timing)] = ticket.t_send

    streaming._note_send = noted

    data_received = streaming._WireProtocol.data_received

    def received(protocol: Any, data: bytes) -> None:
        data_received(protocol, data)
        now, cpu = time.perf_counter_ns(), time.thread_time_ns()
        in_turn = max(0, (now - turn[2]) - (cpu - turn[4]))
        READS[protocol.chunks[-1][1]] = Read(turn[0], now, turn[3] - turn[1] + in_turn)

    streaming._WireProtocol.data_received = received  # type: ignore[method-assign,assignment]

    def on_loop(loop: asyncio.AbstractEventLoop) -> None:
        selector = loop._selector  # type: ignore[attr-defined]
        select = selector.select

        def timed(timeout: float | None = None) -> Any:
            events = select(timeout)
            turn[:] = [turn[2], turn[3], time.perf_counter_ns(), waited(), time.thread_time_ns()]
            return events

        selector.select = timed

    LOOP_HOOKS.append(on_loop)


LOOP_HOOKS: list[Any] = []


def unwaited(lateness_ns: int, sent_ns: int, read: Read | None) -> int:
    """How late a stamp would have been had the client not waited for a core before the read that made it: the
    read came `read.read_ns - sent_ns` after the event was sent, and of that the client waited at least the
    turn's waits less the part of the turn before the send; without them it would have read that much sooner."""
    if read is None or lateness_ns <= 0:
        return lateness_ns
    waited = max(0, read.wait_ns - max(0, sent_ns - read.t_prev_ns))
    return min(lateness_ns, max(0, read.read_ns - sent_ns - waited))


def _prompt(tag: str) -> Prompt:
    return Prompt("chat", messages=(Message("user", tag),))


def _params(reply: dict[str, Any]) -> RequestParams:
    return RequestParams(temperature=None, max_tokens=None, extra_body={"refserver": reply})


@dataclass(slots=True)
class CellRun:
    calls: dict[str, ModelCall]  # by tag
    rounds: list[list[str]]  # the tags started together
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    client_wait_s: float = 0.0  # runnable but not running: the host's other load
    server_wait_s: float = 0.0
    bursts: list[Burst] = field(default_factory=list)


async def run(selected: list[Cell], base_url: str, server_pid: int, tokens: list[str]) -> dict[int, CellRun]:
    providers: dict[tuple[str, str], Provider] = {}
    warm = {"text": ["ok"], "rate": None}
    out: dict[int, CellRun] = {}
    client_pid = os.getpid()
    for hook in LOOP_HOOKS:
        hook(asyncio.get_running_loop())
    freeze_heap()
    try:
        for i, cell in enumerate(selected):
            if cell.first_call:
                continue
            provider = providers.get((cell.provider, cell.model))
            if provider is None:
                provider = providers[cell.provider, cell.model] = PROVIDERS[cell.provider](
                    base_url, cell.model, max_concurrency=MAX_STREAMS
                )
                await provider.start()

            async def one(tag: str, reply: dict[str, Any], provider: Provider = provider) -> ModelCall:
                return await provider.complete(_prompt(tag), _params(reply), None)

            # Open (or re-open: idle connections expire after 5 s) one pooled connection per stream first.
            await asyncio.gather(*(one(f"warmup {i} {j}", warm) for j in range(cell.streams)))
            calls: dict[str, ModelCall] = {}
            rounds = []
            BURSTS.clear()
            t0, (c0, cw0), (s0, sw0) = time.perf_counter_ns(), sched_ns(client_pid), sched_ns(server_pid)
            for rep in range(cell.reps):
                tags = [f"cell {i} rep {rep} stream {j}" for j in range(cell.streams)]
                results = await asyncio.gather(*(one(t, cell.reply(tokens)) for t in tags))
                calls.update(zip(tags, results, strict=True))
                rounds.append(tags)
            wall = time.perf_counter_ns() - t0
            (c1, cw1), (s1, sw1) = sched_ns(client_pid), sched_ns(server_pid)
            out[i] = CellRun(
                calls,
                rounds,
                wall / 1e9,
                (c1 - c0) / 1e9,
                (s1 - s0) / 1e9,
                (cw1 - cw0) / 1e9,
                (sw1 - sw0) / 1e9,
                list(BURSTS),
            )
            print(f"  ran {i + 1}/{len(selected)}: {cell.group} R={cell.rate:g} N={cell.total} k={cell.k}"
                  f" x{cell.streams}", flush=True)  # fmt: skip
            # As `ripsaw run` does once its setup is done; again after each cell, for the calls this script keeps
            # for its table (a runner writes them to its store): none of them is scanned by a collection later.
            freeze_heap()
    finally:
        for provider in providers.values():
            await provider.aclose()
    return out


def first_calls(i: int, cell: Cell, base_url: str, tokens: list[str]) -> CellRun:
    """Each call from a fresh interpreter, as `ripsaw run` makes its first one: build, start, complete."""
    calls, rounds = {}, []
    t0 = time.perf_counter_ns()
    for rep in range(cell.reps):
        tag = f"cell {i} rep {rep} stream 0"
        spec = json.dumps({"base_url": base_url, "model": cell.model, "tag": tag, "reply": cell.reply(tokens),
                           "provider": cell.provider})  # fmt: skip
        done = subprocess.run([sys.executable, __file__, "--first-call", spec], capture_output=True, text=True,
                              check=True, cwd=REPO)  # fmt: skip
        calls[tag] = _call_from_json(json.loads(done.stdout.strip().splitlines()[-1]))
        rounds.append([tag])
    print(f"  ran {i + 1}: first call of a process x{cell.reps}", flush=True)
    return CellRun(calls, rounds, (time.perf_counter_ns() - t0) / 1e9, float("nan"), float("nan"))


def _call_from_json(d: dict[str, Any]) -> ModelCall:
    return Attempt.from_dict(d).calls[0]


def first_call_child(spec: dict[str, Any]) -> None:
    """The child of `first_calls`: one call, its ModelCall printed as JSON."""

    async def main() -> ModelCall:
        provider = PROVIDERS[spec["provider"]](spec["base_url"], spec["model"])
        try:
            await provider.start()
            return await provider.complete(_prompt(spec["tag"]), _params(spec["reply"]), None)
        finally:
            await provider.aclose()

    freeze_heap()  # as `ripsaw run` does before its first call
    call = asyncio.run(main())
    print(json.dumps(Attempt("", "", "", 0, Outcome.PASSED, calls=[call]).to_dict()))


def loopback_rtt(base_url: str, log: Path, pings: int = 40) -> tuple[float, list[float]]:
    """Median loopback round trip, wake-ups included (s): a blocking client's send-to-first-event time minus
    the server's arrival-to-write time for the same request (a one-token reply due at once)."""
    parts = urllib.parse.urlsplit(base_url)
    spans = {}
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(pings):
            tag = f"ping {i}"
            reply = {"text": ["x"], "ttft_s": 0, "role_only_first_chunk": False}
            body = json.dumps({"model": "ref-model", "messages": [{"role": "user", "content": tag}], "stream": True,
                               "refserver": reply}).encode()  # fmt: skip
            head = (f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
            sock.sendall(head + body)
            t_send = time.perf_counter_ns()
            data = b""
            first = None
            while not data.endswith(b"0\r\n\r\n"):
                data += sock.recv(1 << 16)
                if first is None and b"data: {" in data:
                    first = time.perf_counter_ns()
            assert first is not None
            spans[tag] = first - t_send
            time.sleep(0.02)
    sent = read_log(log)  # the server flushes its log after every request
    rtts = [(spans[t] - (sent[t].chunks[0][2] - sent[t].t_recv_ns)) / 1e9 for t in spans]
    return statistics.median(rtts), rtts


# -- comparing with the log ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Measured:
    """One call: truth from the server log, measurement from the ModelCall (seconds, tok/s)."""

    ttft_true: float
    ttft: float | None
    ttfat_true: float | None
    ttfat: float | None
    speed_true: float | None
    speed: float | None
    e2e_true: float
    e2e: float | None
    n_true: int
    n: int | None
    n_first_true: int
    n_first: int | None
    reasoning_true: int
    reasoning: int | None
    source: str
    queue_s: float | None  # the client's own wait before the wire (pool, connect, send path)
    jitter_s: list[float]  # per token event: client offset - server offset, both from the first token event
    pacing_s: list[float]  # server send - due, per token event
    write_lag_s: list[float]  # per token event: the kernel's send - the server's stamp before its write
    unstamped: int  # token events the kernel's transmit stamp is missing for (their truth is the earlier stamp)
    bulk: int  # the most token events the client had from one socket read (they share its arrival stamp)
    # TTFT and speed had the client not waited for a core before the reads that stamped its first and last token
    # events (see `unwaited`); None without the record of its reads
    ttft_unwaited: float | None
    speed_unwaited: float | None
    waited_s: float  # how much those waits moved the two stamps, together


def measure(cell: Cell, call: ModelCall, sent: Sent, rtt_s: float) -> Measured:
    tokens = [(kind, n, t) for kind, n, t in sent.chunks if n > 0]
    first, last = tokens[0][2], tokens[-1][2]
    first_answer = next((t for kind, _, t in tokens if kind == "content"), None)
    n_true = sum(n for _, n, _ in tokens)
    reasoning_true = sum(n for kind, n, _ in tokens if kind == "reasoning")
    # The server's schedule, recomputed as it does it: a chunk is due with its last token.
    t_first_due = sent.t_recv_ns + int(cell.ttft_s * 1e9)
    ns_per_token = 1e9 / cell.rate
    pacing, before = [], 0
    for _, n, t in tokens:
        pacing.append((t - (t_first_due + int((before + n - 1) * ns_per_token))) / 1e9)
        before += n
    timing, usage = call.timing, call.usage
    # Client arrivals of token events, in order: the client's chunk offsets, minus the role/finish/usage events.
    kinds = [kind for kind, _, _ in sent.chunks]
    jitter = []
    arrivals = None
    if len(timing.chunk_ns) == len(sent.chunks):
        arrivals = [a for a, kind in zip(timing.chunk_ns, kinds, strict=True) if kind in ("content", "reasoning")]
    elif len(timing.chunk_ns) == len(tokens):  # a typed-event API: only the events carrying output are chunks
        arrivals = timing.chunk_ns
    if arrivals is not None:
        jitter = [((a - arrivals[0]) - (t - first)) / 1e9 for a, (_, _, t) in zip(arrivals, tokens, strict=True)]
    # The speed's span as the client drew it, in the server's chunks: from the last token chunk of the client's
    # first read to the chunk its span ends at (timing definitions 4). The truth is the server's sends of those
    # two chunks and its count of the tokens between; without the client's arrivals, the whole reply.
    end_ns = timing.last_token_ns if getattr(timing, "n_after", None) is None else timing.span_end_ns
    start_i, end_i = 0, len(tokens) - 1
    if arrivals is not None and end_ns is not None:
        start_i = max(i for i, a in enumerate(arrivals) if a == arrivals[0])
        end_i = max((i for i, a in enumerate(arrivals) if a == end_ns), default=end_i)
    span_first, span_last = tokens[start_i][2], tokens[end_i][2]
    n_first_true = sum(n for _, n, _ in tokens[: start_i + 1])
    in_span = sum(n for _, n, _ in tokens[start_i + 1 : end_i + 1])
    queue_ns = getattr(timing, "queue_ns", None)
    speed = timing.output_speed(usage.completion_tokens)
    ttft_unwaited = speed_unwaited = None
    moved = 0
    t_send = SENDS.get(id(timing))
    if t_send is not None and timing.first_any_ns is not None and end_ns is not None:
        # Each stamp's lateness against the server's send of the event (the loopback's few µs included)
        at_first, at_last = t_send + timing.first_any_ns, t_send + end_ns
        late_first, late_last = at_first - first, at_last - span_last
        moved_first = late_first - unwaited(late_first, first, READS.get(at_first))
        moved_last = late_last - unwaited(late_last, span_last, READS.get(at_last))
        late_start = at_first - span_first  # the speed's span starts at the first read's last token chunk
        moved_start = late_start - unwaited(late_start, span_first, READS.get(at_first))
        moved = moved_first + moved_last
        ttft_unwaited = (timing.first_any_ns - moved_first) / 1e9
        span = end_ns - timing.first_any_ns
        if speed is not None and span > 0 and span + moved_start - moved_last > 0:
            speed_unwaited = speed * span / (span + moved_start - moved_last)
    return Measured(
        ttft_true=(first - sent.t_recv_ns) / 1e9 + rtt_s,
        ttft=timing.ttft_s,
        ttfat_true=None if first_answer is None else (first_answer - sent.t_recv_ns) / 1e9 + rtt_s,
        ttfat=timing.ttfat_s,
        speed_true=in_span / ((span_last - span_first) / 1e9) if span_last > span_first else None,
        speed=speed,
        e2e_true=(last - sent.t_recv_ns) / 1e9 + rtt_s,
        e2e=timing.e2e_s,
        n_true=n_true,
        n=usage.completion_tokens,
        n_first_true=n_first_true,
        n_first=getattr(timing, "n_first", None),
        reasoning_true=reasoning_true,
        reasoning=usage.reasoning_tokens,
        source=usage.source,
        queue_s=None if queue_ns is None else queue_ns / 1e9,
        jitter_s=jitter,
        pacing_s=pacing,
        write_lag_s=[lag / 1e9 for (_, n, _), lag in zip(sent.chunks, sent.write_lag_ns, strict=False) if n and lag],
        unstamped=sum(1 for (_, n, _), lag in zip(sent.chunks, sent.write_lag_ns, strict=False) if n and lag is None),
        bulk=max(collections.Counter(arrivals).values(), default=0) if arrivals else 0,
        ttft_unwaited=ttft_unwaited,
        speed_unwaited=speed_unwaited,
        waited_s=moved / 1e9,
    )


@dataclass(slots=True)
class Row:
    cell: Cell
    calls: int
    ttft_true_ms: float  # median over calls
    ttft_err_ms: float  # the call furthest off (signed): the verdict
    ttfat_err_ms: float | None
    speed_true: float | None  # median over calls
    speed_err: float | None  # the call furthest off (relative, signed): the verdict
    speed_err_median: float | None
    e2e_err_ms: float  # the call furthest off
    n_true: int
    n: int
    n_err: float  # the call furthest off (relative)
    n_first: str  # "true/measured" of the worst call
    source: str
    queue_p50_ms: float | None
    queue_max_ms: float | None
    leave_ms: float | None  # worst spread of the server's arrivals of the requests started together
    leave_writes: int | None  # in how many releases of the client's gate that round's requests left (1: together)
    leave_wait_ms: float | None  # the client's wait for a core during that round's writes
    server_late_ms: float  # the longest the server's loop read a request after it arrived (kernel stamp)
    tokens_ok: bool
    ttft_ok: bool
    speed_ok: bool | None
    leave_ok: bool | None
    jitter_p99_ms: float
    pacing_p50_ms: float
    pacing_p99_ms: float
    client_cpu: float  # CPU seconds per second of the measured rounds
    client_wait_ms: float  # runnable but not running, in total: the host's other load took the cores
    server_wait_ms: float
    server_cpu: float
    client_us_per_event: float
    server_us_per_event: float  # includes the server's busy-wait while it is ahead of schedule
    server_lag_ms: float  # the longest a token event left after the server's stamp before its write (kernel stamp)
    bulk: int  # the most token events one client read delivered (a read after a wait holds many)
    waited_ms: float  # the most the client's waits for a core moved one call's first and last token stamps
    ttft_err_unwaited_ms: float | None  # the call furthest off had the client not waited (see `unwaited`)
    speed_err_unwaited: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.tokens_ok and self.ttft_ok and self.speed_ok is not False and self.leave_ok is not False

    @property
    def leave_out(self) -> bool:
        """The round's requests left in one release of the gate, and without the time the client then waited
        for a core (measured in that release) they would have reached the server within the 1 ms: the spread
        is the host's, not the client's."""
        return (
            self.leave_ok is False
            and self.leave_writes == 1
            and self.leave_ms is not None
            and self.leave_wait_ms is not None
            and self.leave_ms - self.leave_wait_ms <= 1.0
        )

    @property
    def out(self) -> bool:
        """Not passed, and every target it missed is OUT with its proof."""
        if self.passed or not self.tokens_ok:
            return False
        ttft = self.ttft_ok or self.out_of_reach or self.ttft_out
        speed = self.speed_ok is not False or self.out_of_reach or self.speed_out
        return ttft and speed and (self.leave_ok is not False or self.leave_out or self.out_of_reach)

    @property
    def ttft_out(self) -> bool:
        """A TTFT miss that every call would have passed had the client not waited for a core before the read
        that stamped its first token (measured in that run: `Read`, `unwaited`)."""
        target_ms = self.cell.ttft_target_s * 1e3
        if self.ttft_ok or self.ttft_err_unwaited_ms is None:
            return False
        ttfat_ok = self.ttfat_err_ms is None or abs(self.ttfat_err_ms) <= target_ms
        return ttfat_ok and abs(self.ttft_err_unwaited_ms) <= target_ms

    @property
    def speed_out(self) -> bool:
        """As `ttft_out`, for the output speed (the stamps of both ends of its span)."""
        target = self.cell.speed_target
        if self.speed_ok is not False or target is None or self.speed_err_unwaited is None:
            return False
        return abs(self.speed_err_unwaited) <= target

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

    def target(self, ok: bool | None, host: bool = False) -> str:
        return "OUT" if ok is False and (self.out_of_reach or host) else pass_miss(ok)

    @property
    def leave_target(self) -> str:
        return "OUT" if self.leave_out else self.target(self.leave_ok)


def _furthest(xs: list[float]) -> float:
    return max(xs, key=abs) if xs else float("inf")


def summarize(cell: Cell, run: CellRun, ms: list[Measured], sent: dict[str, Sent]) -> Row:
    notes = []
    events = sum(len(call.timing.chunk_ns) for call in run.calls.values())
    ttft_errs = [m.ttft - m.ttft_true for m in ms if m.ttft is not None]
    ttfat_errs = [m.ttfat - m.ttfat_true for m in ms if m.ttfat is not None and m.ttfat_true is not None]
    speed_errs = [m.speed / m.speed_true - 1 for m in ms if m.speed is not None and m.speed_true]
    ttft_unwaited = [m.ttft_unwaited - m.ttft_true for m in ms if m.ttft_unwaited is not None]
    speed_unwaited = [m.speed_unwaited / m.speed_true - 1 for m in ms if m.speed_unwaited is not None and m.speed_true]
    e2e_errs = [m.e2e - m.e2e_true for m in ms if m.e2e is not None]
    n_errs = [(m.n or 0) / m.n_true - 1 for m in ms]
    if len(ttft_errs) < len(ms) or len(speed_errs) < len(ms):
        notes.append(f"{len(ms) - len(speed_errs)} call(s) had no speed, {len(ms) - len(ttft_errs)} no TTFT")
    if cell.usage:
        # The Messages API counts thinking inside output_tokens only: its reasoning count is unknown, not wrong.
        unsaid = cell.provider == "anthropic"
        tokens_ok = all(
            m.source == "server"
            and m.n == m.n_true
            and (m.reasoning == m.reasoning_true or (unsaid and m.reasoning is None))
            for m in ms
        )
    elif cell.model == TOKENIZER_MODEL:
        tokens_ok = all(m.source == "tokenizer" for m in ms) and max(map(abs, n_errs)) <= 0.03
    else:
        tokens_ok = all(m.source == "estimated" for m in ms)
    ttft_err = _furthest(ttft_errs)
    ttfat_err = _furthest(ttfat_errs) if cell.reasoning else None
    ttft_ok = abs(ttft_err) <= cell.ttft_target_s and (ttfat_err is None or abs(ttfat_err) <= cell.ttft_target_s)
    speed_err = _furthest(speed_errs) if speed_errs or cell.speed_target is not None else None
    target = cell.speed_target
    leave = leave_writes = leave_wait = None
    if cell.streams > 1:
        spreads = []
        for r in run.rounds:
            first, last = min(sent[t].t_recv_ns for t in r), max(sent[t].t_recv_ns for t in r)
            # The releases whose writes the round's arrivals fall in (the kernel stamps each arrival inside the
            # client's send call; 50 µs for converting its clock)
            bursts = [b for b in run.bursts if b.start_ns - 50_000 <= last and b.end_ns + 50_000 >= first]
            spreads.append((last - first, len(bursts), sum(b.wait_ns for b in bursts)))
        spread, writes, wait = max(spreads)
        leave, leave_writes, leave_wait = spread / 1e6, writes, wait / 1e6
    late = max(sent[t].t_read_ns - sent[t].t_recv_ns for r in run.rounds for t in r) / 1e6
    worst = max(ms, key=lambda m: abs(m.speed / m.speed_true - 1) if m.speed and m.speed_true else 0)
    jitter = [abs(x) for m in ms for x in m.jitter_s]
    if not jitter:
        notes.append("event counts differ between client and log")
    unstamped = sum(m.unstamped for m in ms)
    if unstamped:
        notes.append(
            f"{unstamped} token event(s) without the kernel's transmit stamp: truth = the stamp before the write"
        )
        jitter = [float("nan")]
    pacing = [x for m in ms for x in m.pacing_s]
    queues = [m.queue_s for m in ms if m.queue_s is not None]
    speeds_true = [m.speed_true for m in ms if m.speed_true]
    return Row(
        cell=cell,
        calls=len(ms),
        ttft_true_ms=statistics.median(m.ttft_true for m in ms) * 1e3,
        ttft_err_ms=ttft_err * 1e3,
        ttfat_err_ms=None if ttfat_err is None else ttfat_err * 1e3,
        speed_true=statistics.median(speeds_true) if speeds_true else None,
        speed_err=speed_err,
        speed_err_median=statistics.median(speed_errs) if speed_errs else None,
        e2e_err_ms=_furthest(e2e_errs) * 1e3,
        n_true=ms[0].n_true,
        n=ms[0].n or 0,
        n_err=_furthest(n_errs),
        n_first=f"{worst.n_first_true}/{'-' if worst.n_first is None else worst.n_first}",
        source=ms[0].source,
        queue_p50_ms=statistics.median(queues) * 1e3 if queues else None,
        queue_max_ms=max(queues) * 1e3 if queues else None,
        leave_ms=leave,
        leave_writes=leave_writes,
        leave_wait_ms=leave_wait,
        server_late_ms=late,
        tokens_ok=tokens_ok,
        ttft_ok=ttft_ok,
        speed_ok=None if target is None or speed_err is None else abs(speed_err) <= target,
        leave_ok=None if leave is None else leave <= 1.0,
        jitter_p99_ms=quantile(jitter, 0.99) * 1e3,
        pacing_p50_ms=quantile(pacing, 0.5) * 1e3,
        pacing_p99_ms=quantile(pacing, 0.99) * 1e3,
        client_cpu=run.client_cpu_s / run.wall_s,
        client_wait_ms=run.client_wait_s * 1e3,
        server_wait_ms=run.server_wait_s * 1e3,
        server_cpu=run.server_cpu_s / run.wall_s,
        client_us_per_event=run.client_cpu_s / events * 1e6,
        server_us_per_event=run.server_cpu_s / events * 1e6,
        server_lag_ms=max((x for m in ms for x in m.write_lag_s), default=0.0) * 1e3,
        bulk=max(m.bulk for m in ms),
        waited_ms=max(m.waited_s for m in ms) * 1e3,
        ttft_err_unwaited_ms=_furthest(ttft_unwaited) * 1e3 if len(ttft_unwaited) == len(ms) else None,
        speed_err_unwaited=_furthest(speed_unwaited) if len(speed_unwaited) == len(speed_errs) == len(ms) else None,
        notes=notes,
    )


# -- printing -----------------------------------------------------------------------------------------------


def _ms(x: float | None, fmt: str = ".2f") -> str:
    return "" if x is None or math.isnan(x) else format(x, fmt)


def print_table(rows: list[Row]) -> None:
    headers = ["cell", "str", "R", "N", "k", "flags", "TTFT true", "TTFT err", "TTFAT err", "speed true",
               "speed err% worst", "E2E err", "tokens", "n1", "queue p50/max", "leave", "leave wait", "srv late",
               "jitter p99", "srv pace p50/p99", "srv lag", "bulk", "waited", "CPU cli/srv", "wait cli/srv", "tok",
               "TTFT", "speed", "leave"]  # fmt: skip
    body = []
    for i, r in enumerate(rows):
        c = r.cell
        tokens = f"{r.n_true}/{r.n}" + ("" if r.source == "server" else f" {r.source[:3]} {r.n_err * 100:+.1f}%")
        body.append([
            f"{i + 1:02d} {c.group}", str(c.streams), f"{c.rate:g}", str(c.total), str(c.k), c.flags,
            f"{r.ttft_true_ms:.2f}", f"{r.ttft_err_ms:+.3f}", _ms(r.ttfat_err_ms, "+.3f"),
            _ms(r.speed_true, ".1f"), "" if r.speed_err is None else f"{r.speed_err * 100:+.3f}",
            f"{r.e2e_err_ms:+.3f}", tokens, r.n_first,
            f"{_ms(r.queue_p50_ms)}/{_ms(r.queue_max_ms)}", _ms(r.leave_ms),
            "" if r.leave_writes is None else f"{_ms(r.leave_wait_ms)}/{r.leave_writes}", f"{r.server_late_ms:.2f}",
            f"{r.jitter_p99_ms:.3f}",
            f"{r.pacing_p50_ms:.2f}/{r.pacing_p99_ms:.2f}", f"{r.server_lag_ms:.2f}", str(r.bulk),
            f"{r.waited_ms:.2f}",
            "" if math.isnan(r.client_cpu) else f"{r.client_cpu * 100:.0f}/{r.server_cpu * 100:.0f}%",
            "" if math.isnan(r.client_cpu) else f"{r.client_wait_ms:.0f}/{r.server_wait_ms:.0f}",
            pass_miss(r.tokens_ok), r.target(r.ttft_ok, r.ttft_out), r.target(r.speed_ok, r.speed_out),
            r.leave_target,
        ])  # fmt: skip
    print(table(headers, body))
    print("times in ms; speeds in tok/s; TTFT/speed/E2E err = the call furthest from the truth (signed), the verdict;")
    print("n1 = first token chunk's tokens, true/measured (worst call); queue = the client's wait before the wire;")
    print("leave = spread of the server's arrivals of requests started together (worst round; arrival = the kernel's")
    print("receive timestamp); leave wait = the client's wait for a core during that round's writes / in how many")
    print("releases of its gate they left; srv late = the longest the server's loop read a request after it arrived;")
    print("jitter = client minus server offset of each token event from the first; srv pace = server send - due;")
    print("srv lag = the longest a token event left (the kernel's transmit stamp: the truth) after the server's stamp")
    print("before writing it; bulk = the most token events one client socket read delivered (they share its stamp);")
    print("waited = the most the client's waits for a core before its reads moved one call's first and last token")
    print("stamps; wait = ms runnable without a core over the cell (the host's other load); CPU = share of one core")
    for i, r in enumerate(rows):
        for note in r.notes:
            print(f"  note {i + 1:02d}: {note}")


def summary(rows: list[Row], rtt_s: float) -> list[str]:
    out = [r for r in rows if r.out]
    missed = [r for r in rows if not r.passed and not r.out]
    lines = [
        f"cells: {sum(r.passed for r in rows)} PASS, {len(missed)} MISS, {len(out)} OUT of {len(rows)}"
        f" ({sum(r.calls for r in rows)} calls); loopback RTT {rtt_s * 1e6:.0f} µs (median)",
    ]
    reachable = [r for r in rows if not r.out]
    for streams in (1, MAX_STREAMS):
        rs = [r for r in reachable if r.cell.streams == streams]
        if not rs:
            continue
        wt = max(rs, key=lambda r: abs(r.ttft_err_ms))
        sp = [r for r in rs if r.speed_err is not None and r.cell.speed_target is not None]
        line = f"{streams:2d} stream(s), worst call: TTFT {wt.ttft_err_ms:+.3f} ms (cell {rows.index(wt) + 1:02d})"
        if sp:
            ws = max(sp, key=lambda r: abs(r.speed_err or 0))
            line += f", speed {(ws.speed_err or 0) * 100:+.3f}% (cell {rows.index(ws) + 1:02d})"
        leaves = [r.leave_ms for r in rs if r.leave_ms is not None]
        if leaves:
            line += f", requests leave within {max(leaves):.2f} ms"
        queues = [r.queue_max_ms for r in rs if r.queue_max_ms is not None]
        if queues:
            line += f", queueing up to {max(queues):.2f} ms"
        lines.append(line)
    for r in rows:
        if r.cell.first_call:
            lines.append(f"first call of a process: TTFT worst {r.ttft_err_ms:+.3f} ms over {r.calls} processes")
    for r in out:
        if r.out_of_reach:
            cores = r.events_asked * (r.client_us_per_event + r.server_us_per_event) / 1e6
            c = r.cell
            lines += [
                f"cell {rows.index(r) + 1:02d} ({c.streams} streams x {c.rate:,.0f} tok/s x {c.k} token(s)/chunk x"
                f" N={c.total}) is OUT: TTFT {r.ttft_err_ms:+.2f} ms, speed"
                f" {(r.speed_err or 0) * 100:+.3f}%, server pacing p99 {r.pacing_p99_ms:.2f} ms",
                f"  {r.events_asked:,.0f} SSE events/s asked; measured CPU per event: server"
                f" {r.server_us_per_event:.1f} µs (one core sends at most {1e6 / r.server_us_per_event:,.0f}/s),"
                f" client {r.client_us_per_event:.1f} µs; together {cores:.2f} cores of {os.cpu_count()}"
                f" (server ran at {r.server_cpu * 100:.0f}%, client at {r.client_cpu * 100:.0f}%)",
            ]
    for r in rows:
        if r.ttft_out or r.speed_out:
            what = []
            if r.ttft_out:
                what.append(f"TTFT {r.ttft_err_ms:+.2f} ms ({r.ttft_err_unwaited_ms or 0:+.2f} ms unwaited)")
            if r.speed_out:
                what.append(
                    f"speed {(r.speed_err or 0) * 100:+.2f}% ({(r.speed_err_unwaited or 0) * 100:+.2f}% unwaited)"
                )
            lines.append(
                f"cell {rows.index(r) + 1:02d}: {', '.join(what)}: the client's reads came after it waited up to"
                f" {r.waited_ms:.2f} ms for a core: OUT (the host's load)"
            )
        if r.leave_out:
            assert r.leave_ms is not None and r.leave_wait_ms is not None
            lines.append(
                f"cell {rows.index(r) + 1:02d}: requests left within {r.leave_ms:.2f} ms, in one release of the gate,"
                f" during which the client waited {r.leave_wait_ms:.2f} ms for a core: leave OUT (the host's load)"
            )
    for r in missed:
        c = r.cell
        what = [name for name, ok in (("tokens", r.tokens_ok), ("TTFT", r.ttft_ok), ("speed", r.speed_ok),
                                      ("leave", r.leave_ok)) if ok is False]  # fmt: skip
        lines.append(f"MISS cell {rows.index(r) + 1:02d} ({c.group}, {c.streams} stream(s), R={c.rate:g},"
                     f" N={c.total}, k={c.k}, {c.flags}): {', '.join(what)}")  # fmt: skip
    waits = [(r.client_wait_ms, r.server_wait_ms) for r in rows if not math.isnan(r.client_wait_ms)]
    lines.append(
        f"other load on the host while measuring: the client waited {sum(c for c, _ in waits):.0f} ms for a core,"
        f" the server {sum(s for _, s in waits):.0f} ms (near 0 on an idle host)"
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
    parser.add_argument("--only", help="comma-separated groups: first, grid, n1, tokens, wire, reason, ttft, native")
    parser.add_argument("--json", type=Path, help="also write every cell's numbers here")
    parser.add_argument("--streams", type=int, help="only the cells of this many concurrent streams (1 or 16)")
    parser.add_argument("--pin", action="store_true", help="server on one core, client on another (quiet hosts)")
    parser.add_argument("--first-call", help=argparse.SUPPRESS)  # the child process of the first-call cell
    args = parser.parse_args()
    if args.first_call:
        first_call_child(json.loads(args.first_call))
        return
    selected = cells()
    if args.only:
        groups = set(args.only.split(","))
        selected = [c for c in selected if c.group in groups]
    if args.streams:
        selected = [c for c in selected if c.streams == args.streams]

    print(f"fidelity · {machine()}")
    tokens = code_tokens()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "sends.jsonl"
        with ServerProcess(log, tx_stamps=True) as server:
            print(f"reference server pid {server.pid} at {server.base_url}; {len(selected)} cells", flush=True)
            print(f"  {pin(server.pid) if args.pin else 'server and client not pinned (see --pin)'}", flush=True)
            rtt_s, _ = loopback_rtt(server.base_url, log)
            print(f"  loopback RTT {rtt_s * 1e6:.0f} µs (median)", flush=True)
            results = {i: first_calls(i, c, server.base_url, tokens) for i, c in enumerate(selected) if c.first_call}
            if os.path.exists("/proc/thread-self/schedstat"):
                record_bursts()  # the event loop runs in this thread
                record_reads()
            results.update(asyncio.run(run(selected, server.base_url, server.pid, tokens)))
        sent = read_log(log)

    rows = []
    for i, cell in enumerate(selected):
        run_ = results[i]
        ms = [measure(cell, call, sent[tag], rtt_s) for tag, call in run_.calls.items()]
        rows.append(summarize(cell, run_, ms, sent))
    print()
    print_table(rows)
    print("\nsummary")
    for line in summary(rows, rtt_s):
        print(f"  {line}")
    if args.json:
        rows_json = [{**asdict(r), "passed": r.passed} for r in rows]
        args.json.write_text(json.dumps({"rtt_s": rtt_s, "machine": machine(), "rows": rows_json}, indent=1))


if __name__ == "__main__":
    main()
