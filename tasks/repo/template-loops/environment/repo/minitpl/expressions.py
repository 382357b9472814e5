"""Expressions: a value (name path or literal) followed by filters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from minitpl.errors import TemplateError

_LITERAL_STR = re.compile(r"""^(?:"([^"]*)"|'([^']*)')$""")
_LITERAL_INT = re.compile(r"^-?\d+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$")
_FILTER = re.compile(r"^([a-z_]+)(?:\((.*)\))?$", re.DOTALL)


@dataclass(frozen=True)
class Value:
    literal: Any = None
    path: tuple[str, ...] = ()

    def resolve(self, context: dict[str, Any]) -> Any:
        if not self.path:
            return self.literal
        value: Any = context
        for part in self.path:
            value = _lookup(value, part)
            if value is None:
                return None
        return value


@dataclass(frozen=True)
class Expression:
    value: Value
    filters: tuple[tuple[str, tuple[Value, ...]], ...]


def _lookup(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, (list, tuple)) and key.isdigit():
        index = int(key)
        return value[index] if index < len(value) else None
    if key.startswith("_"):
        return None  # no private attributes from templates
    return getattr(value, key, None)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quote = [], "", ""
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch == sep:
            parts.append(current)
            current = ""
        else:
            current += ch
    if quote:
        raise ValueError("unterminated string")
    parts.append(current)
    return parts


def parse_value(text: str, line: int) -> Value:
    text = text.strip()
    m = _LITERAL_STR.match(text)
    if m:
        return Value(literal=m.group(1) if m.group(1) is not None else m.group(2))
    if _LITERAL_INT.match(text):
        return Value(literal=int(text))
    if _NAME.match(text):
        return Value(path=tuple(text.split(".")))
    raise TemplateError(f"not a value: {text!r}", line)


def parse_expression(text: str, line: int) -> Expression:
    try:
        head, *filters = _split_outside_quotes(text, "|")
    except ValueError as e:
        raise TemplateError(f"{e} in {text!r}", line) from None
    parsed = []
    for f in filters:
        m = _FILTER.match(f.strip())
        if m is None:
            raise TemplateError(f"not a filter: {f.strip()!r}", line)
        args = tuple(parse_value(a, line) for a in _split_outside_quotes(m.group(2), ",")) if m.group(2) else ()
        parsed.append((m.group(1), args))
    return Expression(parse_value(head, line), tuple(parsed))
