"""A stand-in for llama-cpp-python that crashes the way a build the CPU cannot run does (tests only).

It serves what Ripsaw's managed server needs to start (`/v1/models`, `/extras/tokenize/count`) and dies by
SIGSEGV when asked to generate the n-th time for each n in STANDIN_CRASH_AT (comma-separated, counted from 0
across restarts in the file STANDIN_COUNT). Its system info claims AMX kernels, as
a native build on such a CPU reports. A generation goes through `Llama.generate` (one token per word of the
messages) and `llama_chat_format`, as the library's does, so the child's prompt count reaches the last chunk; each
request body is appended to the file STANDIN_BODIES when that is set.
"""

from __future__ import annotations

from collections.abc import Iterator


def llama_print_system_info() -> bytes:
    return b"CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | "


class Llama:
    def generate(self, tokens: list[int], *args: object, **kwargs: object) -> Iterator[int]:
        return iter(())  # the server answers with its fixed reply; what matters is what the child counts

    def reset(self) -> None:
        pass
