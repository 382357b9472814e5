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
  API the combo's endpoint does not serve, or comes after the attempt's deadline;
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

Every request, refused or not, is logged as a `ProxiedRequest` (when, which API, streamed or not, how many
conversation items, what the scaffold was answered, and which ModelCall it made).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from ripsaw.errors import ConfigError, ProviderError, RequestRejected
from ripsaw.providers.streaming import Tap
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
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 502: "Bad Gateway"}


class Relaying(Protocol):
    """A provider the proxy can forward to (`openai`, `openai-responses`, `anthropic`; `llamacpp` through the
    OpenAI chat endpoint of the server it started)."""

    path: str

    async def relay(self, body: bytes, prompt: Prompt, deadline_ns: int | None, tap: Tap | None) -> ModelCall: ...


def relaying(provider: object, combo_name: str) -> Relaying:
    if not callable(getattr(provider, "relay", None)) or getattr(provider, "path", None) not in APIS:
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

    def __init__(self, writer: asyncio.StreamWriter) -> None:
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
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _forwarding: set[asyncio.Future[None]] = field(default_factory=set)  # one per request being forwarded

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
        self._server = await asyncio.start_unix_server(self._connection, path=str(self.socket_path), limit=_MAX_HEAD)
        self.socket_path.chmod(0o666)  # connecting needs write permission; the agent user is not the owner

    async def settle(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, for the requests being forwarded to be recorded. A call the deadline cut ends at
        the deadline, but is counted after it (a local server's tokenizer answers once its generation has stopped):
        closing the proxy first would lose it."""
        if self._forwarding:
            await asyncio.wait(list(self._forwarding), timeout=timeout_s)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            for task in list(self._handlers):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- connections -----------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except _Refused as e:
                    await _answer(writer, e.status, _error_body("chat", e.message), keep_alive=False)
                    return
                if request is None:
                    return
                if not await self._serve(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return  # closed by `aclose`: Python 3.11's stream server would log a cancelled handler as an error
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close (a cut or broken stream)."""
        arrived = self.clock()
        at = (arrived - (self.t0_ns or 0)) / 1e9
        path = request.path.split("?", 1)[0].rstrip("/")
        api = next((name for suffix, name in APIS.items() if path.endswith(suffix)), None)
        log = ProxiedRequest(index=len(self.requests), at_s=at, api=api or "", path=path[:200], stream=False)
        self.requests.append(log)
        if request.method == "GET" and path.endswith("/models"):
            log.api, log.status = "models", 200
            listing = {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "ripsaw"}]}
            await _answer(writer, 200, json.dumps(listing).encode(), request.keep_alive)
            return request.keep_alive
        try:
            body = self._check(request, api, log)
            if self.on_request is not None:
                self.on_request()
            forwarded = asyncio.get_running_loop().create_future()
            self._forwarding.add(forwarded)
            try:
                return await self._forward(request, body, log, writer)
            finally:
                ended = self.clock() if self.deadline_ns is None else min(self.clock(), self.deadline_ns)
                log.duration_s = (ended - arrived) / 1e9  # the scaffold's wait: a cut call's count comes after it
                self._forwarding.discard(forwarded)
                forwarded.set_result(None)
        except _Refused as e:
            log.status, log.detail = e.status, e.message
            await _answer(writer, e.status, _error_body(api or self.api, e.message), request.keep_alive)
            return request.keep_alive

    def _check(self, request: _Request, api: str | None, log: ProxiedRequest) -> dict[str, Any]:
        if request.method != "POST" or api is None:
            raise _Refused(404, f"the timing proxy serves POST {self.provider.path} (and GET /models), not "
                           f"{request.method} {log.path}")  # fmt: skip
        if api != self.api:
            raise _Refused(
                400, f"this attempt's model is served through the {self.api!r} API ({self.provider.path}); "
                f"the scaffold called {log.path}",
            )  # fmt: skip
        try:
            body = json.loads(request.body)
        except ValueError:
            raise _Refused(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "the request body is not a JSON object")
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
        self, request: _Request, body: dict[str, Any], log: ProxiedRequest, writer: asyncio.StreamWriter
    ) -> bool:
        upstream = request.body
        if self.api == "chat" and not (log.stream and (body.get("stream_options") or {}).get("include_usage")):
            options = body.get("stream_options")
            body = {**body, "stream": True, "stream_options": {**(options if isinstance(options, dict) else {}),
                                                                "include_usage": True}}  # fmt: skip
            upstream = json.dumps(body).encode()
        relay = _Relay(writer) if log.stream else None
        try:
            call = await self.provider.relay(upstream, _prompt(self.api, body), self.deadline_ns, relay)
        except RequestRejected as e:
            if relay is not None and relay.started:
                log.status, log.detail = 200, str(e)
                return False
            raise _Refused(e.status, str(e)) from None
        except ProviderError as e:
            log.detail = str(e)
            if relay is not None and relay.started:
                log.status = 200
                return False
            raise _Refused(502, f"the model endpoint failed: {e}") from None
        self.calls.append(call)
        log.call, log.status = len(self.calls) - 1, 200
        if call.cut == "budget":
            log.detail = "cut at the attempt's deadline"
            if relay is None:
                raise _Refused(400, "the attempt's time budget ended during this call")
            return False  # the stream stops where it was: the connection closes without its last chunk
        if relay is not None:
            relay.end()
            await writer.drain()
            return request.keep_alive
        await _answer(writer, 200, json.dumps(_completion(call, body)).encode(), request.keep_alive)
        return request.keep_alive


# -- HTTP/1.1, the little a scaffold's client needs -------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise _Refused(400, "the request ended inside its headers") from None
        return None
    except asyncio.LimitOverrunError:
        raise _Refused(413, f"request headers over {_MAX_HEAD} bytes") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise _Refused(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        length = int(headers.get("content-length") or 0)
        if length > _MAX_BODY:
            raise _Refused(413, f"request body over {_MAX_BODY} bytes")
        body = await reader.readexactly(length)
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _Request(method, target, headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()).strip():  # trailers
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
        if len(body) > _MAX_BODY:
            raise _Refused(413, f"request body over {_MAX_BODY} bytes")


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes, keep_alive: bool) -> None:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    await writer.drain()


def _error_body(api: str, message: str) -> bytes:
    if api == "messages":  # Anthropic's error shape; OpenAI's for the others
        return json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message}}).encode()
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": None}}).encode()


# -- what is read from a request, and the answer to an unstreamed chat request -----------------------------------


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
