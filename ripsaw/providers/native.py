"""What the streamed providers share. `StreamedProvider` is the base of every provider over the shared streaming
client (`openai`, `openai-responses`, `anthropic`): the client and its options, the tokenizer, `complete` and
`relay`, the manifest facts and the building from a combo. `NativeProvider` and `TypedReply` add what the providers
of the vendors' own APIs share (`openai-responses`, `anthropic`): chat prompts only, `drop_params`, and turning a
reply of typed events into a ModelCall.

Both APIs stream typed SSE events (`event: <type>` with a JSON `data` that repeats the type). A provider module
holds only what is particular to its API: the request body (the conversation's blocks mapped to its items) and
the reading of its events into a `TypedReply`. The wire stamps, SSE reading, retries, error messages and the
deadline cut are `ripsaw.providers.streaming`'s, shared with the chat-completions provider.

Built on httpx and the shared `StreamingClient`, not on the vendors' SDKs (`openai`, `anthropic`). The deciding
figure is timing fidelity: every event is stamped at the socket read that delivered its last byte, and t_send is
the instant the request's last byte went to the kernel (`WireBackend`). An SDK hands events out after its own
parsing and model building, on its own httpx client whose transport would have to be replaced by ours to get the
wire stamps back; what would remain of the SDK is the request building and event parsing, a few dozen lines per
API here, with none of the SDK's retries (ours count and cut by the task's deadline). Measured against the
reference server's log (bench/sdk_timing.py, bench/README.md): the SDKs' TTFT, stamped from just before
`create()`, was 2-8 ms off at one stream and up to 19 ms at 16 (ours: 0.3-0.5 ms and 3 ms), and the Responses
SDK spent about 3x our CPU per event. bench/fidelity.py measures the providers like the chat provider, one row
per provider.

Tokens: a token is a non-empty text, reasoning (summary or thinking) or tool-call delta; the event that opens a
tool call carries its name and counts as a tool-call delta too (as the first `tool_calls` delta of a chat
stream does). Only events that carry output are chunks.

`[combos.options]` of both: connect_timeout_s, read_timeout_s, max_retries, tokenizer (as for `openai`), and
drop_params: request fields Ripsaw would send that the model refuses (reasoning models refuse `temperature`:
`drop_params = ["temperature"]`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import httpx
from httpx_sse import ServerSentEvent

from ripsaw.errors import ConfigError
from ripsaw.providers.base import resolve_api_key
from ripsaw.providers.streaming import (
    Departed,
    Retryable,
    RetryPolicy,
    Sleep,
    StreamingClient,
    Tap,
    Timeline,
    event_object,
    finish_call,
    is_number,
)
from ripsaw.providers.streaming import Reply as StreamReply
from ripsaw.providers.tokenizers import ENCODING_NAMES, Tokenizer, ready, tokenizer_for
from ripsaw.records import ModelCall, Usage
from ripsaw.types import Clock, ComboSpec, Prompt, Reasoning, RequestParams, ToolCall

# The request fields Ripsaw fills from a combo's params, which `drop_params` may leave out.
PARAM_FIELDS = ("temperature", "max_tokens", "top_p", "stop", "seed")


def _drop_params(v: Any) -> str | None:
    if isinstance(v, list) and all(x in PARAM_FIELDS for x in v):
        return None
    return f"expected a list of {', '.join(PARAM_FIELDS)}"


# combo.options every streamed provider understands (each sets the constructor argument of the same name).
OPTIONS: dict[str, Callable[[Any], str | None]] = {
    "connect_timeout_s": lambda v: None if is_number(v) and v > 0 else "expected a number of seconds > 0",
    "read_timeout_s": lambda v: None if is_number(v) and v > 0 else "expected a number of seconds > 0",
    "max_retries": lambda v: (
        None if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else "expected an integer >= 0"
    ),
    "tokenizer": lambda v: (
        None if v in ("auto", "none", *ENCODING_NAMES) else f"expected one of auto, none, {', '.join(ENCODING_NAMES)}"
    ),
}


@dataclass(slots=True)
class OpenCall:
    """A tool call being streamed: its id and name from the event that opened it, its argument pieces."""

    id: str
    name: str
    pieces: list[str] = field(default_factory=list)
    arguments: str | None = None  # the whole arguments, when the API repeats them at the end


class TypedReply:
    """One try of a typed-event stream, as it arrives. A provider's subclass implements `on(kind, obj, now)` for
    its event types; the loop here decodes each event and names a malformed one in its error."""

    ignore: ClassVar[frozenset[str]] = frozenset()  # event types that carry nothing (keep-alives)

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.reasoning_items: list[Reasoning] = []
        self.calls: dict[Any, OpenCall] = {}  # by the API's key for the call (item id, block index), in order
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.done = False

    def complete(self) -> bool:
        return self.done

    def incomplete(self) -> str:
        raise NotImplementedError

    async def read(self, events: AsyncIterator[tuple[int, ServerSentEvent]]) -> None:
        on, ignore = self.on, self.ignore
        async for now, event in events:
            name, data = event.event, event.data
            if name in ignore or not data:
                continue
            obj = event_object(data, name)
            kind = obj.get("type")
            on(kind if isinstance(kind, str) else name, obj, now)

    def on(self, kind: str, obj: dict[str, Any], now: int) -> None:
        raise NotImplementedError

    # -- helpers for `on` ------------------------------------------------------------------------------------

    def text(self, now: int, kind: str, delta: Any) -> None:
        """A content ("content") or reasoning ("reasoning") delta; an empty one is no chunk (it carries nothing)."""
        if isinstance(delta, str) and delta:
            self.timeline.chunk(now)
            (self.content if kind == "content" else self.reasoning).append(delta)
            self.timeline.token("content" if kind == "content" else "reasoning", delta)

    def open_call(self, now: int, key: Any, call_id: Any, name: Any) -> None:
        self.timeline.chunk(now)
        name = name if isinstance(name, str) else ""
        self.calls[key] = OpenCall(call_id if isinstance(call_id, str) else "", name)
        if name:
            self.timeline.token("tool", name)

    def call_delta(self, now: int, key: Any, delta: Any, error: str) -> None:
        call = self.calls.get(key)
        if call is None:
            raise Retryable(error)
        if isinstance(delta, str) and delta:
            self.timeline.chunk(now)
            call.pieces.append(delta)
            self.timeline.token("tool", delta)

    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(c.id, c.name, c.arguments if c.arguments is not None else "".join(c.pieces))
            for c in self.calls.values()
        ]

    def server_usage(self) -> Usage | None:
        return self.usage


class Reply(StreamReply, Protocol):
    """A stream's reply once read, whichever API it came from (TypedReply here, the chat-completions reply)."""

    content: list[str]
    reasoning: list[str]
    reasoning_items: list[Reasoning]
    finish_reason: str | None
    model: str | None

    def tool_calls(self) -> list[ToolCall]: ...

    def server_usage(self) -> Usage | None:
        """The server's token counts, if it sent any."""
        ...


class StreamedProvider:
    """A provider of one API over the shared streaming client; subclasses set `name` and `path` and build the
    request and the reply."""

    name: ClassVar[str]
    path: ClassVar[str]  # chat requests are POSTed here, under base_url; also what the timing proxy relays (`relay`)
    options: ClassVar[dict[str, Callable[[Any], str | None]]] = OPTIONS  # combo.options -> the problem, if any
    server_headers: ClassVar[tuple[str, ...]] = ("server",)  # response headers recorded in the run manifest

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
        tokenizer: Tokenizer | str | None = "auto",
    ) -> None:
        self.model = model
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self._client = StreamingClient(
            base_url,
            self.headers(api_key),
            secret=api_key,
            max_concurrency=max_concurrency,
            clock=clock,
            retry=RetryPolicy(max_retries, backoff_base_s, backoff_max_s, sleep),
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            transport=transport,
            server_headers=self.server_headers,
        )
        self.base_url = self._client.base_url
        # A name ("auto", an encoding, "none") is looked up by model; a Tokenizer object is used as is.
        self.tokenizer: Tokenizer | None = tokenizer_for(model, tokenizer) if isinstance(tokenizer, str) else tokenizer
        self._server_model: str | None = None

    # -- what a subclass provides ----------------------------------------------------------------------------

    def headers(self, api_key: str | None) -> dict[str, str]:
        """The key as a bearer token, the way OpenAI's APIs take it."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def request(self, prompt: Prompt, params: RequestParams) -> tuple[str, bytes, Callable[[], Reply]]:
        """One call's path, its JSON body (asking for a stream) and the factory of its reply."""
        raise NotImplementedError

    def new_reply(self) -> Reply:
        """A reply to a request to `path` (what `relay` reads)."""
        raise NotImplementedError

    # -- Provider protocol -----------------------------------------------------------------------------------

    async def start(self, run_dir: Path | None = None) -> None:
        """Nothing to launch: a remote endpoint is either there or each attempt's retries find out. The tokenizer
        is loaded now, off the event loop, so no stream is stalled by it later."""
        await ready(self.tokenizer)

    async def complete(self, prompt: Prompt, params: RequestParams, deadline_ns: int | None) -> ModelCall:
        path, body, new_reply = self.request(prompt, params)
        await ready(self.tokenizer)
        reply, retries, finished = await self._client.call(path, body, new_reply, deadline_ns)
        return await self._result(prompt, reply, retries, finished)

    def depart(self, body: bytes, tap: Tap) -> Departed | None:
        """Send a relayed request now, if it can leave without a wait (`StreamingClient.depart`); `relay` goes on."""
        return self._client.depart(self.path, body, tap)

    async def relay(
        self,
        body: bytes,
        prompt: Callable[[], Prompt],
        deadline_ns: int | None,
        tap: Tap,
        departed: Departed | None = None,
    ) -> ModelCall:
        """A request another client built (a scaffold behind the timing proxy, ripsaw.agents.proxy), sent as it is
        to `path` and timed and counted like `complete`; `prompt` only feeds the token estimate without usage."""
        await ready(self.tokenizer)
        reply, retries, finished = await self._client.call(
            self.path, body, self.new_reply, deadline_ns, tap=tap, departed=departed
        )
        return await self._result(prompt, reply, retries, finished)

    async def aclose(self) -> None:
        await self._client.aclose()

    def describe(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "provider": self.name,
            "base_url": self.base_url,
            "model": self.model,
            "max_concurrency": self.max_concurrency,
            **self._client.server,
        }
        if self._server_model is not None:
            facts["server_model"] = self._server_model
        if self.tokenizer is not None:
            facts["tokenizer"] = self.tokenizer.name
        return facts

    async def _result(
        self, prompt: Prompt | Callable[[], Prompt], reply: Reply, retries: int, finished: bool
    ) -> ModelCall:
        """A read reply as a ModelCall (`finished`: the stream ended by itself, not cut by the deadline)."""
        self._server_model = self._server_model or reply.model
        return await finish_call(
            reply.timeline,
            prompt,
            text="".join(reply.content),
            reasoning="".join(reply.reasoning),
            tool_calls=reply.tool_calls(),
            server_usage=reply.server_usage(),
            tokenizer=self.tokenizer,
            finish_reason=reply.finish_reason,
            server_model=reply.model,
            retries=retries,
            cut=None if finished else "budget",
            reasoning_items=reply.reasoning_items,
        )


class NativeProvider(StreamedProvider):
    """A provider of one vendor API: chat prompts only, a request of `body` and a reply of typed events; subclasses
    set `default_base_url` and build the body and the reply (and the headers, where the key is no bearer token)."""

    options: ClassVar[dict[str, Callable[[Any], str | None]]] = {**OPTIONS, "drop_params": _drop_params}
    default_base_url: ClassVar[str]  # where a combo without a base_url goes

    def __init__(self, *args: Any, drop_params: list[str] | tuple[str, ...] = (), **kwargs: Any) -> None:
        self.drop_params = frozenset(drop_params)
        super().__init__(*args, **kwargs)

    def body(self, prompt: Prompt, params: RequestParams) -> dict[str, Any]:
        """The request body (without `stream`)."""
        raise NotImplementedError

    def request(self, prompt: Prompt, params: RequestParams) -> tuple[str, bytes, Callable[[], Reply]]:
        if prompt.mode != "chat":
            raise ConfigError(f"provider {self.name!r} takes chat prompts only (prompt_mode = 'chat')")
        # Streaming is how calls are timed; extra_body may add fields, not turn it off.
        return self.path, json.dumps({**self.body(prompt, params), "stream": True}).encode(), self.new_reply

    def params(self, params: RequestParams, names: dict[str, str]) -> dict[str, Any]:
        """The combo's params under this API's field names (`names`: ours -> theirs), minus `drop_params`."""
        out: dict[str, Any] = {}
        for ours, theirs in names.items():
            value = getattr(params, ours)
            if ours in self.drop_params or value is None or value == ():
                continue
            out[theirs] = list(value) if isinstance(value, tuple) else value
        return out


P = TypeVar("P", bound=StreamedProvider)


def build(cls: type[P], combo: ComboSpec, base_url: str) -> P:
    """`cls` for a combo, at `base_url`: the combo's options checked, its key read from the environment."""
    settings: dict[str, Any] = {}
    for key, value in combo.options.items():
        check = cls.options.get(key)
        if check is None:
            known = ", ".join(sorted(cls.options))
            raise ConfigError(
                f"combo {combo.name!r}: options.{key}: unknown option for provider {cls.name!r} ({known})"
            )
        problem = check(value)
        if problem:
            raise ConfigError(f"combo {combo.name!r}: options.{key}: {problem}, got {value!r}")
        settings[key] = value
    return cls(base_url, combo.model, resolve_api_key(combo), max_concurrency=combo.max_concurrency, **settings)


def from_combo(cls: type[NativeProvider], combo: ComboSpec) -> NativeProvider:
    """Build a native provider for a combo (at its API's own endpoint when the combo names none)."""
    if combo.prompt_mode != "chat":
        raise ConfigError(f"combo {combo.name!r}: provider {cls.name!r} takes chat prompts only (prompt_mode = 'chat')")
    return build(cls, combo, combo.base_url or cls.default_base_url)
