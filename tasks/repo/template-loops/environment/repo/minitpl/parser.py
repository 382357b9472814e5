"""Tokens to a node tree."""

from __future__ import annotations

from minitpl.errors import TemplateError
from minitpl.expressions import parse_expression
from minitpl.lexer import Token
from minitpl.nodes import If, Node, Output, Text


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> list[Node]:
        nodes, end = self._block(())
        if end is not None:
            raise TemplateError(f"unexpected {{% {end.value} %}}", end.line)
        return nodes

    def _block(self, stops: tuple[str, ...]) -> tuple[list[Node], Token | None]:
        """Nodes up to a tag whose first word is in `stops` (returned, consumed), or the end (None)."""
        nodes: list[Node] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            self.pos += 1
            if token.kind == "text":
                nodes.append(Text(token.value))
            elif token.kind == "output":
                nodes.append(Output(parse_expression(token.value, token.line), token.line))
            else:
                word = token.value.split(None, 1)[0] if token.value else ""
                if word in stops:
                    return nodes, token
                if word == "if":
                    nodes.append(self._if(token))
                else:
                    raise TemplateError(f"unknown tag {word!r}", token.line)
        return nodes, None

    def _if(self, start: Token) -> If:
        node = If(line=start.line)
        condition = parse_expression(start.value[2:].strip(), start.line)
        while True:
            body, end = self._block(("elif", "else", "endif"))
            if end is None:
                raise TemplateError("{% if %} without {% endif %}", start.line)
            node.branches.append((condition, body))
            word = end.value.split(None, 1)[0]
            if word == "elif":
                condition = parse_expression(end.value[4:].strip(), end.line)
                continue
            if word == "else":
                node.otherwise, end = self._block(("endif",))
                if end is None:
                    raise TemplateError("{% if %} without {% endif %}", start.line)
            return node
