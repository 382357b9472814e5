"""Provider `llamacpp`: a local model served by a llama-cpp-python server that Ripsaw starts and stops.

One provider owns one server process and one model load. The server is started on first use (or by an
explicit `start()`), on a free loopback port, with its output in a log file; requests go through the
OpenAI-compatible streaming client (`openai_compat`), so timing is measured exactly as for any endpoint.

Facts about llama-cpp-python's server that shape this module (checked against version 0.3):

- It runs one generation at a time behind a lock, and by default a new request *interrupts* the stream in
  progress. We pass `--interrupt_requests False` and send one request at a time (`max_concurrency` 1): with
  more in flight, queueing inside the server would be counted as time to first token.
- Its streamed chunks carry no `usage` (it ignores `stream_options.include_usage`). Token counts are then
  taken from the model's own tokenizer (`/extras/tokenize/count`) on the prompt, the returned text and its
  first chunk (the output speed leaves that chunk's tokens out of its span),
  recorded with `source="tokenizer"`; the generic estimate remains only if that request fails.
- It keeps the previous request's context and re-uses the longest shared prefix. When a whole prompt is
  cached it re-reads only its last token, alone, and that changes the first token's logits slightly: the same
  greedy request then gives different text the second time (measured with Gemma 3 270M), and an attempt's
  result and time to first token would depend on which prompt ran before it. The child process (`child.py`)
  makes every generation start from an empty context (`Llama.reset()` before `Llama.generate`), so
  attempts are independent and repeatable. An agent is the exception (`options.reuse_prefix = true`): each turn
  resends the whole transcript, and reading it all again made the model's time grow with every turn (measured:
  Qwen2.5-Coder-1.5B on 2 cores read 1,054 → 2,997 prompt tokens at ~58 tokens/s over four turns, 18 → 53 s to the
  first token; with reuse a turn reads only what it added). The price is the repeatability above: a turn's first
  logits may differ slightly with what was cached before it.
- `temperature: 0` is then greedy and repeatable; `seed` is honoured per request when sampling.
- It reads any unset setting from environment variables named like its flags (`HOST`, `PORT`, `API_KEY`,
  `N_GPU_LAYERS`, ...); the child drops those variables so the spec alone decides how the server runs.

The server must not outlive the run:
- `aclose()` sends SIGTERM to the server's process group, waits, then SIGKILL;
- an atexit hook does the same for servers still running when the interpreter exits (Ctrl-C included);
- on Linux the child asks the kernel (`prctl(PR_SET_PDEATHSIG, SIGKILL)`) to be killed when the thread that
  started it dies, which covers SIGTERM and `kill -9` of Ripsaw. That thread is the event loop's thread
  (the server is spawned from `start()` directly, never from a worker thread that could exit first).
  Elsewhere only `aclose()` and atexit apply.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import difflib
import importlib.metadata
import importlib.util
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ripsaw.errors import ComboFailed, ConfigError, PrerequisiteError, ProviderError, RipsawError
from ripsaw.names import slug
from ripsaw.providers.llamacpp import models
from ripsaw.providers.llamacpp.build import crash_message, inspect_build
from ripsaw.records import ModelCall
from ripsaw.types import Clock, ComboSpec, Prompt, RequestParams

if TYPE_CHECKING:
    from ripsaw.providers.streaming import Departed, Tap

INSTALL_HINT = "bash scripts/setup.sh (a portable build of llama-cpp-python[server]; see ripsaw doctor)"
LOOPBACK = "127.0.0.1"
DEFAULT_N_CTX = 2048
DEFAULT_STARTUP_TIMEOUT_S = 120.0
_STOP_GRACE_S = 5.0
_READ_TIMEOUT_S = 600.0
_LOG_TAIL_LINES = 12

# Flags Ripsaw sets itself: a server_args entry for one of them would contradict an option or break the client.
_MANAGED_FLAGS = {
    "--model": "options.model_path",
    "--model_alias": "the combo's `model`",
    "--n_threads": "options.threads",
    "--n_threads_batch": "options.threads",
    "--n_ctx": "options.n_ctx",
    "--host": "nothing (the server listens on loopback only)",
    "--port": "nothing (a free port is picked)",
    "--interrupt_requests": "nothing (it must stay off: a new request would cut the stream in progress)",
    "--api_key": "nothing (the loopback server needs no key)",
    "--ssl_keyfile": "nothing (the client speaks plain HTTP to loopback)",
    "--ssl_certfile": "nothing (the client speaks plain HTTP to loopback)",
    "--config_file": "server_args (one source of truth: the spec)",
}


@dataclass(frozen=True, slots=True)
class LlamaCppOptions:
    """`[combos.options]` of a llamacpp combo."""

    threads: int  # generation and prompt-processing threads: this combo's "hardware"
    n_ctx: int = DEFAULT_N_CTX
    model_path: Path | None = None  # default: the combo's `model` from the local-model registry (models.py)
    server_args: tuple[str, ...] = ()  # extra `python -m llama_cpp.server` flags, e.g. ["--n_batch", "256"]
    # Keep the previous request's context and read only what a prompt adds to it (see the module docstring): what an
    # agent needs, whose every turn resends the whole transcript.
    reuse_prefix: bool = False
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    log_dir: Path | None = None  # where the server log goes (the runner may point it into the run directory)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str) -> LlamaCppOptions:
        """Validate a combo's options; every problem raises ConfigError naming `where` and the key."""

        def fail(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{where}: options.{key}: {problem}")

        known = [f.name for f in fields(cls)]
        for key in options:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
                raise fail(key, f"unknown option{hint}")

        def integer(key: str, minimum: int) -> int | None:
            value = options.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(key, f"expected an integer, got {value!r}")
            if value < minimum:
                raise fail(key, f"must be at least {minimum}, got {value}")
            return value

        threads = integer("threads", 1)
        if threads is None:
            raise fail("threads", "required: the number of CPU threads the server uses (this combo's hardware)")
        n_ctx = integer("n_ctx", 128)

        timeout = options.get("startup_timeout_s", DEFAULT_STARTUP_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise fail("startup_timeout_s", f"expected a positive number of seconds, got {timeout!r}")

        paths: dict[str, Path | None] = {}
        for key in ("model_path", "log_dir"):
            value = options.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise fail(key, f"expected a path, got {value!r}")
            paths[key] = Path(value).expanduser() if value else None
        model_path = paths["model_path"]
        if model_path is not None and not model_path.is_file():
            raise fail("model_path", f"no such file: {model_path}")

        raw_args = options.get("server_args", [])
        if not isinstance(raw_args, list | tuple) or not all(isinstance(a, str) for a in raw_args):
            raise fail("server_args", f"expected a list of strings, got {raw_args!r}")
        for arg in raw_args:
            flag = arg.split("=", 1)[0]
            if flag in _MANAGED_FLAGS:
                raise fail("server_args", f"{flag} is set by Ripsaw; use {_MANAGED_FLAGS[flag]}")

        reuse = options.get("reuse_prefix", False)
        if not isinstance(reuse, bool):
            raise fail("reuse_prefix", f"expected true or false, got {reuse!r}")

        return cls(
            reuse_prefix=reuse,
            threads=threads,
            n_ctx=n_ctx if n_ctx is not None else DEFAULT_N_CTX,
            model_path=model_path,
            server_args=tuple(raw_args),
            startup_timeout_s=float(timeout),
            log_dir=paths["log_dir"],
        )


def free_loopback_port() -> int:
    """A TCP port nothing listens on right now. Another process may take it before the server binds;
    `start()` retries with a new port when the server reports the address in use."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def require_llama_cpp_server() -> str:
    """The installed llama-cpp-python version; PrerequisiteError when it or its server extra is missing."""
    for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "pydantic_settings"):
        if importlib.util.find_spec(module) is None:
            raise PrerequisiteError(
                f"the llamacpp provider needs llama-cpp-python with its server extra: {INSTALL_HINT}"
            )
    return importlib.metadata.version("llama-cpp-python")


# Servers still running, stopped at interpreter exit if nobody closed them.
_LIVE: set[subprocess.Popen[bytes]] = set()


def _stop_process(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the server's process group, then SIGKILL after `grace_s`; always reaps."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # the server leads its own session, so its pid is its group id
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s if sig == signal.SIGTERM else None)
    _LIVE.discard(proc)


@atexit.register
def _stop_all_at_exit() -> None:
    for proc in list(_LIVE):
        _stop_process(proc, grace_s=2.0)


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in tail) or "    (empty log)"


class LlamaCppProvider:
    """A managed llama-cpp-python server plus the OpenAI-compatible client that talks to it."""

    manages_server = True  # it shares this machine's cores: the runner runs its combo alone, never interleaved
    path = "/chat/completions"  # the API the timing proxy relays to it (`relay`): the server's OpenAI chat endpoint

    def __init__(
        self,
        name: str,
        model: str,
        options: LlamaCppOptions,
        *,
        clock: Clock = time.perf_counter_ns,
        max_retries: int = 2,
        relay_max_tokens: int | None = None,
    ) -> None:
        self.name = name
        # The server generates until its context is full when a request sets no limit (a small model behind a
        # scaffold that sets none can repeat its prompt for minutes): a relayed request that sets none gets this one.
        self.relay_max_tokens = relay_max_tokens
        self.model = model  # the alias the server answers to, echoed in every response
        self.options = options
        self._clock = clock
        self._max_retries = max_retries
        # Missing packages and unknown model names fail here, when the run is set up, not mid-attempt.
        self._llama_cpp_version = require_llama_cpp_server()
        self._local = None if options.model_path else models.get(model, f"combo {name!r}: model")
        self._generations = 0  # finished calls since the server (re)started
        self._restarted = False
        self._lock = asyncio.Lock()
        self._turn = asyncio.Semaphore(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: Any = None  # OpenAICompatProvider, imported lazily like every provider backend
        self._http: httpx.AsyncClient | None = None
        self._base_url: str | None = None
        self._failure: RipsawError | None = None
        self._model_path: Path | None = None
        self._model_sha256: str | None = None
        self._argv: list[str] = []
        self._log_path: Path | None = None
        self._temp_log_dir: Path | None = None
        self._startup_s: float | None = None
        self._bos_tokens = 0
        self._run_log_dir: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def base_url(self) -> str | None:
        return self._base_url

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    async def start(self, run_dir: Path | None = None) -> None:
        """Start the server and wait until it answers; idempotent. A failed start is remembered and
        re-raised by every later call, so a broken setup fails each attempt at once instead of re-loading.
        The server log goes to options.log_dir, else `run_dir/logs/`, else a temporary directory."""
        if run_dir is not None and self.options.log_dir is None and self._log_path is None:
            self._run_log_dir = run_dir / "logs"
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._client is not None:
                return
            try:
                await self._start()
            except RipsawError as e:
                self._failure = e
                raise

    async def _start(self) -> None:
        from ripsaw.providers.openai_compat import OpenAICompatProvider

        if self._local is not None:
            self._model_path = await asyncio.to_thread(models.pull_with_progress, self._local, leave=False)
            self._model_sha256 = self._local.sha256
        else:
            assert self.options.model_path is not None
            self._model_path = self.options.model_path
            try:
                self._model_sha256 = await asyncio.to_thread(models.file_sha256, self._model_path)
            except OSError as e:
                raise ConfigError(
                    f"combo {self.name!r}: options.model_path: cannot read {self._model_path}: {e}"
                ) from e
        log_dir = self.options.log_dir or self._run_log_dir
        if log_dir is None:
            log_dir = self._temp_log_dir = Path(tempfile.mkdtemp(prefix="ripsaw-llamacpp-"))
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProviderError(f"combo {self.name!r}: options.log_dir: cannot create {log_dir}: {e}") from e
        self._log_path = log_dir / f"llamacpp-{slug(self.name, 'combo')}.log"
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)

        started = time.monotonic()
        for _ in range(3):  # a new port only when another process took ours between probe and bind
            port = free_loopback_port()
            if await self._spawn_and_wait(port):
                break
        else:
            raise ProviderError(f"llama.cpp server: no free loopback port after 3 tries; log: {self._log_path}")
        self._startup_s = time.monotonic() - started
        self._base_url = f"http://{LOOPBACK}:{port}/v1"
        self._bos_tokens = await self._count_tokens("") or 0
        self._client = OpenAICompatProvider(
            self._base_url,
            self.model,
            None,
            max_concurrency=1,
            clock=self._clock,
            max_retries=self._max_retries,
            # On a small CPU a long prompt can take minutes to read before the first token; a loopback server
            # that says nothing for that long has hung, and the task budget still cuts the call sooner.
            read_timeout_s=_READ_TIMEOUT_S,
            tokenizer=_ServerTokenizer(self),
        )

    def _server_argv(self, port: int) -> list[str]:
        assert self._model_path is not None
        threads = str(self.options.threads)
        return [
            "--model", str(self._model_path),
            "--model_alias", self.model,
            "--host", LOOPBACK,
            "--port", str(port),
            "--n_threads", threads,
            "--n_threads_batch", threads,
            "--n_ctx", str(self.options.n_ctx),
            "--interrupt_requests", "False",
            *self.options.server_args,
        ]  # fmt: skip

    async def _spawn_and_wait(self, port: int) -> bool:
        """Start the server on `port` and wait for it; False when the port was taken, else raises or returns True."""
        assert self._log_path is not None and self._http is not None
        self._argv = self._server_argv(port)
        with self._log_path.open("ab") as log:
            log.write(f"\n$ python -m llama_cpp.server {shlex.join(self._argv)}\n".encode())
            log.flush()
            # Popen runs here, on the event loop's thread, which lives as long as the run (see PR_SET_PDEATHSIG).
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ripsaw.providers.llamacpp.child",
                    str(os.getpid()),
                    "reuse-prefix" if self.options.reuse_prefix else "fresh",
                    *self._argv,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                start_new_session=True,  # Ctrl-C reaches Ripsaw only; Ripsaw then stops the server in order
            )
        self._proc = proc
        _LIVE.add(proc)
        deadline = time.monotonic() + self.options.startup_timeout_s
        url = f"http://{LOOPBACK}:{port}/v1/models"
        while True:
            if proc.poll() is not None:
                _LIVE.discard(proc)
                self._proc = None
                tail = _log_tail(self._log_path)
                if "address already in use" in tail.lower():
                    return False
                if proc.returncode < 0:  # a signal while loading: the build or the file, not this attempt
                    raise ComboFailed(self._crash(proc.returncode, "loading the model"))
                raise ProviderError(
                    f"llama.cpp server exited with code {proc.returncode} while starting "
                    f"(model {self._model_path}); last lines of {self._log_path}:\n{tail}"
                )
            with contextlib.suppress(httpx.TransportError, ValueError):
                response = await self._http.get(url, timeout=2.0)
                served = [m.get("id") for m in response.json().get("data", [])] if response.status_code == 200 else []
                if self.model in served and proc.poll() is None:
                    return True
            if time.monotonic() > deadline:
                await asyncio.to_thread(_stop_process, proc, _STOP_GRACE_S)
                self._proc = None
                raise ProviderError(
                    f"llama.cpp server did not answer within {self.options.startup_timeout_s:g} s "
                    f"(options.startup_timeout_s); last lines of {self._log_path}:\n{_log_tail(self._log_path)}"
                )
            await asyncio.sleep(0.1)

    async def complete(self, prompt: Prompt, params: RequestParams, deadline_ns: int | None) -> ModelCall:
        return await self._generate(lambda client: client.complete(prompt, params, deadline_ns))

    def depart(self, body: bytes, tap: Tap) -> Departed | None:
        """None: every request goes through `_generate` (one at a time, a dead server restarted), and a local
        model's prompt processing dwarfs the ~0.15 ms an early departure saves."""
        return None

    async def relay(
        self,
        body: bytes,
        prompt: Callable[[], Prompt],
        deadline_ns: int | None,
        tap: Tap,
        departed: Departed | None = None,
    ) -> ModelCall:
        """A chat-completions request a scaffold built, forwarded by the timing proxy (ripsaw.agents.proxy) to the
        started server through the same client as `complete` (`OpenAICompatProvider.relay`): the same wire timing,
        and the same counts (the model's tokenizer on the answer, the prompt's size from the server's last chunk).
        The server is started before the attempt's clock, by the runner, like any llamacpp combo's. A request that
        sets no `max_tokens` (nor `max_completion_tokens`) is sent with the combo's `params.max_tokens`.

        A server that cannot go on fails the call as an endpoint failure (the proxy answers 502, the attempt is an
        infra error); one that died mid-answer is restarted as for `complete`, but the call is not tried again
        when the scaffold already has part of its answer (it would get it twice)."""
        if self.relay_max_tokens is not None:
            request = json.loads(body)  # the proxy has checked it is a JSON object
            if request.get("max_tokens") is None and request.get("max_completion_tokens") is None:
                body = json.dumps({**request, "max_tokens": self.relay_max_tokens}).encode()
        try:
            return await self._generate(lambda client: client.relay(body, prompt, deadline_ns, tap, departed), tap)
        except ComboFailed as e:
            raise ProviderError(str(e)) from e

    async def _generate(self, send: Callable[[Any], Awaitable[ModelCall]], tap: Tap | None = None) -> ModelCall:
        await self.start()
        # One call at a time, queued here rather than in the client: a call that waited while the server died
        # and was restarted must go to the new server's client, not the closed one.
        async with self._turn:
            while True:  # at most twice: _after_death restarts the server once, then raises
                try:
                    if self._proc is None or self._proc.poll() is not None:
                        raise ProviderError("llama.cpp server is not running")
                    call = await send(self._client)
                    break
                except ProviderError:
                    if self._proc is not None and self._proc.poll() is None:
                        raise  # the server is alive: an ordinary failed call
                    await self._after_death()
                    if tap is not None and tap.started:
                        raise
            self._generations += 1
            return call

    async def _after_death(self) -> None:
        """The server died under a call. On its first generation it cannot work at all (a build the CPU cannot
        run, a model it cannot use): one ComboFailed for the whole combo. After it has served, it is restarted
        once; a second death is a ComboFailed too. Calls made after that fail at once with the same error."""
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            code = self._proc.returncode if self._proc is not None else None
            if self._proc is not None:
                _LIVE.discard(self._proc)
            self._proc = None
            if self._generations == 0 or self._restarted:
                when = "a generation, after one restart" if self._restarted else "its first generation"
                self._failure = ComboFailed(self._crash(code, when))
                raise self._failure
            self._restarted = True
            self._generations = 0
            assert self._log_path is not None
            with self._log_path.open("ab") as log:
                log.write(f"\nripsaw: the server died ({code}); restarting it once\n".encode())
            await self._client.aclose()
            self._client = None
            try:
                await self._start()
            except RipsawError as e:
                self._failure = e if isinstance(e, ComboFailed) else ComboFailed(str(e))
                raise self._failure from e

    def _crash(self, returncode: int | None, when: str) -> str:
        tail = _log_tail(self._log_path) if self._log_path else ""
        head = f"combo {self.name!r}: the llama.cpp server died during {when} (model {self._model_path})"
        if returncode is None or returncode >= 0:
            return f"{head}, exit code {returncode}; last lines of {self._log_path}:\n{tail}"
        return f"{head}.\n{crash_message(returncode, inspect_build(), tail)}\n  server log: {self._log_path}"

    async def _count_tokens(self, text: str) -> int | None:
        """Tokens in `text` per the server's tokenizer, BOS included (as the model sees a prompt)."""
        assert self._http is not None and self._base_url is not None
        root = self._base_url.removesuffix("/v1")
        try:
            response = await self._http.post(f"{root}/extras/tokenize/count", json={"input": text})
            response.raise_for_status()
            return int(response.json()["count"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    async def aclose(self) -> None:
        """Close the client and stop the server (SIGTERM, then SIGKILL after a grace period)."""
        if self._client is not None:
            await self._client.aclose()
        if self._http is not None:
            await self._http.aclose()
        if self._proc is not None:
            await asyncio.to_thread(_stop_process, self._proc, _STOP_GRACE_S)
        if self._temp_log_dir is not None and self._failure is None:
            shutil.rmtree(self._temp_log_dir, ignore_errors=True)  # a failed start keeps its log for the user
            self._log_path = None

    def describe(self) -> dict[str, Any]:
        return {
            "provider": "llamacpp",
            "base_url": self._base_url,
            "model": self.model,
            "model_file": self._model_path.name if self._model_path else None,
            "model_sha256": self._model_sha256[:16] if self._model_sha256 else None,
            "threads": self.options.threads,
            "n_ctx": self.options.n_ctx,
            "reuse_prefix": self.options.reuse_prefix,
            "llama_cpp_python": self._llama_cpp_version,
            "server_command": f"python -m llama_cpp.server {shlex.join(self._argv)}" if self._argv else None,
            "startup_s": None if self._startup_s is None else round(self._startup_s, 3),
            "max_concurrency": 1,
            "token_counts": "model tokenizer on the returned text (the server streams no usage)",
        }


class _ServerTokenizer:
    """The model's own tokenizer, through the server's `/extras/tokenize/count` (the stream carries no usage).

    Output counts cover the returned text: tokens of a stop sequence that the server generated and then cut are
    not in it, which matches the timeline (the last token timed is the last one returned)."""

    name = "llama.cpp /extras/tokenize/count"

    def __init__(self, provider: LlamaCppProvider) -> None:
        self._provider = provider

    async def count(self, text: str) -> int | None:
        counted = await self._provider._count_tokens(text)
        return None if counted is None else max(0, counted - self._provider._bos_tokens)

    async def count_prompt(self, prompt: Prompt) -> int | None:
        # A chat prompt goes through the server's template, which we do not reproduce: the server's child sends
        # its size in the stream's last chunk (child.py), and only when that chunk is missing is it unknown.
        return await self._provider._count_tokens(prompt.text) if prompt.mode == "complete" else None


def from_combo(combo: ComboSpec, *, clock: Clock = time.perf_counter_ns) -> LlamaCppProvider:
    where = f"combo {combo.name!r}"
    if combo.base_url:
        raise ConfigError(
            f"{where}: base_url: the llamacpp provider starts its own server; "
            'use provider = "openai" to reach a server that is already running'
        )
    if combo.api_key_env:
        raise ConfigError(f"{where}: api_key_env: the managed loopback server needs no key")
    options = LlamaCppOptions.from_mapping(combo.options, where)
    if options.model_path is None:
        local = models.get(combo.model, f"{where}: model")
        if local.prompt_mode == "complete" and combo.prompt_mode == "chat":
            raise ConfigError(
                f"{where}: prompt_mode: {local.name} is a base model with no chat template; "
                'use prompt_mode = "complete"'
            )
    return LlamaCppProvider(combo.name, combo.model, options, clock=clock, relay_max_tokens=combo.params.max_tokens)


def _child_env() -> dict[str, str]:
    # The child runs this module with `-m`: it must find the same Ripsaw, installed or not.
    root = str(Path(__file__).resolve().parents[3])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
