"""Pareto frontiers: which combos no other combo beats on both a cost axis (latency, dollars) and pass rate.

`frontier()` is generic over labelled (x, y) estimates, so other views plug in by building points: the
standard views below read ComboMetrics; a per-time-budget frontier builds its points from pass@budget(b).

A combo is on the frontier when no other combo is at least as good on both axes and strictly better on one.
A dominated combo whose interval box (x interval × y interval) overlaps that of a frontier combo is marked
"not distinguishable": the data do not show it is worse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ripsaw.analysis.metrics import ComboMetrics, Estimate

Status = Literal["frontier", "not distinguishable", "dominated", "no data"]


@dataclass(frozen=True, slots=True)
class Axis:
    key: str  # stable id used in summary.json, e.g. "latency_p50"
    label: str  # axis title for plots and tables
    unit: str  # "s", "usd", "fraction"
    minimize: bool
    read: Callable[[ComboMetrics], Estimate]

    def better_or_equal(self, a: float, b: float) -> bool:
        return a <= b if self.minimize else a >= b


PASS_RATE = Axis("pass_rate", "pass@1", "fraction", False, lambda m: m.pass_rate)
LATENCY_P50 = Axis("latency_p50", "task latency p50 (s)", "s", True, lambda m: m.latency_p50)
LATENCY_P90 = Axis("latency_p90", "task latency p90 (s)", "s", True, lambda m: m.latency_p90)
COST_PER_TASK = Axis("cost_per_task", "cost per task (USD)", "usd", True, lambda m: m.cost_per_task)

STANDARD_VIEWS: tuple[tuple[Axis, Axis], ...] = (
    (LATENCY_P50, PASS_RATE),
    (LATENCY_P90, PASS_RATE),
    (COST_PER_TASK, PASS_RATE),
)


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    x: Estimate
    y: Estimate
    status: Status = "no data"
    dominated_by: tuple[str, ...] = ()  # frontier combos that dominate this one
    overlaps: tuple[str, ...] = ()  # frontier combos whose interval box overlaps this one's

    def to_dict(self) -> dict[str, Any]:
        return {
            "combo": self.name,
            "x": self.x.to_dict(),
            "y": self.y.to_dict(),
            "status": self.status,
            "dominated_by": list(self.dominated_by),
            "overlaps": list(self.overlaps),
        }


@dataclass(frozen=True, slots=True)
class Frontier:
    x: Axis
    y: Axis
    points: tuple[Point, ...]
    label: str = ""  # e.g. "budget 30 s" for a per-budget frontier

    @property
    def key(self) -> str:
        return f"{self.x.key}_vs_{self.y.key}" + (f"@{self.label}" if self.label else "")

    @property
    def members(self) -> list[Point]:
        """Frontier points, best on x first (fastest / cheapest)."""
        on = [p for p in self.points if p.status == "frontier"]
        sx = 1 if self.x.minimize else -1
        sy = 1 if self.y.minimize else -1
        return sorted(on, key=lambda p: (sx * _v(p.x), sy * _v(p.y)))

    def status_of(self, name: str) -> Status:
        return next((p.status for p in self.points if p.name == name), "no data")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "x": {"metric": self.x.key, "label": self.x.label, "unit": self.x.unit, "minimize": self.x.minimize},
            "y": {"metric": self.y.key, "label": self.y.label, "unit": self.y.unit, "minimize": self.y.minimize},
            "frontier": [p.name for p in self.members],
            "points": [p.to_dict() for p in self.points],
        }


def _v(e: Estimate) -> float:
    assert e.value is not None
    return e.value


def dominates(a: Point, b: Point, x: Axis, y: Axis) -> bool:
    ax, ay, bx, by = _v(a.x), _v(a.y), _v(b.x), _v(b.y)
    return x.better_or_equal(ax, bx) and y.better_or_equal(ay, by) and (ax != bx or ay != by)


def frontier(points: Sequence[tuple[str, Estimate, Estimate]], x: Axis, y: Axis, *, label: str = "") -> Frontier:
    """Classify labelled (x, y) estimates. Points missing either value get status "no data"."""
    have = [Point(n, ex, ey) for n, ex, ey in points if ex.value is not None and ey.value is not None]
    on = [p for p in have if not any(dominates(q, p, x, y) for q in have if q is not p)]
    on_names = {p.name for p in on}
    out: list[Point] = []
    for name, ex, ey in points:
        p = Point(name, ex, ey)
        if ex.value is None or ey.value is None:
            out.append(p)
            continue
        if name in on_names:
            out.append(Point(name, ex, ey, "frontier"))
            continue
        by = tuple(f.name for f in on if dominates(f, p, x, y))
        overlaps = tuple(f.name for f in on if ex.overlaps(f.x) and ey.overlaps(f.y))
        out.append(Point(name, ex, ey, "not distinguishable" if overlaps else "dominated", by, overlaps))
    return Frontier(x, y, tuple(out), label)


def standard_frontiers(metrics: Sequence[ComboMetrics]) -> list[Frontier]:
    return [frontier([(m.name, x.read(m), y.read(m)) for m in metrics], x, y) for x, y in STANDARD_VIEWS]
