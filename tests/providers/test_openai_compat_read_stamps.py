"""Events are stamped when their bytes were read from the socket (the wire backend's `data_received`), not when
the SSE parser reached them."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator

import pytest

from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.types import Message, Prompt, RequestParams

CHAT = Prompt("chat", messages=(Message("user", "hi"),))


def _event(obj: object) -> bytes:
    payload = b"data: " + json.dumps(obj).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _reply() -> bytes:
    """A whole streamed reply in one buffer: role chunk, three tokens, finish, usage, [DONE]."""
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": f" t{i}"}}]} for i in range(3)]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 3}})
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"".join(_event(e) for e in events) + b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"


@pytest.fixture
async def one_write_server() -> AsyncIterator[str]:
    """Answers every request on a keep-alive connection with the whole reply in a single write."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                              if k.lower() == b"content-length")  # fmt: skip
                await reader.readexactly(length)
                writer.write(_reply())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    server.close()
    await server.wait_closed()


async def test_events_of_one_read_share_its_arrival_time(one_write_server: str) -> None:
    ticks = itertools.count(0, 1000)  # every clock read is 1 µs later than the one before
    provider = OpenAICompatProvider(one_write_server, "m", clock=lambda: next(ticks), max_concurrency=1)
    try:
        await provider.complete(CHAT, RequestParams(), None)  # opens the connection: its head read is unstamped
        call = await provider.complete(CHAT, RequestParams(), None)  # same connection, whole reply in one read
    finally:
        await provider.aclose()
    timing = call.timing
    assert call.text == " t0 t1 t2" and call.usage.completion_tokens == 3
    # Stamped at parse time, each of the 6 events would have read the clock anew, 1 µs apart.
    assert len(timing.chunk_ns) == 6 and len(set(timing.chunk_ns)) == 1
    assert timing.first_any_ns == timing.last_token_ns == timing.chunk_ns[0] > 0
    assert timing.close_ns is not None and timing.close_ns > timing.chunk_ns[0]


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    fields = (h.partition(b":") for h in head.split(b"\r\n"))
    length = next(int(v) for k, _, v in fields if k.lower() == b"content-length")
    while len(body) < length:
        body += conn.recv(65536)


async def test_the_speed_span_ends_at_the_last_token_its_read_ended_with() -> None:
    """A read's kernel stamp is its last byte's. The server writes its last token and the finish, usage and
    [DONE] events in one go (as a server that writes them back to back does when the client reads a moment late):
    the last token's stamp is theirs, so the output speed's span ends at the token before it, and the last one
    is counted after the span (n_after), as the first chunk's tokens are before it (n_first)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("kernel receive stamps are read on Linux")
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": f" t{i}"}}]} for i in range(3)]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    writes = [
        head + _event(events[0]) + _event(events[1]),
        _event(events[2]),
        _event(events[3])
        + _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        + _event({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 3}})
        + b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n",
    ]
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _read_request(conn)
            for i, data in enumerate(writes):
                if i:
                    time.sleep(0.03)  # each write its own read
                conn.sendall(data)
            conn.recv(1)  # until the client closes

    threading.Thread(target=serve, daemon=True).start()
    provider = OpenAICompatProvider(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", "m", max_concurrency=1)
    try:
        call = await provider.complete(CHAT, RequestParams(), None)
    finally:
        await provider.aclose()
        listener.close()
    timing = call.timing
    assert call.text == " t0 t1 t2" and call.usage.completion_tokens == 3
    role, t0, t1, t2, finish, usage = timing.chunk_ns
    assert role == t0 < t1 < t2 == finish == usage, timing.chunk_ns
    assert (timing.n_first, timing.n_first_source) == (1, "server")
    assert (timing.span_end_ns, timing.n_after, timing.n_after_source) == (t1, 1, "server")
    assert timing.last_token_ns == t2  # E2E still ends at the last token's read
    assert timing.output_speed(3) == pytest.approx(1 / ((t1 - timing.first_any_ns) / 1e9))
