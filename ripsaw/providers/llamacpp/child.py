"""The server process Ripsaw starts: `python -m ripsaw.providers.llamacpp.child PARENT_PID CONTEXT SERVER_ARGS...`.

It runs llama_cpp.server after tying its life to the parent, dropping the environment variables the server's
settings would read, and (CONTEXT "fresh") making every generation start from an empty context, or (CONTEXT
"reuse-prefix") leaving the library's reuse of the previous request's context on (see server.py for why).

The library streams chat answers without `usage`, and a chat prompt's size depends on the model's template,
which Ripsaw does not reproduce. So the child records how many tokens each generation was given (the prompt
after the template, exactly what the model read) and adds `usage.prompt_tokens` to the stream's last chunk. The
server runs one generation at a time, so the figure read at the last chunk is that request's.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def serve(argv: list[str]) -> None:
    """Run llama_cpp.server with `argv` = [PARENT_PID, CONTEXT, *SERVER_ARGS] (environment variables it would read,
    such as HOST, PORT, API_KEY and N_GPU_LAYERS, are dropped first)."""
    parent, context, server_args = int(argv[0]), argv[1], argv[2:]
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (AttributeError, OSError):
        pass  # not Linux: the parent's aclose() and atexit hook are the only guards
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit("ripsaw: the process that started this server is gone")

    import runpy

    from llama_cpp import Llama
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    names = {n.upper() for n in (*ModelSettings.model_fields, *ServerSettings.model_fields, "config_file")}
    for key in list(os.environ):
        if key.upper() in names:
            del os.environ[key]

    import llama_cpp.llama_chat_format as chat_format

    generate = Llama.generate
    prompt_size = [0]  # of the generation in progress

    def counted_generate(self: Llama, tokens: Any, *args: Any, **kwargs: Any) -> Any:
        prompt_size[0] = len(tokens)
        if context == "fresh":
            self.reset()
        return generate(self, tokens, *args, **kwargs)

    to_chat = chat_format._convert_text_completion_chunks_to_chat

    def with_prompt_usage(chunks: Any) -> Any:
        for chunk in to_chat(chunks):
            last: dict[str, Any] = dict(chunk)  # a plain dict: the library's TypedDict has no `usage`
            if any(c.get("finish_reason") is not None for c in last.get("choices") or []):
                last["usage"] = {"prompt_tokens": prompt_size[0]}
            yield last

    setattr(Llama, "generate", counted_generate)  # noqa: B010 (an assignment would upset type checkers)
    setattr(chat_format, "_convert_text_completion_chunks_to_chat", with_prompt_usage)  # noqa: B010
    sys.argv = ["llama_cpp.server", *server_args]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    serve(sys.argv[1:])
