"""Rendering a TOC and putting it between the markers of a document."""

from __future__ import annotations

from mdtoc.headings import Heading, headings

START = "<!-- toc -->"
STOP = "<!-- tocstop -->"


class MarkerError(ValueError):
    pass


def render_toc(items: list[Heading], min_level: int = 1, max_level: int = 6, indent: str = "  ") -> str:
    chosen = [h for h in items if min_level <= h.level <= max_level]
    if not chosen:
        return ""
    top = min(h.level for h in chosen)
    lines = [f"{indent * (h.level - top)}- [{h.title}](#{h.anchor})" for h in chosen]
    return "\n".join(lines) + "\n"


def update_toc(markdown: str, min_level: int = 1, max_level: int = 6) -> str:
    """`markdown` with the text between START and STOP replaced by its TOC (headings inside it ignored)."""
    if markdown.count(START) != 1 or markdown.count(STOP) != 1:
        raise MarkerError(f"expected one {START} and one {STOP}")
    head, rest = markdown.split(START, 1)
    _, tail = rest.split(STOP, 1)
    toc = render_toc(headings(head + tail), min_level, max_level)
    return f"{head}{START}\n\n{toc}\n{STOP}{tail}"
