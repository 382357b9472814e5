"""The timing proxy: a scaffold's model calls, timed as Ripsaw times its own, without changing the scaffold.

Per attempt, `TimingProxy` serves HTTP/1.1 on a Unix socket in a directory of its own, which the attempt's
container gets bind-mounted at `SOCKET_DIR` (ripsaw.sandboxes.workspace: `Workspaces.box(..., proxy_dir=...)`);
the container's network stays "none", so the socket is the only way out of it. A scaffold that can only speak TCP
reaches the socket through `FORWARDER`, a stdlib-only script the adapter starts inside the container on loopback
(127.0.0.1:`FORWARD_PORT` -> the socket).

What the scaffold may ask for is what the combo's provider speaks, told by the request path: `.../chat/completions`
(provider `openai`), `.../responses` (`openai-responses`), `.../messages` (`anthropic`); `GET .../models` lists the
combo's model. Each request:

- is refused (400, with a message in the API's error shape) when it names another model than the combo's, asks an
  API the combo's endpoint does not serve, comes after the attempt's deadline, or repeats a top-level key (the
  body is forwarded as it came, and parsers differ on which of two values wins);
- is forwarded to the combo's real endpoint by the combo's provider (`relay`): its base URL, its real key (the
  scaffold is given a dummy one and its own key header is never forwarded), its retries and concurrency, and the
  same wire stamps, SSE parsing, usage and cost as a direct call, so the ModelCall it records is one of the same
  fidelity. A streamed request's answer goes back unchanged: the body of every socket read of the upstream answer
  is written to the scaffold from the read itself, before Ripsaw parses it (ripsaw.providers.streaming, `Tap`), in
  one write (chunk size, data, CRLF) and without waiting for it to drain; only the HTTP framing is the proxy's own
  (chunked). A chat request is always sent upstream with `stream_options.include_usage` (the
  token count is the server's), so a streamed chat answer may end with the usage chunk (`choices: []`) that the
  OpenAI SDK and litellm read; a chat request without `stream: true` is streamed upstream all the same (that is
  how it is timed) and answered as one `chat.completion` object built from the stream. Responses and Messages
  requests must stream (every scaffold that speaks them does);
- is cut at the deadline: the stream stops where it was and the connection closes, so the scaffold sees a
  broken stream, and the call is recorded with `cut="budget"`;
- fails as an upstream failure would: a refusal the endpoint gave (4xx) is passed on with its status and message;
  an endpoint that failed for good after the retries is a 502, and the attempt an infra error.

The proxy's own time is TTFT the scaffold sees, so its path is short: the socket is served from the event loop's
callbacks (`_Scaffold`, not asyncio's streams), a request is checked in the callback that read it and, when a kept
connection to the endpoint is idle, written there too (`Relaying.depart`); a write to the scaffold yields the core
to it. `bench/proxy_overhead.py` measures what is left (bench/README.md).

Every request, refused or not, is logged as a `ProxiedRequest` (when, which API, streamed or not, how many
conversation items, what the scaffold was answered, and which ModelCall it made).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import json.scanner
import os
import re
import shutil
import socket
import tempfile
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from ripsaw.errors import ConfigError, ProviderError, RequestRejected
from ripsaw.providers.streaming import Departed, Tap
from ripsaw.records import ModelCall, ProxiedRequest
from ripsaw.types import Clock, Message, Prompt

SOCKET_DIR = "/run/ripsaw"  # where the proxy's directory is mounted in the container
SOCKET_NAME = "model.sock"
FORWARD_PORT = 8787  # the in-container forwarder's loopback port, for scaffolds that speak TCP only
DUMMY_KEY = "sk-ripsaw-proxy"  # what the scaffold is given as its key: the real one never enters the container
FORWARDER = Path(__file__).with_name("forwarder.py")

# Request path suffix -> the API name in records; a provider serves the one its `path` names.
APIS = {"/chat/completions": "chat", "/responses": "responses", "/messages": "messages"}
_MAX_HEAD = 64 << 10
_MAX_BODY = 64 << 20
_READ_BYTES = 1 << 16
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 502: "Bad Gateway"}


class Relaying(Protocol):
    """A provider the proxy can forward to (`openai`, `openai-responses`, `anthropic`; `llamacpp` through the
    OpenAI chat endpoint of the server it started)."""

    path: str

    def depart(self, body: bytes, tap: Tap) -> Departed | None: ...

    async def relay(
        self, body: bytes, prompt: Callable[[], Prompt], deadline_ns: int | None, tap: Tap, departed: Departed | None
    ) -> ModelCall: ...


def relaying(provider: object, combo_name: str) -> Relaying:
    if (
        not callable(getattr(provider, "relay", None))
        or not callable(getattr(provider, "depart", None))
        or getattr(provider, "path", None) not in APIS
    ):
        raise ConfigError(
            f"combo {combo_name!r}: its provider cannot be put behind the timing proxy (scaffolds need provider "
            "'openai', 'openai-responses', 'anthropic' or 'llamacpp')"
        )
    return provider  # type: ignore[return-value]


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(slots=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


class _Relay:
    """The `Tap` of one streamed request: the upstream answer's bytes, unchanged, in HTTP chunks to the scaffold."""

    def __init__(self, writer: _Scaffold) -> None:
        self.writer = writer
        self.started = False

    def start(self, status: int, headers: httpx.Headers) -> None:
        self.started = True
        head = [f"HTTP/1.1 {status} OK", "transfer-encoding: chunked", "cache-control: no-cache"]
        for name in ("content-type", "content-encoding"):
            if value := headers.get(name):
                head.append(f"{name}: {value}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))

    def data(self, raw: bytes) -> None:
        if raw:
            self.writer.write(b"%x\r\n%b\r\n" % (len(raw), raw))

    def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")


class _Unstreamed:
    """The `Tap` of a chat request that did not ask to stream: the answer is kept by the call, not passed on, so
    the tap is never `started` (a failed try may be tried again). It is a tap all the same: a relayed request
    leaves on the relay's own connections, without the departure gate."""

    started = False

    def start(self, status: int, headers: httpx.Headers) -> None:
        pass

    def data(self, raw: bytes) -> None:
        pass


@dataclass(slots=True)
class TimingProxy:
    """One attempt's proxy. `await start()`, give the container `directory`, `await aclose()` after the run."""

    provider: Relaying
    model: str
    deadline_ns: int | None = None
    clock: Clock = time.perf_counter_ns
    calls: list[ModelCall] = field(default_factory=list)
    requests: list[ProxiedRequest] = field(default_factory=list)
    t0_ns: int | None = None  # what request times are counted from (the attempt's start); default: `start`
    on_request: Callable[[], None] | None = None  # told when a model request is accepted, before it is forwarded
    directory: Path | None = None
    _listener: socket.socket | None = None
    _connections: set[_Scaffold] = field(default_factory=set)
    _forwarding: set[asyncio.Task[bool]] = field(default_factory=set)  # the tasks of the requests being forwarded

    @property
    def socket_path(self) -> Path:
        assert self.directory is not None, "start the proxy first"
        return self.directory / SOCKET_NAME

    @property
    def api(self) -> str:
        return APIS[self.provider.path]

    async def start(self) -> None:
        # A short path (a socket's is limited to 107 bytes), readable by the container's non-root user.
        self.directory = Path(tempfile.mkdtemp(prefix="ripsaw-proxy-"))
        self.directory.chmod(0o755)
        if self.t0_ns is None:
            self.t0_ns = self.clock()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            listener.listen(128)
            listener.setblocking(False)
            asyncio.get_running_loop().add_reader(listener.fileno(), self._accept, listener)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self.socket_path.chmod(0o666)  # connecting needs write permission; the agent user is not the owner

    async def settle(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, for the requests being forwarded to be recorded. A call the deadline cut ends at
        the deadline, but is counted after it (a local server's tokenizer answers once its generation has stopped):
        closing the proxy first would lose it."""
        if self._forwarding:
            await asyncio.wait(list(self._forwarding), timeout=timeout_s)

    async def aclose(self) -> None:
        if self._listener is not None:
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
            tasks = [c.task for c in self._connections if c.task is not None and not c.task.done()]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for connection in list(self._connections):
                connection.lose()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- connections -----------------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(64):
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors, say: the scaffold's connect fails, as it would on a full server
                return
            sock.setblocking(False)
            connection = _Scaffold(self, sock)
            self._connections.add(connection)
            connection.readable()  # the request has usually arrived with the connection: served without a loop turn

    def _begin(self, request: _Request, writer: _Scaffold) -> asyncio.Task[bool]:
        """Log and check `request` and send it on, from the callback that read it; the task answers it (True: the
        connection stays open). A request that can leave at once leaves here (`Relaying.depart`), before the
        task's loop turn."""
        arrived = self.clock()
        at = (arrived - (self.t0_ns or 0)) / 1e9
        path = request.path.split("?", 1)[0].rstrip("/")
        api = next((name for suffix, name in APIS.items() if path.endswith(suffix)), None)
        log = ProxiedRequest(index=len(self.requests), at_s=at, api=api or "", path=path[:200], stream=False)
        self.requests.append(log)
        loop = asyncio.get_running_loop()
        if request.method == "GET" and path.endswith("/models"):
            log.api, log.status = "models", 200
            listing = {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "ripsaw"}]}
            return loop.create_task(_answer(writer, 200, json.dumps(listing).encode(), request.keep_alive))
        try:
            body = self._check(request, api, log)
        except _Refused as e:
            log.status, log.detail = e.status, e.message
            return loop.create_task(_answer(writer, e.status, _error_body(api or self.api, e.message),
                                            request.keep_alive))  # fmt: skip
        upstream = request.body
        if self.api == "chat" and not (log.stream and (body.get("stream_options") or {}).get("include_usage")):
            options = body.get("stream_options")
            body = {**body, "stream": True, "stream_options": {**(options if isinstance(options, dict) else {}),
                                                                "include_usage": True}}  # fmt: skip
            upstream = json.dumps(body).encode()
        tap: _Relay | _Unstreamed = _Relay(writer) if log.stream else _Unstreamed()
        departed = self.provider.depart(upstream, tap)
        task = loop.create_task(self._forward(request, body, upstream, tap, departed, log, writer))
        self._forwarding.add(task)

        def forwarding_ended(_: object) -> None:  # first of the task's callbacks: before `settle` sees it done
            ended = self.clock() if self.deadline_ns is None else min(self.clock(), self.deadline_ns)
            log.duration_s = (ended - arrived) / 1e9  # the scaffold's wait: a cut call's count comes after it
            self._forwarding.discard(task)
            if departed is not None:  # not taken by a try (the task cancelled, even before its first step)
                departed.abandon()

        task.add_done_callback(forwarding_ended)
        if self.on_request is not None:
            self.on_request()  # after the request's task: what it starts (a snapshot) runs after the send
        return task

    def _check(self, request: _Request, api: str | None, log: ProxiedRequest) -> dict[str, Any]:
        if request.method != "POST" or api is None:
            raise _Refused(404, f"the timing proxy serves POST {self.provider.path} (and GET /models), not "
                           f"{request.method} {log.path}")  # fmt: skip
        if api != self.api:
            raise _Refused(
                400, f"this attempt's model is served through the {self.api!r} API ({self.provider.path}); "
                f"the scaffold called {log.path}",
            )  # fmt: skip
        body = _json_object(request.body)
        log.stream = body.get("stream") is True
        log.items = _items(api, body)
        if body.get("model") != self.model:
            raise _Refused(400, f"model {body.get('model')!r} is not this attempt's model ({self.model!r})")
        if self.deadline_ns is not None and self.clock() >= self.deadline_ns:
            raise _Refused(400, "the attempt's time budget is spent: no more model calls")
        if not log.stream and api != "chat":
            raise _Refused(400, f"the timing proxy needs streamed requests for the {api!r} API (stream: true)")
        return body

    async def _forward(
        self,
        request: _Request,
        body: dict[str, Any],
        upstream: bytes,
        tap: _Relay | _Unstreamed,
        departed: Departed | None,
        log: ProxiedRequest,
        writer: _Scaffold,
    ) -> bool:
        try:
            try:
                call = await self.provider.relay(
                    upstream, lambda: _prompt(self.api, body), self.deadline_ns, tap, departed
                )
            except RequestRejected as e:
                if tap.started:
                    log.status, log.detail = 200, str(e)
                    return False
                raise _Refused(e.status, str(e)) from None
            except ProviderError as e:
                log.detail = str(e)
                if tap.started:
                    log.status = 200
                    return False
                raise _Refused(502, f"the model endpoint failed: {e}") from None
            self.calls.append(call)
            log.call, log.status = len(self.calls) - 1, 200
            if call.cut == "budget":
                log.detail = "cut at the attempt's deadline"
                if isinstance(tap, _Unstreamed):
                    raise _Refused(400, "the attempt's time budget ended during this call")
                return False  # the stream stops where it was: the connection closes without its last chunk
        except _Refused as e:
            log.status, log.detail = e.status, e.message
            return await _answer(writer, e.status, _error_body(self.api, e.message), request.keep_alive)
        if isinstance(tap, _Relay):
            tap.end()
            await writer.drain()
            return request.keep_alive
        return await _answer(writer, 200, json.dumps(_completion(call, body)).encode(), request.keep_alive)


# -- HTTP/1.1, the little a scaffold's client needs -------------------------------------------------------------


class _Scaffold:
    """One connection of the scaffold's, read and written on its non-blocking socket from the event loop's own
    callbacks rather than through asyncio's streams: accepting through a stream server took two loop turns and a
    task before the request was read, and reading it two more (a waiter, the handler's resumption), ~0.4 ms of a
    relayed request's added TTFT on an AMD EPYC VM. Here a request that came with its connection is parsed in the
    accept's own callback and its forwarding starts on the next turn. One request is served at a time: the socket
    is not read while a request is being answered (a pipelined one waits in `inbox`)."""

    def __init__(self, proxy: TimingProxy, sock: socket.socket) -> None:
        self.proxy, self.sock = proxy, sock
        self.loop = asyncio.get_running_loop()
        self.fd = sock.fileno()
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.task: asyncio.Task[bool] | None = None
        self.lost = False  # the socket is closed: writes are dropped, as a closed transport drops them
        self._reading = self._closing = False
        self._drained: asyncio.Future[None] | None = None

    def readable(self) -> None:
        try:
            data = self.sock.recv(_READ_BYTES)
        except (BlockingIOError, InterruptedError):
            self._read(True)
            return
        except OSError:
            data = b""
        if data:
            self.inbox += data
            self.next()
        elif self.inbox.strip():
            self.refuse(_Refused(400, "the request ended before it was whole"))
        else:
            self.lose()

    def next(self) -> None:
        """Serve the next request when `inbox` holds all of it; read on otherwise."""
        try:
            request = _parse(self.inbox)
        except _Refused as e:
            self.refuse(e)
            return
        if request is None:
            self._read(True)
            return
        self._read(False)
        try:
            task = self.task = self.proxy._begin(request, self)
        except BaseException:
            self.lose()  # the scaffold sees its connection close rather than wait for an answer
            raise
        task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[bool]) -> None:
        if task.cancelled():  # by `aclose`
            self.lose()
            return
        error = task.exception()
        if error is not None:
            self.lose()
            if not isinstance(error, ConnectionError):  # the scaffold left; anything else is a fault to report
                self.loop.call_exception_handler(
                    {"message": "the timing proxy failed to answer a request", "exception": error, "task": task}
                )
        elif task.result() and not self.lost:
            self.next()
        else:
            self.close()

    def refuse(self, refused: _Refused) -> None:
        self._read(False)
        self.write(_response(refused.status, _error_body("chat", refused.message), keep_alive=False))
        self.close()

    def _read(self, on: bool) -> None:
        if on != self._reading and not self.lost:
            self._reading = on
            if on:
                self.loop.add_reader(self.fd, self.readable)
            else:
                self.loop.remove_reader(self.fd)

    def write(self, data: bytes) -> None:
        if self.lost or self._closing:
            return
        if not self.outbox:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.lose()
                return
            if sent:
                # The scaffold's read wakes it onto this core (a Unix socket's wake-up is a "sync" one: the
                # kernel expects the writer to sleep now), where it waited for the proxy to parse and record what
                # it had just passed on: 0.2-0.3 ms on a first token here. Yielding lets it read first.
                os.sched_yield()
            if sent == len(data):
                return
            data = data[sent:]
            self.loop.add_writer(self.fd, self._writable)
        self.outbox += data

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.lose()
            return
        del self.outbox[:sent]
        if not self.outbox:
            self.loop.remove_writer(self.fd)
            self._wake()
            if self._closing:
                self.lose()

    async def drain(self) -> None:
        if self.outbox and not self.lost:
            self._drained = self.loop.create_future()
            await self._drained
        if self.lost:
            raise ConnectionResetError("the scaffold closed the connection")

    def close(self) -> None:
        """Close once what was written has left (a cut stream's last events included)."""
        self._read(False)
        if self.outbox and not self.lost:
            self._closing = True
        else:
            self.lose()

    def lose(self) -> None:
        if self.lost:
            return
        self._read(False)
        if self.outbox:
            self.loop.remove_writer(self.fd)
            self.outbox.clear()
        self.lost = True
        self.sock.close()
        self.proxy._connections.discard(self)
        self._wake()

    def _wake(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None


def _parse(inbox: bytearray) -> _Request | None:
    """The first request in `inbox`, taken out of it, or None while it is incomplete."""
    end = inbox.find(b"\r\n\r\n")
    if end < 0:
        if len(inbox) > _MAX_HEAD:
            raise _Refused(413, f"request headers over {_MAX_HEAD} bytes")
        return None
    if end > _MAX_HEAD:
        raise _Refused(413, f"request headers over {_MAX_HEAD} bytes")
    lines = inbox[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise _Refused(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length" and headers.get(name, value) != value:
                raise _Refused(400, "conflicting Content-Length headers")
            headers[name] = value
    start = end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        framed = _dechunk(inbox, start)
        if framed is None:
            return None
        body, stop = framed
    else:
        length = headers.get("content-length") or "0"
        if not length.isdigit():
            raise _Refused(400, f"malformed Content-Length {length[:40]!r}")
        if int(length) > _MAX_BODY:
            raise _Refused(413, f"request body over {_MAX_BODY} bytes")
        stop = start + int(length)
        if len(inbox) < stop:
            return None
        body = bytes(inbox[start:stop])
    del inbox[:stop]
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _Request(method, target, headers, body, keep_alive)


def _dechunk(inbox: bytearray, at: int) -> tuple[bytes, int] | None:
    """A chunked body from `inbox[at:]` and where it ended, or None while it is incomplete."""
    body = bytearray()
    while True:
        eol = inbox.find(b"\r\n", at)
        if eol < 0:
            return None
        size_field = bytes(inbox[at:eol]).split(b";")[0].strip()
        try:
            size = int(size_field or b"0", 16)
        except ValueError:
            raise _Refused(400, f"malformed chunk size {size_field[:40]!r}") from None
        if size == 0:
            while True:  # trailers, up to the empty line
                at, eol = eol + 2, inbox.find(b"\r\n", eol + 2)
                if eol < 0:
                    return None
                if eol == at:
                    return bytes(body), eol + 2
        if len(body) + size > _MAX_BODY:
            raise _Refused(413, f"request body over {_MAX_BODY} bytes")
        if len(inbox) < eol + 2 + size + 2:
            return None
        body += inbox[eol + 2 : eol + 2 + size]
        at = eol + 2 + size + 2


def _response(status: int, body: bytes, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def _answer(writer: _Scaffold, status: int, body: bytes, keep_alive: bool) -> bool:
    """Answer with `body`; `keep_alive` back (whether the connection stays open)."""
    writer.write(_response(status, body, keep_alive))
    await writer.drain()
    return keep_alive


def _error_body(api: str, message: str) -> bytes:
    if api == "messages":  # Anthropic's error shape; OpenAI's for the others
        return json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message}}).encode()
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": None}}).encode()


# -- what is read from a request, and the answer to an unstreamed chat request -----------------------------------


# One JSON value at an index: the scanner json.loads itself runs (C).
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_SPACE = re.compile(r"[ \t\n\r]*")


def _json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, refused when it is not one or its top level repeats a key.

    The body is forwarded as it came, and parsers differ on a repeated key (the first or the last wins):
    `{"model": "other", "model": "<this attempt's>"}` passes a check that reads the last, then runs the other model
    on the combo's key where the endpoint reads the first; a repeated `stream` would turn the scaffold's own bad
    request into an endpoint failure. The top level is walked here, each value parsed by json's own scanner: as
    fast as `json.loads`, where a hook on every object costs ~20-40% more on an agent's conversation."""

    def skip(at: int) -> int:
        return typing.cast(re.Match[str], _SPACE.match(text, at)).end()

    try:
        text = raw.decode()
        at = skip(0)
        if text[at : at + 1] != "{":
            raise _Refused(400, "the request body is not a JSON object")
        obj: dict[str, Any] = {}
        at = skip(at + 1)
        if text[at : at + 1] == "}":
            at += 1
        else:
            while True:
                if text[at : at + 1] != '"':
                    raise ValueError
                key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
                at = skip(at)
                if text[at : at + 1] != ":":
                    raise ValueError
                value, at = _SCAN(text, skip(at + 1))
                if key in obj:
                    raise _Refused(400, f"the request body names {key!r} twice")
                obj[key] = value
                at = skip(at)
                separator, at = text[at : at + 1], at + 1
                if separator == "}":
                    break
                if separator != ",":
                    raise ValueError
                at = skip(at)
        if skip(at) != len(text):
            raise ValueError
        return obj
    except (ValueError, StopIteration):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _Refused(400, "the request body is not JSON") from None


def _items(api: str, body: dict[str, Any]) -> int:
    """How many conversation items the request carries (messages or input items)."""
    items = body.get("input" if api == "responses" else "messages")
    return len(items) if isinstance(items, list) else (1 if isinstance(items, str) else 0)


def _prompt(api: str, body: dict[str, Any]) -> Prompt:
    """The request's conversation as text messages: what the token estimate reads when the server sends no usage."""
    items = body.get("input" if api == "responses" else "messages")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    texts = [_text(body.get("system"))] if api == "messages" else []
    texts += [_text(item.get("content") if isinstance(item, dict) else item) for item in items or ()]
    return Prompt(mode="chat", messages=(Message("user", "\n".join(t for t in texts if t)),))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(part) for part in content)
    if isinstance(content, dict):
        return "\n".join(v for k, v in content.items() if k in ("text", "content", "output") and isinstance(v, str))
    return ""


def _completion(call: ModelCall, body: dict[str, Any]) -> dict[str, Any]:
    """A `chat.completion` object for a request that did not ask to stream, from the streamed call."""
    message: dict[str, Any] = {"role": "assistant", "content": call.text or None}
    if call.reasoning:
        message["reasoning_content"] = call.reasoning
    if call.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in call.tool_calls
        ]
    usage = call.usage
    return {
        "id": f"chatcmpl-ripsaw-{os.urandom(6).hex()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.server_model or body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": call.finish_reason or "stop"}],
        "usage": {
            "prompt_tokens": usage.prompt_tokens or 0,
            "completion_tokens": usage.completion_tokens or 0,
            "total_tokens": (usage.prompt_tokens or 0) + (usage.completion_tokens or 0),
        },
    }
