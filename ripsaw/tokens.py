"""Token-count estimate for endpoints that report no `usage`.

The estimate imitates a GPT-style byte-pair tokenizer (cl100k-like) without its vocabulary:

1. The text is cut into pre-tokenizer pieces the way those tokenizers do it: a word with one leading space
   or symbol, runs of up to 3 digits, a symbol run with one leading space, a run of whitespace.
2. A piece costs one token, except pieces a BPE vocabulary rarely holds whole: a word costs one token per
   started 6 ASCII letters plus one per non-ASCII character (2-4 bytes the vocabulary splits), a symbol run
   one per started 3 symbols.

It is deterministic and independent of what is installed, so the same reply gets the same estimate on
every host; records carry `source="estimated"` so reports can tell it from a server count. Expect errors of
tens of percent against any real tokenizer (real tokenizers differ among themselves by as much), so an
estimated speed is not comparable finely with a server-counted one.
"""

from __future__ import annotations

import re

# One group per piece kind, tried in the order a cl100k pre-tokenizer tries them.
_PIECES = re.compile(
    r"('(?:s|t|re|ve|m|ll|d))"  # 1: English contractions
    r"|((?:[^\r\n\w]|_)?[^\W\d_]+)"  # 2: a word, with one leading space or symbol ("_close", ".append")
    r"|(\d{1,3})"  # 3: digits, in groups of up to three
    r"|( ?(?:[^\s\w]|_)+[\r\n]*)"  # 4: symbols and operators, with one leading space
    r"|(\s*[\r\n]+|\s+(?!\S)|\s+)",  # 5: line breaks (with trailing blanks); indentation; other whitespace
    re.IGNORECASE,
)
_WORD, _SYMBOLS = 2, 4

_WORD_LETTERS_PER_TOKEN = 6
_SYMBOLS_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """Estimated number of tokens in `text` (0 for an empty string)."""
    n = 0
    for m in _PIECES.finditer(text):
        kind = m.lastindex
        if kind == _WORD:
            word = m.group()
            if word.isascii():
                letters = len(word) if word[0].isalpha() else len(word) - 1
                n += -(-letters // _WORD_LETTERS_PER_TOKEN)
            else:
                ascii_letters = sum(1 for c in word if c.isascii() and c.isalpha())
                n += -(-ascii_letters // _WORD_LETTERS_PER_TOKEN) + sum(1 for c in word if not c.isascii())
        elif kind == _SYMBOLS:
            n += -(-len(m.group().strip()) // _SYMBOLS_PER_TOKEN)
        else:
            n += 1
    return n
