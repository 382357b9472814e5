"""Finding the headings of a Markdown document."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mdtoc.anchors import anchor, plain_text

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # as written (inline markup kept)
    anchor: str
    line: int  # 1-based

    @property
    def title(self) -> str:
        return plain_text(self.text)


def headings(markdown: str) -> list[Heading]:
    found: list[Heading] = []
    lines = markdown.splitlines()
    previous = ""
    for number, line in enumerate(lines, start=1):
        m = _ATX.match(line)
        if m:
            text = (m.group(2) or "").strip()
            found.append(Heading(len(m.group(1)), text, anchor(text), number))
            previous = ""
            continue
        m = _SETEXT.match(line)
        if m and previous.strip() and not _FENCE.match(previous):
            level = 1 if m.group(1).startswith("=") else 2
            found.append(Heading(level, previous.strip(), anchor(previous.strip()), number - 1))
            previous = ""
            continue
        previous = line
    return found
