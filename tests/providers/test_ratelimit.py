"""The rate-limit pacer's arithmetic (an injected clock: exact), its wrapper around a real provider against the
reference server, and the spec keys that set it."""

from __future__ import annotations

import time
from pathlib import Path

from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.providers.ratelimit import Pacer, RateLimited, limiter_for
from ripsaw.spec import load_spec
from ripsaw.types import Prompt, RequestParams
from tests.refserver import RefServer, Reply


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_leave_evenly_spaced() -> None:
    clock = Clock()
    pacer = Pacer(rpm=60, tpm=None, clock=clock)
    assert [pacer.slot(1000) for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]  # four ready at once: one a second
    clock.now += 2.5
    assert pacer.slot(1000) == 1.5  # the slot after the fourth (at +4 s)
    clock.now += 10
    assert pacer.slot(1000) == 0.0  # an idle endpoint saves no burst: the next one after it is a second later
    assert pacer.slot(1000) == 1.0


def test_tokens_are_reserved_then_replaced_by_real_usage() -> None:
    clock = Clock()
    pacer = Pacer(rpm=None, tpm=600, clock=clock)  # 10 tokens a second
    assert pacer.slot(100) == 0.0  # the first call's 100 tokens flow for 10 s
    assert pacer.slot(50) == 10.0  # the second waits for them, and holds 5 s more
    pacer.settle(100, 20)  # the first used 20 of its 100: 8 s given back
    clock.now += 1
    assert pacer.slot(10) == 6.0  # all before it fit by +7 s (2 s + 5 s), asked at +1 s: it may go before the second
    pacer.settle(10, 40)  # a call that used more than it reserved is debited the rest
    assert pacer.slot(1) == 10.0  # 2 s + 5 s + 4 s, asked at +1 s


def test_both_limits_the_later_slot_wins() -> None:
    clock = Clock()
    pacer = Pacer(rpm=60, tpm=6000, clock=clock)  # a request a second, 100 tokens a second
    assert pacer.slot(50) == 0.0
    assert pacer.slot(50) == 1.0  # the request clock (1 s) is later than the tokens' (0.5 s)
    assert pacer.slot(500) == 2.0
    assert pacer.slot(10) == 6.0  # the 600 tokens before it flow until +6 s, later than the next request slot (3 s)


def test_a_combo_without_limits_gets_no_limiter(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(
        '[[combos]]\nname = "a"\nprovider = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:1/v1"\n'
        'rpm = 120\ntpm = 90000\n[[combos]]\nname = "b"\nprovider = "openai"\nmodel = "m"\n'
        'base_url = "http://127.0.0.1:1/v1"\n[tasks]\nsource = "humaneval"\n'
    )
    a, b = load_spec(path).combos
    assert (a.rpm, a.tpm, b.rpm, b.tpm) == (120, 90000, None, None)
    pacer = limiter_for(a)
    assert pacer is not None and (pacer.request_s, pacer.token_s) == (0.5, 60 / 90000)
    assert limiter_for(b) is None


class Fixed:
    """A limiter that always asks for the same wait and keeps what it was told."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.reserved: list[int] = []
        self.settled: list[tuple[int, int]] = []

    async def reserve(self, tokens: int) -> float:
        self.reserved.append(tokens)
        return self.wait_s

    def settle(self, reserved: int, used: int) -> None:
        self.settled.append((reserved, used))


async def test_the_wait_is_queueing_and_the_real_usage_is_settled(refserver: RefServer) -> None:
    refserver.script = [Reply(text="one two three four five", ttft_s=0.01)]
    limiter = Fixed(0.2)
    provider = RateLimited(OpenAICompatProvider(refserver.base_url, "ref-model", tokenizer="none"), limiter)
    prompt = Prompt(mode="complete", text="def f():")
    try:
        call = await provider.complete(prompt, RequestParams(max_tokens=64), None)
    finally:
        await provider.aclose()
    assert call.text == "one two three four five"
    (reserved,) = limiter.reserved
    assert reserved > 64  # max_tokens and the prompt's estimate
    usage = call.usage
    assert usage.source == "server" and limiter.settled == [(reserved, usage.prompt_tokens + usage.completion_tokens)]
    # The wait is queueing, before t_send (TTFT starts there: tests/execution/test_rate_limits.py measures it).
    assert call.timing.queue_ns is not None and call.timing.queue_ns >= 0.2e9


async def test_a_slot_past_the_deadline_cuts_the_call_before_it_is_sent(refserver: RefServer) -> None:
    limiter = Fixed(30.0)
    provider = RateLimited(OpenAICompatProvider(refserver.base_url, "ref-model", tokenizer="none"), limiter)
    try:
        deadline = time.perf_counter_ns() + int(0.1e9)
        call = await provider.complete(Prompt(mode="complete", text="x"), RequestParams(max_tokens=8), deadline)
    finally:
        await provider.aclose()
    assert call.cut == "budget" and refserver.requests == []
    assert limiter.settled == [(limiter.reserved[0], 0)]  # never sent: every reserved token goes back
