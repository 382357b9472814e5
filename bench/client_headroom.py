"""Client headroom: how many tokens per second Ripsaw's client can parse and time, and the CPU it spends per token.

    python bench/client_headroom.py [--tokens N] [--streams-tokens N] [--rounds R] [--provider NAME|all]

A blast server in its own process answers every streamed request with a pre-built body sent as fast as the
socket takes it: one SSE event per token, each its own HTTP chunk (as vLLM, SGLang and llama.cpp send them),
then the usage chunk and [DONE]. Nothing waits on a schedule, so the rate the client reaches is its ceiling.
Measured with the real provider (OpenAICompatProvider: httpx, SSE decoding, JSON, one clock read per event):

  one stream   N tokens / wall time of the call, and client CPU per token (time.process_time)
  32 streams   32 calls at once: total tokens / wall time, and CPU per token

The same for each native provider (`--provider openai-responses`, `anthropic`, or `all`): the blast bodies are
then the reference server's Responses and Messages events (tests/refserver.py), one event per token.

The client is one Python thread, so "one stream" runs on one core while the server uses the other.
Target: >= 30,000 tok/s for one stream (10x the fastest systems users compare today).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from _common import machine, table
from _common import verdict as pass_miss

from ripsaw.providers.anthropic import AnthropicProvider
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.providers.openai_responses import OpenAIResponsesProvider
from ripsaw.records import ModelCall
from ripsaw.types import Message, Prompt, RequestParams
from tests.refserver import _NATIVE, ReceivedRequest, Reply, _frame

# provider -> (class, path, events the client times besides the tokens: chat's role, finish and usage chunks)
PROVIDERS = {
    "openai": (OpenAICompatProvider, "/v1/chat/completions", 3),
    "openai-responses": (OpenAIResponsesProvider, "/v1/responses", 0),
    "anthropic": (AnthropicProvider, "/v1/messages", 0),
}

TARGET_TOK_S = 30_000
STREAMS = 32
VOCAB = (" def", " solve", "(", "nums", ")", ":", "\n   ", " return", " sum", " café", " →")


def _event(obj: object) -> bytes:
    payload = b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def sse_body(n: int) -> bytes:
    """A chat-completions stream of n one-token events, shaped like a real server's (id, model, created,
    choices[0].delta, logprobs, finish_reason), then the finish chunk, usage and [DONE]."""
    base = {"id": "chatcmpl-headroom", "object": "chat.completion.chunk", "created": 1, "model": "blast"}

    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        return _event({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"content": VOCAB[i % len(VOCAB)]}) for i in range(n)]
    parts.append(chunk({}, "stop"))
    usage = {"prompt_tokens": 3, "completion_tokens": n, "total_tokens": n + 3}
    parts.append(_event({**base, "choices": [], "usage": usage}))
    parts.append(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nServer: blast\r\n\r\n"
    return head + b"".join(parts)


def native_body(path: str, n: int) -> bytes:
    """A Responses or Messages stream of n one-token text deltas, as the reference server builds it."""
    request = ReceivedRequest(0, "POST", path, {}, {"model": "blast"}, 0)
    stream = _NATIVE[path](request, Reply(text=[VOCAB[i % len(VOCAB)] for i in range(n)], model="blast"))
    events = b"".join(_frame(event) for _, _, event in [*stream.head, *stream.events])
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nServer: blast\r\n\r\n"
    return head + events + b"0\r\n\r\n"


def _serve(sock: socket.socket, sizes: list[int]) -> None:
    """The blast server's process: every POST gets the body of its path whose token count its JSON "max_tokens"
    (Responses: "max_output_tokens") names."""
    bodies = {("/v1/chat/completions", n): sse_body(n) for n in sizes}
    bodies |= {(path, n): native_body(path, n) for path in _NATIVE for n in sizes}

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = json.loads(await reader.readexactly(length))
                writer.write(bodies[path, request.get("max_tokens") or request["max_output_tokens"]])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


@dataclass(slots=True)
class Sample:
    tokens: int
    wall_s: float
    cpu_s: float  # client process CPU (user + system)

    @property
    def tok_s(self) -> float:
        return self.tokens / self.wall_s

    @property
    def cpu_us_per_token(self) -> float:
        return self.cpu_s / self.tokens * 1e6


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(run: Callable[[], Awaitable[list[ModelCall]]], expected: int, extra_events: int) -> Sample:
    cpu0, t0 = _cpu_s(), time.perf_counter()
    calls = await run()
    wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    for call in calls:  # a fast wrong answer is no answer: every token counted, every event timed
        if call.usage.completion_tokens != expected or call.usage.source != "server":
            raise RuntimeError(f"expected {expected} server-counted tokens, got {call.usage}")
        if call.timing.chunks != expected + extra_events:
            raise RuntimeError(f"expected {expected + extra_events} timed events, got {call.timing.chunks}")
    return Sample(expected * len(calls), wall, cpu)


async def bench(name: str, base_url: str, n_one: int, n_each: int, rounds: int) -> tuple[list[Sample], list[Sample]]:
    cls, _, extra = PROVIDERS[name]
    provider = cls(base_url, "blast", max_concurrency=STREAMS)
    prompt = Prompt("chat", messages=(Message("user", "go"),))

    def calls(n: int, count: int) -> Callable[[], Awaitable[list[ModelCall]]]:
        params = RequestParams(temperature=None, max_tokens=n)
        return lambda: asyncio.gather(*(provider.complete(prompt, params, None) for _ in range(count)))

    try:
        await calls(16, STREAMS)()  # open every pooled connection first
        one = [await _measure(calls(n_one, 1), n_one, extra) for _ in range(rounds)]
        many = [await _measure(calls(n_each, STREAMS), n_each, extra) for _ in range(rounds)]
    finally:
        await provider.aclose()
    return one, many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens in the one-stream reply")
    parser.add_argument("--streams-tokens", type=int, default=10_000, help="tokens in each of the 32 replies")
    parser.add_argument("--rounds", type=int, default=5, help="measurements of each (the median is reported)")
    parser.add_argument("--provider", default="openai", choices=[*PROVIDERS, "all"], help="which API's client")
    args = parser.parse_args()
    names = list(PROVIDERS) if args.provider == "all" else [args.provider]

    print(f"client headroom · {machine()}")
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(sock, sorted({16, args.tokens, args.streams_tokens})), daemon=True
    )
    server.start()
    sock.close()
    results = {}
    try:
        for name in names:
            url = f"http://127.0.0.1:{port}/v1"
            results[name] = asyncio.run(bench(name, url, args.tokens, args.streams_tokens, args.rounds))
    finally:
        server.terminate()
        server.join()

    rows = []
    cases = [(f"{name}: 1 stream x {args.tokens:,} tokens", results[name][0], True) for name in names]
    cases += [
        (f"{name}: {STREAMS} streams x {args.streams_tokens:,} tokens", results[name][1], False) for name in names
    ]
    for name, samples, one in cases:
        tok_s = statistics.median(s.tok_s for s in samples)
        cpu = statistics.median(s.cpu_us_per_token for s in samples)
        util = statistics.median(s.cpu_s / s.wall_s for s in samples)
        ok = tok_s >= TARGET_TOK_S if one else None
        low, high = min(s.tok_s for s in samples), max(s.tok_s for s in samples)
        rows.append([name, f"{tok_s:,.0f}", f"{low:,.0f}", f"{high:,.0f}", f"{cpu:.2f}", f"{util * 100:.0f}%",
                     f"{1e6 / cpu:,.0f}", pass_miss(ok)])  # fmt: skip
    print()
    print(table(["case", "tok/s median", "min", "max", "CPU µs/token", "client CPU", "tok/s per CPU-second",
                 "≥30k"], rows))  # fmt: skip
    print(f"\n({args.rounds} rounds each; the server sends each reply as one pre-built blob from its own process)")
    print("\nsummary")
    for i, name in enumerate(names):
        one_row, many_row = rows[i], rows[len(names) + i]
        target = f"target >= {TARGET_TOK_S:,}: {one_row[-1]}"
        print(f"  {name}, one stream: {one_row[1]} tok/s, {one_row[4]} µs CPU per token ({target});"
              f" {STREAMS} streams: {many_row[1]} tok/s aggregate ({many_row[4]} µs CPU per token)")  # fmt: skip


if __name__ == "__main__":
    main()
