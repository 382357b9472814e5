"""Provider `openai`: any OpenAI-compatible endpoint (chat completions, completions), streamed over SSE.

`chat` prompts go to `{base_url}/chat/completions` as messages, `complete` prompts to `{base_url}/completions`
(base_url includes `/v1`, as for the OpenAI SDK). Every request streams with `stream_options.include_usage`.

This module holds only what is particular to that API: the request body and the reading of its chunks. The client,
its options and the turning of a read reply into a ModelCall are `ripsaw.providers.native.StreamedProvider`'s; the
wire stamps, SSE reading, retries, error messages and the deadline cut are `ripsaw.providers.streaming`'s, shared
with every streamed provider, and described there. A chunk is every JSON data event (role-only and usage chunks
included; comments and `[DONE]` are not); a token is a non-empty content, reasoning (`reasoning_content` /
`reasoning`) or tool-call delta. A stream is whole once a finish_reason or `[DONE]` arrived. Token counts come
from the server's `usage`; without one, from the model's tokenizer when Ripsaw knows it (OpenAI model names,
`ripsaw.providers.tokenizers`), else they are estimated (`ripsaw.tokens`) and marked so.

`[combos.options]`: connect_timeout_s, read_timeout_s (the longest silence tolerated inside a stream),
max_retries, tokenizer ("auto": by the model name; "o200k_base", "cl100k_base", or "none"). The API key is read
from the combo's env var when the provider is built, and only ever sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from httpx_sse import ServerSentEvent

from ripsaw.errors import ConfigError
from ripsaw.providers.native import OpenCall, StreamedProvider, build
from ripsaw.providers.streaming import Retryable, Timeline, error_message, event_object, is_number
from ripsaw.records import Usage
from ripsaw.types import ComboSpec, Message, Prompt, Reasoning, RequestParams, ToolCall, ToolResult


class _ChatReply:
    """One try of a chat/completions (or completions) stream, as it arrives."""

    __slots__ = (
        "calls",
        "chat",
        "content",
        "done",
        "finish_reason",
        "model",
        "reasoning",
        "reasoning_items",
        "timeline",
        "usage",
    )

    def __init__(self, chat: bool) -> None:
        self.chat = chat
        self.timeline = Timeline()
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.reasoning_items: list[Reasoning] = []  # stays empty: the chat API takes no reasoning back
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.done = False  # `data: [DONE]` seen
        self.calls: dict[int, OpenCall] = {}  # tool calls by their `index`, assembled from their deltas

    def complete(self) -> bool:
        return self.done or self.finish_reason is not None

    def add_calls(self, deltas: Any) -> None:
        """Tool-call deltas: the first of a call (by `index`) brings its id and name, later ones argument pieces."""
        for d in deltas if isinstance(deltas, list) else ():
            if not isinstance(d, dict):
                continue
            index = d.get("index", len(self.calls))
            raw = d.get("function")
            function: dict[str, Any] = raw if isinstance(raw, dict) else {}
            call = self.calls.get(index)
            if call is None:
                call = self.calls[index] = OpenCall("", "")
            if isinstance(d.get("id"), str) and not call.id:
                call.id = d["id"]
            if isinstance(function.get("name"), str) and not call.name:
                call.name = function["name"]
            if isinstance(function.get("arguments"), str) and function["arguments"]:
                call.pieces.append(function["arguments"])

    def tool_calls(self) -> list[ToolCall]:
        return [ToolCall(c.id, c.name, "".join(c.pieces)) for _, c in sorted(self.calls.items())]

    def incomplete(self) -> str:
        return "the stream ended before [DONE] and without a finish_reason"

    def server_usage(self) -> Usage | None:
        """The server's counts; a `usage` with the prompt's size alone (a local llama.cpp server's chat stream) keeps
        it, and the output is counted by the tokenizer."""
        usage = self.usage
        if usage is None:
            return None
        prompt, completion = (n if is_number(n) and isinstance(n, int) else None for n in (
            usage.get("prompt_tokens"), usage.get("completion_tokens")))  # fmt: skip
        if prompt is None and completion is None:
            return None
        details = usage.get("completion_tokens_details")
        prompt_details = usage.get("prompt_tokens_details")
        cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            reasoning_tokens=details.get("reasoning_tokens") if isinstance(details, dict) else None,
            source="server",
            cached_tokens=cached if isinstance(cached, int) and not isinstance(cached, bool) else None,
        )

    async def read(self, events: AsyncIterator[tuple[int, ServerSentEvent]]) -> None:
        """The hot loop: one json.loads per event, state written straight into the reply."""
        timeline = self.timeline
        chunk, token = timeline.chunk, timeline.token
        content, reasoning = self.content, self.reasoning
        chat = self.chat
        async for now, event in events:
            data = event.data
            if not data:
                continue
            if data == "[DONE]":
                self.done = True
                continue  # drain to the end, so the connection goes back to the pool
            obj = event_object(data, None)
            usage = obj.get("usage")
            running = usage.get("completion_tokens") if type(usage) is dict else None
            chunk(now, running if type(running) is int else None)
            choices = obj.get("choices")
            if choices:
                choice = choices[0]
                if chat:
                    delta = choice.get("delta")
                    text = None
                    if delta:
                        text = delta.get("content")
                        think = delta.get("reasoning_content") or delta.get("reasoning")
                        if think and type(think) is str:
                            reasoning.append(think)
                            token("reasoning", think)
                        calls = delta.get("tool_calls")
                        if calls:
                            self.add_calls(calls)
                            token("tool", _tool_text(calls))
                else:
                    text = choice.get("text")
                if text:
                    content.append(text)
                    token("content", text)
                reason = choice.get("finish_reason")
                if reason:
                    self.finish_reason = reason
            elif "error" in obj:
                raise Retryable(f"error event in the stream: {error_message(data)}")
            if usage:
                self.usage = usage
            if self.model is None:
                self.model = obj.get("model")


def _tool_text(calls: Any) -> str:
    """A tool-call delta's text (name and argument pieces), for counting what the first chunk held."""
    parts = []
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts += [v for v in (function.get("name"), function.get("arguments")) if isinstance(v, str)]
    return "".join(parts)


class OpenAICompatProvider(StreamedProvider):
    name = "openai"
    path = "/chat/completions"
    server_headers = ("server", "openai-version")

    def new_reply(self) -> _ChatReply:
        return _ChatReply(True)

    def request(self, prompt: Prompt, params: RequestParams) -> tuple[str, bytes, Callable[[], _ChatReply]]:
        body: dict[str, Any] = {"model": self.model}
        if prompt.mode == "chat":
            path, new_reply = self.path, self.new_reply
            body["messages"] = [out for m in prompt.messages for out in _chat_messages(m)]
            if prompt.tools:
                body["tools"] = [
                    {
                        "type": "function",
                        "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                    }
                    for t in prompt.tools
                ]
        else:
            path, new_reply = "/completions", lambda: _ChatReply(False)
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
        return path, json.dumps(body).encode(), new_reply


def _chat_messages(message: Message) -> list[dict[str, Any]]:
    """A conversation message as chat-completions messages: an assistant turn carries its tool calls (arguments as
    JSON text), each tool result is a `tool` message of its own; reasoning is not sent back (the API takes none)."""
    if message.role == "tool":
        return [
            {"role": "tool", "tool_call_id": b.call_id, "content": b.content}
            for b in message.blocks
            if isinstance(b, ToolResult)
        ]
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    calls = [b for b in message.blocks if isinstance(b, ToolCall)]
    if calls:
        out["content"] = message.text or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    return [out]


def from_combo(combo: ComboSpec) -> OpenAICompatProvider:
    if not combo.base_url:
        raise ConfigError(f"combo {combo.name!r}: provider 'openai' needs a base_url (e.g. http://host:8000/v1)")
    return build(OpenAICompatProvider, combo, combo.base_url)
