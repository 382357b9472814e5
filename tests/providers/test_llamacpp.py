"""The managed llama.cpp provider: option checks (fast) and the real server (slow: starts llama-cpp-python)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ripsaw.errors import ConfigError, ProviderError
from ripsaw.providers.llamacpp.server import (
    DEFAULT_N_CTX,
    LlamaCppOptions,
    free_loopback_port,
    from_combo,
)
from ripsaw.types import ComboSpec, Message, Prompt, RequestParams

REPO = Path(__file__).resolve().parents[2]

HUMANEVAL_STYLE = '''\
def is_palindrome(text: str) -> bool:
    """Return True if text reads the same forwards and backwards.
    >>> is_palindrome("level")
    True
    >>> is_palindrome("abc")
    False
    """
'''
GREEDY = RequestParams(temperature=0.0, max_tokens=64, stop=("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"))


# --- options and ports (fast) -----------------------------------------------------------------------------------


def test_options_defaults_and_conversion(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    opts = LlamaCppOptions.from_mapping(
        {"threads": 2, "model_path": str(model), "server_args": ["--n_batch", "256"], "startup_timeout_s": 30},
        "combo 'x'",
    )
    assert opts == LlamaCppOptions(
        threads=2,
        n_ctx=DEFAULT_N_CTX,
        model_path=model,
        server_args=("--n_batch", "256"),
        startup_timeout_s=30.0,
        log_dir=None,
    )


@pytest.mark.parametrize(
    ("options", "key", "problem"),
    [
        ({}, "threads", "required"),
        ({"threads": 0}, "threads", "at least 1"),
        ({"threads": True}, "threads", "expected an integer"),
        ({"threads": "2"}, "threads", "expected an integer"),
        ({"threads": 1, "thread": 2}, "thread", "did you mean 'threads'"),
        ({"threads": 1, "n_ctx": 16}, "n_ctx", "at least 128"),
        ({"threads": 1, "startup_timeout_s": 0}, "startup_timeout_s", "positive number"),
        ({"threads": 1, "model_path": "/nonexistent/model.gguf"}, "model_path", "no such file"),
        ({"threads": 1, "model_path": 3}, "model_path", "expected a path"),
        ({"threads": 1, "server_args": "--n_batch 256"}, "server_args", "list of strings"),
        ({"threads": 1, "server_args": ["--port", "9000"]}, "server_args", "--port is set by Ripsaw"),
        ({"threads": 1, "server_args": ["--n_threads=4"]}, "server_args", "use options.threads"),
        ({"threads": 1, "server_args": ["--interrupt_requests", "True"]}, "server_args", "cut the stream"),
    ],
)
def test_option_errors_name_combo_key_and_problem(options: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        LlamaCppOptions.from_mapping(options, "combo 'local'")
    message = str(info.value)
    assert message.startswith(f"combo 'local': options.{key}: ")
    assert problem in message


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [("base_url", "http://127.0.0.1:8000/v1", 'provider = "openai"'), ("api_key_env", "KEY", "needs no key")],
)
def test_from_combo_rejects_endpoint_settings(field: str, value: str, problem: str) -> None:
    combo = ComboSpec(name="local", provider="llamacpp", model="gemma3-270m", options={"threads": 1}, **{field: value})
    with pytest.raises(ConfigError, match=problem):
        from_combo(combo)


def test_free_loopback_port_is_bindable() -> None:
    port = free_loopback_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))  # raises if something already holds it
        s.listen()


# --- the real server (slow) -------------------------------------------------------------------------------------


def _combo(**options: Any) -> ComboSpec:
    return ComboSpec(
        name="gemma3-270m @ 2 threads",
        provider="llamacpp",
        model="gemma3-270m",
        hardware="CPU, 2 threads",
        prompt_mode="complete",
        options={"threads": 2, "startup_timeout_s": 120, **options},
    )


def _gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaped yet (it holds no resources and runs no code)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_greedy_completion_is_repeatable_timed_and_counted(tmp_path: Path) -> None:
    provider = from_combo(_combo(log_dir=str(tmp_path / "logs")))
    try:
        await provider.start()
        pid = provider.pid
        assert pid is not None and not _gone(pid)
        prompt = Prompt(mode="complete", text=HUMANEVAL_STYLE)
        first = await provider.complete(prompt, GREEDY, None)
        second = await provider.complete(prompt, GREEDY, None)

        assert first.text.strip(), "the model returned nothing"
        assert first.text == second.text  # temperature 0 is greedy: the same prompt gives the same text
        assert first.server_model == "gemma3-270m"
        assert first.finish_reason in ("stop", "length")
        for call in (first, second):
            assert call.usage.source == "tokenizer"
            assert call.usage.completion_tokens is not None and 0 < call.usage.completion_tokens <= 64
            assert call.usage.prompt_tokens is not None and 30 < call.usage.prompt_tokens < 120
            ttft = call.timing.ttft_s
            assert ttft is not None and 0 < ttft < 60
            speed = call.timing.output_speed(call.usage.completion_tokens)
            assert speed is not None and speed > 0
        assert first.usage == second.usage

        facts = provider.describe()
        assert facts["model_file"] == "gemma-3-270m-q4_k_m.gguf"
        assert facts["model_sha256"] == "a5fd3b62230aa5ec"
        assert facts["threads"] == 2 and facts["max_concurrency"] == 1
        assert facts["base_url"].startswith("http://127.0.0.1:")
        assert "--n_threads 2" in facts["server_command"] and "--interrupt_requests False" in facts["server_command"]
        log = provider.log_path
        assert log is not None and log.parent == tmp_path / "logs"
    finally:
        await provider.aclose()
    assert _wait_gone(pid, 1.0), f"server {pid} still running after aclose()"
    assert "llama_cpp.server --model" in log.read_text()  # a log the user gave a directory for is kept


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_reuse_prefix_reads_only_what_a_turn_adds(tmp_path: Path) -> None:
    """The server's own log is the truth: with reuse_prefix a longer prompt sharing a prefix is read from where the
    previous one's context diverges; without it, every prompt is read whole."""
    reads: dict[bool, list[int]] = {}
    for reuse in (False, True):
        logs = tmp_path / f"logs-{reuse}"
        provider = from_combo(_combo(log_dir=str(logs), reuse_prefix=reuse))
        try:
            await provider.start()
            text = HUMANEVAL_STYLE
            for _ in range(2):
                call = await provider.complete(Prompt(mode="complete", text=text), GREEDY, None)
                text += call.text + "\n\n" + HUMANEVAL_STYLE
            assert provider.describe()["reuse_prefix"] is reuse
        finally:
            await provider.aclose()
        log = next(logs.iterdir()).read_text()
        reads[reuse] = [int(n) for n in re.findall(r"prompt eval time = .*?/\s+(\d+) tokens", log)]
    whole, reused = reads[False], reads[True]
    assert len(whole) == len(reused) == 2
    assert whole[1] > whole[0]  # the second prompt, read whole, is the longer
    assert reused[1] < whole[1] - whole[0] + 40  # only about what was added since the first call was read


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_unloadable_model_fails_fast_with_the_log(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"this is not a GGUF file\n" * 100)
    provider = from_combo(_combo(model_path=str(bad)))
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError) as info:
            await provider.complete(Prompt(mode="complete", text="def f():\n"), GREEDY, None)
        message = str(info.value)
        assert "exited with code" in message and str(bad) in message
        assert "last lines of" in message and message.count("\n") >= 2  # the server's own words are shown
        # The failure is remembered: the next attempt fails at once instead of loading the model again.
        again = time.monotonic()
        with pytest.raises(ProviderError) as second:
            await provider.complete(Prompt(mode="complete", text="def f():\n"), GREEDY, None)
        assert second.value is info.value and time.monotonic() - again < 1.0
    finally:
        await provider.aclose()
    assert time.monotonic() - started < 100
    assert provider.pid is None


# A Ripsaw process that starts a server, reports its pid, then ends in the way under test.
_CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys, time
    from ripsaw.providers.llamacpp.server import from_combo
    from ripsaw.types import ComboSpec

    async def main():
        combo = ComboSpec(
            name="c", provider="llamacpp", model="gemma3-270m", prompt_mode="complete", options={"threads": 1}
        )
        provider = from_combo(combo)
        await provider.start()
        print(provider.pid, flush=True)
        if sys.argv[1] == "exit":
            return  # no aclose(): the atexit hook must stop the server
        if sys.argv[1] == "keyboard-interrupt":
            raise KeyboardInterrupt
        time.sleep(600)  # killed from outside

    asyncio.run(main())
    """
)


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("ending", ["exit", "keyboard-interrupt", "SIGTERM", "SIGKILL"])
def test_server_does_not_outlive_ripsaw(ending: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, ending.lower()],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None and child.stderr is not None
            line = child.stdout.readline()
            assert line.strip().isdigit(), f"the child started no server: {line!r} {child.stderr.read()}"
            server = int(line)
            assert not _gone(server)
            if ending.startswith("SIG"):
                child.send_signal(getattr(signal, ending))
            child.wait(timeout=30)
            assert _wait_gone(server, 10.0), f"server {server} outlived Ripsaw ({ending})"
        finally:
            if child.poll() is None:
                child.kill()


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_chat_prompt_is_counted_as_the_model_read_it(tmp_path: Path) -> None:
    """A chat prompt's size depends on the model's template; the server's own log says how many tokens it read
    (a fresh context reads the whole prompt), and the recorded prompt_tokens must be that number."""
    logs = tmp_path / "logs"
    combo = ComboSpec(
        name="qwen chat",
        provider="llamacpp",
        model="qwen2.5-coder-0.5b-instruct",
        options={"threads": 2, "startup_timeout_s": 120, "log_dir": str(logs)},
    )
    provider = from_combo(combo)
    prompt = Prompt(
        mode="chat", messages=(Message(role="user", content="Write a Python function that adds two numbers."),)
    )
    try:
        await provider.start()
        call = await provider.complete(prompt, GREEDY, None)
    finally:
        await provider.aclose()
    [read] = [int(n) for n in re.findall(r"prompt eval time = .*?/\s+(\d+) tokens", next(logs.iterdir()).read_text())]
    assert call.usage.prompt_tokens == read
    assert call.usage.completion_tokens is not None and call.usage.source == "tokenizer"
