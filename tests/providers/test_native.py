"""The native providers (`openai-responses`, `anthropic`) against the reference server's Responses and Messages
dialects, over real loopback sockets: parsing, conversation mapping, usage, faults, deadline, the key.

Timing assertions are sanity bounds (tens of milliseconds): precision is measured by the fidelity benchmark.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ripsaw.errors import ConfigError, ProviderError
from ripsaw.providers import create_provider
from ripsaw.providers.anthropic import AnthropicProvider
from ripsaw.providers.native import NativeProvider
from ripsaw.providers.openai_responses import OpenAIResponsesProvider
from ripsaw.types import ComboSpec, Message, Prompt, Reasoning, RequestParams, Text, ToolCall, ToolResult, ToolSpec
from tests.refserver import RefServer, Reply, split_tokens

CHAT = Prompt("chat", messages=(Message("system", "You write code."), Message("user", "Say hello.")))
PARAMS = RequestParams()
TEXT = "Hello there, this reply has exactly twenty tokens once the server splits it on spaces: one two three four five"
ARGS = '{"command": "python -m pytest -q tests/test_app.py", "timeout_s": 30, "cwd": "/work/repo"}'
S = 1_000_000_000
PROVIDERS = [OpenAIResponsesProvider, AnthropicProvider]


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(params=PROVIDERS, ids=lambda cls: cls.name)
async def make(
    request: pytest.FixtureRequest, refserver: RefServer, sleeps: Sleeps
) -> AsyncIterator[Callable[..., NativeProvider]]:
    """Providers of one API on the reference server (backoff recorded, not slept), closed after the test."""
    cls: type[NativeProvider] = request.param
    made: list[NativeProvider] = []

    def make(**kwargs: Any) -> NativeProvider:
        kwargs.setdefault("sleep", sleeps)
        provider = cls(refserver.base_url, kwargs.pop("model", "test-model"), kwargs.pop("api_key", None), **kwargs)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


# -- replies ---------------------------------------------------------------------------------------------------


async def test_text_timing_and_usage_follow_the_script(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, ttft_s=0.2, rate=50)]
    call = await make().complete(CHAT, PARAMS, None)

    t = call.timing
    assert call.text == TEXT and call.finish_reason == "stop" and call.cut is None and call.retries == 0
    assert call.tool_calls == [] and call.reasoning == ""
    # Nothing arrives before the server sends it; how late is bench/fidelity.py's business, not a unit test's.
    assert t.t_send_wire and t.ttft_s is not None and t.ttft_s >= 0.2
    assert t.first_content_ns == t.first_any_ns and t.first_reasoning_ns is None
    assert (call.usage.completion_tokens, call.usage.source, t.n_first, t.n_first_source) == (20, "server", 1, "server")
    assert t.output_speed(call.usage.completion_tokens) is not None
    assert t.e2e_s is not None and t.e2e_s >= 0.2 + 19 / 50  # the last of 20 tokens is due 19 / 50 s after the first
    # only events that carry output are chunks: the 20 text deltas
    assert t.chunks == len(t.chunk_ns) == 20 and t.chunk_ns == sorted(t.chunk_ns)
    assert call.server_model == "ref-model"


async def test_reasoning_comes_first_and_its_item_is_kept_for_the_next_turn(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.script = [Reply(reasoning="let me think this over", text="the answer", ttft_s=0.05, rate=50)]
    provider = make()
    call = await provider.complete(CHAT, PARAMS, None)

    t = call.timing
    assert call.reasoning == "let me think this over" and call.text == "the answer"
    assert t.first_any_ns == t.first_reasoning_ns
    assert t.ttft_s is not None and t.ttfat_s is not None
    assert t.ttft_s >= 0.05 and t.ttfat_s >= 0.05 + 5 / 50  # the answer starts after the 5 reasoning tokens
    assert call.usage.completion_tokens == 7
    # Responses counts reasoning tokens apart; Messages does not say
    assert call.usage.reasoning_tokens == (5 if provider.name == "openai-responses" else None)
    [item] = call.reasoning_items
    assert item.text == "let me think this over" and item.api == provider.name and item.opaque is not None
    assert item.opaque.get("encrypted_content") or item.opaque.get("signature")


async def test_a_tool_call_split_across_many_deltas_is_assembled(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.script = [Reply(text="", native_tool_calls=[{"name": "run", "arguments": ARGS, "id": "c1"}], ttft_s=0.05)]
    prompt = Prompt("chat", messages=CHAT.messages, tools=(ToolSpec("run", "Run a command"),))
    call = await make().complete(prompt, PARAMS, None)

    assert call.tool_calls == [ToolCall("c1", "run", ARGS)] and call.text == ""
    assert call.finish_reason == "tool_calls"
    deltas = [c for c in refserver.chunks if c.kind == "tool"]
    assert len(deltas) == 1 + len(ARGS.split()) > 5  # the name, then one argument piece per delta
    # the name is the first token: TTFT counts from it, and there is no answer token
    assert call.timing.first_any_ns is not None and call.timing.first_content_ns is None
    assert call.usage.completion_tokens == len(deltas) and call.timing.chunks == len(deltas)
    tools = refserver.requests[0].body["tools"]
    assert tools[0]["name"] == "run"


async def test_several_tool_calls_keep_their_order(refserver: RefServer, make: Callable[..., Any]) -> None:
    calls = [{"name": "read", "arguments": '{"path": "a.py"}'}, {"name": "run", "arguments": '{"cmd": "ls"}'}]
    refserver.script = [Reply(text="Two steps.", native_tool_calls=calls, tokens_per_chunk=3)]
    call = await make().complete(CHAT, PARAMS, None)
    assert [(c.name, c.arguments) for c in call.tool_calls] == [(c["name"], c["arguments"]) for c in calls]
    assert call.text == "Two steps." and len({c.id for c in call.tool_calls}) == 2


async def test_usage_absent_is_estimated_and_marked(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, send_usage=False)]
    call = await make().complete(CHAT, PARAMS, None)
    assert call.text == TEXT and call.usage.source == "estimated" and call.usage.completion_tokens
    assert call.usage.cached_tokens is None


async def test_an_openai_model_without_usage_is_counted_by_its_tokenizer(refserver: RefServer) -> None:
    refserver.script = [Reply(text=TEXT, send_usage=False)]
    provider = OpenAIResponsesProvider(refserver.base_url, "gpt-5.3-codex")
    try:
        call = await provider.complete(CHAT, PARAMS, None)
    finally:
        await provider.aclose()
    assert call.usage.source == "tokenizer" and call.usage.completion_tokens


async def test_cached_input_tokens_are_recorded(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text="ok then", cached_tokens=2)]
    call = await make().complete(CHAT, PARAMS, None)
    # the prompt's words: "You write code." + "Say hello."; of them 2 read from the cache
    assert (call.usage.prompt_tokens, call.usage.cached_tokens) == (5, 2)


async def test_max_tokens_cut_reports_length(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT)]
    call = await make().complete(CHAT, RequestParams(max_tokens=5), None)
    assert call.finish_reason == "length" and call.usage.completion_tokens == 5
    assert call.text == "".join(split_tokens(TEXT)[:5])


async def test_pings_unknown_events_and_split_writes_parse_right(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    text = "naïve café — ünïcödé ✓ 日本語 done"
    refserver.script = [Reply(text=text, tokens_per_chunk=2, keepalive=True, split_writes=True, unknown_events=True)]
    call = await make().complete(CHAT, PARAMS, None)
    assert call.text == text and call.usage.completion_tokens == 7 and call.timing.chunks == 4


# -- the conversation both ways --------------------------------------------------------------------------------


async def test_a_second_turn_sends_back_reasoning_tool_calls_and_results(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.script = [
        Reply(reasoning="I should list files", text="Listing.", native_tool_calls=[{"name": "run", "arguments": ARGS}]),
        Reply(text="Done."),
    ]
    tools = (ToolSpec("run", "Run a command", {"type": "object", "properties": {"command": {"type": "string"}}}),)
    provider = make()
    first = await provider.complete(Prompt("chat", messages=CHAT.messages, tools=tools), PARAMS, None)
    [call] = first.tool_calls
    conversation = (*CHAT.messages, first.message(), Message("tool", (ToolResult(call.id, "3 passed", False),)))
    second = await provider.complete(Prompt("chat", messages=conversation, tools=tools), PARAMS, None)
    assert second.text == "Done."

    body = refserver.requests[1].body
    [reasoning] = first.reasoning_items
    if provider.name == "openai-responses":
        assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
        assert body["input"][:2] == [
            {"role": "system", "content": "You write code."},
            {"role": "user", "content": "Say hello."},
        ]
        assert body["input"][2:] == [
            reasoning.opaque,  # the item as received, encrypted content included
            {"role": "assistant", "content": "Listing."},
            {"type": "function_call", "call_id": call.id, "name": "run", "arguments": ARGS},
            {"type": "function_call_output", "call_id": call.id, "output": "3 passed"},
        ]
        assert body["tools"] == [{"type": "function", "name": "run", "description": "Run a command",
                                  "parameters": tools[0].parameters}]  # fmt: skip
        assert body["max_output_tokens"] == 512 and "max_tokens" not in body
    else:
        assert body["system"] == "You write code."
        assert body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Say hello."}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I should list files", "signature": reasoning.opaque["signature"]},
                    {"type": "text", "text": "Listing."},
                    {"type": "tool_use", "id": call.id, "name": "run", "input": json.loads(ARGS)},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "3 passed", "is_error": False}],
            },
        ]
        assert reasoning.opaque["signature"].startswith("sig-0-")
        assert body["tools"] == [{"name": "run", "description": "Run a command", "input_schema": tools[0].parameters}]


async def test_reasoning_of_another_api_is_not_sent_as_the_models_own(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    foreign = Reasoning("thoughts", opaque={"type": "alien", "blob": "x"}, api="elsewhere")
    history = (*CHAT.messages, Message("assistant", (foreign, Text("Hi."))), Message("user", "Again."))
    await make().complete(Prompt("chat", messages=history), PARAMS, None)
    assert "alien" not in json.dumps(refserver.requests[0].body)


async def test_params_pass_through_and_drop_params_leaves_them_out(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    extra = {"reasoning": {"effort": "low"}, "metadata": {"run": "x"}}
    params = RequestParams(temperature=0.2, top_p=0.9, max_tokens=64, extra_body=extra)
    await make().complete(CHAT, params, None)
    await make(drop_params=["temperature", "top_p"]).complete(CHAT, params, None)
    first, second = (r.body for r in refserver.requests)
    assert first["temperature"] == 0.2 and first["top_p"] == 0.9 and first["stream"] is True
    assert first["reasoning"] == {"effort": "low"} and first["metadata"] == {"run": "x"}
    assert "temperature" not in second and "top_p" not in second and second["reasoning"] == {"effort": "low"}


# -- faults ----------------------------------------------------------------------------------------------------


async def test_429_waits_as_long_as_retry_after_says(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps
) -> None:
    refserver.script = [Reply(status=429, retry_after="2"), Reply(text="ok")]
    call = await make().complete(CHAT, PARAMS, None)
    assert call.text == "ok" and call.retries == 1 and sleeps.delays == [2.0]


async def test_overloaded_529_is_retried(refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps) -> None:
    refserver.script = [Reply(status=529, error_message="Overloaded"), Reply(text="ok")]
    call = await make().complete(CHAT, PARAMS, None)
    assert call.text == "ok" and call.retries == 1 and len(sleeps.delays) == 1


@pytest.mark.parametrize(
    "fault",
    [{"error_event_after": 3}, {"reset_after": 3}, {"end_after": 3}, {"malformed_after": 3}, {"stall_after": 3}],
    ids=["error-event-mid-stream", "reset", "ended-early", "malformed", "stall"],
)
async def test_cut_streams_are_retried(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps, fault: dict[str, Any]
) -> None:
    refserver.script = [Reply(text=TEXT, **fault), Reply(text=TEXT)]
    call = await make(read_timeout_s=0.3).complete(CHAT, PARAMS, None)
    assert call.text == TEXT and call.retries == 1 and len(sleeps.delays) == 1
    assert call.usage.completion_tokens == 20  # the failed try's tokens are not counted


async def test_an_overloaded_event_that_never_clears_names_it(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, error_event_after=2)]
    provider = make(max_retries=1)
    with pytest.raises(ProviderError, match=r"error event in the stream.*gave up after 2 tries") as info:
        await provider.complete(CHAT, PARAMS, None)
    expected = "Overloaded" if provider.name == "anthropic" else "scripted error event"
    assert expected in str(info.value)


async def test_a_malformed_event_is_named_in_the_error(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, malformed_after=2)]
    provider = make(max_retries=0)
    with pytest.raises(ProviderError, match=r"malformed '[a-z_.]+' event") as info:
        await provider.complete(CHAT, PARAMS, None)
    if provider.name == "anthropic":
        assert "'content_block_delta'" in str(info.value)


async def test_client_errors_are_not_retried(refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps) -> None:
    refserver.script = [Reply(status=400, error_message="unsupported parameter: temperature")]
    with pytest.raises(ProviderError, match="HTTP 400: unsupported parameter: temperature"):
        await make().complete(CHAT, PARAMS, None)
    assert sleeps.delays == [] and len(refserver.requests) == 1


# -- deadline --------------------------------------------------------------------------------------------------


async def test_deadline_mid_stream_keeps_the_partial_text(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, rate=20)]  # 1 s for the whole reply
    call = await make().complete(CHAT, PARAMS, time.perf_counter_ns() + int(0.3 * S))
    assert call.cut == "budget" and 0 < len(call.text) < len(TEXT) and TEXT.startswith(call.text)
    assert call.timing.close_ns is not None


# -- the key and the configuration -----------------------------------------------------------------------------


async def test_the_key_travels_in_each_apis_header_and_is_scrubbed_from_errors(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.api_key = "sk-right"
    provider = make(api_key="sk-right")
    await provider.complete(CHAT, PARAMS, None)
    headers = refserver.requests[0].headers
    if provider.name == "anthropic":
        assert headers["x-api-key"] == "sk-right" and headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in headers
    else:
        assert headers["authorization"] == "Bearer sk-right" and "x-api-key" not in headers

    with pytest.raises(ProviderError, match="HTTP 401"):
        await make(api_key="sk-wrong").complete(CHAT, PARAMS, None)
    refserver.reset([Reply(status=400, error_message="Incorrect API key provided: sk-right")])
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, PARAMS, None)
    assert str(info.value).endswith("HTTP 400: Incorrect API key provided: ***")
    assert "sk-right" not in json.dumps(provider.describe())


@pytest.mark.parametrize("name", ["openai-responses", "anthropic"])
async def test_combos_build_from_the_registry(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATIVE_KEY", "k")
    combo = ComboSpec(
        "c", name, "m", api_key_env="NATIVE_KEY", options={"drop_params": ["temperature"], "max_retries": 2}
    )
    provider = create_provider(combo)
    try:
        assert isinstance(provider, NativeProvider) and provider.drop_params == {"temperature"}
        default = "https://api.openai.com/v1" if name == "openai-responses" else "https://api.anthropic.com/v1"
        assert provider.describe()["base_url"] == default and provider.describe()["provider"] == name
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    ("name", "combo", "message"),
    [
        ("openai-responses", {"prompt_mode": "complete"}, "takes chat prompts only"),
        ("anthropic", {"options": {"anthropic_versoin": "x"}}, "options.anthropic_versoin: unknown option"),
        ("anthropic", {"options": {"anthropic_version": ""}}, "options.anthropic_version: expected an API version"),
        ("openai-responses", {"options": {"anthropic_version": "x"}}, "unknown option for provider 'openai-responses'"),
        ("anthropic", {"options": {"drop_params": ["temprature"]}}, "options.drop_params: expected a list of"),
        ("openai-responses", {"options": {"max_retries": -1}}, "options.max_retries: expected an integer >= 0"),
    ],
)
def test_combo_configuration_errors(name: str, combo: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_provider(ComboSpec("c", name, "m", **combo))


async def test_anthropic_version_option_is_sent(refserver: RefServer) -> None:
    provider = AnthropicProvider(refserver.base_url, "m", anthropic_version="2025-01-01")
    try:
        await provider.complete(CHAT, PARAMS, None)
    finally:
        await provider.aclose()
    assert refserver.requests[0].headers["anthropic-version"] == "2025-01-01"
    assert refserver.requests[0].body["max_tokens"] == 512


async def test_a_tool_use_without_streamed_input_has_empty_object_arguments(refserver: RefServer) -> None:
    refserver.script = [Reply(text="", native_tool_calls=[{"name": "list_files", "arguments": ""}])]
    provider = AnthropicProvider(refserver.base_url, "m")
    try:
        call = await provider.complete(CHAT, PARAMS, None)
    finally:
        await provider.aclose()
    assert [(c.name, c.arguments) for c in call.tool_calls] == [("list_files", "{}")]
