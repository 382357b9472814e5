"""RFC 6902: applying a JSON Patch (a list of operations) to a copy of a document."""

from __future__ import annotations

import copy
from typing import Any

from jptr.pointer import PointerError, array_index, parse, resolve, step


class PatchError(ValueError):
    def __init__(self, message: str, index: int) -> None:
        super().__init__(f"operation {index}: {message}")
        self.index = index


def _parent(document: Any, tokens: list[str]) -> tuple[Any, str]:
    if not tokens:
        raise PointerError("the operation needs a path below the root")
    parent = document
    for token in tokens[:-1]:
        parent = step(parent, token)
    return parent, tokens[-1]


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(document, tokens)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(array_index(last, len(parent) + 1), value)  # inserting at len(parent) appends
    else:
        raise PointerError(f"cannot add to a {type(parent).__name__}")
    return document


def _remove(document: Any, tokens: list[str]) -> tuple[Any, Any]:
    parent, last = _parent(document, tokens)
    if isinstance(parent, dict):
        if last not in parent:
            raise PointerError(f"no member {last!r} to remove")
        return document, parent.pop(last)
    if isinstance(parent, list):
        return document, parent.pop(array_index(last, len(parent)))
    raise PointerError(f"cannot remove from a {type(parent).__name__}")


def _apply_one(document: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    if "path" not in op:
        raise PointerError("missing 'path'")
    tokens = parse(op["path"])
    if kind == "add":
        return _add(document, tokens, copy.deepcopy(op["value"]))
    if kind == "remove":
        return _remove(document, tokens)[0]
    if kind == "replace":
        resolve(document, op["path"])  # must exist
        if not tokens:
            return copy.deepcopy(op["value"])
        document, _ = _remove(document, tokens)
        return _add(document, tokens, copy.deepcopy(op["value"]))
    if kind in ("move", "copy"):
        source = parse(op["from"])
        if kind == "move" and tokens[: len(source)] == source and tokens != source:
            raise PointerError("cannot move a value into itself")
        value = copy.deepcopy(resolve(document, op["from"]))
        if kind == "move":
            document, _ = _remove(document, source)
        return _add(document, tokens, value)
    if kind == "test":
        if resolve(document, op["path"]) != op["value"]:
            raise PointerError(f"test failed at {op['path']}")
        return document
    raise PointerError(f"unknown op {kind!r}")


def apply_patch(document: Any, patch: list[dict[str, Any]]) -> Any:
    """The patched copy of `document`; PatchError names the failing operation (the original is untouched)."""
    result = copy.deepcopy(document)
    for index, op in enumerate(patch):
        try:
            result = _apply_one(result, op)
        except (PointerError, KeyError) as e:
            raise PatchError(str(e), index) from None
    return result
