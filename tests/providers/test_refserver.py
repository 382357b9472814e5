"""The reference server itself: schedule, wire format, endpoints, subprocess mode."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.types import Message, Prompt, RequestParams
from tests.refserver import RefServer, Reply

REPO = Path(__file__).resolve().parents[2]
CHAT = Prompt("chat", messages=(Message("user", "hi"),))
MS = 1_000_000


async def test_chunks_follow_an_absolute_schedule(refserver: RefServer) -> None:
    refserver.script = [Reply(text=[f"t{i} " for i in range(12)], ttft_s=0.05, rate=200, tokens_per_chunk=3)]
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{refserver.base_url}/chat/completions", json={"model": "m", "stream": True})
    assert response.status_code == 200

    sent_at = refserver.requests[0].t_ns
    content = [c for c in refserver.chunks if c.kind == "content"]
    assert [c.tokens for c in content] == [3, 3, 3, 3]
    for i, chunk in enumerate(content):  # a chunk goes when its LAST token is due: 50 ms + (3i + 2) / 200 tok/s
        due = 50 * MS + (3 * i + 2) * 5 * MS
        assert 0 <= chunk.t_ns - sent_at - due < 25 * MS


async def test_sse_wire_format(refserver: RefServer) -> None:
    refserver.script = [Reply(text="a b", send_usage=True)]
    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{refserver.base_url}/chat/completions", json=body)
    assert response.headers["content-type"] == "text/event-stream"
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert [c["choices"][0]["delta"] if c["choices"] else None for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "a"},
        {"content": " b"},
        {},
        None,
    ]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 2 and all(c["usage"] is None for c in chunks[:-1])


async def test_usage_only_when_asked(refserver: RefServer) -> None:
    refserver.script = [Reply(text="a b", send_usage=True)]
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{refserver.base_url}/completions", json={"model": "m", "stream": True})
    assert "usage" not in response.text and '"text":" b"' in response.text


async def test_split_writes_reach_the_client_mid_character(refserver: RefServer) -> None:
    refserver.script = [Reply(text="é " * 8, split_writes=True, role_only_first_chunk=False)]
    reader, writer = await asyncio.open_connection("127.0.0.1", refserver.port)
    body = json.dumps({"model": "m", "stream": True}).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    reads: list[bytes] = []
    while piece := await reader.read(65536):
        reads.append(piece)
        if piece.endswith(b"0\r\n\r\n"):
            break
    writer.close()
    # the 8 content events went out in 3 writes (HTTP chunks) each; at least one read must end inside the 2-byte "é"
    assert any(r.endswith(b"\xc3\r\n") for r in reads)


async def test_models_non_streaming_and_errors(refserver: RefServer) -> None:
    refserver.script = [Reply(text="x y z", reasoning="hm", model="ref-7b")]
    async with httpx.AsyncClient(base_url=refserver.base_url) as client:
        models = (await client.get("/models")).json()
        whole = (await client.post("/chat/completions", json={"model": "m", "max_tokens": 3})).json()
        missing = await client.post("/embeddings", json={})
    assert [m["id"] for m in models["data"]] == ["ref-7b"]
    assert whole["choices"][0]["message"] == {"role": "assistant", "content": "x y", "reasoning_content": "hm"}
    assert whole["choices"][0]["finish_reason"] == "length"
    assert whole["usage"]["completion_tokens"] == 3
    assert missing.status_code == 404


async def test_a_request_can_script_its_own_reply(refserver: RefServer) -> None:
    provider = OpenAICompatProvider(refserver.base_url, "m")
    try:
        params = RequestParams(extra_body={"refserver": {"text": "chosen by the client", "send_usage": False}})
        call = await provider.complete(CHAT, params, None)
    finally:
        await provider.aclose()
    assert call.text == "chosen by the client" and call.usage.source == "estimated"


async def test_in_flight_is_counted(refserver: RefServer) -> None:
    refserver.script = [Reply(text="a", ttft_s=0.1)]
    async with httpx.AsyncClient(base_url=refserver.base_url) as client:
        await asyncio.gather(*(client.post("/completions", json={"model": "m", "stream": True}) for _ in range(3)))
    # The server's thread counts a request out after its last write, which the client may have read already.
    for _ in range(100):
        if refserver.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert refserver.max_in_flight == 3 and refserver.in_flight == 0


async def test_unknown_reply_fields_are_refused(refserver: RefServer) -> None:
    with pytest.raises(ValueError, match="unknown Reply fields: \\['ttft'\\]"):
        Reply.from_dict({"ttft": 1})
    async with httpx.AsyncClient(base_url=refserver.base_url) as client:
        response = await client.post("/completions", json={"model": "m", "refserver": {"ttft": 1}})
    assert response.status_code == 400 and "unknown Reply fields" in response.text


async def test_runs_as_a_process_and_logs_every_send(tmp_path: Path) -> None:
    log, script = tmp_path / "sends.jsonl", tmp_path / "script.json"
    script.write_text(json.dumps({"text": "one two three", "rate": 500}))
    with subprocess.Popen(
        [sys.executable, "-m", "tests.refserver", "--port", "0", "--log", str(log), "--script", str(script)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
            base_url = line.strip().removeprefix("refserver listening on ")
            provider = OpenAICompatProvider(base_url, "m", "sk-process-test")
            try:
                call = await provider.complete(CHAT, RequestParams(), None)
            finally:
                await provider.aclose()
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(10)
    assert code == 0 and call.text == "one two three"

    records = [json.loads(x) for x in log.read_text().splitlines()]
    request, *chunks = records
    assert request["type"] == "request" and request["headers"]["authorization"] == "<redacted>"
    assert "sk-process-test" not in log.read_text()
    assert [c["kind"] for c in chunks] == ["role", "content", "content", "content", "finish", "usage"]
    assert len(chunks) == call.timing.chunks
    content = [c["t_ns"] for c in chunks if c["kind"] == "content"]
    assert content == sorted(content)


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's transmit timestamps (SO_TIMESTAMPING) are Linux's")
@pytest.mark.parametrize("split", [False, True])
async def test_tx_stamps_log_the_kernels_send_of_each_events_last_byte(split: bool) -> None:
    """With transmit stamps, an event's logged send is the kernel's stamp of the write that carried its last byte:
    never before the server's stamp before that write (a split event's earlier pieces, with keep-alives after
    each event, left a millisecond sooner), in the stream's order, and never as late as the next event's write
    where that came later (the tokens, 5 ms apart; the finish and usage events follow their token at once, and
    on a loaded machine the kernel has stamped one a few microseconds after the next write began)."""
    log = io.StringIO()
    reply = {"text": [f" t{i}" for i in range(12)], "rate": 200, "split_writes": split, "keepalive": split}
    with RefServer(log=log, spin_s=0, tx_stamps=True) as server:
        provider = OpenAICompatProvider(server.base_url, "m")
        try:
            call = await provider.complete(CHAT, RequestParams(extra_body={"refserver": reply}), None)
        finally:
            await provider.aclose()
    assert call.text == "".join(reply["text"])
    chunks = [json.loads(x) for x in log.getvalue().splitlines() if json.loads(x)["type"] == "chunk"]
    assert len(chunks) == call.timing.chunks == 12 + 3  # role, 12 tokens, finish, usage
    assert all(c["tx"] for c in chunks)
    spaced = 0
    for chunk, after in itertools.pairwise(chunks):
        assert chunk["t_write_ns"] <= chunk["t_ns"] <= after["t_ns"]
        if after["t_write_ns"] - chunk["t_write_ns"] >= 1_000_000:
            spaced += 1
            assert chunk["t_ns"] < after["t_write_ns"]
    assert spaced >= 6  # most of the tokens: a stamp off by one write would be past the next write in each
