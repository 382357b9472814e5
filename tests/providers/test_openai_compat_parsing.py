"""Stream parsing with canned SSE bodies (httpx.MockTransport) and a stepping clock, for exact timing maths."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ripsaw.errors import ProviderError
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.types import Message, Prompt, RequestParams

CHAT = Prompt("chat", messages=(Message("user", "hi"),))
STEP = 1000  # the clock advances this many ns per reading


def sse(*events: Any) -> bytes:
    return b"".join(b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n" for e in events)


def delta(**fields: Any) -> dict[str, Any]:
    return {"model": "served-model", "choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def finish(reason: str = "stop", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}], "usage": usage}


async def call_with(responses: list[httpx.Response], **kwargs: Any) -> tuple[Any, list[httpx.Request], list[float]]:
    requests: list[httpx.Request] = []
    sleeps: list[float] = []
    queue = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return next(queue)

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    counter = itertools.count(0, STEP)
    clock: Callable[[], int] = lambda: next(counter)  # noqa: E731
    provider = OpenAICompatProvider(
        "http://endpoint.test/v1", "m", clock=clock, sleep=sleep, transport=httpx.MockTransport(handler), **kwargs
    )
    try:
        result = await provider.complete(CHAT, RequestParams(), None)
    finally:
        await provider.aclose()
    return result, requests, sleeps


def stream(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=body)


async def test_offsets_are_exact_on_a_stepping_clock() -> None:
    body = sse(
        delta(role="assistant"),  # clock 1: a chunk, not a token
        delta(reasoning="mull"),  # 2: `reasoning` (not only `reasoning_content`) is reasoning
        delta(content=""),  # 3: empty: not a token
        delta(content="Hi"),  # 4
        delta(tool_calls=[{"index": 0, "function": {"arguments": "{}"}}]),  # 5: a tool-call delta is a token
        finish("stop", {"prompt_tokens": 3, "completion_tokens": 4}),  # 6: usage on a chunk with choices
        b"[DONE]",  # 7: read, not a chunk
    )
    call, _, _ = await call_with([stream(body)])

    t = call.timing
    assert t.chunk_ns == [1 * STEP, 2 * STEP, 3 * STEP, 4 * STEP, 5 * STEP, 6 * STEP] and t.chunks == 6
    assert (t.first_any_ns, t.first_reasoning_ns, t.first_content_ns, t.last_token_ns) == (
        2 * STEP,
        2 * STEP,
        4 * STEP,
        5 * STEP,
    )
    assert t.close_ns == 8 * STEP
    assert (call.text, call.reasoning, call.finish_reason, call.server_model) == ("Hi", "mull", "stop", "served-model")
    assert (call.usage.completion_tokens, call.usage.prompt_tokens, call.usage.source) == (4, 3, "server")
    # 4 tokens in 3 token chunks, no tokenizer for model "m": the first chunk ("mull") holds its share of the
    # reply's 8 characters, 2 tokens, which arrived at first_any and are not part of the speed's span
    assert (t.n_first, t.n_first_source) == (2, "estimated")
    assert t.output_speed(4) == pytest.approx(2 / (3 * STEP / 1e9))


async def test_usage_in_a_trailing_chunk_without_choices() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "completion_tokens_details": {"reasoning_tokens": 1}}
    body = sse(delta(content="a"), finish(), {"choices": [], "usage": usage}, b"[DONE]")
    call, _, _ = await call_with([stream(body)])
    assert (call.usage.completion_tokens, call.usage.reasoning_tokens, call.usage.prompt_tokens) == (2, 1, 9)


async def test_an_error_event_inside_the_stream_is_retried() -> None:
    broken = sse(delta(content="a"), {"error": {"message": "model overloaded"}})
    good = sse(delta(content="ok"), finish(), b"[DONE]")
    call, requests, sleeps = await call_with([stream(broken), stream(good)])
    assert (call.text, call.retries, len(requests), len(sleeps)) == ("ok", 1, 2, 1)


async def test_a_complete_reply_without_done_is_accepted() -> None:
    call, requests, _ = await call_with([stream(sse(delta(content="a"), finish("length")))])
    assert (call.text, call.finish_reason, len(requests)) == ("a", "length", 1)


async def test_a_reply_that_is_not_a_stream_is_an_error_at_once() -> None:
    response = httpx.Response(200, json={"choices": [{"message": {"content": "x"}}]})
    with pytest.raises(ProviderError, match="expected a text/event-stream reply, got 'application/json'"):
        await call_with([response, response])


async def test_retry_after_ms_is_preferred() -> None:
    throttled = httpx.Response(429, headers={"retry-after-ms": "250", "retry-after": "1"}, json={"error": {}})
    call, _, sleeps = await call_with([throttled, stream(sse(delta(content="a"), finish()))])
    assert (call.retries, sleeps) == (1, [0.25])


async def test_a_server_asking_for_a_very_long_wait_is_treated_as_down() -> None:
    throttled = httpx.Response(429, headers={"retry-after": "3600"}, text="slow down")
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        await call_with([throttled])


async def test_a_base_url_query_goes_on_every_request_but_not_into_messages() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(404, text="no deployment")

    provider = OpenAICompatProvider(
        "https://gw.test/openai/deployments/d?api-version=2024-06-01&sig=s3cret",
        "m",
        transport=httpx.MockTransport(handler),
    )
    try:
        with pytest.raises(ProviderError) as info:
            await provider.complete(CHAT, RequestParams(), None)
    finally:
        await provider.aclose()
    assert (
        str(requests[0].url)
        == "https://gw.test/openai/deployments/d/chat/completions?api-version=2024-06-01&sig=s3cret"
    )
    assert str(info.value) == "https://gw.test/openai/deployments/d/chat/completions: HTTP 404: no deployment"
