"""A local model behind the timing proxy: the `llamacpp` provider relays a scaffold's chat requests to the server it
started, through the same client as its own calls.

The server is the stand-in llama_cpp package (tests/providers/standin) run by Ripsaw's real server child: a real
process on a loopback port whose generations go through the child's prompt count, and which can be told to die by
SIGSEGV on its n-th generation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ripsaw.agents.proxy import DUMMY_KEY, TimingProxy, relaying
from ripsaw.providers.llamacpp.server import LlamaCppProvider, from_combo
from ripsaw.types import ComboSpec

STANDIN = Path(__file__).resolve().parents[1] / "providers" / "standin"
REPLY = "def f(x):\n    return x\n"  # what the stand-in always answers
MESSAGES = [{"role": "system", "content": "You fix code."}, {"role": "user", "content": "Fix the failing test now."}]


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(STANDIN))
    monkeypatch.setenv("STANDIN_COUNT", str(tmp_path / "generations"))
    monkeypatch.setenv("STANDIN_BODIES", str(tmp_path / "bodies.jsonl"))
    monkeypatch.setenv("STANDIN_CRASH_AT", "-1")
    return tmp_path / "bodies.jsonl"


async def started(tmp_path: Path) -> tuple[LlamaCppProvider, TimingProxy]:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF stand-in")
    combo = ComboSpec(
        name="local",
        provider="llamacpp",
        model="standin",
        options={"threads": 1, "model_path": str(model), "log_dir": str(tmp_path / "logs")},
    )
    provider = from_combo(combo)
    await provider.start()  # as the runner does, before any attempt's clock
    proxy = TimingProxy(relaying(provider, combo.name), "standin")
    await proxy.start()
    return provider, proxy


@pytest.fixture
async def local(tmp_path: Path, standin: Path) -> AsyncIterator[tuple[LlamaCppProvider, TimingProxy]]:
    provider, proxy = await started(tmp_path)
    yield provider, proxy
    await proxy.aclose()
    await provider.aclose()


def client(proxy: TimingProxy) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=str(proxy.socket_path)),
        base_url="http://proxy/v1",
        headers={"authorization": f"Bearer {DUMMY_KEY}"},
        timeout=30,
    )


def sent(bodies: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in bodies.read_text().splitlines()]


async def test_a_streamed_chat_request_reaches_the_started_server_and_comes_back_unchanged(
    local: tuple[LlamaCppProvider, TimingProxy], standin: Path
) -> None:
    provider, proxy = local
    body = {"model": "standin", "messages": MESSAGES, "stream": True, "temperature": 0}
    async with client(proxy) as c, c.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        relayed = b"".join([part async for part in response.aiter_raw()])
    # What the server answers the same request directly, byte for byte.
    [upstream] = sent(standin)
    async with httpx.AsyncClient(timeout=30) as direct:
        own = await direct.post(f"{provider.base_url}/chat/completions", json=upstream)
    assert relayed == own.content
    assert b'"prompt_tokens": 8' in relayed  # the child's count of the prompt, in the last chunk, passed on

    # The server got the scaffold's request, with usage asked for (the proxy's change) and, as it set no limit, the
    # combo's max_tokens (the provider's).
    assert upstream == {**body, "stream_options": {"include_usage": True}, "max_tokens": 512}
    [call] = proxy.calls
    assert call.text == REPLY and call.finish_reason == "stop" and call.cut is None
    assert call.timing.t_send_wire and call.timing.first_any_ns is not None and call.timing.first_any_ns > 0
    # Counted as a direct call of the combo is: the prompt by the server's child (8 words of the stand-in's
    # "tokens"), the answer by the model's tokenizer (the stand-in's: words + BOS, BOS left out).
    assert call.usage.prompt_tokens == 8
    assert call.usage.completion_tokens == len(REPLY.split()) and call.usage.source == "tokenizer"
    [request] = proxy.requests
    assert request.status == 200 and request.call == 0 and request.stream and request.items == 2


async def test_a_limit_the_scaffold_sets_is_its_own(local: tuple[LlamaCppProvider, TimingProxy], standin: Path) -> None:
    _, proxy = local
    async with client(proxy) as c:
        for limit in ({"max_tokens": 40}, {"max_completion_tokens": 50}):
            body = {"model": "standin", "messages": MESSAGES, "stream": True, **limit}
            assert (await c.post("/chat/completions", json=body)).status_code == 200
    assert [{k: b.get(k) for k in ("max_tokens", "max_completion_tokens")} for b in sent(standin)] == [
        {"max_tokens": 40, "max_completion_tokens": None},
        {"max_tokens": None, "max_completion_tokens": 50},
    ]


async def test_an_unstreamed_chat_request_gets_one_completion(local: tuple[LlamaCppProvider, TimingProxy]) -> None:
    _, proxy = local
    async with client(proxy) as c:
        response = await c.post("/chat/completions", json={"model": "standin", "messages": MESSAGES})
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == REPLY
    assert answer["usage"]["prompt_tokens"] == 8 and answer["usage"]["completion_tokens"] == len(REPLY.split())


async def test_a_server_that_dies_under_a_relayed_call_is_restarted_and_the_call_sent_again(
    tmp_path: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH_AT", "1")  # the second generation dies before it answers
    provider, proxy = await started(tmp_path)
    first = provider.pid
    body = {"model": "standin", "messages": MESSAGES, "stream": True}
    try:
        async with client(proxy) as c:
            ok = await c.post("/chat/completions", json=body)
            again = await c.post("/chat/completions", json=body)
    finally:
        await proxy.aclose()
        await provider.aclose()
    assert ok.status_code == 200
    # Nothing of the answer had reached the scaffold: the call went to the restarted server and came back whole.
    assert again.status_code == 200 and b"return x" in again.content
    assert provider.pid != first
    assert len(proxy.calls) == 2
    assert (tmp_path / "generations").read_text() == "3"  # the second request was sent twice
    assert "restarting it once" in (tmp_path / "logs" / "llamacpp-local.log").read_text()


async def test_a_server_that_cannot_generate_fails_the_call_as_an_endpoint_failure(
    tmp_path: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH_AT", "0")  # its first generation dies: a build this CPU cannot run
    provider, proxy = await started(tmp_path)
    body = {"model": "standin", "messages": MESSAGES, "stream": True}
    try:
        async with client(proxy) as c:
            first = await c.post("/chat/completions", json=body)
            again = await c.post("/chat/completions", json=body)
    finally:
        await proxy.aclose()
        await provider.aclose()
    # A 502 naming the crash: the scaffold is told the endpoint failed, the attempt is an infra error.
    assert first.status_code == 502 and "died during its first generation" in first.json()["error"]["message"]
    assert again.status_code == 502 and "died during its first generation" in again.json()["error"]["message"]
    assert proxy.calls == [] and [r.status for r in proxy.requests] == [502, 502]
