"""The one function of the library's chat formatting that Ripsaw's server child wraps (tests only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _convert_text_completion_chunks_to_chat(chunks: Iterator[Any]) -> Iterator[Any]:
    yield from chunks
