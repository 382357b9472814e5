"""A stand-in for llama-cpp-python that crashes the way a build the CPU cannot run does (tests only).

It serves what Ripsaw's managed server needs to start (`/v1/models`, `/extras/tokenize/count`) and dies by
SIGSEGV when asked to generate the n-th time for each n in STANDIN_CRASH_AT (comma-separated, counted from 0
across restarts in the file STANDIN_COUNT). Its system info claims AMX kernels, as
a native build on such a CPU reports.
"""

from __future__ import annotations


def llama_print_system_info() -> bytes:
    return b"CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | "


class Llama:
    def generate(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        pass
