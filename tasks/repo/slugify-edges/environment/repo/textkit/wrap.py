"""Truncation and wrapping that keep words whole."""

from __future__ import annotations

ELLIPSIS = "…"


def truncate(text: str, length: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` cut to at most `length` characters at a word boundary, ending in `ellipsis` when cut."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    room = length - len(ellipsis)
    if room <= 0:
        return ellipsis[:length]
    cut = text[: room + 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    else:
        cut = cut[:room]
    return cut.rstrip(" ,;:") + ellipsis


def wrap(text: str, width: int) -> list[str]:
    """Greedy wrapping; a word longer than `width` gets a line of its own."""
    if width < 1:
        raise ValueError("width must be positive")
    lines: list[str] = []
    line = ""
    for word in text.split():
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines
