"""What every sandbox keeps of a program's output: one policy, so reports, repair feedback and an agent's
observations do not depend on the backend that ran the code.

Two figures per stream:
- the cap: how much a backend reads before it stops the program and calls the output a `resource_limit`.
  Driver stdout carries the records, so its cap follows from the job (`wire.stdout_cap`); stderr's is the
  job's `Limits.output_bytes`, the same for every backend.
- what is stored: the head and the tail, `HEAD` and `TAIL` bytes, with the size of the part left out in
  between. The head says what the program was doing; the tail is where a traceback ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ripsaw.sandboxes.base import Limits

HEAD = 4096  # bytes stored from the start of each stream
TAIL = 4096  # ... and from its end


def stderr_cap(limits: Limits) -> int:
    return limits.output_bytes


def left_out(n: int) -> str:
    """The marker between the head and the tail of an output of which `n` bytes were left out."""
    return f"\n[... {n} bytes left out ...]\n"


def stored(data: bytes | bytearray) -> str:
    """The part of one stream a record keeps: all of it when short, else head, marker and tail."""
    if len(data) <= HEAD + TAIL:
        return bytes(data).decode("utf-8", "replace")
    head = bytes(data[:HEAD]).decode("utf-8", "replace")
    tail = bytes(data[-TAIL:]).decode("utf-8", "replace")
    return head + left_out(len(data) - HEAD - TAIL) + tail
