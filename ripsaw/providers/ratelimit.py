"""Requests- and tokens-per-minute limits of an endpoint (`rpm`, `tpm` on a combo), held by every call to it.

A combo's limits are one `Pacer` per run, shared by every call to the endpoint: in this process for the local
executor, in one Ray actor per combo for a cluster (ripsaw.execution.ray_executor), so many nodes draw from the
same budget. Both sit behind `RateLimiter` (reserve, then settle); `RateLimited` wraps a provider with one.

The rule (a pacer, no burst): calls leave evenly spaced, at least 60/rpm s apart, and the endpoint's tokens flow
at tpm/60 per second: a call reserves its prompt's estimated tokens plus `max_tokens` before it leaves, and once
it finished its reservation is replaced by its real usage (prompt + completion tokens), so a short reply gives the
unused tokens back to the calls after it. Any 60 s then holds at most rpm + 1 requests and tpm tokens plus one
call's; pacing evenly also respects endpoints that enforce their limit over shorter periods (per second). A
call's retries (after a 429 or 5xx) follow the server's Retry-After, not the pacer.

The wait is recorded in the call's `CallTiming.queue_ns` (waiting in the client before the request left), never
in TTFT, which starts when the request leaves. It counts in the attempt's time like any other wait: the
alternative, exceeding the limit, costs 429s and their backoff instead.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ripsaw.providers.base import Provider
from ripsaw.records import ModelCall
from ripsaw.tokens import estimate_tokens
from ripsaw.types import ComboSpec, Prompt, RequestParams


class RateLimiter(Protocol):
    async def reserve(self, tokens: int) -> float:
        """Hold the next free slot for a call reserving `tokens`: the seconds to wait before it may leave."""
        ...

    def settle(self, reserved: int, used: int) -> None:
        """A finished call used `used` tokens of the `reserved`: the difference goes back (or is debited)."""
        ...


class Pacer:
    """The one implementation of the rule in the module doc: two clocks, when the next request may leave and
    when the tokens reserved so far will have flowed, both on this process's monotonic clock."""

    def __init__(self, rpm: int | None, tpm: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.request_s = 60.0 / rpm if rpm else 0.0  # seconds per request
        self.token_s = 60.0 / tpm if tpm else 0.0  # seconds per token
        self.clock = clock
        self._next_request = -math.inf
        self._tokens_free = -math.inf

    def slot(self, tokens: int) -> float:
        """The wait before this call may leave. Requests: each one a full interval after the one before. Tokens:
        a running account of when every token reserved so far (less what settled calls gave back) has flowed; a
        call leaves once all before it fit, so any minute carries at most tpm tokens plus one call's."""
        now = self.clock()
        at = max(now, self._next_request, self._tokens_free)
        if self.request_s:
            self._next_request = at + self.request_s
        self._tokens_free = max(self._tokens_free, now) + tokens * self.token_s
        return at - now

    async def reserve(self, tokens: int) -> float:
        return self.slot(tokens)

    def settle(self, reserved: int, used: int) -> None:
        self._tokens_free -= (reserved - used) * self.token_s


def limiter_for(combo: ComboSpec) -> Pacer | None:
    """This process's limiter for a combo, or None when it sets no limit."""
    return Pacer(combo.rpm, combo.tpm) if combo.rpm or combo.tpm else None


def limited(provider: Provider, limiter: RateLimiter | None) -> Provider:
    return provider if limiter is None else RateLimited(provider, limiter)


class RateLimited:
    """A provider whose calls first take a slot from the endpoint's RateLimiter."""

    def __init__(self, inner: Provider, limiter: RateLimiter, clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self.inner = inner
        self.limiter = limiter
        self.clock = clock
        self.manages_server = getattr(inner, "manages_server", False)

    async def start(self, run_dir: Path | None = None) -> None:
        await self.inner.start(run_dir)

    async def complete(self, prompt: Prompt, params: RequestParams, deadline_ns: int | None) -> ModelCall:
        reserved = estimate_tokens(prompt.rendered()) + (params.max_tokens or 0)
        t0 = self.clock()
        try:
            wait_s = await self.limiter.reserve(reserved)
            if deadline_ns is not None:
                wait_s = min(wait_s, (deadline_ns - self.clock()) / 1e9)  # the budget ends first: the call is cut
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        except BaseException:
            self.limiter.settle(reserved, 0)  # never sent
            raise
        waited = self.clock() - t0
        try:
            call = await self.inner.complete(prompt, params, deadline_ns)
        except BaseException:
            self.limiter.settle(reserved, reserved)  # whether it reached the endpoint is unknown: keep it all
            raise
        usage = call.usage
        sent = call.timing.queue_ns is not None or call.timing.close_ns is not None
        used = (usage.prompt_tokens or 0) + (usage.completion_tokens or 0) if sent else 0
        self.limiter.settle(reserved, used)
        call.timing.queue_ns = (call.timing.queue_ns or 0) + waited
        return call

    async def aclose(self) -> None:
        await self.inner.aclose()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()
