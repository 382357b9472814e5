"""The public entry point: compile once, render many times."""

from __future__ import annotations

from typing import Any

from minitpl.lexer import tokenize
from minitpl.nodes import render_all
from minitpl.parser import Parser


class Template:
    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes = Parser(tokenize(source)).parse()

    def render(self, context: dict[str, Any] | None = None, **values: Any) -> str:
        data = dict(context or {})
        data.update(values)
        out: list[str] = []
        render_all(self.nodes, data, out)
        return "".join(out)
