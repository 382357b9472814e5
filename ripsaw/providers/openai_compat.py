"""Provider `openai`: any OpenAI-compatible endpoint, streamed over SSE and timed chunk by chunk.

`chat` prompts go to `{base_url}/chat/completions` as messages, `complete` prompts to `{base_url}/completions`
(base_url includes `/v1`, as for the OpenAI SDK). Every request streams with `stream_options.include_usage`.

Timing (DESIGN.md): `t_send` is read just before the request is handed to httpx, every other instant is an
offset from it in ns, on the injectable monotonic clock; an event's instant is when its bytes were read off the
socket, not when the parser reached them (`_read_clock`). A chunk is every JSON data event (role-only and
usage chunks included; comments and `[DONE]` are not); a token is a non-empty content, reasoning
(`reasoning_content` / `reasoning`) or tool-call delta. Token counts come from the server's `usage`; without
one they are estimated on the joined text (`ripsaw.tokens`) and marked `source="estimated"`.

Failures, and what is retried (exponential backoff with full jitter, or exactly the server's Retry-After):
- 408, 409, 429 and 5xx answers, connection errors, read timeouts (a stalled stream), and streams cut short:
  reset, ended without `[DONE]` or a finish_reason, malformed SSE data, an error event inside the stream.
- Any other status (400, 401, 404, ...) raises ProviderError at once: retrying cannot fix the request.
- Retries stop after `max_retries`, or when the next wait would end past the deadline; both raise
  ProviderError (an infra error: the endpoint, not the model, failed). A reply whose finish_reason arrived is
  complete: losing the rest of its stream (usage, `[DONE]`) is not retried.

The deadline cuts the try in progress, wherever it is (waiting for a slot, connecting, streaming): the
response is closed and the partial ModelCall comes back with `cut="budget"`.

`[combos.options]`: connect_timeout_s, read_timeout_s (the longest silence tolerated inside a stream),
max_retries. The API key is read from the combo's env var when the provider is built, and only ever sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import random
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse

from ripsaw import __version__
from ripsaw.errors import ConfigError, ProviderError
from ripsaw.providers.base import resolve_api_key
from ripsaw.records import CallTiming, ModelCall, Usage
from ripsaw.tokens import estimate_tokens
from ripsaw.types import Clock, ComboSpec, Prompt, RequestParams

Sleep = Callable[[float], Awaitable[object]]

# The statuses the OpenAI SDK retries too; any other error status means the request itself is wrong.
_RETRY_STATUSES = frozenset({408, 409, 429})
# A server asking to wait longer than this is treated as down rather than waited for.
_MAX_RETRY_AFTER_S = 120.0
_ERROR_BODY_BYTES = 4096
_ERROR_MESSAGE_CHARS = 300
# Response headers that identify the serving software, recorded in the run manifest.
_SERVER_HEADERS = ("server", "openai-version")
# combo.options this provider understands (each sets the constructor argument of the same name): key -> problem.
_OPTIONS: dict[str, Callable[[Any], str | None]] = {
    "connect_timeout_s": lambda v: None if _is_number(v) and v > 0 else "expected a number of seconds > 0",
    "read_timeout_s": lambda v: None if _is_number(v) and v > 0 else "expected a number of seconds > 0",
    "max_retries": lambda v: None if _is_number(v) and isinstance(v, int) and v >= 0 else "expected an integer >= 0",
}


class _Retry(Exception):
    """A failed try that another try may fix."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message, self.retry_after_s = message, retry_after_s


@dataclass(slots=True)
class _Try:
    """What one request has received so far; kept as is when the deadline cuts it."""

    chat: bool
    t_send: int | None = None
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    timing: CallTiming = field(default_factory=CallTiming)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    done: bool = False  # `data: [DONE]` seen


class OpenAICompatProvider:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        max_concurrency: int = 4,
        clock: Clock = time.perf_counter_ns,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 20.0,
        sleep: Sleep = asyncio.sleep,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be at least 0, got {max_retries}")
        parts = urllib.parse.urlsplit(base_url)
        self._url = urllib.parse.urlunsplit(parts._replace(query="", fragment="")).rstrip("/")
        # Some gateways want a query on every request (Azure's api-version=...): kept, but out of the manifest.
        self._query = f"?{parts.query}" if parts.query else ""
        # What messages and the manifest call the endpoint: no user:password@, no query.
        self.base_url = urllib.parse.urlunsplit(
            parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="")
        ).rstrip("/")
        self.model = model
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._key = api_key  # sent only in the Authorization header; kept to scrub it from server messages
        self._headers = {"User-Agent": f"ripsaw/{__version__}", "Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        host = parts.hostname or ""
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=None),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            # A proxy from the environment must not sit between us and a local server we time.
            trust_env=not _is_loopback(host),
        )
        self._server: dict[str, str] = {}

    # -- Provider protocol ---------------------------------------------------------------------------------

    async def complete(self, prompt: Prompt, params: RequestParams, deadline_ns: int | None) -> ModelCall:
        path, body = self._request(prompt, params)
        url, where = f"{self._url}{path}{self._query}", f"{self.base_url}{path}"
        retries = 0
        while True:
            attempt = _Try(chat=prompt.mode == "chat")
            try:
                finished = await self._try(url, where, body, attempt, deadline_ns)
            except _Retry as e:
                e.message = self._public(e.message)
                if retries >= self.max_retries:
                    raise ProviderError(f"{where}: {e.message} (gave up after {retries + 1} tries)") from None
                delay = self._backoff_s(retries, e.retry_after_s)
                if delay is None:
                    raise ProviderError(
                        f"{where}: {e.message}; the server asks to wait {e.retry_after_s:.0f} s, longer than "
                        f"{_MAX_RETRY_AFTER_S:.0f} s (gave up after {retries + 1} tries)"
                    ) from None
                if deadline_ns is not None and self._clock() + int(delay * 1e9) >= deadline_ns:
                    raise ProviderError(
                        f"{where}: {e.message}; the task budget ends before retry {retries + 1} could start"
                    ) from None
                retries += 1
                await self._sleep(delay)
                continue
            return self._result(prompt, attempt, retries, cut=None if finished else "budget")

    async def start(self) -> None:
        """Nothing to launch: a remote endpoint is either there or each attempt's retries find out."""

    async def aclose(self) -> None:
        await self._client.aclose()

    def describe(self) -> dict[str, Any]:
        return {
            "provider": "openai",
            "base_url": self.base_url,
            "model": self.model,
            "max_concurrency": self.max_concurrency,
            **self._server,
        }

    # -- one try -------------------------------------------------------------------------------------------

    def _request(self, prompt: Prompt, params: RequestParams) -> tuple[str, bytes]:
        """The endpoint path and the JSON body for one call."""
        body: dict[str, Any] = {"model": self.model}
        if prompt.mode == "chat":
            path = "/chat/completions"
            body["messages"] = [{"role": m.role, "content": m.text} for m in prompt.messages]
        else:
            path = "/completions"
            body["prompt"] = prompt.text
        for name in ("temperature", "max_tokens", "seed", "top_p"):
            value = getattr(params, name)
            if value is not None:
                body[name] = value
        if params.stop:
            body["stop"] = list(params.stop)
        body.update(params.extra_body)
        # Streaming with usage is how calls are timed and counted; extra_body may add options, not turn it off.
        body["stream"] = True
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return path, json.dumps(body).encode()

    async def _try(self, url: str, where: str, body: bytes, attempt: _Try, deadline_ns: int | None) -> bool:
        """Run one request into `attempt`; False when the deadline cut it (the stream is then closed)."""
        if deadline_ns is None:
            async with self._semaphore:
                await self._stream(url, where, body, attempt)
            return True
        remaining_s = (deadline_ns - self._clock()) / 1e9
        if remaining_s <= 0:
            return False
        try:
            async with asyncio.timeout(remaining_s) as timeout, self._semaphore:
                await self._stream(url, where, body, attempt)
        except TimeoutError:
            if not timeout.expired():
                raise
            if attempt.t_send is not None:
                attempt.timing.close_ns = self._clock() - attempt.t_send
            return False
        return True

    async def _stream(self, url: str, where: str, body: bytes, attempt: _Try) -> None:
        headers = dict(self._headers)  # aconnect_sse adds its own to the dict it is given
        attempt.t_send = t_send = self._clock()
        try:
            async with aconnect_sse(self._client, "POST", url, content=body, headers=headers) as source:
                response = source.response
                if response.status_code != 200:
                    await self._fail(where, response)
                self._note_server(response)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    raise ProviderError(f"{where}: expected a text/event-stream reply, got {content_type or 'none'!r}")
                await _read_events(source, attempt, t_send, _read_clock(response, self._clock))
        except httpx.RequestError as e:
            if attempt.finish_reason is None:
                raise _Retry(_transport_message(e)) from None
            # The reply was complete; only the stream's tail (usage, [DONE]) was lost.
        attempt.timing.close_ns = self._clock() - t_send
        if not attempt.done and attempt.finish_reason is None:
            raise _Retry("the stream ended before [DONE] and without a finish_reason")

    async def _fail(self, where: str, response: httpx.Response) -> None:
        """Raise for a non-200 answer: _Retry when another try may succeed, ProviderError otherwise."""
        status = response.status_code
        raw = b""
        async for part in response.aiter_bytes():
            raw += part
            if len(raw) >= _ERROR_BODY_BYTES:
                break
        message = f"HTTP {status}: {self._public(_error_message(raw))}"
        if status in _RETRY_STATUSES or status >= 500:
            raise _Retry(message, _retry_after_s(response.headers))
        raise ProviderError(f"{where}: {message}")

    def _public(self, message: str) -> str:
        """A server message made fit for errors and records: servers sometimes quote the key they were sent
        (scrubbed before shortening, so no prefix of the key survives either), and bodies can be long."""
        if self._key:
            message = message.replace(self._key, "***")
        return message[:_ERROR_MESSAGE_CHARS]

    def _note_server(self, response: httpx.Response) -> None:
        for name in _SERVER_HEADERS:
            value = response.headers.get(name)
            if value:
                self._server[f"server_header_{name}"] = value

    def _backoff_s(self, retries_so_far: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before the next try; None when the server asks for more than we wait."""
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= _MAX_RETRY_AFTER_S else None
        # Full jitter: spreads the retries of many concurrent calls instead of synchronizing them.
        return self._random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**retries_so_far))

    def _result(self, prompt: Prompt, attempt: _Try, retries: int, cut: str | None) -> ModelCall:
        text, reasoning = "".join(attempt.content), "".join(attempt.reasoning)
        timing = attempt.timing
        timing.chunks = len(timing.chunk_ns)
        if attempt.model is not None:
            self._server.setdefault("server_model", attempt.model)
        return ModelCall(
            text=text,
            reasoning=reasoning,
            finish_reason=attempt.finish_reason,
            usage=_usage(attempt.usage, prompt, text, reasoning),
            timing=timing,
            retries=retries,
            cut=cut,
            server_model=attempt.model,
        )


class _ReadStamps:
    """When the connection's socket last returned bytes, noted by a wrapper on httpcore's network stream."""

    __slots__ = ("clock", "last_ns")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.last_ns: int | None = None

    def __call__(self) -> int:
        return self.clock() if self.last_ns is None else self.last_ns


def _read_clock(response: httpx.Response, clock: Clock) -> Clock:
    """A clock for the events of `response` that reads the arrival of their bytes, not the end of their parsing.

    An event's stamp is taken when it comes out of the SSE parser; on the way it crosses h11, httpcore, httpx's
    decoders and httpx-sse, ~20 µs warm and ~200 µs for the first event after an idle wait (cold caches), and
    on a busy event loop it waits behind other streams' parsing. Both showed in bench/fidelity.py: TTFT read
    ~0.25 ms late and 3,000 tok/s over 256 tokens read 0.3% fast, where a bare-socket client was within 0.06%.
    Parsing is lazy (h11 reads only when its buffer holds no complete HTTP chunk), so when an event comes out,
    the latest read on its connection is the one that delivered its last byte: its time is the event's
    arrival. The wrapper goes on the connection's stream once (httpcore exposes it as the response's
    "network_stream" extension) and serves every later request on that keep-alive connection: one response at
    a time, since this client speaks HTTP/1.1 only. Without a network stream (a mock transport) events are
    stamped when parsed, as before.
    """
    stream = response.extensions.get("network_stream")
    read = getattr(stream, "read", None)
    if read is None:
        return clock
    stamps = getattr(stream, "_ripsaw_read_stamps", None)
    if not isinstance(stamps, _ReadStamps) or stamps.clock is not clock:
        stamps = _ReadStamps(clock)  # this response's head came in unstamped: its first events use parse time

        async def stamped_read(max_bytes: int, timeout: float | None = None) -> bytes:
            data: bytes = await read(max_bytes, timeout)
            stamps.last_ns = clock()
            return data

        try:
            stream.read = stamped_read  # type: ignore[union-attr]
            stream._ripsaw_read_stamps = stamps  # type: ignore[union-attr]
        except AttributeError:  # a stream type that takes no new attributes
            return clock
    return stamps


async def _read_events(source: EventSource, attempt: _Try, t_send: int, clock: Clock) -> None:
    """The hot loop: one clock read and one json.loads per event, state written straight into `attempt`."""
    loads = json.loads
    timing = attempt.timing
    arrivals = timing.chunk_ns
    content, reasoning = attempt.content, attempt.reasoning
    chat = attempt.chat
    async for event in source.aiter_sse():
        now = clock() - t_send
        data = event.data
        if not data:
            continue
        if data == "[DONE]":
            attempt.done = True
            continue  # drain to the end, so the connection goes back to the pool
        try:
            obj = loads(data)
        except ValueError:
            raise _Retry(f"malformed SSE data: {data[:80]!r}") from None
        if type(obj) is not dict:
            raise _Retry(f"malformed SSE data: {data[:80]!r}")
        arrivals.append(now)
        choices = obj.get("choices")
        if choices:
            choice = choices[0]
            token = False
            if chat:
                delta = choice.get("delta")
                text = None
                if delta:
                    text = delta.get("content")
                    think = delta.get("reasoning_content") or delta.get("reasoning")
                    if think and type(think) is str:
                        reasoning.append(think)
                        token = True
                        if timing.first_reasoning_ns is None:
                            timing.first_reasoning_ns = now
                    if delta.get("tool_calls"):
                        token = True
            else:
                text = choice.get("text")
            if text:
                content.append(text)
                token = True
                if timing.first_content_ns is None:
                    timing.first_content_ns = now
            if token:
                timing.last_token_ns = now
                if timing.first_any_ns is None:
                    timing.first_any_ns = now
            reason = choice.get("finish_reason")
            if reason:
                attempt.finish_reason = reason
        elif "error" in obj:
            raise _Retry(f"error event in the stream: {_error_message(data.encode())}")
        usage = obj.get("usage")
        if usage:
            attempt.usage = usage
        if attempt.model is None:
            attempt.model = obj.get("model")


def _usage(server: dict[str, Any] | None, prompt: Prompt, text: str, reasoning: str) -> Usage:
    if server is not None and isinstance(server.get("completion_tokens"), int):
        details = server.get("completion_tokens_details")
        return Usage(
            prompt_tokens=server.get("prompt_tokens"),
            completion_tokens=server["completion_tokens"],
            reasoning_tokens=details.get("reasoning_tokens") if isinstance(details, dict) else None,
            source="server",
        )
    prompt_text = prompt.text if prompt.mode == "complete" else "\n".join(m.text for m in prompt.messages)
    thinking = estimate_tokens(reasoning)
    return Usage(
        prompt_tokens=estimate_tokens(prompt_text),
        completion_tokens=estimate_tokens(text) + thinking,
        reasoning_tokens=thinking,
        source="estimated",
    )


def _error_message(raw: bytes) -> str:
    """A short message from an error body: OpenAI's {"error": {"message": ...}} or the text itself."""
    text = raw.decode("utf-8", "replace")
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


def _retry_after_s(headers: httpx.Headers) -> float | None:
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


def _transport_message(e: httpx.RequestError) -> str:
    detail = str(e) or type(e).__name__
    return f"{type(e).__name__}: {detail}" if detail != type(e).__name__ else detail


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def from_combo(combo: ComboSpec) -> OpenAICompatProvider:
    if not combo.base_url:
        raise ConfigError(f"combo {combo.name!r}: provider 'openai' needs a base_url (e.g. http://host:8000/v1)")
    settings: dict[str, Any] = {}
    for key, value in combo.options.items():
        check = _OPTIONS.get(key)
        if check is None:
            known = ", ".join(sorted(_OPTIONS))
            raise ConfigError(f"combo {combo.name!r}: options.{key}: unknown option for provider 'openai' ({known})")
        problem = check(value)
        if problem:
            raise ConfigError(f"combo {combo.name!r}: options.{key}: {problem}, got {value!r}")
        settings[key] = value
    return OpenAICompatProvider(
        combo.base_url,
        combo.model,
        resolve_api_key(combo),
        max_concurrency=combo.max_concurrency,
        **settings,
    )
