"""Native event shapes the reference server does not send, from canned SSE bodies (httpx.MockTransport): a
function call that arrives whole, `response.failed`, redacted thinking, a tool_use opened with its input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ripsaw.errors import ProviderError
from ripsaw.providers.anthropic import AnthropicProvider
from ripsaw.providers.native import NativeProvider
from ripsaw.providers.openai_responses import OpenAIResponsesProvider
from ripsaw.records import ModelCall
from ripsaw.types import Message, Prompt, RequestParams

CHAT = Prompt("chat", messages=(Message("user", "hi"),))


def typed(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


async def call(cls: type[NativeProvider], *bodies: bytes, **kwargs: Any) -> ModelCall:
    queue = iter(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=next(queue))

    async def no_sleep(delay: float) -> None:
        pass

    provider = cls("http://endpoint.test/v1", "m", transport=httpx.MockTransport(handler), sleep=no_sleep, **kwargs)
    try:
        return await provider.complete(CHAT, RequestParams(), None)
    finally:
        await provider.aclose()


async def test_a_function_call_that_arrives_whole_is_kept() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "run", "arguments": '{"a": 1}'}
    done = {"status": "completed", "usage": {"input_tokens": 3, "output_tokens": 4}}
    body = typed(
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": done},
    )
    result = await call(OpenAIResponsesProvider, body)
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [("call_1", "run", '{"a": 1}')]
    assert result.finish_reason == "tool_calls" and result.usage.completion_tokens == 4


async def test_response_failed_is_retried_and_named() -> None:
    failed = {"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error",
              "message": "The model crashed"}}}  # fmt: skip
    with pytest.raises(ProviderError, match=r"response.failed event in the stream: The model crashed.*2 tries"):
        await call(OpenAIResponsesProvider, typed(failed), typed(failed), max_retries=1)


async def test_redacted_thinking_and_a_tool_use_opened_with_its_input() -> None:
    body = typed(
        {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "opaque"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "ls", "input": {"path": "."}},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    )
    result = await call(AnthropicProvider, body)
    [thinking] = result.reasoning_items
    assert thinking.opaque == {"type": "redacted_thinking", "data": "opaque"} and thinking.text == ""
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [("t1", "ls", {"path": "."})]
    assert result.finish_reason == "tool_calls" and result.server_model == "claude-x"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (5, 9)
