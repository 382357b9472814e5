"""The timing proxy against the reference server, over its real Unix socket: streams pass through byte for byte,
each call is recorded like a direct one, the real key replaces the scaffold's, other models, other APIs and calls
after the deadline are refused, a deadline mid-stream cuts it, and an unstreamed chat request gets a completion.

A recording TCP relay between the proxy's provider and the server keeps every byte the server sent, so "unchanged"
is checked against what the endpoint really wrote, not against a second request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ripsaw.agents.proxy import DUMMY_KEY, TimingProxy, _parse, _Scaffold, relaying
from ripsaw.errors import ConfigError
from ripsaw.providers.anthropic import AnthropicProvider
from ripsaw.providers.native import NativeProvider
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.providers.openai_responses import OpenAIResponsesProvider
from tests.refserver import RefServer, Reply

KEY = "sk-real-key-of-the-combo"
TEXT = "Here is the fix for the failing test, in one small step"


class Recorder:
    """A raw TCP relay that keeps what the server sent back, per connection, in its own thread's loop."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.received: list[bytearray] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._stop = asyncio.Event()
        self._started = threading.Event()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bytearray | None) -> None:
        try:
            while data := await reader.read(65536):
                if keep is not None:
                    keep += data
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        keep = bytearray()
        self.received.append(keep)
        await asyncio.gather(self._pipe(reader, up_writer, None), self._pipe(up_reader, writer, keep))

    def __enter__(self) -> Recorder:
        async def serve() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._started.set()
            await self._stop.wait()
            self._server.close()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        self._thread.start()
        self._started.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def dechunk(raw: bytes) -> bytes:
    """The body of one chunked HTTP/1.1 response (headers included in `raw`)."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    out = bytearray()
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2 :]
    return bytes(out)


@pytest.fixture
def keyed() -> Iterator[RefServer]:
    with RefServer(api_key=KEY, spin_s=0) as server:
        yield server


@pytest.fixture
def recorder(keyed: RefServer) -> Iterator[Recorder]:
    with Recorder(keyed.port) as rec:
        yield rec


async def proxied(provider: Any, model: str = "ref-model", deadline_ns: int | None = None) -> TimingProxy:
    proxy = TimingProxy(relaying(provider, "c"), model, deadline_ns)
    await proxy.start()
    return proxy


def client(proxy: TimingProxy, **headers: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(uds=str(proxy.socket_path))
    return httpx.AsyncClient(transport=transport, base_url="http://proxy/v1", headers=headers, timeout=30)


@pytest.fixture
async def chat(recorder: Recorder) -> AsyncIterator[TimingProxy]:
    provider = OpenAICompatProvider(f"http://127.0.0.1:{recorder.port}/v1", "ref-model", KEY, max_retries=0)
    proxy = await proxied(provider)
    yield proxy
    await proxy.aclose()
    await provider.aclose()


def messages(text: str = "Fix the bug.") -> list[dict[str, str]]:
    return [{"role": "system", "content": "You fix code."}, {"role": "user", "content": text}]


async def test_a_streamed_chat_answer_passes_unchanged_and_is_recorded_like_a_direct_call(
    chat: TimingProxy, keyed: RefServer, recorder: Recorder
) -> None:
    keyed.reset([Reply(text=TEXT, rate=2000, tokens_per_chunk=2)])
    body = {"model": "ref-model", "messages": messages(), "stream": True, "stream_options": {"include_usage": True}}
    async with (
        client(chat, authorization=f"Bearer {DUMMY_KEY}") as c,
        c.stream("POST", "/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        got = b"".join([part async for part in response.aiter_raw()])
    assert got == dechunk(bytes(recorder.received[-1]))
    assert b"data: [DONE]" in got and TEXT.split()[0].encode() in got
    # The endpoint saw the combo's key (it refuses any other: 401), never the scaffold's dummy.
    assert keyed.requests[-1].body == body
    [call] = chat.calls
    assert call.text == TEXT and call.cut is None
    assert call.usage.source == "server" and call.usage.completion_tokens == len(TEXT.split())
    assert call.timing.t_send_wire and call.timing.first_any_ns is not None
    assert call.timing.chunks == len([e for e in got.split(b"\n\n") if e.startswith(b"data: {")])
    [log] = chat.requests
    assert (log.api, log.stream, log.items, log.status, log.call) == ("chat", True, 2, 200, 0)


async def test_a_chat_stream_without_usage_asked_gets_it_upstream(chat: TimingProxy, keyed: RefServer) -> None:
    keyed.reset([Reply(text=TEXT)])
    async with (
        client(chat) as c,
        c.stream("POST", "/chat/completions", json={"model": "ref-model", "messages": messages(), "stream": True}) as r,
    ):
        raw = b"".join([part async for part in r.aiter_raw()])
    assert keyed.requests[-1].body["stream_options"] == {"include_usage": True}
    assert b'"usage"' in raw and chat.calls[0].usage.source == "server"


async def test_an_unstreamed_chat_request_is_streamed_upstream_and_answered_whole(
    chat: TimingProxy, keyed: RefServer
) -> None:
    keyed.reset([Reply(text=TEXT, rate=2000)])
    async with client(chat) as c:
        r = await c.post("/chat/completions", json={"model": "ref-model", "messages": messages(), "temperature": 0})
    assert r.status_code == 200
    answer = r.json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": TEXT}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["completion_tokens"] == len(TEXT.split())
    sent = keyed.requests[-1].body
    assert sent["stream"] is True and sent["temperature"] == 0
    assert chat.calls[0].timing.first_any_ns is not None and chat.requests[0].stream is False


async def test_another_model_another_api_and_junk_are_refused_before_the_endpoint(
    chat: TimingProxy, keyed: RefServer
) -> None:
    async with client(chat) as c:
        other = await c.post("/chat/completions", json={"model": "gpt-9", "messages": messages(), "stream": True})
        api = await c.post("/messages", json={"model": "ref-model", "messages": messages(), "stream": True})
        junk = await c.post("/chat/completions", content=b"{not json")
        unknown = await c.get("/files")
        listed = await c.get("/models")
    assert other.status_code == 400 and "'gpt-9' is not this attempt's model ('ref-model')" in other.text
    assert api.status_code == 400 and "served through the 'chat' API" in api.text
    assert junk.status_code == 400 and "not JSON" in junk.text
    assert unknown.status_code == 404
    assert [m["id"] for m in listed.json()["data"]] == ["ref-model"]
    assert keyed.requests == [] and chat.calls == []
    assert [r.status for r in chat.requests] == [400, 400, 400, 404, 200]


async def test_a_repeated_top_level_key_is_refused_before_the_endpoint(chat: TimingProxy, keyed: RefServer) -> None:
    # Parsers differ on which of two values wins: the check must not read one and the endpoint the other.
    twice = b'{"model": "gpt-9", "messages": [], "model": "ref-model", "stream": true}'
    escaped = b'{"model": "ref-model", "messages": [], "stream": false, "str\\u0065am": true}'
    async with client(chat) as c:
        refused = [await c.post("/chat/completions", content=body) for body in (twice, escaped)]
        # Below the top level a repeat changes nothing the proxy checks: it is the endpoint's to read.
        nested = await c.post("/chat/completions", json={"model": "ref-model", "messages": messages()},
                              headers={"x-unused": "1"})  # fmt: skip
    assert [r.status_code for r in refused] == [400, 400]
    assert "names 'model' twice" in refused[0].text and "names 'stream' twice" in refused[1].text
    assert nested.status_code == 200 and len(keyed.requests) == 1 and len(chat.calls) == 1


async def raw_exchange(proxy: TimingProxy, data: bytes, answers: int) -> list[tuple[int, bytes]]:
    """Write `data` on one connection to the proxy's socket and read `answers` whole answers (status, body)."""
    reader, writer = await asyncio.open_unix_connection(str(proxy.socket_path))
    writer.write(data)
    got = []
    try:
        for _ in range(answers):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            got.append((int(head.split(" ")[1]), await reader.readexactly(length)))
    finally:
        writer.close()
    return got


def post(body: bytes, *headers: str) -> bytes:
    lines = ["POST /v1/chat/completions HTTP/1.1", "Host: proxy", *headers]
    if not any(h.lower().startswith(("transfer-encoding", "content-length")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_requests_written_together_are_answered_in_order_chunked_ones_too(
    chat: TimingProxy, keyed: RefServer
) -> None:
    keyed.reset([Reply(text="first answer"), Reply(text="second answer")])
    first = json.dumps({"model": "ref-model", "messages": messages("one")}).encode()
    second = json.dumps({"model": "ref-model", "messages": messages("two")}).encode()
    chunked = b"%x;ext=1\r\n%b\r\n%x\r\n%b\r\n0\r\nx-trailer: 1\r\n\r\n" % (
        10,
        second[:10],
        len(second) - 10,
        second[10:],
    )
    answers = await raw_exchange(chat, post(first) + post(chunked, "Transfer-Encoding: chunked"), 2)
    texts = [json.loads(body)["choices"][0]["message"]["content"] for _, body in answers]
    assert [status for status, _ in answers] == [200, 200] and texts == ["first answer", "second answer"]
    assert [r.body["messages"][1]["content"] for r in keyed.requests] == ["one", "two"]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (post(b"{}", "Content-Length: ten"), 400, "malformed Content-Length"),
        (post(b"{}", "Content-Length: 2", "Content-Length: 20"), 400, "conflicting Content-Length"),
        (post(b"zz\r\n", "Transfer-Encoding: chunked"), 400, "malformed chunk size"),
        (b"POST /v1/chat/completions HTTP/1.1\r\nX: " + b"a" * (70 << 10) + b"\r\n\r\n", 413, "headers over"),
        (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
    ],
    ids=["content-length", "two-lengths", "chunk-size", "huge-head", "request-line"],
)
async def test_a_malformed_request_is_answered_with_what_is_wrong(
    chat: TimingProxy, keyed: RefServer, data: bytes, status: int, message: str
) -> None:
    [(got, body)] = await raw_exchange(chat, data, 1)
    assert got == status and message in json.loads(body)["error"]["message"]
    assert keyed.requests == []


async def test_a_request_cut_short_by_its_client_is_answered_and_not_forwarded(
    chat: TimingProxy, keyed: RefServer
) -> None:
    reader, writer = await asyncio.open_unix_connection(str(chat.socket_path))
    writer.write(post(b'{"model": "ref-model", "mess')[:-3])  # the body ends before its length
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400") and b"before it was whole" in answer
    assert keyed.requests == []


async def test_calls_after_the_deadline_are_refused(recorder: Recorder, keyed: RefServer) -> None:
    provider = OpenAICompatProvider(f"http://127.0.0.1:{recorder.port}/v1", "ref-model", KEY)
    proxy = await proxied(provider, deadline_ns=time.perf_counter_ns() - 1)
    try:
        async with client(proxy) as c:
            r = await c.post("/chat/completions", json={"model": "ref-model", "messages": messages(), "stream": True})
    finally:
        await proxy.aclose()
        await provider.aclose()
    assert r.status_code == 400 and "time budget is spent" in r.json()["error"]["message"]
    assert keyed.requests == []


async def test_the_deadline_cuts_a_stream_where_it_is(recorder: Recorder, keyed: RefServer) -> None:
    keyed.reset([Reply(text=" ".join(["word"] * 200), rate=100)])  # two seconds of tokens
    provider = OpenAICompatProvider(f"http://127.0.0.1:{recorder.port}/v1", "ref-model", KEY)
    proxy = await proxied(provider, deadline_ns=time.perf_counter_ns() + 400_000_000)
    try:
        async with client(proxy) as c:
            got = bytearray()
            with pytest.raises(httpx.RemoteProtocolError):
                async with c.stream(
                    "POST", "/chat/completions", json={"model": "ref-model", "messages": messages(), "stream": True}
                ) as r:
                    async for part in r.aiter_raw():
                        got += part
    finally:
        await proxy.aclose()
        await provider.aclose()
    [call] = proxy.calls
    assert call.cut == "budget" and 0 < len(call.text.split()) < 200
    assert b"[DONE]" not in got and b"word" in got
    assert proxy.requests[0].detail == "cut at the attempt's deadline"


class SlowWords:
    """Counts words, late: a local server's tokenizer, which answers once the generation in progress has stopped."""

    name = "words, late"

    async def count(self, text: str) -> int | None:
        await asyncio.sleep(1.0)
        return len(text.split())

    async def count_prompt(self, prompt: Any) -> int | None:
        return None


async def test_a_call_the_deadline_cut_is_recorded_after_the_scaffold_is_gone(
    recorder: Recorder, keyed: RefServer
) -> None:
    keyed.reset([Reply(text=" ".join(["word"] * 200), rate=100, send_usage=False)])  # counted by the tokenizer
    provider = OpenAICompatProvider(f"http://127.0.0.1:{recorder.port}/v1", "ref-model", KEY, tokenizer=SlowWords())
    deadline = time.perf_counter_ns() + 400_000_000
    proxy = await proxied(provider, deadline_ns=deadline)

    async def scaffold() -> None:
        async with client(proxy) as c, c.stream("POST", "/chat/completions", json={
            "model": "ref-model", "messages": messages(), "stream": True
        }) as r:  # fmt: skip
            async for _ in r.aiter_raw():
                pass

    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(scaffold(), 0.6)  # killed at its deadline, its request still open
        assert proxy.calls == []  # still being counted
        await proxy.settle(10)  # what the scaffold solver does before closing the proxy
    finally:
        await proxy.aclose()
        await provider.aclose()
    [call] = proxy.calls
    assert call.cut == "budget" and call.usage.completion_tokens == len(call.text.split()) > 0
    [request] = proxy.requests
    # The scaffold's wait ended at the deadline; the count after it is not the model's time.
    assert request.call == 0 and request.duration_s < 0.41


async def test_an_endpoint_refusal_is_passed_on_with_its_status(chat: TimingProxy, keyed: RefServer) -> None:
    keyed.reset([Reply(status=400, error_message="context length exceeded")])
    async with client(chat) as c:
        r = await c.post("/chat/completions", json={"model": "ref-model", "messages": messages(), "stream": True})
    assert r.status_code == 400 and "context length exceeded" in r.json()["error"]["message"]
    assert chat.calls == [] and "context length exceeded" in chat.requests[0].detail


@pytest.mark.parametrize("cls", [OpenAIResponsesProvider, AnthropicProvider], ids=lambda c: c.name)
async def test_native_apis_pass_through_unchanged(
    cls: type[NativeProvider], keyed: RefServer, recorder: Recorder
) -> None:
    keyed.reset([Reply(text=TEXT, reasoning="Think first.", rate=2000)])
    provider = cls(f"http://127.0.0.1:{recorder.port}/v1", "ref-model", KEY, max_retries=0)
    proxy = await proxied(provider)
    path = provider.path
    key = {"x-api-key": DUMMY_KEY} if path == "/messages" else {"authorization": f"Bearer {DUMMY_KEY}"}
    field = "input" if path == "/responses" else "messages"
    body = {"model": "ref-model", field: [{"role": "user", "content": "Fix it."}], "stream": True}
    try:
        async with client(proxy, **key) as c:
            async with c.stream("POST", path, json=body) as r:
                got = b"".join([part async for part in r.aiter_raw()])
            whole = await c.post(path, json={**body, "stream": False})
    finally:
        await proxy.aclose()
        await provider.aclose()
    assert got == dechunk(bytes(recorder.received[0]))
    [call] = proxy.calls
    assert call.text == TEXT and call.reasoning == "Think first." and call.usage.source == "server"
    assert whole.status_code == 400 and "stream: true" in whole.text


def test_a_provider_that_cannot_relay_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot be put behind the timing proxy"):
        relaying(object(), "local")


async def test_a_departed_request_whose_task_never_ran_gives_its_slot_back(
    recorder: Recorder, keyed: RefServer
) -> None:
    """A request written from the callback that read it (the endpoint's connection kept, a slot free) holds one of
    the provider's slots until its call is over. Its task can be cancelled before its first step (the attempt's
    proxy closed in that same loop turn), so the call never runs: the slot must still come back, or every later
    call of the combo, in later attempts too, waits for a slot that never frees."""
    keyed.reset([Reply(text=TEXT, rate=2000)] * 3)
    provider = OpenAICompatProvider(
        f"http://127.0.0.1:{recorder.port}/v1", "ref-model", KEY, max_retries=0, max_concurrency=1
    )
    proxy = await proxied(provider)
    body = json.dumps({"model": "ref-model", "messages": messages(), "stream": True}).encode()
    ours, theirs = socket.socketpair()
    try:
        async with client(proxy) as c:
            first = await c.post("/chat/completions", content=body)  # keeps a connection to the endpoint
            assert first.status_code == 200
            theirs.setblocking(False)
            request = _parse(bytearray(post(body)))
            assert request is not None
            task = proxy._begin(request, _Scaffold(proxy, theirs))
            waited = time.monotonic() + 5  # the endpoint runs in its own thread: it gets the request as we block
            while len(keyed.requests) < 2 and time.monotonic() < waited:
                time.sleep(0.01)
            assert len(keyed.requests) == 2  # it left from `_begin`, holding the one slot
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            again = await asyncio.wait_for(c.post("/chat/completions", content=body), 10)
            assert again.status_code == 200 and TEXT.split()[0] in again.text
    finally:
        ours.close()
        theirs.close()
        await proxy.aclose()
        await provider.aclose()
