"""Events are stamped when their bytes were read from the socket (the wire backend's `data_received`), not when
the SSE parser reached them."""

from __future__ import annotations

import asyncio
import itertools
import json
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
