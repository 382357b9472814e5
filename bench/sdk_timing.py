"""The vendors' SDKs against Ripsaw's own client, timed against the same server truth: why the native providers
are built on httpx and not on `openai` / `anthropic`.

    python bench/sdk_timing.py

The reference server (its own process, tests/refserver.py) streams the Responses and Messages dialects on an
absolute schedule and logs its request arrivals and writes; truth is taken from that log as in bench/fidelity.py
(TTFT truth = first token write - arrival + loopback RTT; speed truth = (N - 1) / (last write - first write)).
Each call is made twice per cell: by Ripsaw's provider (`openai-responses`, `anthropic`) and by the SDK's async
client, stamping `perf_counter_ns` before `create(..., stream=True)` and as each text delta is handed out by the
SDK's iterator, which is the best an SDK user can do. Reported per client: TTFT and output-speed error of the
worst call, and client CPU per event. The SDKs are not a dependency of Ripsaw; this script needs them installed.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Sent, ServerProcess, machine, read_log, table
from fidelity import loopback_rtt

from ripsaw.providers.anthropic import AnthropicProvider
from ripsaw.providers.openai_responses import OpenAIResponsesProvider
from ripsaw.types import Message, Prompt, RequestParams

VOCAB = (" def", " solve", "(", "nums", ")", ":", "\n   ", " return", " sum", " café", " →")
# (rate tok/s, N, streams, rounds)
CELLS = ((1000, 256, 1, 5), (3000, 1024, 1, 3), (1000, 256, 16, 1))


@dataclass(slots=True)
class Stamps:
    """One call as a client saw it: ns on perf_counter."""

    t_send: int  # ripsaw: the wire stamp; SDK: just before create()
    first: int
    last: int
    n: int


def _reply(rate: float, n: int) -> dict[str, Any]:
    return {"text": [VOCAB[i % len(VOCAB)] for i in range(n)], "rate": rate, "ttft_s": 0.05}


async def ripsaw_call(api: str, base_url: str, tag: str, reply: dict[str, Any], provider: Any) -> Stamps:
    prompt = Prompt("chat", messages=(Message("user", tag),))
    params = RequestParams(temperature=None, max_tokens=None, extra_body={"refserver": reply})
    call = await provider.complete(prompt, params, None)
    t = call.timing
    # Offsets are after the wire t_send; the SDK rows are absolute: only differences of one call are compared.
    return Stamps(0, t.first_any_ns or 0, t.last_token_ns or 0, call.usage.completion_tokens or 0)


async def sdk_call(api: str, base_url: str, tag: str, reply: dict[str, Any], client: Any) -> Stamps:
    clock = time.perf_counter_ns
    first = last = 0
    n = 0
    if api == "openai-responses":
        t_send = clock()
        stream = await client.responses.create(
            model="ref-model", input=[{"role": "user", "content": tag}], stream=True, extra_body={"refserver": reply}
        )
        async for event in stream:
            if event.type == "response.output_text.delta" and event.delta:
                last = clock()
                first = first or last
            elif event.type == "response.completed":
                n = event.response.usage.output_tokens
    else:
        t_send = clock()
        stream = await client.messages.create(
            model="ref-model",
            max_tokens=4096,
            messages=[{"role": "user", "content": tag}],
            stream=True,
            extra_body={"refserver": reply},
        )
        async for event in stream:
            if event.type == "content_block_delta" and getattr(event.delta, "text", ""):
                last = clock()
                first = first or last
            elif event.type == "message_delta":
                n = event.usage.output_tokens
    return Stamps(t_send, first, last, n)


def _clients(api: str, base_url: str) -> tuple[Any, Any]:
    """(Ripsaw's provider, the SDK's async client) for one API."""
    if api == "openai-responses":
        import openai

        return OpenAIResponsesProvider(base_url, "ref-model", max_concurrency=16), openai.AsyncOpenAI(
            base_url=base_url, api_key="bench", max_retries=0
        )
    import anthropic

    return AnthropicProvider(base_url, "ref-model", max_concurrency=16), anthropic.AsyncAnthropic(
        base_url=base_url.removesuffix("/v1"), api_key="bench", max_retries=0
    )


@dataclass(slots=True)
class Result:
    api: str
    client: str
    cell: tuple[int, int, int, int]
    ttft_err_ms: list[float]
    speed_err: list[float]
    cpu_us_per_event: float


async def run(base_url: str) -> list[tuple[str, str, tuple[int, int, int, int], list[tuple[str, Stamps]], float]]:
    out = []
    for api in ("openai-responses", "anthropic"):
        provider, sdk = _clients(api, base_url)
        try:
            for name, one, handle in (("ripsaw", ripsaw_call, provider), ("sdk", sdk_call, sdk)):
                call: Callable[..., Awaitable[Stamps]] = one
                await asyncio.gather(*(call(api, base_url, f"warm {api} {name} {j}", _reply(1000, 4), handle)
                                       for j in range(16)))  # fmt: skip
                for cell in CELLS:
                    rate, n, streams, rounds = cell
                    stamps = []
                    cpu0 = time.process_time()
                    for r in range(rounds):
                        tags = [f"{api} {name} {rate} {n} {streams} {r} {j}" for j in range(streams)]
                        got = await asyncio.gather(*(call(api, base_url, t, _reply(rate, n), handle) for t in tags))
                        stamps += list(zip(tags, got, strict=True))
                    cpu = time.process_time() - cpu0
                    out.append((api, name, cell, stamps, cpu / (n * streams * rounds) * 1e6))
                    print(f"  ran {api} {name} R={rate} N={n} x{streams}", flush=True)
        finally:
            await provider.aclose()
            await sdk.close()
    return out


def main() -> None:
    print(f"sdk timing · {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "sends.jsonl"
        with ServerProcess(log) as server:
            rtt_s, _ = loopback_rtt(server.base_url, log)
            runs = asyncio.run(run(server.base_url))
        sent = read_log(log)
    rows = []
    for api, name, cell, stamps, cpu in runs:
        ttft, speed = [], []
        for tag, s in stamps:
            truth: Sent = sent[tag]
            tokens = [t for _, k, t in truth.chunks if k > 0]
            ttft_true = (tokens[0] - truth.t_recv_ns) / 1e9 + rtt_s
            speed_true = (len(tokens) - 1) / ((tokens[-1] - tokens[0]) / 1e9)
            ttft.append(((s.first - s.t_send) / 1e9 - ttft_true) * 1e3)
            speed.append((s.n - 1) / ((s.last - s.first) / 1e9) / speed_true - 1)
        rate, n, streams, _ = cell
        rows.append([api, name, f"{rate}", f"{n}", f"{streams}", f"{len(stamps)}",
                     f"{max(ttft, key=abs):+.3f}", f"{statistics.median(ttft):+.3f}",
                     f"{max(speed, key=abs) * 100:+.3f}", f"{cpu:.1f}"])  # fmt: skip
    print()
    print(table(["API", "client", "R", "N", "streams", "calls", "TTFT err worst ms", "TTFT err p50 ms",
                 "speed err% worst", "CPU µs/event"], rows))  # fmt: skip
    print(f"loopback RTT {rtt_s * 1e6:.0f} µs; TTFT error = the client's TTFT - the server's truth;")
    print("the SDK's TTFT counts from just before create(), Ripsaw's from its wire stamp")


if __name__ == "__main__":
    main()
