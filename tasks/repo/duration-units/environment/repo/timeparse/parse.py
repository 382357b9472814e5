"""Parsing: compact ('1h30m'), ISO 8601 ('PT1H30M', 'P2DT4H') and clock ('01:30:00') forms."""

from __future__ import annotations

import re

from timeparse.units import ORDER, UNITS, canonical

_NUMBER = r"\d+(?:\.\d+)?"
_COMPONENT = re.compile(rf"\s*({_NUMBER})\s*([a-zA-Zµ]+)\s*")
_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_CLOCK = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)(?:\.(\d+))?$")


class DurationError(ValueError):
    pass


def parse(text: str) -> float:
    """Seconds in `text`; DurationError naming the problem otherwise."""
    original = text
    text = text.strip()
    if not text:
        raise DurationError("empty duration")
    negative = text.startswith("-")
    if negative:
        text = text[1:].lstrip()
    if text.upper().startswith("P"):
        seconds = _parse_iso(text.upper(), original)
    elif ":" in text:
        seconds = _parse_clock(text, original)
    elif re.fullmatch(_NUMBER, text):
        seconds = float(text)
    else:
        seconds = _parse_compact(text, original)
    return -seconds if negative else seconds


def _parse_compact(text: str, original: str) -> float:
    pos = 0
    total = 0.0
    last_rank = -1
    while pos < len(text):
        m = _COMPONENT.match(text, pos)
        if m is None:
            raise DurationError(f"cannot read {original!r} at {text[pos:]!r}")
        unit = canonical(m.group(2))
        if unit not in UNITS:
            raise DurationError(f"unknown unit {m.group(2)!r} in {original!r}")
        rank = ORDER.index(unit)
        if rank <= last_rank:
            raise DurationError(f"units must go from largest to smallest, each once: {original!r}")
        last_rank = rank
        total += float(m.group(1)) * UNITS[unit]
        pos = m.end()
    return total


def _parse_iso(text: str, original: str) -> float:
    m = _ISO.match(text)
    if m is None or not any(m.groupdict().values()) or text.endswith("T"):
        raise DurationError(f"not an ISO 8601 duration: {original!r}")
    parts = {k: float(v) for k, v in m.groupdict().items() if v is not None}
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def _parse_clock(text: str, original: str) -> float:
    m = _CLOCK.match(text)
    if m is None:
        raise DurationError(f"not a clock duration (H:MM:SS or MM:SS): {original!r}")
    hours, minutes, seconds, fraction = m.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        total += float("0." + fraction)
    return float(total)
