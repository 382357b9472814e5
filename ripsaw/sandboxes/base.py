"""The sandbox protocol: run untrusted candidate code on given inputs and report plain outputs.

A sandbox never sees a task's check code or expected outputs. It receives a SandboxJob (candidate source
plus the inputs to feed it) and returns a SandboxRun plus the per-input records the in-sandbox driver
emitted. The verdict is computed elsewhere (ripsaw.verdict) by trusted code.

Pre-warming: `Sandbox.session()` may start expensive machinery (a container) before the code is known,
so the runner opens a session while the model is still generating and calls `run` when the code arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ripsaw.records import SandboxRun


@dataclass(frozen=True, slots=True)
class Limits:
    timeout_s: float = 10.0  # wall clock for the whole job
    memory_mb: int = 512
    pids: int = 64
    output_bytes: int = 1 << 20  # per stream
    file_size_mb: int = 16
    open_files: int = 64
    disk_mb: int = 64  # tmpfs / working dir
    cpus: float = 1.0


@dataclass(frozen=True, slots=True)
class SandboxJob:
    code: str
    entry_point: str
    mode: Literal["calls", "stdin"]
    # mode "calls": each item is the encoded positional-args list for one call of entry_point
    # (see ripsaw.sandboxes.wire). mode "stdin": each item is a stdin text for one program run.
    inputs: list[Any]
    limits: Limits = field(default_factory=Limits)
    label: str = ""  # attempt id, for container labels and logs


@dataclass(slots=True)
class SandboxResult:
    run: SandboxRun
    # One entry per input, in order, parsed from the driver's nonce-framed records;
    # None where the driver produced no valid record for that input.
    records: list[dict[str, Any] | None]


class SandboxSession(Protocol):
    async def run(self, job: SandboxJob) -> SandboxResult: ...

    async def close(self) -> None: ...


class Sandbox(Protocol):
    kind: str

    async def session(self, label: str = "") -> SandboxSession: ...

    def describe(self) -> dict[str, Any]:
        """Facts for the run manifest (kind, image id/digest, isolation features)."""
        ...

    def close(self) -> None:
        """Release what the sandbox holds across sessions (engine connections, worker threads)."""
        ...
