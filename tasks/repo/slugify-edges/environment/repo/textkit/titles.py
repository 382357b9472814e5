"""Title case the way editors write it: small words stay lowercase unless they start or end the title."""

from __future__ import annotations

SMALL_WORDS = frozenset(
    "a an and as at but by en for if in nor of on or per the to v vs via".split()
)


def _cap(word: str) -> str:
    if any(ch.isupper() for ch in word[1:]):
        return word  # iPhone, McDonald, NASA: leave as written
    return word[:1].upper() + word[1:]


def titlecase(text: str) -> str:
    words = text.split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if 0 < i < len(words) - 1 and lower in SMALL_WORDS:
            out.append(lower)
        elif "-" in word:
            out.append("-".join(_cap(part) for part in word.split("-")))
        else:
            out.append(_cap(word))
    return " ".join(out)
