"""How figures are written for people: one place, so the terminal, Markdown, HTML and gate agree.

Every formatter takes None (an undefined figure) and writes it as an em dash; none ever prints "nan".
"""

from __future__ import annotations

import math

from ripsaw.analysis.metrics import Estimate

DASH = "—"


def _val(x: Estimate | float | int | None) -> float | None:
    v = x.value if isinstance(x, Estimate) else x
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def pct(x: Estimate | float | None, digits: int = 1) -> str:
    v = _val(x)
    return DASH if v is None else f"{v * 100:.{digits}f}%"


def pct_ci(e: Estimate, digits: int = 1) -> str:
    """ "40.0% [25.1–56.7]"; the bracket only when there is an interval."""
    if e.value is None:
        return DASH
    if e.lo is None or e.hi is None:
        return pct(e, digits)
    return f"{pct(e, digits)} [{e.lo * 100:.{digits}f}–{e.hi * 100:.{digits}f}]"


def secs(x: Estimate | float | None) -> str:
    v = _val(x)
    if v is None:
        return DASH
    if v == 0:
        return "0 s"
    if abs(v) < 1:
        return f"{v * 1000:.3g} ms"
    return f"{v:.3g} s" if abs(v) < 1000 else f"{v:,.0f} s"


def secs_ci(e: Estimate) -> str:
    if e.value is None or e.lo is None or e.hi is None:
        return secs(e)
    return f"{secs(e)} [{secs(e.lo)}–{secs(e.hi)}]"


def usd(x: Estimate | float | None) -> str:
    v = _val(x)
    if v is None:
        return DASH
    if v == 0:
        return "$0"
    # three significant digits without scientific notation: API costs per task are often fractions of a cent
    decimals = max(2, 2 - math.floor(math.log10(abs(v))))
    return f"${v:,.{decimals}f}"


def speed(x: Estimate | float | None) -> str:
    v = _val(x)
    return DASH if v is None else f"{v:.1f} tok/s"


def count(x: float | int | None) -> str:
    v = _val(x)
    if v is None:
        return DASH
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.1f}"


def points(diff: float) -> str:
    """A pass-rate difference in percentage points: "7 pts", "0.5 pts"."""
    v = abs(diff) * 100
    return f"{v:.0f} pts" if v >= 1 else f"{v:.1g} pts"


def ratio(r: float) -> str:
    return f"{r:.1f}×" if r < 10 else f"{r:,.0f}×"


# Short outcome names for narrow tables, in taxonomy order.
OUTCOME_ABBREV = {
    "passed": "pass",
    "failed": "fail",
    "error": "err",
    "timeout": "tmo",
    "resource_limit": "res",
    "syntax_error": "syn",
    "no_code": "nocode",
    "budget_exceeded": "budget",
    "infra_error": "infra",
}


def outcomes_short(outcomes: dict[str, int]) -> str:
    parts = [f"{OUTCOME_ABBREV.get(k, k)} {v}" for k, v in outcomes.items() if v]
    return " ".join(parts) if parts else DASH
