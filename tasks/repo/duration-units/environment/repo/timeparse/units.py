"""Unit names and sizes in seconds, largest first."""

UNITS = {
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
    "us": 0.000001,
}
ALIASES = {
    "weeks": "w", "week": "w", "days": "d", "day": "d", "hours": "h", "hour": "h", "hr": "h",
    "minutes": "m", "minute": "m", "min": "m", "seconds": "s", "second": "s", "sec": "s",
    "milliseconds": "ms", "millisecond": "ms", "microseconds": "us", "microsecond": "us", "µs": "us",
}
ORDER = list(UNITS)  # largest to smallest


def canonical(unit: str) -> str:
    """The unit's short name: aliases by table, other spellings ("hrs", "mins", "secs") by their first letter."""
    unit = unit.lower()
    return ALIASES.get(unit, unit[:1])
