"""OpenAI tokenizers offline: the packaged encoding files, checked, equal to tiktoken's own, with no download."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ripsaw.errors import ConfigError
from ripsaw.providers import create_provider
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.providers.tokenizers import Tiktoken, _ranks, ready, tokenizer_for
from ripsaw.types import ComboSpec, Message, Prompt, RequestParams
from tests.refserver import RefServer, Reply

REPO = Path(__file__).resolve().parents[2]
CODE = Path(REPO / "ripsaw" / "tokens.py").read_text()

# In a fresh interpreter with an empty tiktoken cache and no way to open a socket: the ids of a known text.
_OFFLINE = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
from ripsaw.providers.tokenizers import tokenizer_for
print([tokenizer_for(m).encode("def add(a, b):\\n    return a + b\\n") for m in ("gpt-4o", "gpt-4")])
"""


def test_encodings_load_offline_on_a_clean_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIKTOKEN", "DATA_GYM"))}
    env.update(TIKTOKEN_CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _OFFLINE], env=env, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    o200k, cl100k = json.loads(done.stdout)
    assert o200k == [1314, 1147, 6271, 11, 287, 1883, 271, 622, 261, 659, 287, 198]
    assert cl100k == [755, 923, 2948, 11, 293, 997, 262, 471, 264, 489, 293, 198]
    assert not (tmp_path / "cache").exists()  # nothing was downloaded into tiktoken's cache either


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_same_ids_as_tiktokens_own_encoding(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken's registry reads a cached file named by the SHA-1 of its URL; given ours (already checked against
    the SHA-256 tiktoken pins), its own definition of the encoding must tokenize exactly as ours does."""
    import base64

    import tiktoken
    import tiktoken.registry

    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    lines = sorted(_ranks(name).items(), key=lambda kv: kv[1])
    text = "".join(f"{base64.b64encode(token).decode()} {rank}\n" for token, rank in lines)
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_text(text)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    theirs = tiktoken.get_encoding(name)
    ours = Tiktoken(name)
    sample = CODE + "\n<|endoftext|> naïve café → 日本語 1234567 ''' \r\n\t  x"
    assert ours.encode(sample) == theirs.encode(sample, disallowed_special=())


def test_model_names_pick_their_encoding() -> None:
    def name(model: str, choice: str = "auto") -> str | None:
        tokenizer = tokenizer_for(model, choice)
        return None if tokenizer is None else tokenizer.encoding_name

    assert name("gpt-4o") == name("gpt-5-codex") == name("o3-mini") == "o200k_base"
    assert name("gpt-oss-120b") == name("openai/gpt-oss-20b") == "o200k_base"  # harmony: o200k_base's ranks
    assert name("gpt-4") == name("gpt-3.5-turbo") == "cl100k_base"
    assert name("qwen2.5-coder-7b") is None and name("claude-sonnet-4") is None
    assert name("my-deployment", "cl100k_base") == "cl100k_base" and name("gpt-4o", "none") is None
    with pytest.raises(ConfigError, match="unknown tokenizer 'p50k'"):
        tokenizer_for("gpt-4o", "p50k")


def test_the_tokenizer_option_is_checked() -> None:
    combo: Callable[[Any], ComboSpec] = lambda v: ComboSpec(  # noqa: E731
        name="c", provider="openai", model="m", base_url="http://h/v1", options={"tokenizer": v}
    )
    with pytest.raises(ConfigError, match=r"options\.tokenizer: expected one of auto, none, o200k_base"):
        create_provider(combo("gpt2"))
    provider = create_provider(combo("cl100k_base"))
    assert isinstance(provider, OpenAICompatProvider) and provider.describe()["tokenizer"] == "tiktoken cl100k_base"


async def test_without_usage_an_openai_model_is_counted_by_its_tokenizer(refserver: RefServer) -> None:
    tokenizer = tokenizer_for("gpt-4o")
    assert tokenizer is not None
    pieces = tokenizer.pieces(CODE[:2000])
    refserver.script = [Reply(text=pieces, tokens_per_chunk=8, send_usage=False, rate=800)]  # a read per chunk
    prompt = Prompt("chat", messages=(Message("system", "You write code."), Message("user", "Write it.")))
    provider = OpenAICompatProvider(refserver.base_url, "gpt-4o")
    try:
        await provider.start()
        call = await provider.complete(prompt, RequestParams(max_tokens=None), None)
    finally:
        await provider.aclose()
    assert call.usage.source == "tokenizer" and call.usage.completion_tokens == len(pieces)
    # OpenAI's chat format: 3 tokens per message, its role and content, 3 to prime the reply
    assert call.usage.prompt_tokens == 3 + 1 + 4 + 3 + 1 + 3 + 3
    first_read = sum(1 for at in call.timing.chunk_ns[1:] if at == call.timing.first_any_ns)  # 1 on a quiet host
    first = await tokenizer.count("".join(pieces[: 8 * first_read]))
    assert (call.timing.n_first, call.timing.n_first_source) == (first, "tokenizer")


async def test_a_loaded_tokenizer_is_ready_without_leaving_the_event_loop() -> None:
    """Loading goes to a thread once; after that a call must not: resuming from the thread pool at different
    instants is what split calls started together into ones that left alone and the rest."""
    tokenizer = Tiktoken("o200k_base")
    await ready(tokenizer)
    assert tokenizer.loaded
    pending = ready(tokenizer)
    with pytest.raises(StopIteration):  # finished in one step: it never suspended
        pending.send(None)
    await ready(None)
