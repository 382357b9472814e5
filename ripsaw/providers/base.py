"""The provider protocol: send one prompt, stream the reply, time it.

A provider turns a prompt into a ModelCall (text, usage, timing). It raises ProviderError only when
bounded retries are exhausted; the runner records that as infra_error, never as a model failure.
The deadline is absolute, on the same monotonic clock as the timing: when it passes mid-stream the
provider cancels the stream and returns the partial ModelCall with `cut="budget"`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ripsaw.records import ModelCall

Clock = Callable[[], int]  # nanoseconds, monotonic (time.perf_counter_ns by default)


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """Either a raw text to continue (`complete` mode) or a conversation (`chat` mode)."""

    mode: Literal["complete", "chat"]
    text: str = ""
    messages: tuple[Message, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestParams:
    temperature: float | None = 0.0
    max_tokens: int | None = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    top_p: float | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    async def start(self) -> None:
        """Get ready before the first attempt (launch a managed server); failures here stop the run early."""
        ...

    async def complete(self, prompt: Prompt, params: RequestParams, deadline_ns: int | None) -> ModelCall: ...

    async def aclose(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Facts for the run manifest (endpoint, server version where known); never a secret."""
        ...
