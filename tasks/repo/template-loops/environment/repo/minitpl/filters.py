"""The filters a template may use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Markup(str):
    """Text that is already safe HTML."""


def _default(value: Any, fallback: Any = "") -> Any:
    return fallback if value in (None, "") else value


FILTERS: dict[str, Callable[..., Any]] = {
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: str(v).lower(),
    "title": lambda v: str(v).title(),
    "length": lambda v: len(v) if v is not None else 0,
    "default": _default,
    "safe": lambda v: Markup("" if v is None else str(v)),
}
