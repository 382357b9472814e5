"""Route patterns: '/users/<int:user_id>/posts/<slug>' compiled to a regex with converters."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"<(?:(?P<kind>int|path|str):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"-?\d+", int),
    "path": (r".+", str),
}


@dataclass(frozen=True)
class Pattern:
    text: str
    regex: re.Pattern[str]
    converters: dict[str, Callable[[str], Any]]

    def match(self, path: str) -> dict[str, Any] | None:
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        return {name: self.converters[name](value) for name, value in m.groupdict().items()}


def compile_pattern(text: str) -> Pattern:
    if not text.startswith("/"):
        raise ValueError(f"route patterns start with '/': {text!r}")
    regex = ""
    converters: dict[str, Callable[[str], Any]] = {}
    pos = 0
    for m in _PARAM.finditer(text):
        regex += re.escape(text[pos : m.start()])
        kind, name = m.group("kind") or "str", m.group("name")
        if name in converters:
            raise ValueError(f"parameter {name!r} appears twice in {text!r}")
        part, convert = _CONVERTERS[kind]
        regex += f"(?P<{name}>{part})"
        converters[name] = convert
        pos = m.end()
    regex += re.escape(text[pos:])
    return Pattern(text, re.compile(regex), converters)
