"""A reference OpenAI-compatible server that streams scripted replies on an exact schedule, and misbehaves on demand.

Raw asyncio sockets and hand-written HTTP/1.1 (no framework), so every TCP write is ours: a streamed event is one
write (one HTTP chunk), sent when its schedule says, and its send time is logged with `time.perf_counter_ns`, the
clock Ripsaw times calls with (CLOCK_MONOTONIC, so a client in another process can compare against the log).

Serves GET /v1/models, POST /v1/completions and POST /v1/chat/completions, streamed (SSE) or not, and two more
dialects, streamed only, by request path: POST /v1/responses (OpenAI Responses: typed `response.*` events, reasoning
items with an opaque `encrypted_content`, `function_call` items) and POST /v1/messages (Anthropic Messages:
`message_start`, `content_block_*` with thinking blocks and signatures, `tool_use`, `message_delta`, `ping`; the key
in `x-api-key`). Every dialect plays its events through the same schedule and faults. What a request
gets is a `Reply`, taken from the script: a list of replies consumed in order (the last one repeats), or a function
of the request JSON. A request may also carry a `"refserver": {...}` object of Reply fields that override the
scripted reply, so a client of a subprocess server can script each request itself.

Schedule: the first token is due `ttft_s` after the request arrived, token i is due `i / rate` later (an absolute
schedule: a late wake-up never delays the tokens after it), and a chunk of `tokens_per_chunk` tokens goes out when
its LAST token is due, as a real server sends what it has generated so far. A request's arrival is the instant its
last byte reached the server's socket: the kernel's receive timestamp (SO_TIMESTAMPNS, on Linux), so neither a busy
server loop nor a server process waiting for a core moves it (elsewhere: the socket read, stamped in the protocol's
`data_received` before the handler task runs). Sleeps wake up to ~1 ms late (the event loop waits in whole
milliseconds), so the last `spin_s` before a due time is busy-waited (yielding to other streams and to the OS);
in-process fixtures set `spin_s=0` to spare the CPU.

Use in-process (`with RefServer(script) as server:` runs it on a background thread) or as a process:

    python -m tests.refserver --port 0 --log sends.jsonl [--script replies.json] [--batch] [--tx-stamps]
    python -m tests.refserver --port 8377 --solutions TASKS_DIR    # a reference agent (solutions_script)

which prints `refserver listening on http://127.0.0.1:PORT/v1` and logs every request and every data event as a
JSONL line (`{"type": "request", ...}` / `{"type": "chunk", ...}`; the Authorization header is redacted). A chunk's
`t_ns` is the instant before its write, or with `--tx-stamps` (Linux) the kernel's transmit timestamp of its last
byte (`t_write_ns` keeps the instant before the write; `tx` says which): the instant the client could have it,
even when the server lost its core between its stamp and its write.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_TOKEN_SPLIT = re.compile(r"\s*\S+\s*$|\s*\S+")


def split_tokens(text: str | Sequence[str]) -> list[str]:
    """A scripted text's tokens: a list is taken as is; a string splits into words with their leading whitespace."""
    if not isinstance(text, str):
        return list(text)
    return _TOKEN_SPLIT.findall(text) if text.strip() else ([text] if text else [])


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server does with one completion request."""

    text: str | Sequence[str] = "Hello from the reference server."
    reasoning: str | Sequence[str] = ""  # streamed as `reasoning_content` deltas before the text
    ttft_s: float = 0.0
    rate: float | None = None  # tokens per second; None: all chunks at once
    tokens_per_chunk: int = 1
    send_usage: bool = True  # honoured only when the request asks with stream_options.include_usage
    role_only_first_chunk: bool = True  # sent as soon as the request is read (an empty-text chunk on /completions)
    keepalive: bool = False  # a `: ping` comment after the headers and after every data event
    # usage (cumulative so far) on every token chunk too, as vLLM's `continuous_usage_stats` sends it
    usage_every_chunk: bool = False
    split_writes: bool = False  # each data event in three writes: mid-UTF-8 character (or mid-line), between "\n\n"
    model: str = "ref-model"
    finish_reason: str = "stop"  # "length" when the request's max_tokens cuts the text
    # faults
    status: int = 200  # anything else: a JSON error body instead of a reply
    retry_after: str | None = None  # Retry-After header with the error status
    error_message: str = "scripted failure"
    reset_after: int | None = None  # TCP reset after this many tokens
    stall_after: int | None = None  # stop sending after this many tokens, until the client leaves or stall_s passes
    stall_s: float = 60.0
    malformed_after: int | None = None  # a broken JSON event after this many tokens (the stream then goes on)
    end_after: int | None = None  # end the body cleanly after this many tokens, without finish_reason or [DONE]
    # Tool calls streamed after the text (chat completions, Responses and Messages), each {"name", "arguments" (JSON
    # text, split into tokens like a text), "id" (optional)}; the name is one token, sent in the event that opens
    # the call
    native_tool_calls: Sequence[dict[str, str]] = ()
    cached_tokens: int = 0  # input tokens reported as read from the prompt cache
    error_event_after: int | None = None  # the dialect's error event after this many tokens (overloaded, ...)
    unknown_events: bool = False  # an event of a type no client knows before every data event (forward compatibility)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reply:
        return cls().updated(d)

    def updated(self, d: dict[str, Any]) -> Reply:
        unknown = set(d) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown Reply fields: {sorted(unknown)}")
        return dataclasses.replace(self, **d)


Script = Sequence[Reply] | Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    index: int
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None
    t_ns: int  # perf_counter_ns when the request's last byte reached the server's socket (see _ArrivalStamps)


@dataclass(frozen=True, slots=True)
class ChunkSend:
    """One SSE data event, as sent: `kind` is role, reasoning, content, malformed, finish or usage."""

    request: int
    index: int
    kind: str
    tokens: int
    # perf_counter_ns just before the event's (last) write: the earliest instant a client can have it whole. Not
    # after: a client woken on this core can preempt the server mid-write, which then stamped up to ~0.3 ms late.
    t_ns: int


class _Closed(Exception):
    """The connection must be closed (fault injected, or the client left)."""


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _frame(payload: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def _split_points(event: bytes) -> list[int]:
    """Where split_writes cuts an event: inside a multi-byte character if there is one, else mid-line; and
    between the two final newlines."""
    inside = next((i for i, b in enumerate(event) if b & 0xC0 == 0x80), len(event) // 2)
    return sorted({inside, len(event) - 1})


# The kernel's receive timestamp of the data a read returns (CLOCK_REALTIME), where the socket offers it: Linux
# (35 in asm-generic, x86 and arm; Python names the constant only from 3.14).
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_STAMP_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0
# The kernel's transmit timestamp of what a write sent (`tx_stamps`): SO_TIMESTAMPING (37) with TX_SOFTWARE |
# SOFTWARE | OPT_ID | OPT_TSONLY, reported on the socket's error queue per send call, keyed by the offset of the
# call's last byte in the stream. On loopback it is taken as the segment is handed to the device, inside the
# send call, or later if TCP held the bytes back (the client's window): the instant the client can have them.
_SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37 if sys.platform == "linux" else None)
_TX_FLAGS = (1 << 1) | (1 << 4) | (1 << 7) | (1 << 11)
_SO_EE_ORIGIN_TIMESTAMPING = 4
_ERRQUEUE_SPACE = socket.CMSG_SPACE(48) + socket.CMSG_SPACE(64) if hasattr(socket, "CMSG_SPACE") else 0


def _monotonic(realtime_ns: int) -> int:
    """A kernel timestamp (CLOCK_REALTIME) on perf_counter_ns's clock: both are slewed alike, so their offset read
    at this moment converts it."""
    return realtime_ns - (time.time_ns() - time.perf_counter_ns())


class _ArrivalStamps(asyncio.StreamReaderProtocol):
    """Stamps every socket read with the instant its data reached this socket: the kernel's receive timestamp
    (SO_TIMESTAMPNS) where it has one, else the instant the loop performed the read. The loop's instant can be
    late by however long this process waited to run: milliseconds on a shared 2-core host, where 16 requests
    sent within 0.3 ms were stamped up to 10 ms apart (`t_read_ns` in the log keeps it, to show that)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        connected: Callable[..., Any],
        log: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(reader, connected)
        self.last_read_ns = 0  # the kernel's arrival of the latest read's data (perf_counter_ns)
        self.last_loop_ns = 0  # when this loop performed that read
        self.kernel_ns: int | None = None  # set by _StampedSocket just before data_received
        # With transmit stamps (`log` given): the chunk records whose bytes the kernel has not stamped yet, each
        # with the stream offset just past its last byte; logged once stamped (or, if never, as written).
        self._log = log
        self.socket: _StampedSocket | None = None
        self.unstamped: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = getattr(transport, "_sock", None)  # asyncio's selector transport reads with sock.recv
        if isinstance(sock, socket.socket) and _SO_TIMESTAMPNS is not None and _STAMP_SPACE:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            except OSError:
                return
            tx = False
            if self._log is not None and _SO_TIMESTAMPING is not None and _ERRQUEUE_SPACE:
                # Enabled before the first byte is written, so the stamps' offsets count from the stream's start.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _TX_FLAGS)
                    tx = True
            self.socket = _StampedSocket(sock, self, tx)
            transport._sock = self.socket  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.last_loop_ns = time.perf_counter_ns()
        self.last_read_ns = self.kernel_ns if self.kernel_ns is not None else self.last_loop_ns
        self.kernel_ns = None
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.socket is not None:
            self.socket.drain_stamps()
        self.flush_unstamped()
        super().connection_lost(exc)

    @property
    def tx_stamps(self) -> bool:
        return self.socket is not None and self.socket.tx

    def written(self, record: dict[str, Any], transport: asyncio.WriteTransport) -> None:
        """A chunk record whose bytes were just written: logged when the kernel stamps their send."""
        assert self.socket is not None and self._log is not None
        self.unstamped.append((self.socket.sent + transport.get_write_buffer_size(), record))

    def sent(self, end: int, t_ns: int) -> None:
        """The kernel sent the stream's bytes up to `end` at `t_ns`: every record they complete is logged."""
        assert self._log is not None
        while self.unstamped and self.unstamped[0][0] <= end:
            _, record = self.unstamped.popleft()
            record["t_ns"], record["tx"] = t_ns, True
            self._log(record)

    def flush_unstamped(self) -> None:
        """Log what the kernel never stamped (its error queue overflowed, the connection died) as written."""
        while self.unstamped:
            _, record = self.unstamped.popleft()
            record["tx"] = False
            assert self._log is not None
            self._log(record)


class _StampedSocket:
    """A connection's socket as its transport reads it: each `recv` is a `recvmsg` that also takes the kernel's
    receive timestamp of the data (CLOCK_REALTIME), handed to the protocol on perf_counter_ns's clock (both
    clocks are slewed alike, so their offset read at that moment converts it). Everything else is the socket."""

    def __init__(self, sock: socket.socket, protocol: _ArrivalStamps, tx: bool = False) -> None:
        self._sock, self._protocol, self.tx = sock, protocol, tx
        self.sent = 0  # bytes the kernel took from our sends

    def recv(self, size: int) -> bytes:
        # A transmit stamp on the error queue makes the socket poll as readable-with-error until it is read: the
        # loop calls this then, and each stamp is taken at once.
        if self.tx:
            self.drain_stamps()
        data, ancillary, _, _ = self._sock.recvmsg(size, _STAMP_SPACE)
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack("qq", raw[:16])
                self._protocol.kernel_ns = _monotonic(sec * 1_000_000_000 + nsec)
        return data

    def send(self, data: bytes, flags: int = 0) -> int:
        n = self._sock.send(data, flags)
        self.sent += n
        return n

    def sendmsg(self, buffers: Any, *args: Any) -> int:
        n = self._sock.sendmsg(buffers, *args)
        self.sent += n
        return n

    def drain_stamps(self) -> None:
        """Read every transmit stamp waiting on the error queue and hand it to the protocol."""
        while self.tx:
            try:
                _, ancillary, _, _ = self._sock.recvmsg(0, _ERRQUEUE_SPACE, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.tx = False
                return
            t_ns = end = None
            for level, kind, raw in ancillary:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPING and len(raw) >= 16:
                    sec, nsec = struct.unpack("qq", raw[:16])  # the software stamp (then two hardware ones)
                    t_ns = _monotonic(sec * 1_000_000_000 + nsec)
                elif level != socket.SOL_SOCKET and len(raw) >= 16:  # IP_RECVERR / IPV6_RECVERR
                    _, origin, _, _, _, _, key = struct.unpack("IBBBBII", raw[:16])
                    if origin == _SO_EE_ORIGIN_TIMESTAMPING:
                        end = key + 1  # the key is the offset of the send call's last byte
            if t_ns is not None and end is not None:
                self._protocol.sent(end, t_ns)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _prompt_words(body: dict[str, Any]) -> int:
    if "messages" in body:
        return sum(len(str(m.get("content", "")).split()) for m in body["messages"] if isinstance(m, dict))
    prompt = body.get("prompt", "")
    return len(prompt.split()) if isinstance(prompt, str) else 0


class RefServer:
    def __init__(
        self,
        script: Script = (Reply(),),
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        spin_s: float = 0.0015,
        log: IO[str] | None = None,
        tx_stamps: bool = False,
    ) -> None:
        self.script = script
        self.api_key = api_key  # when set, requests without `Authorization: Bearer <api_key>` get 401
        self.host, self.port = host, port
        self.spin_ns = int(spin_s * 1e9)
        self._log = log
        # Log each event's send as the kernel's transmit timestamp (Linux; see _SO_TIMESTAMPING) instead of the
        # instant before its write: a server that loses its core between the two (a shared host, 16 busy streams)
        # then still logs when the client could have the event. The stamp before the write stays as `t_write_ns`.
        self.tx_stamps = tx_stamps and log is not None
        self.requests: list[ReceivedRequest] = []
        self.chunks: list[ChunkSend] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._served = 0  # completion requests, for list scripts
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def reset(self, script: Script | None = None) -> None:
        """Forget what was received and sent (and optionally load a new script)."""
        if script is not None:
            self.script = script
        self.requests.clear()
        self.chunks.clear()
        self.max_in_flight = self.in_flight
        self._served = 0

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the running loop."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _ArrivalStamps(
                asyncio.StreamReader(limit=2**16), self._connection, self._write_log if self.tx_stamps else None
            ),
            self.host,
            self.port,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._log is not None:
            self._log.flush()

    def __enter__(self) -> RefServer:
        """Serve from a background thread with its own event loop."""
        started = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            try:
                await self.start()
            except BaseException as e:
                failure.append(e)
                raise
            finally:
                started.set()
            await self._stop.wait()
            await self.aclose()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), name="refserver", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    # -- HTTP ------------------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # Only aclose() cancels a connection; ending quietly keeps asyncio from logging the cancellation.
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection must close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        # The read that completed the request is the latest one: a client sends nothing more before the reply.
        stamps: _ArrivalStamps = writer.transport.get_protocol()  # type: ignore[assignment]
        t_recv, t_read = stamps.last_read_ns, stamps.last_loop_ns
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        index = len(self.requests)
        path = target.partition("?")[0]
        request = ReceivedRequest(index, method, path, headers, body, t_recv)
        self.requests.append(request)
        self._write_log(
            {
                "type": "request",
                "request": index,
                "method": method,
                "path": path,
                "t_ns": t_recv,
                "t_read_ns": t_read,
                "headers": {k: ("<redacted>" if k in _KEY_HEADERS else v) for k, v in headers.items()},
                "body": body,
            }
        )

        if self.api_key is not None and not _authorized(path, headers, self.api_key):
            await self._send_json(writer, 401, {"error": {"message": "invalid API key", "type": "auth_error"}})
            return True
        if method == "GET" and path == "/v1/models":
            await self._send_json(
                writer,
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "refserver"} for m in self._models()
                    ],
                },
            )
            return True
        if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions", *_NATIVE):
            await self._send_json(writer, 404, {"error": {"message": f"no route {method} {path}", "type": "not_found"}})
            return True
        if not isinstance(body, dict):
            await self._send_json(writer, 400, {"error": {"message": "body is not a JSON object", "type": "invalid"}})
            return True

        try:
            reply = self._pick(body)
        except (TypeError, ValueError) as e:  # a bad "refserver" override in the request
            await self._send_json(writer, 400, {"error": {"message": str(e), "type": "invalid"}})
            return True
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if reply.status != 200:
                extra = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
                await self._send_json(
                    writer,
                    reply.status,
                    {"error": {"message": reply.error_message, "type": "scripted", "code": None}},
                    extra,
                )
                return True
            if path in _NATIVE:
                return await self._play(reader, writer, request, reply, _NATIVE[path](request, reply))
            if body.get("stream"):
                return await self._stream(reader, writer, request, reply)
            await self._send_json(writer, 200, self._whole(request, reply))
            return True
        finally:
            self.in_flight -= 1
            if stamps.socket is not None and stamps.tx_stamps:
                stamps.socket.drain_stamps()  # the last events' stamps, so the log is whole when the reply is
            if self._log is not None:
                self._log.flush()

    def _pick(self, body: dict[str, Any]) -> Reply:
        script = self.script
        reply = script(body) if callable(script) else script[min(self._served, len(script) - 1)]
        self._served += 1
        override = body.get("refserver")
        return reply.updated(override) if isinstance(override, dict) else reply

    def _models(self) -> list[str]:
        replies = [Reply()] if callable(self.script) else self.script
        return list(dict.fromkeys(r.model for r in replies))

    async def _send_json(
        self, writer: asyncio.StreamWriter, status: int, obj: Any, extra: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(obj).encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Server: ripsaw-refserver/1",
        ]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await writer.drain()

    def _write_log(self, record: dict[str, Any]) -> None:
        if self._log is not None:
            self._log.write(json.dumps(record) + "\n")

    # -- replies ---------------------------------------------------------------------------------------------

    def _plan(self, request: ReceivedRequest, reply: Reply) -> tuple[list[tuple[str, list[str]]], str, int, int]:
        """The token chunks (kind, tokens) the reply streams, its finish reason, and the token counts."""
        body = request.body
        reasoning, content = split_tokens(reply.reasoning), split_tokens(reply.text)
        if request.path == "/v1/completions":
            reasoning = []
        finish = reply.finish_reason
        limit = body.get("max_tokens")
        if isinstance(limit, int) and len(reasoning) + len(content) > limit:
            reasoning, content = reasoning[:limit], content[: max(0, limit - len(reasoning))]
            finish = "length"
        k = max(1, reply.tokens_per_chunk)
        chunks = [("reasoning", reasoning[i : i + k]) for i in range(0, len(reasoning), k)]
        chunks += [("content", content[i : i + k]) for i in range(0, len(content), k)]
        return chunks, finish, len(reasoning), len(content)

    def _usage(self, request: ReceivedRequest, n_reasoning: int, n_content: int, cached: int = 0) -> dict[str, Any]:
        prompt = _prompt_words(request.body)
        completion = n_reasoning + n_content
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "completion_tokens_details": {"reasoning_tokens": n_reasoning},
        }
        if cached:
            usage["prompt_tokens_details"] = {"cached_tokens": min(cached, prompt)}
        return usage

    def _whole(self, request: ReceivedRequest, reply: Reply) -> dict[str, Any]:
        chunks, finish, n_r, n_c = self._plan(request, reply)
        text = "".join("".join(t) for kind, t in chunks if kind == "content")
        reasoning = "".join("".join(t) for kind, t in chunks if kind == "reasoning")
        if request.path == "/v1/completions":
            choice: dict[str, Any] = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
            obj = "text_completion"
        else:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if reasoning:
                message["reasoning_content"] = reasoning
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            obj = "chat.completion"
        out = {
            "id": f"ref-{request.index}",
            "object": obj,
            "created": int(time.time()),
            "model": reply.model,
            "choices": [choice],
        }
        if reply.send_usage:
            out["usage"] = self._usage(request, n_r, n_c)
        return out

    async def _stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: ReceivedRequest, reply: Reply
    ) -> bool:
        body = request.body
        chat = request.path == "/v1/chat/completions"
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        chunks, finish, n_r, n_c = self._plan(request, reply)
        base: dict[str, Any] = {
            "id": f"ref-{request.index}",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": reply.model,
        }

        def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, so_far: int = 0) -> bytes:
            choice: dict[str, Any] = {"index": 0}
            if chat:
                choice["delta"] = delta or {}
            else:
                choice["text"] = (delta or {}).get("content", "")
            choice["logprobs"], choice["finish_reason"] = None, finish_reason
            obj: dict[str, Any] = {**base, "choices": [choice]}
            if include_usage:
                running = reply.usage_every_chunk and so_far
                obj["usage"] = self._usage(request, min(so_far, n_r), max(0, so_far - n_r)) if running else None
            return _event(obj)

        # Every event is serialized before the first one is due, so the send loop only waits and writes.
        events: list[tuple[str, int, bytes]] = []
        so_far = 0
        for kind, toks in chunks:
            so_far += len(toks)
            delta = {"reasoning_content" if kind == "reasoning" else "content": "".join(toks)}
            events.append((kind, len(toks), chunk(delta, so_far=so_far)))
        # Tool calls after the text, as chat servers stream them: the first delta of a call (by index) carries its
        # id and name (one token), later ones pieces of its JSON arguments.
        k = max(1, reply.tokens_per_chunk)
        for i, call in enumerate(reply.native_tool_calls if chat else ()):
            opening = {"index": i, "id": call.get("id") or f"call_{request.index}_{i}", "type": "function"}
            opening["function"] = {"name": call["name"], "arguments": ""}
            so_far += 1
            n_c += 1
            events.append(("tool", 1, chunk({"tool_calls": [opening]}, so_far=so_far)))
            pieces = split_tokens(call.get("arguments", ""))
            for j in range(0, len(pieces), k):
                part = pieces[j : j + k]
                so_far += len(part)
                n_c += len(part)
                delta = {"tool_calls": [{"index": i, "function": {"arguments": "".join(part)}}]}
                events.append(("tool", len(part), chunk(delta, so_far=so_far)))
        if chat and reply.native_tool_calls and finish == "stop":
            finish = "tool_calls"
        events.append(("finish", 0, chunk(None, finish)))
        if reply.send_usage and include_usage:
            usage = self._usage(request, n_r, n_c, reply.cached_tokens)
            events.append(("usage", 0, _event({**base, "choices": [], "usage": usage})))
        head = [("role", 0, chunk({"role": "assistant", "content": ""}))] if reply.role_only_first_chunk else []
        malformed = b'data: {"choices": [{"index": 0, "delta": {"content": "br\n\n'
        error = _event({"error": {"message": "scripted error event", "type": "server_error"}})
        return await self._play(
            reader, writer, request, reply, _Stream(head, events, b"data: [DONE]\n\n", malformed=malformed, error=error)
        )

    async def _play(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: ReceivedRequest,
        reply: Reply,
        stream: _Stream,
    ) -> bool:
        """Stream a dialect's events on the reply's schedule, with its faults: the head at once, then each event
        when its last token is due (events without tokens right after the one before), then the trailer."""
        ping = _frame(stream.ping) if reply.keepalive else b""
        unknown = _frame(_UNKNOWN_EVENT) if reply.unknown_events else b""
        seq = 0
        stamps: _ArrivalStamps = writer.transport.get_protocol()  # type: ignore[assignment]

        async def send(kind: str, tokens: int, event: bytes) -> None:
            nonlocal seq
            last = 0
            if unknown:
                writer.write(unknown)
            if reply.split_writes:
                for cut in _split_points(event):
                    writer.write(_frame(event[last:cut]))
                    last = cut
                    await writer.drain()
                    await asyncio.sleep(0.001)  # let the piece leave as its own TCP segment
            t = time.perf_counter_ns()
            writer.write(_frame(event[last:]))
            record = {
                "type": "chunk",
                "request": request.index,
                "index": seq,
                "kind": kind,
                "tokens": tokens,
                "t_ns": t,
            }
            if stamps.tx_stamps:
                record["t_write_ns"] = t
                stamps.written(record, writer.transport)
            else:
                self._write_log(record)
            if ping:
                writer.write(ping)
            await writer.drain()
            self.chunks.append(ChunkSend(request.index, seq, kind, tokens, t))
            seq += 1

        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nServer: ripsaw-refserver/1\r\n\r\n" + ping
        )
        await writer.drain()
        for kind, tokens, event in stream.head:
            await send(kind, tokens, event)

        t_first = request.t_ns + int(reply.ttft_s * 1e9)
        ns_per_token = 1e9 / reply.rate if reply.rate else 0.0
        sent = 0
        malformed, error = reply.malformed_after, reply.error_event_after
        for kind, tokens, event in stream.events:
            await self._fault(reader, writer, reply, sent)
            if malformed is not None and sent >= malformed:
                await send("malformed", 0, stream.malformed)
                malformed = None
            if error is not None and sent >= error:
                await send("error", 0, stream.error)
                error = None
            if reply.end_after is not None and sent >= reply.end_after:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                return True
            if tokens:  # released when its last token is due
                await self._wait_until(t_first + int((sent + tokens - 1) * ns_per_token))
            await send(kind, tokens, event)
            sent += tokens
        writer.write((_frame(stream.trailer) if stream.trailer else b"") + b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _fault(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: Reply, sent: int) -> None:
        if reply.reset_after is not None and sent >= reply.reset_after:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() then sends RST
            writer.transport.abort()
            raise _Closed
        if reply.stall_after is not None and sent >= reply.stall_after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(1), reply.stall_s)
            raise _Closed

    async def _wait_until(self, due_ns: int) -> None:
        while (delay := due_ns - time.perf_counter_ns()) > self.spin_ns:
            await asyncio.sleep((delay - self.spin_ns) / 1e9)
        # The busy-wait yields twice per turn. To the event loop, so concurrent streams keep their own schedules
        # (a blocking spin made every other stream late by up to spin_s). And to the OS: the client woken by our
        # last write is often queued on this very core, and without a yield it waited for the scheduler to
        # preempt the spin, receiving the next tokens 1-4 ms late (measured by bench/fidelity.py on 2 cores).
        while time.perf_counter_ns() < due_ns:
            await asyncio.sleep(0)
            os.sched_yield()


# -- the native dialects: OpenAI Responses and Anthropic Messages ------------------------------------------------

Event = tuple[str, int, bytes]  # (kind, tokens, the SSE event's bytes): what the schedule plays


@dataclass(frozen=True, slots=True)
class _Stream:
    """A dialect's reply, serialized before the first event is due: `head` goes out at once, `events` on the
    schedule, `trailer` (if any) after them; `ping`, `malformed` and `error` are its keep-alive and fault events."""

    head: list[Event]
    events: list[Event]
    trailer: bytes = b""
    ping: bytes = b": ping\n\n"
    malformed: bytes = b'data: {"type": "broken\n\n'
    error: bytes = b""


_UNKNOWN_EVENT = b'event: refserver.unknown\ndata: {"type": "refserver.unknown", "future": true}\n\n'
_KEY_HEADERS = ("authorization", "x-api-key")


def _authorized(path: str, headers: dict[str, str], key: str) -> bool:
    if path == "/v1/messages":
        return headers.get("x-api-key") == key
    return headers.get("authorization") == f"Bearer {key}"


def _typed(name: str, obj: dict[str, Any]) -> bytes:
    """An SSE event with its `event:` name, as the Responses and Messages APIs send them."""
    return f"event: {name}\n".encode() + _event({"type": name, **obj})


def _words(value: Any) -> int:
    """The words of every string in a request's conversation: the prompt tokens the native dialects report."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, dict):
        return sum(_words(v) for k, v in value.items() if k not in ("type", "role", "id", "call_id", "signature"))
    if isinstance(value, list):
        return sum(map(_words, value))
    return 0


def _native_plan(body: dict[str, Any], reply: Reply, limit_key: str) -> tuple[list[tuple[str, int, list[str]]], bool]:
    """The reply's token chunks as (kind, tool call index or -1, tokens): reasoning, text, then each tool call's
    name (one token, its own chunk) and arguments; True when `limit_key` in the request cut them."""
    k = max(1, reply.tokens_per_chunk)
    parts: list[tuple[str, int, list[str]]] = [("reasoning", -1, split_tokens(reply.reasoning))]
    parts.append(("content", -1, split_tokens(reply.text)))
    for i, call in enumerate(reply.native_tool_calls):
        parts += [("tool_name", i, [call["name"]]), ("tool", i, split_tokens(call.get("arguments", "")))]
    limit = body.get(limit_key)
    budget = limit if isinstance(limit, int) else None
    chunks: list[tuple[str, int, list[str]]] = []
    for kind, index, tokens in parts:
        if budget is not None:
            tokens, budget = tokens[:budget], max(0, budget - len(tokens))
        step = 1 if kind == "tool_name" else k
        chunks += [(kind, index, tokens[i : i + step]) for i in range(0, len(tokens), step)]
    total = sum(len(t) for _, _, t in parts)
    return chunks, isinstance(limit, int) and total > limit


def _responses(request: ReceivedRequest, reply: Reply) -> _Stream:
    """POST /v1/responses: reasoning item (summary deltas, then the item with its encrypted_content), message item
    (output_text deltas), function_call items (name in output_item.added, argument deltas), response.completed
    with usage (or response.incomplete when max_output_tokens cut the reply)."""
    body = request.body
    chunks, cut = _native_plan(body, reply, "max_output_tokens")
    rid = f"resp_{request.index}"
    response = {"id": rid, "object": "response", "model": reply.model, "status": "in_progress", "output": []}
    head = [("meta", 0, _typed("response.created", {"response": response}))]
    head.append(("meta", 0, _typed("response.in_progress", {"response": response})))
    events: list[Event] = []
    output: list[dict[str, Any]] = []
    texts: dict[tuple[str, int], str] = {}
    n = {"reasoning": 0, "content": 0, "tool": 0}

    def close(kind: str, index: int) -> None:
        """The events that end an item, once its last chunk went."""
        text = texts.get((kind, index), "")
        at = len(output)
        if kind == "reasoning":
            item = {
                "id": f"rs_{request.index}",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": text}],
                "encrypted_content": f"enc-{request.index}-{len(text)}",
            }
            events.append(
                ("meta", 0, _typed("response.reasoning_summary_text.done", {"item_id": item["id"], "text": text}))
            )
        elif kind == "content":
            item = {
                "id": f"msg_{request.index}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
            events.append(("meta", 0, _typed("response.output_text.done", {"item_id": item["id"], "text": text})))
        else:
            call = reply.native_tool_calls[index]
            item = {
                "id": f"fc_{request.index}_{index}",
                "type": "function_call",
                "status": "completed",
                "call_id": call.get("id", f"call_{index}"),
                "name": call["name"],
                "arguments": text,
            }
            events.append(
                ("meta", 0, _typed("response.function_call_arguments.done", {"item_id": item["id"], "arguments": text}))
            )
        output.append(item)
        events.append(("meta", 0, _typed("response.output_item.done", {"output_index": at, "item": item})))

    current: tuple[str, int] | None = None
    for kind, index, tokens in chunks:
        item_kind = "tool" if kind == "tool_name" else kind
        if current is not None and current != (item_kind, index):
            close(*current)
        at = len(output)
        text = "".join(tokens)
        if kind == "tool_name":
            call = reply.native_tool_calls[index]
            item = {
                "id": f"fc_{request.index}_{index}",
                "type": "function_call",
                "status": "in_progress",
                "call_id": call.get("id", f"call_{index}"),
                "name": text,
                "arguments": "",
            }
            events.append(
                ("tool", len(tokens), _typed("response.output_item.added", {"output_index": at, "item": item}))
            )
            n["tool"] += len(tokens)
            current = ("tool", index)
            continue
        if current != (kind, index):
            current = (kind, index)
            kind_item = {"reasoning": ("rs", "reasoning"), "content": ("msg", "message")}.get(kind)
            if kind_item is not None:
                item = {"id": f"{kind_item[0]}_{request.index}", "type": kind_item[1]}
                # The item as the API opens it, every required field present (Codex CLI drops an item it cannot
                # parse, and then every delta of it).
                if kind == "content":
                    item.update(status="in_progress", role="assistant", content=[])
                else:
                    item.update(summary=[])
                events.append(("meta", 0, _typed("response.output_item.added", {"output_index": at, "item": item})))
        texts[(kind, index)] = texts.get((kind, index), "") + text
        name = {
            "reasoning": "response.reasoning_summary_text.delta",
            "content": "response.output_text.delta",
            "tool": "response.function_call_arguments.delta",
        }[kind]
        item_id = {"reasoning": f"rs_{request.index}", "content": f"msg_{request.index}"}.get(
            kind, f"fc_{request.index}_{index}"
        )
        events.append((kind, len(tokens), _typed(name, {"item_id": item_id, "output_index": at, "delta": text})))
        n[kind] += len(tokens)
    if current is not None:
        close(*current)
    final: dict[str, Any] = {**response, "status": "incomplete" if cut else "completed", "output": output}
    if cut:
        final["incomplete_details"] = {"reason": "max_output_tokens"}
    prompt = _words(body.get("input")) + _words(body.get("instructions"))
    final["usage"] = (
        {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": reply.cached_tokens},
            "output_tokens": sum(n.values()),
            "output_tokens_details": {"reasoning_tokens": n["reasoning"]},
            "total_tokens": prompt + sum(n.values()),
        }
        if reply.send_usage
        else None
    )
    events.append(("finish", 0, _typed("response.incomplete" if cut else "response.completed", {"response": final})))
    error = _typed("error", {"code": "server_error", "message": "scripted error event", "param": None})
    return _Stream(head, events, error=error)


def _messages(request: ReceivedRequest, reply: Reply) -> _Stream:
    """POST /v1/messages: message_start (input usage), a thinking block (thinking deltas, then its signature), a
    text block, tool_use blocks (name in content_block_start, input_json deltas), message_delta (stop_reason,
    output usage), message_stop. Keep-alives are `ping` events."""
    body = request.body
    chunks, cut = _native_plan(body, reply, "max_tokens")
    prompt = _words(body.get("messages")) + _words(body.get("system"))
    usage: dict[str, Any] = {
        "input_tokens": prompt - reply.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": reply.cached_tokens,
        "output_tokens": 1,
    }
    message = {
        "id": f"msg_{request.index}",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": reply.model,
        "stop_reason": None,
        "stop_sequence": None,
    }
    if reply.send_usage:
        message["usage"] = usage
    head = [("meta", 0, _typed("message_start", {"message": message}))]
    events: list[Event] = []
    blocks = 0
    texts: dict[tuple[str, int], str] = {}
    total = 0

    def close(kind: str, index: int) -> None:
        if kind == "reasoning":
            signature = f"sig-{request.index}-{len(texts[(kind, index)])}"
            delta = {"type": "signature_delta", "signature": signature}
            events.append(("meta", 0, _typed("content_block_delta", {"index": blocks - 1, "delta": delta})))
        events.append(("meta", 0, _typed("content_block_stop", {"index": blocks - 1})))

    current: tuple[str, int] | None = None
    for kind, index, tokens in chunks:
        item_kind = "tool" if kind == "tool_name" else kind
        if current is not None and current != (item_kind, index):
            close(*current)
        text = "".join(tokens)
        total += len(tokens)
        if kind == "tool_name":
            call = reply.native_tool_calls[index]
            block = {"type": "tool_use", "id": call.get("id", f"toolu_{index}"), "name": text, "input": {}}
            events.append(
                ("tool", len(tokens), _typed("content_block_start", {"index": blocks, "content_block": block}))
            )
            blocks += 1
            current = ("tool", index)
            continue
        if current != (kind, index):
            current = (kind, index)
            block = {"type": "thinking", "thinking": ""} if kind == "reasoning" else {"type": "text", "text": ""}
            events.append(("meta", 0, _typed("content_block_start", {"index": blocks, "content_block": block})))
            blocks += 1
        texts[(kind, index)] = texts.get((kind, index), "") + text
        delta = {
            "reasoning": {"type": "thinking_delta", "thinking": text},
            "content": {"type": "text_delta", "text": text},
            "tool": {"type": "input_json_delta", "partial_json": text},
        }[kind]
        events.append((kind, len(tokens), _typed("content_block_delta", {"index": blocks - 1, "delta": delta})))
    if current is not None:
        close(*current)
    stop = "max_tokens" if cut else "tool_use" if reply.native_tool_calls else "end_turn"
    final: dict[str, Any] = {"delta": {"stop_reason": stop, "stop_sequence": None}}
    if reply.send_usage:
        final["usage"] = {"output_tokens": total}
    events.append(("finish", 0, _typed("message_delta", final)))
    events.append(("meta", 0, _typed("message_stop", {})))
    error = _typed("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
    return _Stream(
        head,
        events,
        ping=_typed("ping", {}),
        malformed=b'event: content_block_delta\ndata: {"type": "con\n\n',
        error=error,
    )


_NATIVE: dict[str, Callable[[ReceivedRequest, Reply], _Stream]] = {
    "/v1/responses": _responses,
    "/v1/messages": _messages,
}


# What the solutions script plays after the known fix: the workspace's own tests (what an agent checks before it
# submits; the hidden tests are not there), output trimmed as a careful agent would.
SOLUTION_CHECK = "python3 -m pytest -q -x -p no:cacheprovider 2>&1 | tail -n 5"


def solutions_script(root: Path, *, rate: float | None = None) -> Callable[[dict[str, Any]], Reply]:
    """A reference agent for the repository tasks under `root` (task directories with instruction.md and
    solution/solve.sh): each conversation is matched to its task by its first user message (the task's
    instruction, as Ripsaw sends it) and played as three commands, one per turn: the task's solve.sh (the known
    fix), SOLUTION_CHECK, then `submit`. As bash tool calls when the request offers tools, else as one fenced
    bash block (a script holding a fence of its own goes base64-encoded). A run of the built-in agent against it
    measures the pipeline's ceiling: every task must pass, and its time is Ripsaw's and the tools' alone."""
    solutions: dict[str, str] = {}
    for task in sorted(p for p in root.iterdir() if (p / "solution" / "solve.sh").is_file()):
        instruction = (task / "instruction.md").read_text(encoding="utf-8").strip()
        if instruction in solutions:
            raise ValueError(f"{task}: the same instruction as another task; a conversation could not be told apart")
        solutions[instruction] = (task / "solution" / "solve.sh").read_text(encoding="utf-8")
    if not solutions:
        raise ValueError(f"{root}: no task directory with solution/solve.sh")

    def reply(body: dict[str, Any]) -> Reply:
        messages = body.get("messages") or []
        first = next((m.get("content") for m in messages if m.get("role") == "user"), None)
        solve = solutions.get(first.strip()) if isinstance(first, str) else None
        if solve is None:
            return Reply(status=400, error_message=f"no task under {root} has this conversation's instruction")
        turn = sum(1 for m in messages if m.get("role") in ("user", "tool")) - 1
        command = [solve, SOLUTION_CHECK, "submit"][min(turn, 2)]
        if body.get("tools"):
            call = {"name": "bash", "arguments": json.dumps({"command": command})}
            return Reply(text="", native_tool_calls=[call], rate=rate)
        if "```" in command:
            encoded = base64.b64encode(command.encode()).decode()
            command = f"echo {encoded} | base64 -d | bash"
        return Reply(text=f"Step {turn + 1}.\n\n```bash\n{command}\n```\n", rate=rate)

    return reply


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.refserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--log", type=Path, help="JSONL file of received requests and sent events")
    parser.add_argument("--script", type=Path, help="JSON file: one Reply object or a list of them")
    parser.add_argument(
        "--solutions", type=Path, metavar="DIR", help="play the known fix of each repository task under DIR as an agent"
    )
    parser.add_argument("--api-key", help="require this bearer key")
    parser.add_argument("--spin-s", type=float, default=0.0015, help="busy-wait this long before each due time")
    parser.add_argument("--batch", action="store_true", help="run as SCHED_BATCH (Linux): see below")
    parser.add_argument(
        "--tx-stamps", action="store_true", help="log each event's send as the kernel's transmit timestamp (Linux)"
    )
    args = parser.parse_args(argv)
    if args.batch and hasattr(os, "SCHED_BATCH"):
        # A stand-in for a remote endpoint must not take the client's core at the client's own instants. On one
        # host each request the client writes wakes this process, and the scheduler may preempt the client for
        # it in the middle of a burst: 16 requests written in 0.25 ms then reached the socket 2-10 ms apart. A
        # SCHED_BATCH process never preempts on wake-up (it runs on an idle core or at the next tick) and keeps
        # its fair share of CPU; the client, woken by our writes, still preempts us, so it reads tokens at once.
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    script: Script = (Reply(),)
    if args.solutions:
        script = solutions_script(args.solutions)
    elif args.script:
        spec = json.loads(args.script.read_text())
        script = [Reply.from_dict(d) for d in (spec if isinstance(spec, list) else [spec])]

    async def serve(log: IO[str] | None) -> None:
        server = RefServer(
            script,
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            spin_s=args.spin_s,
            log=log,
            tx_stamps=args.tx_stamps,
        )
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"refserver listening on {server.base_url}", flush=True)
        await stop.wait()
        await server.aclose()

    with contextlib.ExitStack() as stack:
        log = stack.enter_context(args.log.open("a", encoding="utf-8")) if args.log else None
        asyncio.run(serve(log))


if __name__ == "__main__":
    main()
