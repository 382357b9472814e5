"""The OpenAI-compatible provider against the reference server, over real loopback sockets.

Timing assertions are sanity bounds (tens of milliseconds): precision is measured by the fidelity benchmark.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ripsaw.errors import ConfigError, ProviderError
from ripsaw.providers import create_provider
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.tokens import estimate_tokens
from ripsaw.types import ComboSpec, Message, Prompt, RequestParams, Text, ToolCall, ToolResult, ToolSpec
from tests.refserver import RefServer, Reply, split_tokens

CHAT = Prompt("chat", messages=(Message("system", "You write code."), Message("user", "Say hello.")))
COMPLETE = Prompt("complete", text="def add(a, b):\n")
PARAMS = RequestParams()
TEXT = "Hello there, this reply has exactly twenty tokens once the server splits it on spaces: one two three four five"
MS = 1_000_000
S = 1_000_000_000


class Sleeps:
    """Stands in for asyncio.sleep: records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make(refserver: RefServer, sleeps: Sleeps) -> AsyncIterator[Callable[..., OpenAICompatProvider]]:
    """Providers on the reference server (backoff recorded, not slept), closed after the test."""
    made: list[OpenAICompatProvider] = []

    def make(**kwargs: Any) -> OpenAICompatProvider:
        kwargs.setdefault("sleep", sleeps)
        provider = OpenAICompatProvider(refserver.base_url, "test-model", kwargs.pop("api_key", None), **kwargs)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


def test_the_scripted_text_has_twenty_tokens() -> None:
    assert len(split_tokens(TEXT)) == 20
    assert "".join(split_tokens(TEXT)) == TEXT


# -- timing ----------------------------------------------------------------------------------------------------


async def test_ttft_speed_and_e2e_follow_the_script(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, ttft_s=0.2, rate=50)]
    call = await make().complete(CHAT, PARAMS, None)

    t = call.timing
    assert call.text == TEXT and call.finish_reason == "stop" and call.cut is None and call.retries == 0
    # Nothing can arrive before the server sends it. How late it arrives is the benchmark's business
    # (bench/fidelity.py, against the server's log): a shared machine can delay any event here.
    assert t.ttft_s is not None and t.ttft_s >= 0.2
    assert t.first_content_ns == t.first_any_ns and t.first_reasoning_ns is None
    assert t.output_speed(call.usage.completion_tokens) is not None
    assert t.e2e_s is not None and t.e2e_s >= 0.2 + 19 / 50  # the last of 20 tokens is due 19 / 50 s after the first
    # role chunk + 20 token chunks + finish chunk + usage chunk, arrival offsets in order
    assert t.chunks == len(t.chunk_ns) == 23
    assert t.chunk_ns == sorted(t.chunk_ns)
    assert t.last_token_ns is not None and t.close_ns is not None
    assert t.last_token_ns <= t.chunk_ns[-1] <= t.close_ns


async def test_a_role_only_first_chunk_is_not_a_token(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text="late answer", ttft_s=0.15, role_only_first_chunk=True)]
    call = await make().complete(CHAT, PARAMS, None)

    assert [c.kind for c in refserver.chunks][:2] == ["role", "content"]
    # The role chunk was stamped apart, before the first content the server sent 0.15 s later, and did not count
    # (how soon it came is the benchmark's business: a shared machine can delay any read here).
    assert call.timing.first_any_ns is not None and call.timing.first_any_ns >= 0.14 * S
    assert call.timing.chunk_ns[0] < call.timing.first_any_ns


async def test_reasoning_tokens_come_first(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(reasoning="let me think this over", text="the answer", ttft_s=0.05, rate=50)]
    call = await make().complete(CHAT, PARAMS, None)

    t = call.timing
    assert call.reasoning == "let me think this over" and call.text == "the answer"
    assert t.first_any_ns == t.first_reasoning_ns
    assert t.ttft_s is not None and t.ttfat_s is not None
    assert t.ttft_s >= 0.05 and t.ttfat_s >= 0.05 + 5 / 50  # the answer starts after the 5 reasoning tokens
    assert (call.usage.completion_tokens, call.usage.reasoning_tokens, call.usage.source) == (7, 5, "server")


async def test_keepalive_comments_and_split_writes_parse_right(refserver: RefServer, make: Callable[..., Any]) -> None:
    text = "naïve café — ünïcödé ✓ 日本語 done"
    refserver.script = [Reply(text=text, tokens_per_chunk=2, keepalive=True, split_writes=True)]
    call = await make().complete(CHAT, PARAMS, None)

    assert call.text == text
    assert call.timing.chunks == len(refserver.chunks) == 1 + 4 + 1 + 1  # role, 7 tokens in pairs, finish, usage
    assert call.usage.completion_tokens == 7


# -- requests and token counts -----------------------------------------------------------------------------------


async def test_chat_request_carries_the_params(refserver: RefServer, make: Callable[..., Any]) -> None:
    params = RequestParams(
        temperature=0.2, max_tokens=64, stop=("\n\n",), seed=7, top_p=0.9, extra_body={"top_k": 5, "stream": False}
    )
    await make().complete(CHAT, params, None)

    (request,) = refserver.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {
        "model": "test-model",
        "messages": [{"role": "system", "content": "You write code."}, {"role": "user", "content": "Say hello."}],
        "temperature": 0.2,
        "max_tokens": 64,
        "seed": 7,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "top_k": 5,
        "stream": True,  # extra_body cannot turn streaming off: it is how calls are timed
        "stream_options": {"include_usage": True},
    }


async def test_complete_mode_uses_completions(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text="    return a + b\n", ttft_s=0.02)]
    call = await make().complete(COMPLETE, RequestParams(max_tokens=None, temperature=None), None)

    (request,) = refserver.requests
    assert request.path == "/v1/completions"
    assert request.body == {
        "model": "test-model",
        "prompt": "def add(a, b):\n",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert call.text == "    return a + b\n" and call.finish_reason == "stop"
    assert call.timing.first_content_ns == call.timing.first_any_ns
    assert call.timing.first_any_ns is not None and call.timing.first_any_ns >= 0.015 * S


async def test_max_tokens_cut_reports_length(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT)]
    call = await make().complete(CHAT, RequestParams(max_tokens=3), None)
    assert call.text == "".join(split_tokens(TEXT)[:3])
    assert call.finish_reason == "length" and call.usage.completion_tokens == 3


async def test_usage_from_the_server_is_exact(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, send_usage=True)]
    call = await make().complete(CHAT, PARAMS, None)
    assert (call.usage.completion_tokens, call.usage.prompt_tokens, call.usage.source) == (20, 5, "server")


async def test_without_usage_tokens_are_estimated_on_the_joined_text(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.script = [Reply(text=TEXT, reasoning="hmm, maybe", send_usage=False)]
    call = await make().complete(CHAT, PARAMS, None)

    assert call.usage.source == "estimated"
    assert call.usage.completion_tokens == estimate_tokens(TEXT) + estimate_tokens("hmm, maybe")
    assert call.usage.reasoning_tokens == estimate_tokens("hmm, maybe")
    assert call.usage.prompt_tokens == estimate_tokens("You write code.\nSay hello.")


# -- retries -----------------------------------------------------------------------------------------------------


async def test_429_waits_as_long_as_retry_after_says(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps
) -> None:
    refserver.script = [Reply(status=429, retry_after="3"), Reply(text="ok")]
    call = await make().complete(CHAT, PARAMS, None)
    assert (call.text, call.retries, sleeps.delays) == ("ok", 1, [3.0])


async def test_retry_after_as_an_http_date(refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    refserver.script = [Reply(status=503, retry_after=when), Reply(text="ok")]
    call = await make().complete(CHAT, PARAMS, None)
    assert call.retries == 1
    assert 27 <= sleeps.delays[0] <= 30


async def test_500_then_success_is_one_retry(refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps) -> None:
    refserver.script = [Reply(status=500), Reply(text=TEXT, ttft_s=0.05)]
    call = await make(backoff_base_s=0.5).complete(CHAT, PARAMS, None)

    assert call.text == TEXT and call.retries == 1 and len(refserver.requests) == 2
    assert len(sleeps.delays) == 1 and 0 <= sleeps.delays[0] <= 0.5  # full jitter on the first backoff step
    assert call.timing.ttft_s is not None and call.timing.ttft_s >= 0.05  # the final try's scripted TTFT


async def test_backoff_grows_and_is_capped(refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps) -> None:
    refserver.script = [Reply(status=502)] * 6 + [Reply(text="ok")]
    call = await make(max_retries=6, backoff_base_s=1.0, backoff_max_s=5.0).complete(CHAT, PARAMS, None)
    assert call.retries == 6
    caps = [1, 2, 4, 5, 5, 5]
    assert all(0 <= d <= cap for d, cap in zip(sleeps.delays, caps, strict=True))


async def test_exhausted_retries_raise_provider_error(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps
) -> None:
    refserver.script = [Reply(status=500, error_message="the GPU caught fire")]
    with pytest.raises(ProviderError, match=r"HTTP 500: the GPU caught fire \(gave up after 3 tries\)"):
        await make(max_retries=2).complete(CHAT, PARAMS, None)
    assert len(refserver.requests) == 3 and len(sleeps.delays) == 2


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_not_retried(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps, status: int
) -> None:
    refserver.script = [Reply(status=status, error_message="no such model"), Reply(text="never sent")]
    with pytest.raises(ProviderError, match=f"HTTP {status}: no such model"):
        await make().complete(CHAT, PARAMS, None)
    assert len(refserver.requests) == 1 and sleeps.delays == []


async def test_a_wrong_key_fails_at_once_and_is_not_echoed(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps
) -> None:
    refserver.api_key = "sk-right"
    refserver.script = [Reply(status=200)]
    with pytest.raises(ProviderError, match="HTTP 401") as info:
        await make(api_key="sk-wrong").complete(CHAT, PARAMS, None)
    assert len(refserver.requests) == 1 and sleeps.delays == []

    refserver.reset([Reply(status=400, error_message="Incorrect API key provided: sk-right")])
    with pytest.raises(ProviderError) as info:
        await make(api_key="sk-right").complete(CHAT, PARAMS, None)
    assert str(info.value).endswith("HTTP 400: Incorrect API key provided: ***")

    # quoted across the point where a long message is cut: no prefix of the key survives either
    refserver.reset([Reply(status=400, error_message="x" * 295 + " sk-right")])
    with pytest.raises(ProviderError) as info:
        await make(api_key="sk-right").complete(CHAT, PARAMS, None)
    assert str(info.value).endswith("x ***")


@pytest.mark.parametrize(
    "fault",
    [
        {"reset_after": 3},
        {"end_after": 3},
        {"malformed_after": 3},
        {"stall_after": 3},
        {"ttft_s": 5.0},  # nothing at all within the read timeout
    ],
    ids=["reset", "ended-early", "malformed", "stall", "no-first-token"],
)
async def test_cut_streams_are_retried(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps, fault: dict[str, Any]
) -> None:
    refserver.script = [Reply(text=TEXT, **fault), Reply(text=TEXT)]
    call = await make(read_timeout_s=0.3).complete(CHAT, PARAMS, None)
    assert call.text == TEXT and call.retries == 1 and len(sleeps.delays) == 1


async def test_a_cut_stream_that_never_recovers_raises(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, reset_after=2)]
    with pytest.raises(ProviderError, match=r"gave up after 2 tries"):
        await make(max_retries=1).complete(CHAT, PARAMS, None)


async def test_connection_refused_is_retried_then_raises(sleeps: Sleeps) -> None:
    with RefServer(spin_s=0) as server:
        url = server.base_url  # a port that was free a moment ago and is closed now
    provider = OpenAICompatProvider(url, "m", max_retries=2, sleep=sleeps)
    try:
        with pytest.raises(ProviderError, match="ConnectError"):
            await provider.complete(CHAT, PARAMS, None)
    finally:
        await provider.aclose()
    assert len(sleeps.delays) == 2


# -- deadline ----------------------------------------------------------------------------------------------------


async def test_deadline_mid_stream_keeps_the_partial_text(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, rate=10)]  # two seconds of tokens
    started = time.perf_counter_ns()
    call = await make().complete(CHAT, PARAMS, started + 300 * MS)
    elapsed = time.perf_counter_ns() - started

    assert call.cut == "budget" and call.finish_reason is None
    assert call.text and TEXT.startswith(call.text) and call.text != TEXT
    assert call.usage.source == "estimated" and call.usage.completion_tokens == estimate_tokens(call.text)
    assert elapsed >= 300 * MS  # not before the deadline; that it was cut there shows in the partial text
    assert call.timing.close_ns is not None and call.timing.close_ns <= elapsed


async def test_deadline_before_the_first_byte(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text=TEXT, ttft_s=2.0)]
    call = await make().complete(CHAT, PARAMS, time.perf_counter_ns() + 200 * MS)
    assert call.cut == "budget" and call.text == "" and call.timing.first_any_ns is None and call.retries == 0


async def test_a_past_deadline_sends_nothing(refserver: RefServer, make: Callable[..., Any]) -> None:
    call = await make().complete(CHAT, PARAMS, time.perf_counter_ns() - 1)
    assert call.cut == "budget" and call.text == "" and refserver.requests == []


async def test_no_backoff_sleeps_past_the_deadline(
    refserver: RefServer, make: Callable[..., Any], sleeps: Sleeps
) -> None:
    refserver.script = [Reply(status=429, retry_after="10"), Reply(text="ok")]
    with pytest.raises(ProviderError, match="task budget ends before retry 1"):
        await make().complete(CHAT, PARAMS, time.perf_counter_ns() + 2 * S)
    assert sleeps.delays == [] and len(refserver.requests) == 1


# -- concurrency, combos, manifest -------------------------------------------------------------------------------


async def test_concurrency_limit_is_respected(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text="a b c", ttft_s=0.05)]
    provider = make(max_concurrency=2)
    calls = await asyncio.gather(*(provider.complete(CHAT, PARAMS, None) for _ in range(6)))
    assert [c.text for c in calls] == ["a b c"] * 6
    assert refserver.max_in_flight == 2


async def test_combo_key_comes_from_its_env_var(refserver: RefServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIPSAW_TEST_KEY", "sk-from-env")
    combo = ComboSpec(
        name="c", provider="openai", model="test-model", base_url=refserver.base_url, api_key_env="RIPSAW_TEST_KEY",
        max_concurrency=3, options={"read_timeout_s": 5, "max_retries": 1},
    )  # fmt: skip
    provider = create_provider(combo)
    try:
        assert isinstance(provider, OpenAICompatProvider) and provider.max_retries == 1
        await provider.complete(CHAT, PARAMS, None)
        facts = provider.describe()
    finally:
        await provider.aclose()
    assert refserver.requests[0].headers["authorization"] == "Bearer sk-from-env"
    assert facts["base_url"] == refserver.base_url and facts["max_concurrency"] == 3
    assert facts["server_header_server"] == "ripsaw-refserver/1" and facts["server_model"] == "ref-model"
    assert "sk-from-env" not in json.dumps(facts)


def test_combo_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="needs a base_url"):
        create_provider(ComboSpec(name="c", provider="openai", model="m"))
    with pytest.raises(ConfigError, match=r"options\.read_timeout: unknown option"):
        create_provider(ComboSpec(name="c", provider="openai", model="m", base_url="http://h/v1",
                                  options={"read_timeout": 3}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"options\.read_timeout_s: expected a number of seconds > 0, got 0"):
        create_provider(ComboSpec(name="c", provider="openai", model="m", base_url="http://h/v1",
                                  options={"read_timeout_s": 0}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"options\.max_retries: expected an integer >= 0, got 1.5"):
        create_provider(ComboSpec(name="c", provider="openai", model="m", base_url="http://h/v1",
                                  options={"max_retries": 1.5}))  # fmt: skip


async def test_describe_keeps_credentials_out() -> None:
    provider = OpenAICompatProvider("https://user:secret@api.example.com:8443/v1/?token=abc", "m", "sk-key")
    try:
        facts = provider.describe()
    finally:
        await provider.aclose()
    assert facts["base_url"] == "https://api.example.com:8443/v1"
    assert not any(s in json.dumps(facts) for s in ("secret", "abc", "sk-key"))


# -- tool calls --------------------------------------------------------------------------------------------------

BASH = ToolSpec("bash", "Run a command.", {"type": "object", "properties": {"command": {"type": "string"}}})


async def test_tool_calls_are_assembled_from_split_argument_deltas(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    calls = [
        {"name": "bash", "arguments": '{"command": "grep -rn \\"héllo wörld\\" src | head"}', "id": "call_a"},
        {"name": "bash", "arguments": '{"command": "ls"}'},
    ]
    refserver.script = [Reply(text="Let me look.", native_tool_calls=calls, ttft_s=0.05, rate=500, split_writes=True)]
    call = await make().complete(Prompt("chat", messages=CHAT.messages, tools=(BASH,)), PARAMS, None)
    assert call.text == "Let me look." and call.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in call.tool_calls] == [
        ("call_a", "bash", {"command": 'grep -rn "héllo wörld" src | head'}),
        ("call_0_1", "bash", {"command": "ls"}),
    ]
    # the server counted the calls' tokens as output
    assert call.usage.source == "server" and call.usage.completion_tokens == 3 + 1 + 8 + 1 + 2
    body = refserver.requests[-1].body
    assert body["tools"] == [{"type": "function", "function": {"name": "bash", "description": "Run a command.",
                                                               "parameters": BASH.parameters}}]  # fmt: skip


async def test_a_reply_of_tool_calls_only_starts_ttft_at_the_first_call_delta(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.script = [Reply(text="", native_tool_calls=[{"name": "bash", "arguments": '{"command": "ls"}'}],
                              ttft_s=0.3, rate=100)]  # fmt: skip
    call = await make().complete(CHAT, PARAMS, None)
    assert call.text == "" and len(call.tool_calls) == 1
    ttft = call.timing.ttft_s
    assert ttft is not None and call.timing.first_content_ns is None  # a tool call is not an answer token


async def test_invalid_argument_json_is_passed_through_as_sent(refserver: RefServer, make: Callable[..., Any]) -> None:
    refserver.script = [Reply(text="", native_tool_calls=[{"name": "bash", "arguments": '{"command": "ls'}])]
    call = await make().complete(CHAT, PARAMS, None)
    assert call.tool_calls[0].arguments == '{"command": "ls'  # the agent loop decides what a malformed call costs


async def test_the_deadline_mid_arguments_keeps_what_arrived(refserver: RefServer, make: Callable[..., Any]) -> None:
    args = json.dumps({"command": " ".join(f"echo {i};" for i in range(60))})
    refserver.script = [Reply(text="", native_tool_calls=[{"name": "bash", "arguments": args}], rate=40)]
    provider = make()
    call = await provider.complete(CHAT, PARAMS, time.perf_counter_ns() + int(0.5 * S))
    assert call.cut == "budget"
    assert call.tool_calls and 0 < len(call.tool_calls[0].arguments) < len(args)


async def test_a_conversation_with_tool_calls_and_results_is_sent_the_chat_way(
    refserver: RefServer, make: Callable[..., Any]
) -> None:
    refserver.script = [Reply(text="Done.", cached_tokens=5)]
    convo = (
        Message("system", "You are an agent."),
        Message("user", "Fix it."),
        Message("assistant", (Text("Looking."), ToolCall("c1", "bash", '{"command": "ls"}'))),
        Message("tool", (ToolResult("c1", "a.py\nb.py"),)),
    )
    call = await make().complete(Prompt("chat", messages=convo, tools=(BASH,)), PARAMS, None)
    assert call.usage.cached_tokens == 5
    assert refserver.requests[-1].body["messages"] == [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "Fix it."},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "a.py\nb.py"},
    ]  # fmt: skip
