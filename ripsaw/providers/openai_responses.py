"""Provider `openai-responses`: OpenAI's Responses API (POST {base_url}/responses, streamed), the API OpenAI's
Codex models are served through.

Built on the shared streaming client, not the `openai` SDK: see `ripsaw.providers.native` for why (timing at the
socket read) and for what every native provider shares (options, token rules, `drop_params`).

The request: the conversation as `input` items. System and user messages are input messages; an assistant turn
becomes, in order, its reasoning items (a `Reasoning` block from this API is sent back as the item it came as,
`encrypted_content` included, which is what lets a stateless conversation keep the model's reasoning), an
assistant message with its text, and one `function_call` item per tool call; a tool message's results become
`function_call_output` items. Tools are `{"type": "function", name, description, parameters}`. Params:
temperature, top_p, `max_output_tokens` (max_tokens); the API has no stop sequences or seed, so those are not
sent. Every request is `store: false` with `include: ["reasoning.encrypted_content"]` (nothing kept server-side,
reasoning carried by the client); `extra_body` adds or overrides fields (`reasoning = {effort = "low"}`).

The stream: `response.output_text.delta` (answer), `response.reasoning_summary_text.delta` and
`response.reasoning_text.delta` (reasoning), `response.output_item.added` of a `function_call` (its name) and
`response.function_call_arguments.delta`; `response.output_item.done` completes a reasoning item (recorded with
its opaque payload) or a function call (its final arguments); `response.completed` / `response.incomplete` end
the reply with `usage` (output_tokens_details.reasoning_tokens, input_tokens_details.cached_tokens);
`response.failed` and `error` events are retried like a 5xx. Other event types are ignored (forward
compatibility). finish_reason: "stop", "tool_calls", or the incomplete reason ("length" for max_output_tokens).
"""

from __future__ import annotations

import json
from typing import Any

from ripsaw.providers.native import NativeProvider, OpenCall, TypedReply
from ripsaw.providers.native import from_combo as build
from ripsaw.providers.streaming import Retryable, error_message
from ripsaw.records import Usage
from ripsaw.types import ComboSpec, Message, Prompt, Reasoning, RequestParams, Text, ToolCall, ToolResult

API = "openai-responses"
_PARAMS = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_output_tokens"}
_INCOMPLETE = {"max_output_tokens": "length"}


class ResponsesReply(TypedReply):
    def incomplete(self) -> str:
        return "the stream ended before response.completed"

    def on(self, kind: str, obj: dict[str, Any], now: int) -> None:
        if kind == "response.output_text.delta":
            self.text(now, "content", obj.get("delta"))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            self.text(now, "reasoning", obj.get("delta"))
        elif kind == "response.function_call_arguments.delta":
            self.call_delta(
                now, obj.get("item_id"), obj.get("delta"), f"arguments for unknown item {obj.get('item_id')!r}"
            )
        elif kind == "response.output_item.added":
            item = obj.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                self.open_call(now, item.get("id"), item.get("call_id"), item.get("name"))
        elif kind == "response.output_item.done":
            self._item_done(obj.get("item"))
        elif kind in ("response.completed", "response.incomplete"):
            self._finished(obj.get("response"))
        elif kind == "response.created":
            response = obj.get("response")
            if isinstance(response, dict) and isinstance(response.get("model"), str):
                self.model = response["model"]
        elif kind in ("response.failed", "error"):
            response = obj.get("response")
            detail = response.get("error") if kind == "response.failed" and isinstance(response, dict) else obj
            raise Retryable(f"{kind} event in the stream: {error_message(_json(detail))}")

    def _item_done(self, item: Any) -> None:
        if not isinstance(item, dict):
            return
        if item.get("type") == "reasoning":
            summary = item.get("summary") or item.get("content") or []
            text = "".join(p.get("text", "") for p in summary if isinstance(p, dict))
            self.reasoning_items.append(Reasoning(text, opaque=item, api=API))
        elif item.get("type") == "function_call":
            call = self.calls.get(item.get("id"))
            if call is None:  # no output_item.added: the call came whole
                call = self.calls[item.get("id")] = OpenCall(
                    str(item.get("call_id") or ""), str(item.get("name") or "")
                )
            if isinstance(item.get("arguments"), str):
                call.arguments = item["arguments"]

    def _finished(self, response: Any) -> None:
        self.done = True
        if not isinstance(response, dict):
            return
        if response.get("status") == "incomplete":
            reason = (response.get("incomplete_details") or {}).get("reason") or "incomplete"
            self.finish_reason = _INCOMPLETE.get(reason, reason)
        else:
            self.finish_reason = "tool_calls" if self.calls else "stop"
        usage = response.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int):
            out = usage.get("output_tokens_details") or {}
            inp = usage.get("input_tokens_details") or {}
            self.usage = Usage(
                prompt_tokens=usage.get("input_tokens"),
                completion_tokens=usage["output_tokens"],
                reasoning_tokens=out.get("reasoning_tokens"),
                source="server",
                cached_tokens=inp.get("cached_tokens"),
            )


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class OpenAIResponsesProvider(NativeProvider):
    name = API
    path = "/responses"
    server_headers = ("server", "openai-version")
    default_base_url = "https://api.openai.com/v1"

    def new_reply(self) -> TypedReply:
        return ResponsesReply()

    def body(self, prompt: Prompt, params: RequestParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "input": [item for m in prompt.messages for item in input_items(m)],
            "store": False,
            "include": ["reasoning.encrypted_content"],
            **self.params(params, _PARAMS),
        }
        if prompt.tools:
            body["tools"] = [
                {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
                for t in prompt.tools
            ]
        body.update(params.extra_body)
        return body


def input_items(message: Message) -> list[dict[str, Any]]:
    """One message of the conversation as Responses input items."""
    if message.role in ("system", "user"):
        return [{"role": message.role, "content": message.text}]
    items: list[dict[str, Any]] = []
    text: list[str] = []
    for block in message.blocks:
        if isinstance(block, Text):
            text.append(block.text)
        elif isinstance(block, Reasoning):
            if block.api == API and block.opaque is not None:
                items.append(block.opaque)
            # Reasoning of another API, or without its item, cannot be given back as this model's own.
        elif isinstance(block, ToolCall):
            items.append(
                {"type": "function_call", "call_id": block.id, "name": block.name, "arguments": block.arguments}
            )
        elif isinstance(block, ToolResult):
            items.append({"type": "function_call_output", "call_id": block.call_id, "output": block.content})
    if text:
        # The assistant's text goes before its function calls, as the model produced them.
        at = next((i for i, item in enumerate(items) if item.get("type") == "function_call"), len(items))
        items.insert(at, {"role": "assistant", "content": "".join(text)})
    return items


def from_combo(combo: ComboSpec) -> NativeProvider:
    return build(OpenAIResponsesProvider, combo)
