"""Provider `anthropic`: Anthropic's Messages API (POST {base_url}/messages, streamed), the API Claude models are
served through. base_url defaults to https://api.anthropic.com/v1; the key goes in `x-api-key`, with the
`anthropic-version` header (option `anthropic_version`, default 2023-06-01).

Built on the shared streaming client, not the `anthropic` SDK: see `ripsaw.providers.native` for why (timing at
the socket read) and for what every native provider shares (options, token rules, `drop_params`).

The request: system messages become `system`; the other messages alternate user / assistant (a tool message's
results are a user turn of `tool_result` blocks; consecutive turns of one role are merged). An assistant turn
sends back its thinking blocks first, each with its signature exactly as received (a `Reasoning` block from this
API carries the block as `opaque`; redacted thinking too), then its text, then `tool_use` blocks (the arguments
parsed back into `input`). Tools are `{name, description, input_schema}`. Params: max_tokens (required by the
API), temperature, top_p, stop_sequences; no seed. Thinking is asked for through extra_body
(`thinking = {type = "enabled", budget_tokens = 2048}`; such requests refuse a temperature: `drop_params`).

The stream: `message_start` (model, input usage with `cache_read_input_tokens`), `content_block_start` (a
`tool_use` block's name is a tool-call delta), `content_block_delta` (`text_delta`, `thinking_delta`,
`input_json_delta`; `signature_delta` completes a thinking block), `content_block_stop`, `message_delta`
(stop_reason, output usage), `message_stop`; `ping` events are keep-alives, `error` events (`overloaded_error`,
`api_error`) are retried like a 529, unknown event types are ignored. Usage: prompt_tokens = input + cache reads
+ cache writes, cached_tokens = cache reads; the API does not count thinking tokens apart from output_tokens, so
reasoning_tokens stays unknown. finish_reason: "stop" (end_turn, stop_sequence), "length" (max_tokens),
"tool_calls" (tool_use), or the stop_reason as sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from ripsaw.providers.native import NativeProvider, TypedReply
from ripsaw.providers.native import from_combo as build
from ripsaw.providers.streaming import Retryable, error_message
from ripsaw.records import Usage
from ripsaw.types import ComboSpec, Message, Prompt, Reasoning, RequestParams, Text, ToolCall, ToolResult

API = "anthropic"
VERSION = "2023-06-01"
_PARAMS = {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p", "stop": "stop_sequences"}
_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
# The API requires max_tokens; a combo that drops it or leaves it unset gets this many.
_DEFAULT_MAX_TOKENS = 4096


class MessagesReply(TypedReply):
    ignore = frozenset({"ping"})

    def __init__(self) -> None:
        super().__init__()
        self._blocks: dict[Any, dict[str, Any]] = {}  # thinking blocks being streamed, by index
        self._input: dict[str, Any] = {}  # message_start's usage
        self._inputs: dict[Any, dict[str, Any]] = {}  # tool_use blocks' opening input, by index

    def incomplete(self) -> str:
        return "the stream ended before message_stop and without a stop_reason"

    def complete(self) -> bool:
        return self.done or self.finish_reason is not None

    def on(self, kind: str, obj: dict[str, Any], now: int) -> None:
        if kind == "content_block_delta":
            delta = obj.get("delta")
            if not isinstance(delta, dict):
                raise Retryable(f"malformed 'content_block_delta' event: {json.dumps(obj)[:80]!r}")
            index, dtype = obj.get("index"), delta.get("type")
            if dtype == "text_delta":
                self.text(now, "content", delta.get("text"))
            elif dtype == "thinking_delta":
                self.text(now, "reasoning", delta.get("thinking"))
                block = self._blocks.get(index)
                if block is not None and isinstance(delta.get("thinking"), str):
                    block["thinking"] += delta["thinking"]
            elif dtype == "input_json_delta":
                self.call_delta(now, index, delta.get("partial_json"), f"input for unknown block {index!r}")
            elif dtype == "signature_delta":
                block = self._blocks.get(index)
                if block is not None:
                    block["signature"] = block.get("signature", "") + str(delta.get("signature") or "")
        elif kind == "content_block_start":
            self._start(obj.get("index"), obj.get("content_block"), now)
        elif kind == "content_block_stop":
            index = obj.get("index")
            call = self.calls.get(index)
            if call is not None and not call.pieces:  # no input streamed: the input the block opened with
                call.arguments = json.dumps(self._inputs.get(index) or {})
            block = self._blocks.pop(index, None)
            if block is not None:
                text = block.get("thinking", "")
                self.reasoning_items.append(Reasoning(text, opaque=block, api=API))
        elif kind == "message_delta":
            delta = obj.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if isinstance(reason, str):
                self.finish_reason = _STOP.get(reason, reason)
            usage = obj.get("usage")
            if isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int):
                self._usage(usage["output_tokens"])
        elif kind == "message_start":
            message = obj.get("message")
            if isinstance(message, dict):
                if isinstance(message.get("model"), str):
                    self.model = message["model"]
                if isinstance(message.get("usage"), dict):
                    self._input = message["usage"]
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise Retryable(f"error event in the stream: {error_message(json.dumps(obj))}")

    def _start(self, index: Any, block: Any, now: int) -> None:
        if not isinstance(block, dict):
            return
        btype = block.get("type")
        if btype == "tool_use":
            self.open_call(now, index, block.get("id"), block.get("name"))
            if isinstance(block.get("input"), dict):
                self._inputs[index] = block["input"]
        elif btype == "thinking":
            self._blocks[index] = {"type": "thinking", "thinking": "", "signature": ""}
            self.text(now, "reasoning", block.get("thinking"))
            self._blocks[index]["thinking"] = block.get("thinking") or ""
        elif btype == "redacted_thinking":
            # Encrypted reasoning: no text to time or count, but the model wants it back.
            self.reasoning_items.append(Reasoning("", opaque=dict(block), api=API))
        elif btype == "text":
            self.text(now, "content", block.get("text"))

    def _usage(self, output_tokens: int) -> None:
        read = self._input.get("cache_read_input_tokens")
        parts = [self._input.get(k) for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")]
        counted = [p for p in parts if isinstance(p, int)]
        self.usage = Usage(
            prompt_tokens=sum(counted) if counted else None,
            completion_tokens=output_tokens,
            source="server",
            cached_tokens=read if isinstance(read, int) else None,
        )


def _version(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "expected an API version string (e.g. 2023-06-01)"


class AnthropicProvider(NativeProvider):
    name = API
    options: ClassVar[dict[str, Callable[[Any], str | None]]] = {
        **NativeProvider.options,
        "anthropic_version": _version,
    }
    path = "/messages"
    server_headers = ("server", "anthropic-organization-id", "request-id")
    default_base_url = "https://api.anthropic.com/v1"

    def __init__(self, *args: Any, anthropic_version: str = VERSION, **kwargs: Any) -> None:
        self.version = anthropic_version
        super().__init__(*args, **kwargs)

    def headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": self.version}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def new_reply(self) -> TypedReply:
        return MessagesReply()

    def body(self, prompt: Prompt, params: RequestParams) -> dict[str, Any]:
        system = "\n\n".join(m.text for m in prompt.messages if m.role == "system")
        body: dict[str, Any] = {"model": self.model, "max_tokens": _DEFAULT_MAX_TOKENS, **self.params(params, _PARAMS)}
        if system:
            body["system"] = system
        body["messages"] = turns(prompt.messages)
        if prompt.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in prompt.tools
            ]
        body.update(params.extra_body)
        return body


def turns(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The non-system messages as alternating Messages turns of content blocks."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = [b for block in message.blocks if (b := content_block(block)) is not None]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"] += blocks
        else:
            out.append({"role": role, "content": blocks})
    return out


def content_block(block: Text | ToolCall | ToolResult | Reasoning) -> dict[str, Any] | None:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text} if block.text else None
    if isinstance(block, ToolCall):
        try:
            arguments = json.loads(block.arguments) if block.arguments.strip() else {}
        except ValueError:
            arguments = None
        # `input` must be an object: a call whose arguments did not parse is sent back as the text it was.
        return {
            "type": "tool_use",
            "id": block.id,
            "name": block.name,
            "input": arguments if isinstance(arguments, dict) else {"arguments": block.arguments},
        }
    if isinstance(block, ToolResult):
        return {
            "type": "tool_result",
            "tool_use_id": block.call_id,
            "content": block.content,
            "is_error": block.is_error,
        }
    if block.api == API and block.opaque is not None:
        return dict(block.opaque)
    return None  # reasoning of another API cannot be given back as this model's own thinking


def from_combo(combo: ComboSpec) -> NativeProvider:
    return build(AnthropicProvider, combo)
