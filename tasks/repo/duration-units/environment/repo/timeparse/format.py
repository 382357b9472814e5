"""Formatting seconds back into the compact form."""

from __future__ import annotations

from timeparse.units import UNITS


def format_duration(seconds: float, largest: str = "d", smallest: str = "ms") -> str:
    """'1h30m250ms' for 5400.25; units from `largest` down to `smallest`; '0s' for zero."""
    names = list(UNITS)
    if largest not in UNITS or smallest not in UNITS or names.index(largest) > names.index(smallest):
        raise ValueError("largest and smallest must be units, largest first")
    sign = "-" if seconds < 0 else ""
    # Work in integer microseconds so that 0.1 + 0.2 style errors do not leak into the output.
    left = round(abs(seconds) * 1_000_000)
    parts = []
    for name in names[names.index(largest) : names.index(smallest) + 1]:
        size = round(UNITS[name] * 1_000_000)
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{name}")
    return sign + ("".join(parts) or f"0{smallest if smallest in ('s', 'ms', 'us') else 's'}")
