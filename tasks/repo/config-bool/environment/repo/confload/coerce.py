"""Turning the strings that files and environment variables hold into typed values."""

from __future__ import annotations

import re

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def to_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE or value == "":
        return False
    raise ValueError(f"not a boolean: {text!r} (use one of {', '.join(sorted(_TRUE | _FALSE))})")


def to_list(text: str) -> list[str]:
    """Comma-separated items; blank items dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def to_duration(text: str) -> float:
    """Seconds from '250ms', '30s', '5m', '2h', '1d' or a bare number of seconds."""
    m = _DURATION.match(text)
    if m is None:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def to_int(text: str) -> int:
    value = text.strip().replace("_", "")
    try:
        return int(value, 0) if value.lower().startswith(("0x", "0o", "0b")) else int(value)
    except ValueError:
        raise ValueError(f"not an integer: {text!r}") from None


def to_float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


COERCERS = {bool: to_bool, int: to_int, float: to_float, list: to_list, str: str, "duration": to_duration}


def coerce(kind: object, text: str) -> object:
    try:
        fn = COERCERS[kind]  # type: ignore[index]
    except KeyError:
        raise TypeError(f"no coercion for {kind!r}") from None
    return fn(text)
