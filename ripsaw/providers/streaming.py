"""What every streamed HTTP provider shares: the wire stamps, SSE reading, retries, error messages, deadline cuts.

A provider of one API (chat completions, Responses, Messages) builds its request body and parses its events;
everything else is here, so each API is timed and retried the same way (DESIGN.md, "Timing definitions"):

    client = StreamingClient(base_url, headers, secret=api_key, max_concurrency=..., clock=..., retry=RetryPolicy())
    reply, retries, finished = await client.call("/chat/completions", body_bytes, MyReply, deadline_ns)

`MyReply` is the provider's per-try state (the `Reply` protocol): it reads the stamped SSE events of one
response into its `Timeline` and says whether the reply came whole. `call` runs the tries: a concurrency
slot, the POST, the status check, the read, the retry policy and the deadline cut. Afterwards the provider
turns the reply into a ModelCall with `count_usage` (server usage, else its tokenizer, else the estimate) and
`first_chunk_tokens` (n_first). For an API of typed events (Responses, Messages), a reply's `read` looks like:

    async for now, event in events:            # event.event: the `event:` name ("message" when absent)
        if event.event == "ping":
            continue                           # keep-alive: not a chunk
        if event.event == "error":
            raise Retryable(f"error event in the stream: {error_message(event.data)}")
        obj = json.loads(event.data)
        if event.event == "content_block_delta":
            self.timeline.chunk(now)
            self.timeline.token("content", obj["delta"]["text"])   # "reasoning" for thinking, "tool" for JSON
        ...                                    # a stop event sets what `complete()` returns

Only events that carry output are chunks (`timeline.chunk`); a token is a non-empty delta (`timeline.token`).
Headers (`x-api-key`, `anthropic-version`) go to the client's constructor; `secret` is scrubbed from messages.

Timing, per try:
- t_queued: the call has its concurrency slot and starts its request (the "decided to send" instant).
- t_send: the request's last byte left the client (handed to the kernel), stamped by `WireBackend`, the httpcore
  network backend every connection of a `StreamingClient` runs on. Everything between t_queued and t_send (the
  pool, h11, lazy imports, connecting, TLS) is queueing, recorded per call as `queue_ns`, never TTFT.
- An event's instant is when the socket read that delivered its last byte happened: the backend's protocol
  stamps every read as the event loop performs it (`data_received`), before any task parses it, so a busy loop
  (16 streams) delays the parsing, not the stamp. On Linux the stamp is the kernel's receive timestamp of the
  read's data (SO_TIMESTAMPNS: when its last byte reached the socket), so not even a loop busy with other streams'
  events, or a process waiting for a core, delays it (at 16 streams x 3,000 tok/s the loop's own instant read
  the last tokens of short replies 1-3 ms late: output speed -2% to -10%). Parsing is lazy (h11 reads only when
  its buffer holds no complete HTTP chunk), so when an event comes out, the latest read on its connection is the
  one that delivered its last byte. Without the backend (a mock transport in tests) t_send falls back to
  t_queued and events are stamped when parsed; `CallTiming.t_send_wire` says which.
- Requests started together leave together: a request's bytes are held until every call of the same client
  that is preparing its request has one too (`DepartureGate`), then all are written in one go, so 16 calls
  started at once reach the server within a fraction of a millisecond instead of one send path after another.
  A tapped (relayed) request skips the gate: it arrives alone, and its scaffold counts any wait as TTFT.

Failures, and what is retried (exponential backoff with full jitter, or exactly the server's Retry-After):
- 408, 409, 429 and 5xx answers (529 "overloaded" too), connection errors, read timeouts (a stalled stream),
  and streams cut short (reset, ended before the reply was complete, malformed data, an error event).
- Any other status (400, 401, 404, ...) raises ProviderError at once: retrying cannot fix the request.
- Retries stop after `max_retries`, or when the next wait would end past the deadline; both raise ProviderError
  (an infra error: the endpoint, not the model, failed). A reply that came whole is not retried for losing the
  rest of its stream (usage, `[DONE]`).

The deadline cuts the try in progress, wherever it is (waiting for a slot, connecting, streaming): the response
is closed and the partial reply comes back with `finished=False`.

A `Tap` (the timing proxy's, ripsaw.agents.proxy) sees the answer as it comes: its status and headers once the
answer is accepted (200, an event stream), then the body of every socket read, unparsed, so a proxied stream goes
on unchanged and as early as a direct one would. On a wire connection the body is handed over from the read itself
(`_WireProtocol.data_received`, only the HTTP/1.1 framing undone, `_BodyFeed`), before the task that parses it
runs: the relay does not wait for the loop's next turn, h11, httpx, or the parsing of the events before it (at
3,000 tok/s a stream relayed after parsing reached its reader ~1% slower than it was sent). The bytes read with the
headers, before the answer was accepted, are kept until then. Without a wire connection (a transport of the
caller's) the tap sees the body as httpx yields it. A try that failed after bytes went through a tap is not
retried (the tap's reader would get the answer twice): it raises ProviderError. A tapped request to an endpoint
reached directly (no proxy from the environment) does not go through httpx and httpcore at all: `_RelayConnections`
writes the same bytes on connections of its own and hands the answer on as an httpx.Response (its scaffold's TTFT
counts every step before the write, and those layers were ~0.45 ms of them).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import email.utils
import gc
import ipaddress
import json
import random
import socket
import ssl
import struct
import sys
import time
import typing
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

import httpcore
import httpx
from httpx_sse import EventSource, ServerSentEvent

from ripsaw import __version__
from ripsaw.errors import ConfigError, ProviderError, RequestRejected
from ripsaw.records import CallTiming, ModelCall, TokenSource, Usage
from ripsaw.tokens import estimate_tokens
from ripsaw.types import Clock, Prompt, Reasoning, ToolCall

if typing.TYPE_CHECKING:
    from ripsaw.providers.tokenizers import Tokenizer

Sleep = Callable[[float], Awaitable[object]]
TokenKind = Literal["content", "reasoning", "tool"]

# The statuses the OpenAI SDK retries too; any other error status (below 500) means the request itself is wrong.
RETRY_STATUSES = frozenset({408, 409, 429})
# A server asking to wait longer than this is treated as down rather than waited for.
MAX_RETRY_AFTER_S = 120.0
_ERROR_BODY_BYTES = 4096
_ERROR_MESSAGE_CHARS = 300
# The longest a request waits for the others started with it: a bound for a pathological send path, far above the
# real one. Preparing a request is ~0.3-0.6 ms of Python, so the first of 16 started together waits 5-10 ms for the
# 16th, and several times that when the host's other load takes the core; a bound of 10 ms released the first ones
# alone in those rounds (a 2-5 ms spread at the server). The wait is queueing (`queue_ns`), never TTFT.
_MAX_HOLD_S = 0.1
# Reading stops (TCP pushes back) while this much received data waits for the parser.
_READ_BUFFER_BYTES = 1 << 20
_RECV_BYTES = 1 << 16  # the most one read takes (httpcore's own reads ask as much)
_KEEPALIVE_S = 5.0  # how long an idle connection is kept for the next request
_MAX_HEAD_BYTES = 64 << 10


class Retryable(Exception):
    """A failed try that another try may fix; `retry_after_s` is what the server asked for, if it did."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message, self.retry_after_s = message, retry_after_s


# -- the wire: an httpcore network backend that stamps writes and reads ----------------------------------------


@dataclass(slots=True)
class WireTicket:
    """One try's wire facts, reached from the backend through a context variable (the request runs in the
    caller's task, so httpcore and the backend see the ticket of the call they serve)."""

    t_queued: int
    gate: DepartureGate | None = None
    t_send: int | None = None  # the request's last byte left the client
    stream: WireStream | None = None  # the connection the request left on (its reads carry the arrival stamps)
    preparing: bool = False  # counted by the gate as a request still being prepared
    tap: Tap | None = None  # the call's tap: its answer's body goes to it from the socket reads
    tapped: WireStream | None = None  # the connection whose reads feed it (see `WireStream.untap`)

    def join(self) -> None:
        if self.gate is not None and not self.preparing:
            self.preparing = True
            self.gate.preparing += 1

    def quit(self) -> None:
        if self.gate is not None and self.preparing:
            self.preparing = False
            self.gate.leave()

    @contextmanager
    def waiting_on_network(self) -> Iterator[None]:
        """A connect or TLS handshake is a wait on the network, not preparation: others need not wait for it."""
        was = self.preparing
        self.quit()
        try:
            yield
        finally:
            if was:
                self.join()


@dataclass(slots=True)
class Departed:
    """A relayed request written from a plain callback (`StreamingClient.depart`) on a kept connection, holding a
    slot of its client's concurrency: `call(..., departed=...)` reads its answer, `abandon` gives both back. Its
    holder abandons it once the call is over or will not run (a no-op when a try took it), whatever ended it."""

    stream: WireStream
    ticket: WireTicket
    semaphore: asyncio.Semaphore
    taken: bool = False  # by the call's first try, which releases the slot

    def abandon(self) -> None:
        if not self.taken:
            self.taken = True
            self.semaphore.release()
            self.stream.close()


_TICKET: contextvars.ContextVar[WireTicket | None] = contextvars.ContextVar("ripsaw_wire_ticket", default=None)


class DepartureGate:
    """Holds each request's bytes until no other request of the same client is still being prepared, then writes
    every held request in one go (at most `_MAX_HOLD_S` later).

    Without it, calls started together leave one send path after another (~0.3 ms of Python each): the 16th of
    16 left ~5 ms after the first, and a server saw a ramp, not a burst. A call joins when it starts its try and
    yields once, so every call started in the same loop turn has joined before the first one is ready."""

    def __init__(self) -> None:
        self.preparing = 0
        self._held: list[WireStream] = []
        self._released: asyncio.Future[None] | None = None

    async def depart(self, stream: WireStream, ticket: WireTicket) -> None:
        self._held.append(stream)
        ticket.quit()  # the last one in releases everybody
        if self.preparing > 0:
            if self._released is None:
                self._released = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(_MAX_HOLD_S):
                    await asyncio.shield(self._released)
            except TimeoutError:
                pass
            except BaseException:  # cancelled (the deadline): this request never leaves
                if stream in self._held:
                    self._held.remove(stream)
                raise
        self._release()

    def leave(self) -> None:
        self.preparing -= 1
        if self.preparing == 0:
            self._release()

    def _release(self) -> None:
        held, self._held = self._held, []
        for stream in held:
            stream.send_held()
        if self._released is not None:
            self._released.set_result(None)
            self._released = None


# SO_TIMESTAMPNS: 35 in Linux's asm-generic, x86 and arm (Python names it only from 3.14); its stamps are
# CLOCK_REALTIME, converted to perf_counter_ns (CLOCK_MONOTONIC) with the clocks' offset read at that moment.
_SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_STAMP_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0


class _StampedSocket(socket.socket):
    """A TCP socket whose reads also take the kernel's receive timestamp of the data they return (the transport
    reads with `recv`, or `recv_into` under TLS; the protocol collects `arrived_ns` in `data_received`).

    A read lands in a buffer of the socket's own: asyncio asks `recv` for up to 256 KiB, and a bytes object that
    size is allocated and shrunk on every read, 22 µs a read here, 60-90 µs for the first one after an idle wait
    (an AMD EPYC VM; 13-17 µs into a kept buffer), on the path of every event, the first token's included."""

    __slots__ = ("_buffer", "arrived_ns")

    def __init__(self, family: int = -1, kind: int = -1, proto: int = -1, fileno: int | None = None) -> None:
        super().__init__(family, kind, proto, fileno)  # socket.dup() calls its class with these
        self._buffer = memoryview(bytearray(_RECV_BYTES))

    def recv(self, size: int, flags: int = 0) -> bytes:
        n = self.recv_into(self._buffer, min(size, _RECV_BYTES), flags)
        return bytes(self._buffer[:n])

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        target = memoryview(buffer)[:nbytes] if nbytes else buffer
        n, ancillary, _, _ = self.recvmsg_into([target], _STAMP_SPACE, flags)
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack("qq", raw[:16])
                self.arrived_ns = sec * 1_000_000_000 + nsec - (time.time_ns() - time.perf_counter_ns())
        return n


class _WireProtocol(asyncio.Protocol):
    """The connection's asyncio protocol: every read stamped as it happens (or, from a `_StampedSocket`, when its
    data arrived), writes watched until they drain."""

    def __init__(self, clock: Clock, sock: _StampedSocket | None = None) -> None:
        self.clock = clock
        self.sock = sock
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[tuple[bytes, int]] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.drained_ns: int | None = None  # when the last buffered bytes were handed to the kernel
        self.captured: bytearray | None = None  # a tapped request's answer, as read, until the tap starts
        self.feed: Callable[[bytes], None] | None = None  # then each read goes here as it happens
        self.tapped_by: WireTicket | None = None  # the try whose answer those are
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)
        # Told the moment anything is buffered (high water 0), and again when the buffer is empty: that instant
        # is when a request's last byte left, for requests larger than the socket takes at once.
        self.transport.set_write_buffer_limits(high=0, low=0)

    def data_received(self, data: bytes) -> None:
        now = self.clock()
        sock = self.sock
        if sock is not None:
            arrived = getattr(sock, "arrived_ns", None)
            if arrived is not None:
                now = min(now, arrived)  # never after the read itself (a clock step between the two reads)
                sock.arrived_ns = None
        if self.feed is not None:
            self.feed(data)
        elif self.captured is not None:
            self.captured += data
        self.chunks.append((data, now))
        self.buffered += len(data)
        if self.buffered > _READ_BUFFER_BYTES and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost, self.error = True, exc
        self._wake()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.drained_ns = self.clock()
        self._wake()

    async def wait(self, timeout: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class WireStream(httpcore.AsyncNetworkStream):
    """One connection. Writes are collected and sent when the request is complete (its first read), through the
    client's departure gate; `sent_ns` and `last_read_ns` are the stamps the client reads."""

    def __init__(self, transport: asyncio.Transport, protocol: _WireProtocol) -> None:
        self._transport, self._protocol = transport, protocol
        self._pending: list[bytes] = []
        self._send_error: BaseException | None = None
        self._written_ns = 0
        self.sent_ns: int | None = None
        self.last_read_ns: int | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            await self._send(timeout)
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.lost or protocol.eof:
                if protocol.error is not None:
                    raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
                return b""
            try:
                await protocol.wait(timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout("no data within the read timeout") from None
        data, stamp = protocol.chunks.popleft()
        if len(data) > max_bytes:
            protocol.chunks.appendleft((data[max_bytes:], stamp))
            data = data[:max_bytes]
        protocol.buffered -= len(data)
        if protocol.reading_paused and protocol.buffered < _READ_BUFFER_BYTES // 2:
            protocol.reading_paused = False
            self._transport.resume_reading()
        self.last_read_ns = stamp
        return data

    async def _send(self, timeout: float | None) -> None:
        ticket = _TICKET.get()
        if ticket is not None and ticket.tap is not None:
            self._tap_for(ticket)
        if ticket is not None and ticket.gate is not None and ticket.preparing:
            await ticket.gate.depart(self, ticket)
        else:
            self.send_held()
        await self.sent(ticket, timeout)

    def depart(self, data: bytes, ticket: WireTicket) -> bool:
        """Write a relayed request now, from a plain callback (`StreamingClient.depart`); False when it could not
        be written (the connection is then of no use). `sent` completes it in the call's task."""
        self._pending.append(data)
        self._tap_for(ticket)
        self.send_held()
        return self._send_error is None

    def _tap_for(self, ticket: WireTicket) -> None:
        if ticket.tapped is not None and ticket.tapped is not self:
            ticket.tapped.untap(ticket)
        ticket.tapped = self
        protocol = self._protocol
        protocol.captured, protocol.feed, protocol.tapped_by = bytearray(), None, ticket  # read from now on

    async def sent(self, ticket: WireTicket | None, timeout: float | None) -> None:
        """Wait until the request handed to the kernel has left (its last byte), and stamp `ticket` with it."""
        if self._send_error is not None:
            error, self._send_error = self._send_error, None
            raise httpcore.WriteError(str(error) or type(error).__name__)
        if self.sent_ns is None:  # the kernel did not take it all at once: the last byte leaves when it drains
            while self._protocol.writing_paused and not self._protocol.lost:
                try:
                    await self._protocol.wait(timeout)
                except TimeoutError:
                    raise httpcore.WriteTimeout("the request could not be sent within the write timeout") from None
            if self._protocol.lost:
                raise httpcore.WriteError("the connection closed while the request was being sent")
            drained = self._protocol.drained_ns
            self.sent_ns = drained if drained is not None and drained >= self._written_ns else self._protocol.clock()
        if ticket is not None:
            ticket.t_send, ticket.stream = self.sent_ns, self

    def send_held(self) -> None:
        """Hand the held request to the kernel now. When the kernel takes every byte at once, the stamp is the
        instant just before the write: after it, another thread of this process (an in-process server, a
        tokenizer) may hold the GIL for milliseconds before the clock could be read, and the send would look
        late. When it does not, the request left when the buffer drained (`_WireProtocol.resume_writing`)."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self.sent_ns = None
        before = self._written_ns = self._protocol.clock()
        try:
            self._transport.write(data)
        except (OSError, RuntimeError) as e:  # RuntimeError: the transport is closing
            self._send_error = e
            return
        if self._transport.get_write_buffer_size() == 0:
            self.sent_ns = before

    def tap(self, tap: Tap, headers: httpx.Headers) -> None:
        """From now on, the answer's body goes to `tap` as each read happens; what was read with the headers first."""
        protocol = self._protocol
        read, protocol.captured = bytes(protocol.captured or b""), None
        feed = _BodyFeed(headers, tap.data).feed
        feed(_after_head(read))
        protocol.feed = feed

    def untap(self, ticket: WireTicket) -> None:
        """`ticket`'s answer is over (or its try failed): its tap gets nothing more. The connection may already
        carry another try's request (it went back to the pool before this try's end): that one's is left alone."""
        protocol = self._protocol
        if protocol.tapped_by is ticket:
            protocol.captured = protocol.feed = protocol.tapped_by = None

    def close(self) -> None:
        self._transport.close()

    async def aclose(self) -> None:
        self.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        ticket = _TICKET.get()
        try:
            with ticket.waiting_on_network() if ticket is not None else _nothing():
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=timeout,
                )
        except TimeoutError:
            self._transport.abort()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as e:
            self._transport.abort()
            raise httpcore.ConnectError(str(e)) from e
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        transport.set_write_buffer_limits(high=0, low=0)  # as for the plain connection (connection_made)
        return WireStream(typing.cast(asyncio.Transport, transport), self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # httpcore drops an idle pooled connection the server has closed
            p = self._protocol
            return bool(p.chunks) or p.eof or p.lost
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return self._transport.get_extra_info(name)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


async def _connect_stamped(host: str, port: int, local_address: str | None) -> _StampedSocket:
    """A connected, non-blocking `_StampedSocket` to the first of `host`'s addresses that answers."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for family, kind, proto, _, address in await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = _StampedSocket(family, kind, proto)
        try:
            sock.setblocking(False)
            if local_address:
                sock.bind((local_address, 0))
            await loop.sock_connect(sock, address)
        except OSError as e:
            sock.close()
            error = e
            continue
        except BaseException:
            sock.close()
            raise
        with contextlib.suppress(OSError):  # without them, this socket's reads keep the loop's instant
            sock.setsockopt(socket.SOL_SOCKET, typing.cast(int, _SO_TIMESTAMPNS), 1)
        return sock
    raise error or OSError(f"no address found for {host}:{port}")


def _final_head(buf: bytes) -> tuple[bytes, bytes] | None:
    """The final response head in `buf` (interim 1xx heads skipped) and what follows it; None until it is whole."""
    while (end := buf.find(b"\r\n\r\n")) >= 0:
        head, buf = buf[:end], buf[end + 4 :]
        status = head.lstrip().split(b" ", 2)[1:2]
        if not (status and status[0].startswith(b"1") and status[0] != b"101"):
            return head, buf
    return None


def _after_head(read: bytes) -> bytes:
    """What followed the final response head in the bytes read since the request left."""
    found = _final_head(read)
    return found[1] if found is not None else b""


class _BodyFeed:
    """An HTTP/1.1 response body as its bytes are read, its framing undone (chunked, a content-length, or up to the
    close): `out` gets the body of each read in one piece, nothing after the body's end. A malformed chunk size
    stops the feed; the parser (h11) fails the try on it."""

    __slots__ = ("chunked", "done", "left", "line", "out", "skip", "trailers")

    def __init__(self, headers: httpx.Headers, out: Callable[[bytes], None]) -> None:
        self.out = out
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length", "")
        self.left: int | None = None if self.chunked or not length.isdigit() else int(length)  # None: to the close
        self.line = b""  # a chunk-size or trailer line read in part
        self.skip = 0  # the CRLF after a chunk's data, still to come
        self.trailers = False
        self.done = False

    def feed(self, data: bytes) -> None:
        if self.done or not data:
            return
        if not self.chunked:
            if self.left is not None:
                data = data[: self.left]
                self.left -= len(data)
                self.done = self.left == 0
            if data:
                self.out(data)
            return
        body: list[bytes] = []
        i, n = 0, len(data)
        while i < n and not self.done:
            if self.left:  # inside a chunk's data
                take = data[i : i + self.left]
                body.append(take)
                i += len(take)
                self.left -= len(take)
                if not self.left:
                    self.skip = 2
            elif self.skip:
                take_n = min(self.skip, n - i)
                i += take_n
                self.skip -= take_n
            else:  # a chunk-size line, or a trailer line after the last chunk
                end = data.find(b"\n", i)
                if end < 0:
                    self.line += data[i:]
                    break
                line, self.line = (self.line + data[i:end]).strip(), b""
                i = end + 1
                if self.trailers:
                    self.done = not line
                    continue
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    self.done = True
                    break
                self.left, self.trailers = size, size == 0
        if body:
            self.out(b"".join(body))


class WireBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on plain asyncio protocols, with every socket read and write stamped."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # The kernel's stamps are on perf_counter_ns's clock only: an injected clock (tests) keeps the read's.
        self.kernel_stamps = clock is time.perf_counter_ns and _SO_TIMESTAMPNS is not None and _STAMP_SPACE > 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        ticket = _TICKET.get()
        try:
            with ticket.waiting_on_network() if ticket is not None else _nothing():
                async with asyncio.timeout(timeout):
                    if self.kernel_stamps:
                        sock = await _connect_stamped(host, port, local_address)
                        transport, protocol = await loop.create_connection(
                            lambda: _WireProtocol(self.clock, sock), sock=sock
                        )
                    else:
                        transport, protocol = await loop.create_connection(
                            lambda: _WireProtocol(self.clock),
                            host,
                            port,
                            local_addr=(local_address, 0) if local_address else None,
                        )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return WireStream(transport, protocol)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(lambda: _WireProtocol(self.clock), path)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {path} timed out") from None
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        return WireStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# httpcore's errors and the httpx errors of the same names, which the rest of the client handles.
_ERRORS: tuple[tuple[type[Exception], type[Exception]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as e:
        for theirs, ours in _ERRORS:
            if isinstance(e, theirs):
                raise ours(str(e)) from e
        raise


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: typing.AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        closer = getattr(self._stream, "aclose", None)
        if closer is not None:
            await closer()


class WireTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool on `WireBackend` (HTTP/1.1), through the environment's proxy
    for the endpoint when `trust_env` (HTTP, HTTPS or SOCKS, as httpx would pick it)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        max_connections: int,
        trust_env: bool,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.backend = backend = WireBackend(clock)
        self.ssl_context = context = ssl_context or httpx.create_ssl_context(trust_env=trust_env)
        common: dict[str, Any] = {
            "ssl_context": context,
            "max_connections": max_connections,
            "max_keepalive_connections": max_connections,
            "keepalive_expiry": _KEEPALIVE_S,
            "network_backend": backend,
        }
        proxy = env_proxy(url) if trust_env else None
        self.direct = proxy is None  # connections go straight to the endpoint
        self._pool: httpcore.AsyncConnectionPool
        if proxy is None:
            self._pool = httpcore.AsyncConnectionPool(**common)
        elif proxy.scheme in ("http", "https"):
            self._pool = httpcore.AsyncHTTPProxy(proxy_url=proxy.geturl(), **common)
        elif proxy.scheme in ("socks5", "socks5h"):
            self._pool = httpcore.AsyncSOCKSProxy(proxy_url=proxy.geturl(), **common)
        else:
            raise ConfigError(f"proxy {proxy.geturl()!r} from the environment: unsupported scheme {proxy.scheme!r}")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core)
        assert isinstance(response.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _RelayConnections:
    """HTTP/1.1 for relayed requests (a tap's, the timing proxy's) on a direct connection, written here rather than
    through httpx, httpcore and h11: every microsecond before a relayed request's write is TTFT its scaffold sees,
    and building, pooling and serializing it through those layers cost ~0.45 ms of CPU per request on an AMD EPYC
    VM (most of the proxy's added TTFT). The request is the bytes httpx would send (its head taken from httpx once
    per URL); the answer is read from the same stamped connections (`WireBackend`) and handed on as an
    httpx.Response, so the status check, SSE, stamps and tap are a direct call's. Idle connections are kept as the
    pool keeps its own, for `_KEEPALIVE_S`."""

    def __init__(
        self, client: httpx.AsyncClient, wire: WireTransport, headers: dict[str, str], read_timeout_s: float
    ) -> None:
        self._client, self._wire, self._headers = client, wire, headers
        timeout = client.timeout
        self._connect_s, self._read_s = timeout.connect, read_timeout_s
        self._heads: dict[httpx.URL, bytes] = {}
        self._idle: list[tuple[WireStream, float]] = []
        wire.ssl_context.set_alpn_protocols(["http/1.1"])  # what the relay speaks (httpcore sets the same)

    def _head(self, url: httpx.URL) -> bytes:
        head = self._heads.get(url)
        if head is None:
            raw = self._client.build_request("POST", url, content=b"", headers=self._headers).headers.raw
            lines = [b"POST %b HTTP/1.1" % url.raw_path, *(b"%b: %b" % (k, v) for k, v in raw
                                                         if k.lower() != b"content-length")]  # fmt: skip
            head = self._heads[url] = b"\r\n".join(lines) + b"\r\n"
        return head

    def idle(self) -> WireStream | None:
        """The most recently kept connection, taken, if it is still good (not closed or spoken to since)."""
        if self._idle:
            stream, since = self._idle[-1]
            p = stream._protocol
            if time.monotonic() - since < _KEEPALIVE_S and not (p.chunks or p.eof or p.lost):
                self._idle.pop()
                return stream
        return None

    def request(self, url: httpx.URL, body: bytes) -> bytes:
        return self._head(url) + b"Content-Length: %d\r\n\r\n%b" % (len(body), body)

    async def _connect(self, url: httpx.URL) -> WireStream:
        while self._idle:
            stream = self.idle()
            if stream is not None:
                return stream
            await self._idle.pop()[0].aclose()
        https = url.scheme == "https"
        host = url.host
        plain = await self._wire.backend.connect_tcp(host, url.port or (443 if https else 80), self._connect_s)
        if not https:
            return typing.cast(WireStream, plain)
        return typing.cast(WireStream, await plain.start_tls(self._wire.ssl_context, host, self._connect_s))

    @contextlib.asynccontextmanager
    async def post(
        self, url: httpx.URL, body: bytes, departed: Departed | None = None
    ) -> AsyncIterator[httpx.Response]:
        """The answer to `body` POSTed to `url`; `departed`: the request already left (`StreamingClient.depart`)."""
        if departed is not None:
            stream = departed.stream
        else:
            with _httpx_errors():
                stream = await self._connect(url)
        framed: _FramedBody | None = None
        try:
            with _httpx_errors():
                if departed is not None:
                    await stream.sent(departed.ticket, self._read_s)
                else:
                    await stream.write(self.request(url, body))
                status, headers, rest, kept = await _read_head(stream, self._read_s)  # its first read sends it
            framed = _FramedBody(stream, status, headers, rest, self._read_s, kept)
            yield httpx.Response(status, headers=headers, stream=framed)
        finally:
            if framed is not None and framed.reusable():
                self._idle.append((stream, time.monotonic()))
            else:
                await stream.aclose()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for stream, _ in idle:
            await stream.aclose()


async def _read_head(stream: WireStream, timeout: float) -> tuple[int, httpx.Headers, bytes, bool]:
    """The final response head read from `stream` (interim 1xx heads skipped): status, headers, what followed, and
    whether the server keeps the connection (HTTP/1.1 without `connection: close`)."""
    buf = b""
    while (found := _final_head(buf)) is None:
        if len(buf) > _MAX_HEAD_BYTES:
            raise httpcore.RemoteProtocolError(f"a response head over {_MAX_HEAD_BYTES} bytes")
        data = await stream.read(_RECV_BYTES, timeout)
        if not data:
            raise httpcore.RemoteProtocolError("the server closed the connection without answering")
        buf += data
    head, rest = found
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ", 2)[1:2]
    if not (status and status[0].isdigit() and lines[0].startswith(b"HTTP/1.")):
        raise httpcore.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpcore.RemoteProtocolError(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    parsed = httpx.Headers(headers)
    kept = lines[0].startswith(b"HTTP/1.1 ") and "close" not in parsed.get("connection", "").lower()
    return int(status[0]), parsed, rest, kept


class _FramedBody(httpx.AsyncByteStream):
    """A relayed answer's body from its connection's reads, its framing undone by `_BodyFeed`."""

    def __init__(
        self, stream: WireStream, status: int, headers: httpx.Headers, first: bytes, timeout: float, kept: bool
    ) -> None:
        self._stream, self._timeout, self._kept = stream, timeout, kept
        self._pieces: list[bytes] = []
        self._framing = _BodyFeed(headers, self._pieces.append)
        self._framing.done = status in (204, 304)  # no body, whatever the headers say
        self._framing.feed(first)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        framing, pieces = self._framing, self._pieces
        with _httpx_errors():
            while True:
                if pieces:
                    data = b"".join(pieces)
                    pieces.clear()
                    yield data
                if framing.done:
                    return
                read = await self._stream.read(_RECV_BYTES, self._timeout)
                if not read:
                    if not framing.chunked and framing.left is None:  # a body that runs to the close
                        return
                    raise httpcore.RemoteProtocolError("the server closed the connection inside the answer")
                framing.feed(read)

    def reusable(self) -> bool:
        """The body ended as its framing said (a malformed chunk size also stops the feed) on a kept connection."""
        f = self._framing
        return self._kept and f.done and (f.trailers if f.chunked else f.left == 0)


def env_proxy(url: str) -> urllib.parse.SplitResult | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY honoured)."""
    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):  # type: ignore[attr-defined]
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    return urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}") if proxy else None


# -- warm-up -------------------------------------------------------------------------------------------------

_warm: asyncio.Future[None] | None = None


def freeze_heap() -> None:
    """Leave every object alive now out of the garbage collector's scans for the rest of the process. Ripsaw's
    imports alone are ~40,000 tracked objects, and a full collection of them stalls the event loop for ~10 ms (34
    ms in `bench/fidelity.py`, which keeps every call it made): a socket read it delays holds several events, all
    stamped with the last one's arrival, so a first token looks late. For a process that times calls (`ripsaw
    run`, `ripsaw sweep`), once its setup is done; garbage made later is collected as before."""
    gc.collect()
    gc.freeze()


def _warmed() -> bool:
    return _warm is not None and _warm.done() and not _warm.cancelled() and _warm.exception() is None


async def warm_up() -> None:
    """One request over loopback through the whole stack (httpx, httpcore, h11, this backend, SSE, JSON), once
    per process: lazy imports and first-use work (~20 ms) then happen here, not inside the first timed call.
    Calls started together wait for the one warm-up."""
    global _warm
    if _warmed():
        return
    loop = asyncio.get_running_loop()
    if _warm is None or _warm.done() or _warm.get_loop() is not loop:
        _warm = loop.create_future()
        try:
            await _warm_once()
        except BaseException as e:
            _warm.set_exception(e)
            _warm.exception()  # retrieved: a failed warm-up is retried by the next call, not logged
            raise
        _warm.set_result(None)
    else:
        await asyncio.shield(_warm)


async def _warm_once() -> None:
    body = b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length"
        )
        await reader.readexactly(length)
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = StreamingClient(f"http://127.0.0.1:{port}", {}, retry=RetryPolicy(max_retries=0))
        try:
            await client.call("/warm", b"{}", _WarmReply, None, warm=False)
        finally:
            await client.aclose()
    finally:
        server.close()
        await server.wait_closed()


class _WarmReply:
    def __init__(self) -> None:
        self.timeline = Timeline()

    async def read(self, events: AsyncIterator[tuple[int, ServerSentEvent]]) -> None:
        async for now, event in events:
            if event.data != "[DONE]":
                self.timeline.chunk(now)
                self.timeline.token("content", json.loads(event.data)["choices"][0]["delta"]["content"])

    def complete(self) -> bool:
        return True

    def incomplete(self) -> str:
        return ""


# -- one try's timing ----------------------------------------------------------------------------------------


class Timeline:
    """One try's timing as its events arrive: chunk arrivals, the first and last token, and where the output
    speed's span can start and end, with what the chunks outside it held (their text, and the server's running
    usage if it sent one), for n_first and n_after.

    A chunk is one SSE data event. Every event of the stream is announced first (`event(now)`, by the shared
    reader), then a provider calls `chunk(now)` for each data event, then `token(kind, text)` for each non-empty
    content, reasoning or tool-call delta in it (a role-only chunk has none).

    An arrival is the kernel's stamp of the read that delivered the event: exact for the read's last event, an
    upper bound for the ones before it. So the span starts at the first token chunk's read, every token chunk of
    that read counted in n_first, and ends at the last token chunk that was the last event of its read; token
    chunks after it (typically the last one, read together with the finish and usage events a server writes just
    after it) are n_after, left out as n_first is."""

    __slots__ = ("_chunk_usage", "_end", "_last_token_chunk", "_pending", "first_chunks",
                 "first_text", "first_usage", "texts", "timing", "token_chunks")  # fmt: skip

    def __init__(self) -> None:
        self.timing = CallTiming()
        self.first_text: list[str] = []  # the deltas of the token chunks of the first read
        self.first_usage: int | None = None  # the server's running usage on the last of them, if it sent one
        self.first_chunks = 0  # how many token chunks that read held
        self.texts: list[str] = []  # every token delta's text, for a character share
        self.token_chunks = 0
        self._last_token_chunk = -1
        self._chunk_usage: int | None = None
        # The span's end: (arrival, token chunks, texts, running usage) up to and including that chunk; _pending is
        # the latest token chunk until the next event says whether its read ended with it.
        self._end: SpanEnd | None = None
        self._pending: SpanEnd | None = None

    def event(self, now: int) -> None:
        """Any event arrived `now` ns after t_send (data, `[DONE]`, typed events): announced before it is read."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            if now != pending.at_ns:  # a later read: the token chunk was its read's last event
                self._end = pending

    def chunk(self, now: int, usage_so_far: int | None = None) -> None:
        """An event arrived `now` ns after t_send; `usage_so_far`: the output tokens its usage counts, if any."""
        self.timing.chunk_ns.append(now)
        self._chunk_usage = usage_so_far

    def token(self, kind: TokenKind, text: str) -> None:
        """A non-empty delta in the latest chunk."""
        timing = self.timing
        index = len(timing.chunk_ns) - 1
        now = timing.chunk_ns[index]
        if index != self._last_token_chunk:
            self._last_token_chunk = index
            self.token_chunks += 1
            if timing.first_any_ns is None:
                timing.first_any_ns = now
            if now == timing.first_any_ns:  # read with the first token chunk: arrived at t_first too
                self.first_chunks += 1
                self.first_usage = self._chunk_usage
        if now == timing.first_any_ns:
            self.first_text.append(text)
        self.texts.append(text)
        self._pending = SpanEnd(now, self.token_chunks, len(self.texts), self._chunk_usage)
        timing.last_token_ns = now
        if kind == "content":
            if timing.first_content_ns is None:
                timing.first_content_ns = now
        elif kind == "reasoning" and timing.first_reasoning_ns is None:
            timing.first_reasoning_ns = now

    def span_end(self) -> SpanEnd | None:
        """Where the output speed's span ends, once the stream is over (None: no token chunk ended a read)."""
        return self._pending or self._end


@dataclass(frozen=True, slots=True)
class SpanEnd:
    """The token chunk the output speed's span ends at, and what had come up to it."""

    at_ns: int
    token_chunks: int
    texts: int  # how many token deltas, in `Timeline.texts`
    usage: int | None  # the server's running usage on that chunk


# -- token counts --------------------------------------------------------------------------------------------


async def count_usage(
    server: Usage | None,
    prompt: Prompt | Callable[[], Prompt],
    text: str,
    reasoning: str,
    tokenizer: Tokenizer | None,
) -> Usage:
    """The call's token counts: the server's when it sent them, else the model's tokenizer, else the estimate
    (a prompt size the server sent without an output count is kept). `prompt` may be made only when needed (a
    relayed request's, read from its JSON: an agent's whole conversation)."""
    if server is not None and server.completion_tokens is not None:
        return server
    if callable(prompt):
        prompt = prompt()
    known_prompt = server.prompt_tokens if server is not None else None
    if tokenizer is not None:
        answer, thinking = await tokenizer.count(text), await tokenizer.count(reasoning) if reasoning else 0
        if answer is not None and thinking is not None:
            return Usage(
                prompt_tokens=known_prompt if known_prompt is not None else await tokenizer.count_prompt(prompt),
                completion_tokens=answer + thinking,
                reasoning_tokens=thinking,
                source="tokenizer",
            )
    prompt_text = prompt.text if prompt.mode == "complete" else "\n".join(m.text for m in prompt.messages)
    thinking = estimate_tokens(reasoning)
    return Usage(
        prompt_tokens=known_prompt if known_prompt is not None else estimate_tokens(prompt_text),
        completion_tokens=estimate_tokens(text) + thinking,
        reasoning_tokens=thinking,
        source="estimated",
    )


async def first_chunk_tokens(
    timeline: Timeline, usage: Usage, tokenizer: Tokenizer | None
) -> tuple[int, TokenSource] | None:
    """n_first: how many of the call's N tokens came with its first token chunk's read (they arrived at t_first,
    so they are not part of the output speed's span). In order of trust: the server's running usage on the last
    of those chunks; one per chunk when the server's N equals the number of token chunks (every chunk then holds
    exactly one); the model's tokenizer on their text; their share of the reply's characters (marked "estimated")."""
    n = usage.completion_tokens
    if timeline.token_chunks == 0 or n is None or n < 1:
        return None
    return await _tokens_of(timeline, usage, tokenizer, timeline.first_usage, timeline.first_chunks,
                            timeline.first_text)  # fmt: skip


async def tokens_after_span(
    timeline: Timeline, usage: Usage, tokenizer: Tokenizer | None
) -> tuple[int, int, TokenSource | None] | None:
    """(span end, n_after, how counted): the output speed's span ends at the last token chunk that was its read's
    last event; n_after counts the tokens of the chunks after it, as `first_chunk_tokens` counts n_first."""
    n = usage.completion_tokens
    end = timeline.span_end()
    if end is None or n is None or n < 1:
        return None
    if end.token_chunks == timeline.token_chunks:
        return end.at_ns, 0, None  # the span ends at the last token: nothing to count
    running = None if end.usage is None else n - end.usage
    counted = await _tokens_of(timeline, usage, tokenizer, running, timeline.token_chunks - end.token_chunks,
                               timeline.texts[end.texts :])  # fmt: skip
    return None if counted is None else (end.at_ns, *counted)


async def _tokens_of(
    timeline: Timeline,
    usage: Usage,
    tokenizer: Tokenizer | None,
    running: int | None,
    chunks: int,
    texts: list[str],
) -> tuple[int, TokenSource] | None:
    """The tokens of some of a reply's token chunks: the server's running usage (`running`, already turned into
    their count), one per chunk when every chunk holds one, the tokenizer on their text, or their character share."""
    n = usage.completion_tokens
    assert n is not None
    if running is not None and 0 < running <= n:
        return running, "server"
    if usage.source == "server" and timeline.token_chunks == n:
        return chunks, "server"
    text = "".join(texts)
    if tokenizer is not None:
        counted = await tokenizer.count(text)
        if counted is not None:
            return max(1, min(n, counted)), "tokenizer"
    total = sum(map(len, timeline.texts))
    share = round(n * len(text) / total) if total else 1
    return max(1, min(n, share)), "estimated"


async def finish_call(
    timeline: Timeline,
    prompt: Prompt | Callable[[], Prompt],
    *,
    text: str,
    reasoning: str,
    tool_calls: list[ToolCall],
    server_usage: Usage | None,
    tokenizer: Tokenizer | None,
    finish_reason: str | None,
    server_model: str | None,
    retries: int,
    cut: str | None,
    reasoning_items: list[Reasoning] | None = None,
) -> ModelCall:
    """One try's events made a ModelCall, the same way for every API: counts, n_first, the timing."""
    # Without server usage, the tool calls' names and arguments are output tokens too.
    answer = text + "".join(c.name + c.arguments for c in tool_calls)
    usage = await count_usage(server_usage, prompt, answer, reasoning, tokenizer)
    timing = timeline.timing
    timing.chunks = len(timing.chunk_ns)
    n_first = await first_chunk_tokens(timeline, usage, tokenizer)
    if n_first is not None:
        timing.n_first, timing.n_first_source = n_first
    after = await tokens_after_span(timeline, usage, tokenizer)
    if after is not None:
        timing.span_end_ns, timing.n_after, timing.n_after_source = after
    return ModelCall(
        text=text,
        reasoning=reasoning,
        finish_reason=finish_reason,
        usage=usage,
        timing=timing,
        retries=retries,
        cut=cut,
        server_model=server_model,
        tool_calls=tool_calls,
        reasoning_items=reasoning_items or [],
    )


def event_object(data: str, name: str | None) -> dict[str, Any]:
    """An event's JSON data, which must be an object; anything else is a malformed event, retried like a broken
    stream. `name`: the event's type, named in the error (None for an API whose events are unnamed)."""
    try:
        obj = json.loads(data)
    except ValueError:
        obj = None
    if type(obj) is not dict:
        raise Retryable(f"malformed {f'{name!r} event' if name is not None else 'SSE data'}: {data[:80]!r}")
    return obj


def is_number(v: Any) -> bool:
    """A JSON number (a bool is not one), for validating combo options."""
    return isinstance(v, int | float) and not isinstance(v, bool)


# -- retries and error messages --------------------------------------------------------------------------------


@dataclass(slots=True)
class RetryPolicy:
    """How many tries a call gets and how long it waits between them."""

    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    sleep: Sleep = asyncio.sleep
    random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigError(f"max_retries must be at least 0, got {self.max_retries}")

    def delay_s(self, retries_so_far: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before the next try; None when the server asks for more than we wait."""
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= MAX_RETRY_AFTER_S else None
        # Full jitter: spreads the retries of many concurrent calls instead of synchronizing them.
        return self.random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**retries_so_far))


def retry_after_s(headers: httpx.Headers) -> float | None:
    """Retry-After (seconds or an HTTP date), or OpenAI's retry-after-ms; None when absent or unreadable."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_message(raw: bytes | str) -> str:
    """A short message from an error body or event: {"error": {"message": ...}} (OpenAI, and Anthropic's
    {"type": "error", "error": {...}}), {"error": "..."}, {"detail": ...}, or the text itself."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        error = obj.get("error", obj)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or error
        if isinstance(error, str):
            text = error
    return " ".join(text.split()) or "(empty body)"


class Scrubber:
    """Makes server messages fit for errors and records: servers sometimes quote the key they were sent
    (scrubbed before shortening, so no prefix of the key survives either), and bodies can be long."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret

    def __call__(self, message: str) -> str:
        if self._secret:
            message = message.replace(self._secret, "***")
        return message[:_ERROR_MESSAGE_CHARS]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def transport_message(e: httpx.RequestError) -> str:
    detail = str(e) or type(e).__name__
    return f"{type(e).__name__}: {detail}" if detail != type(e).__name__ else detail


# -- the client ----------------------------------------------------------------------------------------------


class Tap(Protocol):
    """Sees an accepted answer's raw body as it is read (see the module doc)."""

    started: bool  # set by `start`: bytes have gone out, the call can no longer be retried

    def start(self, status: int, headers: httpx.Headers) -> None: ...

    def data(self, raw: bytes) -> None: ...


class _TeeStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, tap: Tap) -> None:
        self._stream, self._tap = stream, tap

    async def __aiter__(self) -> AsyncIterator[bytes]:
        data = self._tap.data
        async for part in self._stream:
            data(part)
            yield part

    async def aclose(self) -> None:
        await self._stream.aclose()


class Reply(Protocol):
    """A provider's state for one try: it reads the try's stamped events into `timeline` and its own fields."""

    timeline: Timeline

    async def read(self, events: AsyncIterator[tuple[int, ServerSentEvent]]) -> None:
        """Consume `(arrival ns after t_send, event)` pairs; raise Retryable for malformed data or error events."""
        ...

    def complete(self) -> bool:
        """The reply came whole (a finish reason, a stop event): losing the rest of the stream is no reason to retry."""
        ...

    def incomplete(self) -> str:
        """Why a stream that ended without `complete()` is retried, for the error message."""
        ...


R = TypeVar("R", bound=Reply)


class StreamingClient:
    """One endpoint, streamed: POSTs JSON bodies and hands the stamped SSE events of each answer to a Reply."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        secret: str | None = None,
        max_concurrency: int = 4,
        clock: Clock = time.perf_counter_ns,
        retry: RetryPolicy | None = None,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        server_headers: tuple[str, ...] = ("server",),
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        parts = urllib.parse.urlsplit(base_url)
        self._url = urllib.parse.urlunsplit(parts._replace(query="", fragment="")).rstrip("/")
        # Some gateways want a query on every request (Azure's api-version=...): kept, but out of the manifest.
        self._query = f"?{parts.query}" if parts.query else ""
        # What messages and the manifest call the endpoint: no user:password@, no query.
        self.base_url = urllib.parse.urlunsplit(
            parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="")
        ).rstrip("/")
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.public = Scrubber(secret)
        self.server: dict[str, str] = {}  # identifying response headers, for the manifest
        self._server_headers = server_headers
        self._headers = {"User-Agent": f"ripsaw/{__version__}", "Content-Type": "application/json", **headers}
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._gate = DepartureGate()
        self._urls: dict[str, httpx.URL] = {}
        # A proxy from the environment must not sit between us and a local server we time.
        trust_env = not is_loopback(parts.hostname or "")
        wire = transport if isinstance(transport, WireTransport) else None
        if transport is None:
            wire = WireTransport(self._url, clock=clock, max_connections=max_concurrency, trust_env=trust_env)
        self._client = httpx.AsyncClient(
            transport=transport or wire,
            timeout=httpx.Timeout(connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=None),
            trust_env=False,  # the transport has already picked the environment's proxy, if any
        )
        # Through an environment's proxy, relayed requests go the common way.
        self._relay = (
            _RelayConnections(self._client, wire, self._headers, read_timeout_s) if wire and wire.direct else None
        )

    async def aclose(self) -> None:
        if self._relay is not None:
            await self._relay.aclose()
        await self._client.aclose()

    def _url_for(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:  # parsed once per path: httpx's URL parsing was a third of building each request
            url = self._urls[path] = httpx.URL(f"{self._url}{path}{self._query}")
        return url

    def depart(self, path: str, body: bytes, tap: Tap) -> Departed | None:
        """Write a relayed request at once, from the plain callback that read it, when nothing needs a wait: the
        client is warm, a slot of its concurrency is free and a kept connection is idle. From a task it left a
        loop turn and a dozen coroutines later, ~0.15 ms of its scaffold's TTFT after an idle wait (an AMD EPYC
        VM). Give the result to `call`; None: `call` sends the request the usual way."""
        if self._relay is None or not _warmed() or self._semaphore.locked():
            return None
        stream = self._relay.idle()
        if stream is None:
            return None
        acquire = self._semaphore.acquire()
        with contextlib.suppress(StopIteration):
            acquire.send(None)  # a free slot is taken without a wait
        departed = Departed(stream, WireTicket(self.clock(), tap=tap), self._semaphore)
        if not stream.depart(self._relay.request(self._url_for(path), body), departed.ticket):
            departed.abandon()
            return None
        return departed

    async def call(
        self,
        path: str,
        body: bytes,
        new_reply: Callable[[], R],
        deadline_ns: int | None,
        *,
        warm: bool = True,
        tap: Tap | None = None,
        departed: Departed | None = None,
    ) -> tuple[R, int, bool]:
        """POST `body` to `path` until a try succeeds: (the last try's reply, retries, False when the deadline cut
        it). Raises ProviderError when the endpoint fails for good. `tap`: see the module doc; `departed`: the
        request already left (`depart`), its first try reads the answer."""
        if warm and departed is None:
            await warm_up()
        url = self._url_for(path)
        where = f"{self.base_url}{path}"
        retries = 0
        while True:
            reply = new_reply()
            try:
                finished = await self._try(url, where, body, reply, deadline_ns, tap, departed)
            except Retryable as e:
                departed = None
                message = self.public(e.message)
                if tap is not None and tap.started:
                    raise ProviderError(f"{where}: {message} (after the answer had begun to stream)") from None
                if retries >= self.retry.max_retries:
                    raise ProviderError(f"{where}: {message} (gave up after {retries + 1} tries)") from None
                delay = self.retry.delay_s(retries, e.retry_after_s)
                if delay is None:
                    raise ProviderError(
                        f"{where}: {message}; the server asks to wait {e.retry_after_s:.0f} s, longer than "
                        f"{MAX_RETRY_AFTER_S:.0f} s (gave up after {retries + 1} tries)"
                    ) from None
                if deadline_ns is not None and self.clock() + int(delay * 1e9) >= deadline_ns:
                    raise ProviderError(
                        f"{where}: {message}; the task budget ends before retry {retries + 1} could start"
                    ) from None
                retries += 1
                await self.retry.sleep(delay)
                continue
            return reply, retries, finished

    async def _try(
        self,
        url: httpx.URL,
        where: str,
        body: bytes,
        reply: Reply,
        deadline_ns: int | None,
        tap: Tap | None = None,
        departed: Departed | None = None,
    ) -> bool:
        """Run one request into `reply`; False when the deadline cut it (the stream is then closed)."""
        timing = reply.timeline.timing
        # A relayed request (a tap) is one scaffold's call and arrives alone: nothing was started with it to leave
        # with, and the gate's loop turn would be TTFT its scaffold sees (its clock starts at its own send).
        gate = self._gate if tap is None else None
        ticket: WireTicket | None = None
        held = False
        if departed is not None:
            departed.taken = held = True
            ticket = departed.ticket
        try:
            remaining_s = None if deadline_ns is None else (deadline_ns - self.clock()) / 1e9
            if remaining_s is not None and remaining_s <= 0:
                if departed is not None:
                    await departed.stream.aclose()
                return False
            try:
                async with asyncio.timeout(remaining_s) as timeout:
                    if ticket is None:
                        await self._semaphore.acquire()
                        held = True
                        ticket = WireTicket(self.clock(), gate, tap=tap)
                    await self._stream(url, where, body, reply, ticket, tap, departed)
            except TimeoutError:
                if not timeout.expired():
                    raise
                if ticket is not None:
                    timing.close_ns = self.clock() - _t_send(ticket)
                    _note_send(timing, ticket)
                return False
        finally:
            if held:
                self._semaphore.release()
        return True

    async def _stream(
        self,
        url: httpx.URL,
        where: str,
        body: bytes,
        reply: Reply,
        ticket: WireTicket,
        tap: Tap | None = None,
        departed: Departed | None = None,
    ) -> None:
        timing = reply.timeline.timing
        token = _TICKET.set(ticket)
        ticket.join()
        try:
            if ticket.gate is not None:
                await asyncio.sleep(0)  # every call started in this loop turn joins the gate before any leaves
            post = (
                self._relay.post(url, body, departed)
                if tap is not None and self._relay is not None
                else self._client.stream("POST", url, content=body, headers=self._headers)
            )
            async with post as response:
                _note_send(timing, ticket)
                if response.status_code != 200:
                    await self._fail(where, response)
                for name in self._server_headers:
                    value = response.headers.get(name)
                    if value:
                        self.server[f"server_header_{name}"] = value
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    raise ProviderError(f"{where}: expected a text/event-stream reply, got {content_type or 'none'!r}")
                if tap is not None:
                    tap.start(response.status_code, response.headers)
                    if ticket.tapped is not None:
                        ticket.tapped.tap(tap, response.headers)
                    else:  # no wire connection (the caller's transport): the body as httpx yields it
                        assert isinstance(response.stream, httpx.AsyncByteStream)
                        response.stream = _TeeStream(response.stream, tap)
                await reply.read(_stamped(EventSource(response).aiter_sse(), ticket, self.clock, reply.timeline))
        except httpx.RequestError as e:
            if not reply.complete():
                raise Retryable(transport_message(e)) from None
            # The reply was complete; only the stream's tail (usage, [DONE]) was lost.
        finally:
            ticket.quit()
            if ticket.tapped is not None:
                ticket.tapped.untap(ticket)
            _TICKET.reset(token)
        _note_send(timing, ticket)
        timing.close_ns = self.clock() - _t_send(ticket)
        if not reply.complete():
            raise Retryable(reply.incomplete())

    async def _fail(self, where: str, response: httpx.Response) -> None:
        """Raise for a non-200 answer: Retryable when another try may succeed, ProviderError otherwise."""
        status = response.status_code
        raw = b""
        async for part in response.aiter_bytes():
            raw += part
            if len(raw) >= _ERROR_BODY_BYTES:
                break
        message = f"HTTP {status}: {self.public(error_message(raw))}"
        if status in RETRY_STATUSES or status >= 500:
            raise Retryable(message, retry_after_s(response.headers))
        raise RequestRejected(f"{where}: {message}", status)


def _t_send(ticket: WireTicket) -> int:
    return ticket.t_send if ticket.t_send is not None else ticket.t_queued


def _note_send(timing: CallTiming, ticket: WireTicket) -> None:
    if ticket.t_send is not None:
        timing.t_send_wire = True
        timing.queue_ns = ticket.t_send - ticket.t_queued


async def _stamped(
    events: AsyncIterator[ServerSentEvent], ticket: WireTicket, clock: Clock, timeline: Timeline
) -> AsyncIterator[tuple[int, ServerSentEvent]]:
    """Each event with its arrival, ns after t_send: the read that delivered its last byte (see the module doc),
    or, without a wire stream, the instant it was parsed. The timeline hears of every event first."""
    t_send = _t_send(ticket)
    stream = ticket.stream
    async for event in events:
        now = clock() - t_send if stream is None else typing.cast(int, stream.last_read_ns) - t_send
        timeline.event(now)
        yield now, event
