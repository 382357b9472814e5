"""The provider protocol: send one prompt, stream the reply, time it.

A provider turns a prompt into a ModelCall (text, usage, timing). It raises ProviderError only when
bounded retries are exhausted; the runner records that as infra_error, never as a model failure.
The deadline is absolute, on the same monotonic clock as the timing: when it passes mid-stream the
provider cancels the stream and returns the partial ModelCall with `cut="budget"`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from ripsaw.errors import ConfigError
from ripsaw.records import ModelCall
from ripsaw.types import ComboSpec, Prompt, RequestParams


class Provider(Protocol):
    """A provider that starts a server on this machine sets a class attribute `manages_server = True`: its combo
    then runs alone (it shares the cores); combos on remote endpoints run interleaved by task."""

    async def start(self, run_dir: Path | None = None) -> None:
        """Get ready before the first attempt (launch a managed server); failures here stop the run early.
        A provider that keeps logs (a managed server's) writes them under `run_dir/logs/`."""
        ...

    async def complete(self, prompt: Prompt, params: RequestParams, deadline_ns: int | None) -> ModelCall: ...

    async def aclose(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Facts for the run manifest (endpoint, server version where known); never a secret."""
        ...


def resolve_api_key(combo: ComboSpec) -> str | None:
    """The combo's API key, read from the environment now (never stored); None when the combo names no key."""
    if combo.api_key_env is None:
        return None
    key = os.environ.get(combo.api_key_env)
    if not key:
        # Validated at load time; reaching this means the variable was removed since.
        raise ConfigError(f"combo {combo.name!r}: environment variable {combo.api_key_env} is not set")
    return key
