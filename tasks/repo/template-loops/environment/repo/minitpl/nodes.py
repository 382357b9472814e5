"""The parsed template: a tree of nodes that render against a context."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from minitpl.errors import TemplateError
from minitpl.expressions import Expression
from minitpl.filters import FILTERS, Markup


def evaluate(expr: Expression, context: dict[str, Any], line: int) -> Any:
    value = expr.value.resolve(context)
    for name, args in expr.filters:
        fn = FILTERS.get(name)
        if fn is None:
            raise TemplateError(f"unknown filter {name!r}", line)
        value = fn(value, *(a.resolve(context) for a in args))
    return value


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value))


class Node:
    def render(self, context: dict[str, Any], out: list[str]) -> None:
        raise NotImplementedError


@dataclass
class Text(Node):
    text: str

    def render(self, context: dict[str, Any], out: list[str]) -> None:
        out.append(self.text)


@dataclass
class Output(Node):
    expr: Expression
    line: int

    def render(self, context: dict[str, Any], out: list[str]) -> None:
        out.append(to_text(evaluate(self.expr, context, self.line)))


@dataclass
class If(Node):
    branches: list[tuple[Expression, list[Node]]] = field(default_factory=list)
    otherwise: list[Node] = field(default_factory=list)
    line: int = 0

    def render(self, context: dict[str, Any], out: list[str]) -> None:
        for condition, body in self.branches:
            if evaluate(condition, context, self.line):
                render_all(body, context, out)
                return
        render_all(self.otherwise, context, out)


def render_all(nodes: list[Node], context: dict[str, Any], out: list[str]) -> None:
    for node in nodes:
        node.render(context, out)
