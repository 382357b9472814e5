"""URL slugs."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Letters that do not decompose into an ASCII base letter plus a combining mark.
_SPECIAL = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"}


def fold(text: str) -> str:
    """Lowercase ASCII approximation of `text` (é -> e, ß -> ss)."""
    text = text.lower()
    text = "".join(_SPECIAL.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def slugify(text: str, max_length: int = 80, separator: str = "-") -> str:
    """A slug: folded words joined by `separator`, at most `max_length` characters, cut at a word boundary."""
    slug = _NON_WORD.sub(separator, fold(text))
    slug = slug.lstrip(separator)
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut.rsplit(separator, 1)[0] if separator in cut else cut[:max_length]
    return slug


def unique_slug(text: str, taken: set[str], max_length: int = 80) -> str:
    """`slugify(text)`, with -2, -3, ... appended until it is not in `taken`."""
    base = slugify(text, max_length) or "item"
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: max_length - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1
