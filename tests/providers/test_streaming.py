"""The shared streaming core: wire stamps, the departure gate, TLS on the wire backend, n_first, proxies, messages.

Real sockets against the reference server (or a TLS server made here); no assertion on how long anything took.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import trustme

from ripsaw.errors import ProviderError
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.providers.streaming import (
    DepartureGate,
    Timeline,
    WireBackend,
    WireStream,
    WireTicket,
    WireTransport,
    env_proxy,
    error_message,
    first_chunk_tokens,
    tokens_after_span,
    warm_up,
)
from ripsaw.providers.tokenizers import tokenizer_for
from ripsaw.records import CallTiming, Usage
from ripsaw.types import Message, Prompt, RequestParams
from tests.refserver import RefServer, Reply

CHAT = Prompt("chat", messages=(Message("user", "hi"),))
PARAMS = RequestParams()
WORDS = [f" w{i}" for i in range(24)]


@pytest.fixture
async def make(refserver: RefServer) -> AsyncIterator[Callable[..., OpenAICompatProvider]]:
    made: list[OpenAICompatProvider] = []

    def make(**kwargs: Any) -> OpenAICompatProvider:
        provider = OpenAICompatProvider(refserver.base_url, kwargs.pop("model", "test-model"), **kwargs)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


# -- the wire stamp ------------------------------------------------------------------------------------------


async def test_t_send_is_the_wire_and_the_wait_before_it_is_queueing(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    ticks = iter(range(0, 10**12, 1000))  # every clock read 1 µs after the one before
    refserver.script = [Reply(text=WORDS, ttft_s=0.01)]
    provider = make(clock=lambda: next(ticks))
    call = await provider.complete(CHAT, PARAMS, None)
    t = call.timing
    assert t.t_send_wire
    # The call read the clock when it had its slot; the send path ran before the wire stamp, reading nothing.
    assert t.queue_ns is not None and t.queue_ns >= 1000
    assert t.first_any_ns is not None and 0 < t.chunk_ns[0] <= t.first_any_ns


async def test_a_request_larger_than_the_socket_takes_is_stamped_when_it_drains(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    refserver.script = [Reply(text=["ok"])]
    call = await make().complete(Prompt("complete", text="x" * 8_000_000), PARAMS, None)
    assert call.text == "ok" and call.timing.t_send_wire and call.timing.queue_ns is not None
    assert refserver.requests[0].body["prompt"] == "x" * 8_000_000


async def test_a_mock_transport_has_no_wire_stamp() -> None:
    body = b'data: {"choices": [{"delta": {"content": "a"}, "finish_reason": "stop"}]}\n\n'
    transport = httpx.MockTransport(lambda _: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                                             content=body))  # fmt: skip
    provider = OpenAICompatProvider("http://endpoint.test/v1", "m", transport=transport)
    try:
        call = await provider.complete(CHAT, PARAMS, None)
    finally:
        await provider.aclose()
    assert call.text == "a" and not call.timing.t_send_wire and call.timing.queue_ns is None


async def test_calls_started_together_all_pass_the_gate(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    """Every call of a burst is held and released (how close together they leave is bench/fidelity.py's to
    measure); none is left counted as preparing, on success or failure."""
    refserver.script = [Reply(text=["ok"])] * 8 + [Reply(status=400)] * 4
    provider = make(max_concurrency=8)
    calls = await asyncio.gather(*(provider.complete(CHAT, PARAMS, None) for _ in range(8)))
    assert all(c.timing.t_send_wire and c.timing.queue_ns is not None for c in calls)
    failed = await asyncio.gather(*(provider.complete(CHAT, PARAMS, None) for _ in range(4)), return_exceptions=True)
    assert all(isinstance(e, ProviderError) for e in failed)
    assert provider._client._gate.preparing == 0


async def test_sixteen_calls_started_together_leave_after_the_last_one_started(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    """The burst the bench times, with a model whose tokenizer Ripsaw loads: every call is wire-stamped, none is
    left counted as preparing, and no request reached the wire before every call of the burst had started (its
    t_queued). How close together they leave is bench/fidelity.py's to measure."""
    reads: dict[asyncio.Task[Any] | None, list[int]] = {}

    def clock() -> int:  # each call's clock reads, in order, by the task that made them
        t = time.perf_counter_ns()
        reads.setdefault(asyncio.current_task(), []).append(t)
        return t

    refserver.script = [Reply(text=WORDS[:4], rate=2000.0)]
    provider = make(model="gpt-4o", max_concurrency=16, clock=clock)
    await provider.start()
    tasks = [asyncio.ensure_future(provider.complete(CHAT, PARAMS, None)) for _ in range(16)]
    calls = await asyncio.gather(*tasks)
    queued = [reads[task][0] for task in tasks]  # the first clock read of a call without deadline: t_queued
    sent = []
    for call, t_queued in zip(calls, queued, strict=True):
        assert call.text == "".join(WORDS[:4]) and call.timing.t_send_wire and call.timing.queue_ns is not None
        sent.append(t_queued + call.timing.queue_ns)
    assert min(sent) >= max(queued)
    assert len(refserver.requests) == 16 and provider._client._gate.preparing == 0


async def test_the_gate_holds_every_request_until_the_last_one_is_ready() -> None:
    gate = DepartureGate()
    sent: list[str] = []

    class Stream:
        def __init__(self, name: str) -> None:
            self.name = name

        def send_held(self) -> None:
            sent.append(self.name)

    tickets = [WireTicket(0, gate) for _ in range(3)]
    for ticket in tickets:
        ticket.join()
    first = asyncio.create_task(gate.depart(Stream("a"), tickets[0]))  # type: ignore[arg-type]
    second = asyncio.create_task(gate.depart(Stream("b"), tickets[1]))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert sent == [] and not first.done() and not second.done()
    with tickets[2].waiting_on_network():  # connecting: not preparing, so nobody waits for it
        await asyncio.gather(first, second)
    assert sent == ["a", "b"] and gate.preparing == 1
    await gate.depart(Stream("c"), tickets[2])  # type: ignore[arg-type]
    assert sent == ["a", "b", "c"] and gate.preparing == 0


async def test_a_request_cancelled_at_the_gate_is_never_sent() -> None:
    gate = DepartureGate()
    sent: list[str] = []

    class Stream:
        def send_held(self) -> None:
            sent.append("x")

    a, b = WireTicket(0, gate), WireTicket(0, gate)
    a.join()
    b.join()
    waiting = asyncio.create_task(gate.depart(Stream(), a))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    b.quit()
    assert sent == [] and gate.preparing == 0


# -- TLS on the wire backend ---------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's receive timestamps (SO_TIMESTAMPNS) are Linux's")
async def test_a_read_is_stamped_when_its_data_arrived_not_when_the_busy_loop_got_to_it() -> None:
    """The data reaches the socket while the event loop is blocked (as it is when it parses other streams'
    events); the read's stamp is the kernel's arrival, before the loop was free, not the instant it read."""
    listener = socket.create_server(("127.0.0.1", 0))
    go = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            go.wait(5)
            conn.sendall(b"hello")
            conn.recv(1)  # until the client closes

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        stream = await WireBackend(time.perf_counter_ns).connect_tcp("127.0.0.1", listener.getsockname()[1])
        go.set()
        time.sleep(0.05)  # the loop is busy: the data arrives meanwhile
        free = time.perf_counter_ns()
        assert await stream.read(100) == b"hello"
        assert isinstance(stream, WireStream) and stream.last_read_ns is not None and stream.last_read_ns < free
        await stream.aclose()
    finally:
        go.set()
        await asyncio.to_thread(server.join, 5)  # the loop must run to close the connection
        listener.close()


@pytest.mark.parametrize("relayed", [False, True])
async def test_tls_endpoints_are_stamped_at_the_wire_too(relayed: bool) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    body = (b'data: {"choices": [{"delta": {"content": "secure"}, "finish_reason": "stop"}], '
            b'"usage": {"completion_tokens": 1}}\n\ndata: [DONE]\n\n')  # fmt: skip

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                      if k.lower() == b"content-length")  # fmt: skip
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))  # fmt: skip
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    transport = WireTransport(url, clock=time.perf_counter_ns, max_connections=1, trust_env=False,
                              ssl_context=client_context)  # fmt: skip
    provider = OpenAICompatProvider(url, "m", transport=transport)
    tap = Collect()
    try:
        if relayed:  # a relayed request has connections of its own (`_RelayConnections`), TLS too
            request = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True})
            call = await provider.relay(request.encode(), lambda: CHAT, None, tap)
        else:
            call = await provider.complete(CHAT, PARAMS, None)
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()
    assert call.text == "secure" and call.timing.t_send_wire and call.timing.first_any_ns is not None
    assert b"".join(tap.parts) == (body if relayed else b"")


# -- n_first ------------------------------------------------------------------------------------------------


async def test_n_first_from_the_servers_running_usage(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    # 10 ms between chunks; the last is written with the finish event (the server does not yield between them)
    refserver.script = [Reply(text=WORDS, tokens_per_chunk=5, usage_every_chunk=True, rate=500)]
    call = await make().complete(CHAT, PARAMS, None)
    t = call.timing
    first_read = _first_read_token_chunks(t)  # 1 but on a loaded machine, whose loop may take two at once
    assert (t.n_first, t.n_first_source, call.usage.completion_tokens) == (5 * first_read, "server", 24)
    assert (t.n_after, t.n_after_source) == (4, "server")  # 24 - the running usage (20) on the chunk before
    speed = t.output_speed(24)
    assert speed is not None and t.first_any_ns is not None and t.span_end_ns is not None
    assert t.span_end_ns == t.chunk_ns[-4] < t.last_token_ns  # the fourth token chunk: then the fifth, finish, usage
    assert speed == pytest.approx((20 - 5 * first_read) / ((t.span_end_ns - t.first_any_ns) / 1e9))


def _first_read_token_chunks(t: CallTiming) -> int:
    """The token chunks that arrived with the first one (the refserver's role-only chunk comes first)."""
    return sum(1 for at in t.chunk_ns[1:] if at == t.first_any_ns)


async def test_one_token_per_chunk_is_proven_by_the_servers_count(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    refserver.script = [Reply(text=WORDS, rate=200)]  # 5 ms apart
    t = (await make().complete(CHAT, PARAMS, None)).timing
    assert (t.n_first, t.n_first_source) == (_first_read_token_chunks(t), "server")


async def test_n_first_from_the_tokenizer_when_chunks_carry_many_tokens(
    refserver: RefServer, make: Callable[..., OpenAICompatProvider]
) -> None:
    text = ["def", " add", "(a", ",", " b", "):\n", "    return", " a", " +", " b"]
    refserver.script = [Reply(text=text, tokens_per_chunk=4, rate=200)]  # 20 ms apart
    call = await make(model="gpt-4o").complete(CHAT, PARAMS, None)
    # "def add(a," is 4 tokens for o200k_base too (on a loaded machine the first read may hold two chunks)
    tokenizer = tokenizer_for("gpt-4o")
    assert tokenizer is not None
    first = await tokenizer.count("".join(text[: 4 * _first_read_token_chunks(call.timing)]))
    assert (call.timing.n_first, call.timing.n_first_source, call.usage.source) == (first, "tokenizer", "server")


def test_n_first_falls_back_to_a_character_share() -> None:
    timeline = Timeline()
    timeline.chunk(10)
    timeline.token("content", "abcdef")  # 6 of 24 characters
    timeline.chunk(20)
    timeline.token("content", "x" * 18)
    assert asyncio.run(first_chunk_tokens(timeline, Usage(completion_tokens=8, source="server"), None)) == (
        2,
        "estimated",
    )
    assert asyncio.run(first_chunk_tokens(Timeline(), Usage(completion_tokens=8), None)) is None


# -- proxies and messages ------------------------------------------------------------------------------------


def test_the_environments_proxy_for_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example,localhost")
    proxy = env_proxy("https://api.example.com/v1")
    assert proxy is not None and proxy.geturl() == "http://proxy.internal:3128"
    assert env_proxy("https://llm.internal.example/v1") is None
    assert env_proxy("http://api.example.com/v1") is None  # only HTTPS_PROXY is set


def test_error_messages_from_every_api_shape() -> None:
    assert error_message(b'{"error": {"message": "rate  limited\\n"}}') == "rate limited"
    assert error_message('{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}') == (
        "Overloaded"
    )
    assert error_message(b'{"detail": "no such model"}') == "no such model"
    assert error_message(b"") == "(empty body)"


async def test_typed_events_reach_the_reply_with_their_names() -> None:
    """Responses and Messages streams name their events (`event: ...`); pings are comments or named events."""
    body = (b"event: ping\ndata: {}\n\n: keep-alive\n\n"
            b'event: delta\ndata: {"text": "hel"}\n\nevent: delta\ndata: {"text": "lo"}\n\n'
            b"event: stop\ndata: {}\n\n")  # fmt: skip
    names: list[str] = []

    class Typed:
        def __init__(self) -> None:
            self.timeline = Timeline()
            self.stopped = False

        async def read(self, events: AsyncIterator[tuple[int, Any]]) -> None:
            async for now, event in events:
                names.append(event.event)
                if event.event == "delta":
                    self.timeline.chunk(now)
                    self.timeline.token("content", json.loads(event.data)["text"])
                self.stopped = self.stopped or event.event == "stop"

        def complete(self) -> bool:
            return self.stopped

        def incomplete(self) -> str:
            return "no stop event"

    from ripsaw.providers.streaming import StreamingClient

    transport = httpx.MockTransport(lambda _: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                                             content=body))  # fmt: skip
    client = StreamingClient("http://endpoint.test/v1", {"x-api-key": "k"}, secret="k", transport=transport)
    try:
        reply, retries, finished = await client.call("/messages", b"{}", Typed, None)
    finally:
        await client.aclose()
    assert names == ["ping", "delta", "delta", "stop"] and finished and retries == 0
    assert reply.timeline.first_text == ["hel"] and reply.timeline.token_chunks == 2


# -- a tap: the answer's body handed over from the socket reads --------------------------------------------------


class Collect:
    """A tap that keeps what it is given, one entry per hand-over."""

    def __init__(self) -> None:
        self.started = False
        self.parts: list[bytes] = []
        self.whole = asyncio.Event()

    def start(self, status: int, headers: httpx.Headers) -> None:
        self.started = True

    def data(self, raw: bytes) -> None:
        self.parts.append(raw)
        if b"".join(self.parts).endswith(b"data: [DONE]\n\n"):
            self.whole.set()


async def test_a_tap_gets_the_body_as_it_is_read_even_while_the_parser_waits(refserver: RefServer) -> None:
    """The relay does not wait for the events before it to be parsed: here the parser stops at the first event
    until the tap holds the whole answer (a relay fed by the parser would never get there)."""
    from ripsaw.providers.openai_compat import _ChatReply
    from ripsaw.providers.streaming import StreamingClient

    refserver.reset([Reply(text=WORDS, rate=2000)])
    tap = Collect()

    class Stalled(_ChatReply):
        async def read(self, events: AsyncIterator[tuple[int, Any]]) -> None:
            async def after_first() -> AsyncIterator[tuple[int, Any]]:
                first = True
                async for item in events:
                    yield item
                    if first:
                        first = False
                        await asyncio.wait_for(tap.whole.wait(), 10)

            await super().read(after_first())

    client = StreamingClient(refserver.base_url, {})
    try:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
        reply, _, finished = await client.call("/chat/completions", body, lambda: Stalled(True), None, tap=tap)
    finally:
        await client.aclose()
    assert finished and "".join(reply.content) == "".join(WORDS)
    relayed = b"".join(tap.parts)
    assert relayed.startswith(b"data: ") and all(w.strip().encode() in relayed for w in WORDS)
    assert not relayed.startswith(b"HTTP/")  # the body alone: no head, no chunk framing
    assert b"\r\n" not in relayed


async def test_a_relayed_request_departs_at_once_on_a_kept_connection(refserver: RefServer) -> None:
    """`depart` writes the request before its caller awaits anything (the timing proxy calls it from the callback
    that read the request); `relay` then reads the answer as it would its own request's. One slot of concurrency:
    a departure holds it until its call is over, and an abandoned one gives it back."""
    refserver.reset([Reply(text=WORDS, rate=2000)] * 4)
    provider = OpenAICompatProvider(refserver.base_url, "m", max_concurrency=1, max_retries=0)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
    try:
        await warm_up()
        assert provider.depart(body, Collect()) is None  # no connection kept yet: the call connects
        await provider.relay(body, lambda: CHAT, None, Collect())
        tap = Collect()
        departed = provider.depart(body, tap)
        assert departed is not None and provider.depart(body, Collect()) is None  # its slot is held
        waited = time.monotonic() + 5  # the server runs in its own thread: it gets the request while we block
        while len(refserver.requests) < 2 and time.monotonic() < waited:
            time.sleep(0.01)
        assert len(refserver.requests) == 2
        call = await provider.relay(body, lambda: CHAT, None, tap, departed)
        assert call.text == "".join(WORDS) and call.timing.t_send_wire and call.timing.first_any_ns is not None
        assert b"".join(tap.parts).endswith(b"data: [DONE]\n\n")
        abandoned = provider.depart(body, Collect())  # the slot and the kept connection are back
        assert abandoned is not None
        abandoned.abandon()
        assert provider.depart(body, Collect()) is None  # its connection was closed, not kept
        again = await asyncio.wait_for(provider.relay(body, lambda: CHAT, None, Collect()), 10)  # the slot is free
        assert again.text == "".join(WORDS)
    finally:
        await provider.aclose()


def feed_all(framed: bytes, headers: dict[str, str], cut: int) -> list[bytes]:
    from ripsaw.providers.streaming import _BodyFeed

    out: list[bytes] = []
    feed = _BodyFeed(httpx.Headers(headers), out.append)
    for piece in (framed[:cut], framed[cut:]):
        feed.feed(piece)
    return out


def test_a_chunked_body_is_unframed_wherever_the_reads_split_it() -> None:
    events = [b"data: one\n\n", b"data: two, a longer event\n\n", b"data: [DONE]\n\n"]
    framed = b"".join(b"%x;ext=1\r\n%b\r\n" % (len(e), e) for e in events) + b"0\r\nx-trailer: t\r\n\r\nNEXT"
    for cut in range(len(framed) + 1):
        out = feed_all(framed, {"transfer-encoding": "chunked"}, cut)
        assert b"".join(out) == b"".join(events), cut  # nothing of the framing, the trailer or what follows
        assert len(out) <= 2 and all(out), cut  # one hand-over per read that carried body bytes


def test_a_body_with_a_length_stops_there_and_one_without_goes_to_the_close() -> None:
    assert b"".join(feed_all(b"data: x\n\nMORE", {"content-length": "9"}, 4)) == b"data: x\n\n"
    assert b"".join(feed_all(b"data: x\n\nMORE", {}, 4)) == b"data: x\n\nMORE"


def test_a_malformed_chunk_size_stops_the_feed() -> None:
    assert feed_all(b"5\r\nhello\r\nzz\r\nmore", {"transfer-encoding": "chunked"}, 3) == [b"hello"]


def test_the_body_starts_after_the_final_head() -> None:
    from ripsaw.providers.streaming import _after_head

    read = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nb\r\ndata: x"
    assert _after_head(read) == b"b\r\ndata: x"


async def test_taps_of_calls_one_after_another_on_a_kept_connection_each_get_their_answer(
    refserver: RefServer,
) -> None:
    from ripsaw.providers.openai_compat import _ChatReply
    from ripsaw.providers.streaming import StreamingClient

    refserver.reset([Reply(text=WORDS[:12], rate=4000), Reply(text=WORDS[12:], rate=4000)])
    client = StreamingClient(refserver.base_url, {}, max_concurrency=1)
    taps = [Collect(), Collect()]
    try:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
        for tap in taps:
            await client.call("/chat/completions", body, lambda: _ChatReply(True), None, tap=tap)
    finally:
        await client.aclose()
    first, second = (b"".join(t.parts) for t in taps)
    assert first.endswith(b"data: [DONE]\n\n") and second.endswith(b"data: [DONE]\n\n")
    assert first.count(b"data: [DONE]") == second.count(b"data: [DONE]") == 1
    assert b" w11" in first and b" w12" not in first and b" w12" in second and b" w11" not in second


async def test_a_relayed_request_is_sent_as_a_direct_one_and_keeps_its_connection_while_the_server_does() -> None:
    """Relayed requests are written by `_RelayConnections`, not httpx: the endpoint must get the same head (the key
    included) and body, a kept connection is used again, and one the server closed while idle is not."""
    from ripsaw.providers.openai_compat import _ChatReply
    from ripsaw.providers.streaming import StreamingClient

    seen: list[tuple[int, dict[bytes, bytes], bytes]] = []  # (connection, headers, body) per request
    events = b'data: {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'
    ids = itertools.count()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = next(ids)
        try:
            for _ in range(2):  # two requests a connection at most, then the server closes it
                lines = (await reader.readuntil(b"\r\n\r\n")).rstrip(b"\r\n").split(b"\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines[1:])}
                seen.append((connection, headers, await reader.readexactly(int(headers[b"content-length"]))))
                head, tail = events[: len(events) // 2], events[len(events) // 2 :]  # an event split across chunks
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                             b"\r\n%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n" % (len(head), head, len(tail), tail))  # fmt: skip
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the client closed it
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    client = StreamingClient(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1",
                             {"Authorization": "Bearer sk-real"}, secret="sk-real")  # fmt: skip
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
    taps = [Collect() for _ in range(3)]
    try:
        results = [await client.call("/chat/completions", body, lambda: _ChatReply(True), None)]
        for i, tap in enumerate(taps):
            if i == 2:
                await asyncio.sleep(0.05)  # the server has closed the relays' connection: the loop sees it first
            results.append(await client.call("/chat/completions", body, lambda: _ChatReply(True), None, tap=tap))
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    assert all(finished and retries == 0 and reply.content == ["hi"] for reply, retries, finished in results)
    assert all(b"".join(tap.parts) == events for tap in taps)
    direct, *relayed = seen
    assert all(headers == direct[1] and sent == body for _, headers, sent in relayed)
    assert direct[1][b"authorization"] == b"Bearer sk-real" and direct[1][b"content-length"] == b"%d" % len(body)
    assert [c for c, _, _ in seen] == [0, 1, 1, 2]  # httpx's own; the relays' kept one; a new one once it closed


@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK\r\nConnection: close", b"HTTP/1.0 200 OK"])
async def test_a_relay_does_not_reuse_a_connection_its_server_said_it_closes(head: bytes) -> None:
    from ripsaw.providers.openai_compat import _ChatReply
    from ripsaw.providers.streaming import StreamingClient

    events = b'data: {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next(int(v) for k, _, v in (h.partition(b":") for h in lines) if k.lower() == b"content-length")
        await reader.readexactly(length)
        writer.write(
            head + b"\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%b" % (len(events), events)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    client = StreamingClient(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", {})
    try:
        for _ in range(2):  # the second at once: a reused connection would fail it and take a retry
            _, retries, _ = await client.call("/chat/completions", b"{}", lambda: _ChatReply(True), None, tap=Collect())
            assert retries == 0
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_a_try_that_ended_leaves_the_next_tries_tap_on_its_connection_alone() -> None:
    """A connection goes back to the pool before the try that used it has finished; another try may already have
    sent its request on it when the first one lets go of its tap."""
    from ripsaw.providers.streaming import _WireProtocol

    protocol = _WireProtocol(time.perf_counter_ns)
    stream = WireStream(None, protocol)  # type: ignore[arg-type]  # no writes here
    ended, next_try = WireTicket(0), WireTicket(0)
    protocol.captured, protocol.tapped_by = bytearray(), next_try  # the next try's request has left
    stream.untap(ended)
    protocol.data_received(b"HTTP/1.1 200 OK\r\n\r\ndata: x\n\n")
    assert protocol.captured == b"HTTP/1.1 200 OK\r\n\r\ndata: x\n\n"
    stream.untap(next_try)
    assert protocol.captured is None and protocol.feed is None


def _read(timeline: Timeline, at: int, *tokens: str | None) -> None:
    """One socket read at `at`: its events in order, a string a token chunk, None an event without tokens."""
    for text in tokens:
        timeline.event(at)
        timeline.chunk(at)
        if text is not None:
            timeline.token("content", text)


def test_the_speed_span_is_bounded_by_stamps_that_are_their_own() -> None:
    """A read's stamp is exact only for its last event. The first read held two token chunks: both are n_first.
    The last token chunk came with the finish event: the span ends at the chunk before it, which ended its read."""
    timeline = Timeline()
    _read(timeline, 100, None, "a", "b")  # role, then two token chunks, in the first read
    _read(timeline, 200, "c")
    _read(timeline, 300, "d", "e")  # the read's last event is a token chunk: its stamp is e's
    _read(timeline, 400, "f", None)  # the last token, with the finish event after it
    usage = Usage(completion_tokens=6, source="server")
    assert (timeline.first_chunks, timeline.first_text) == (2, ["a", "b"])
    assert asyncio.run(first_chunk_tokens(timeline, usage, None)) == (2, "server")  # one token per chunk: N = 6
    assert asyncio.run(tokens_after_span(timeline, usage, None)) == (300, 1, "server")
    # (6 - 2 - 1) tokens over 300 - 100 ns
    t = timeline.timing
    t.n_first, t.n_first_source, (t.span_end_ns, t.n_after, t.n_after_source) = 2, "server", (300, 1, "server")
    assert t.output_speed(6) == pytest.approx(3 / 200e-9)
    # A reply that ends on a token chunk ends its span there; one read of everything has no span.
    ends = Timeline()
    _read(ends, 100, "a")
    _read(ends, 200, "b")
    assert asyncio.run(tokens_after_span(ends, Usage(completion_tokens=2), None)) == (200, 0, None)
    alone = Timeline()
    _read(alone, 100, "a", "b", None)
    assert alone.span_end() is None
    # Without the server's count, the tokens after the span are the characters' share (marked).
    assert asyncio.run(tokens_after_span(timeline, Usage(completion_tokens=12, source="estimated"), None)) == (
        300,
        2,
        "estimated",
    )
