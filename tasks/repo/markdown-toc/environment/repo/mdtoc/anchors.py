"""GitHub-style heading anchors."""

from __future__ import annotations

import re

_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: keep the text
    (re.compile(r"`([^`]*)`"), r"\1"),  # code spans
    (re.compile(r"<[^>]+>"), ""),  # html tags
]
_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


def plain_text(text: str) -> str:
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text.replace("*", "").replace("__", "").strip()


def anchor(text: str) -> str:
    """The anchor GitHub gives a heading with this text (before de-duplication)."""
    slug = _DROP.sub("", plain_text(text).lower())
    return slug.replace(" ", "-")
