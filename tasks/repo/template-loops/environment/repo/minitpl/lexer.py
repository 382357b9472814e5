"""Splitting a template into text, {{ output }} and {% tag %} tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass

from minitpl.errors import TemplateError

_TOKEN = re.compile(r"({{.*?}}|{%.*?%})", re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str  # "text", "output", "tag"
    value: str  # the text, or the stripped inside of the braces
    line: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    for part in _TOKEN.split(source):
        if not part:
            continue
        if part.startswith("{{"):
            tokens.append(Token("output", part[2:-2].strip(), line))
        elif part.startswith("{%"):
            tokens.append(Token("tag", part[2:-2].strip(), line))
        else:
            if "{{" in part or "{%" in part:
                raise TemplateError("unclosed {{ or {%", line + part[: part.find("{")].count("\n"))
            tokens.append(Token("text", part, line))
        line += part.count("\n")
    return tokens
