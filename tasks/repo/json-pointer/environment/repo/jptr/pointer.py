"""RFC 6901: parsing pointers and resolving them in a document."""

from __future__ import annotations

from typing import Any


class PointerError(LookupError):
    pass


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    if "~" in token.replace("~0", "").replace("~1", ""):
        raise PointerError(f"bad escape in {token!r} (only ~0 and ~1 are defined)")
    return token.replace("~0", "~").replace("~1", "/")


def parse(pointer: str) -> list[str]:
    """'/a/b~1c' -> ['a', 'b/c']; '' is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError(f"a pointer starts with '/': {pointer!r}")
    return [unescape(t) for t in pointer[1:].split("/")]


def to_pointer(tokens: list[str]) -> str:
    return "".join("/" + escape(str(t)) for t in tokens)


def array_index(token: str, length: int) -> int:
    """The list index a token names, below `length`."""
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PointerError(f"not an array index: {token!r}")
    index = int(token)
    if index >= length:
        raise PointerError(f"index {index} is out of range (length {length})")
    return index


def step(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        if token not in value:
            raise PointerError(f"no member {token!r}")
        return value[token]
    if isinstance(value, list):
        return value[array_index(token, len(value))]
    raise PointerError(f"cannot step into a {type(value).__name__} with {token!r}")


def resolve(document: Any, pointer: str) -> Any:
    value = document
    for token in parse(pointer):
        value = step(value, token)
    return value
