"""Report figures, drawn by matplotlib: SVG text to inline in HTML, PNG bytes for READMEs and PR comments.

Figures are built on `matplotlib.figure.Figure` directly (no pyplot): no global state, no GUI backend.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ripsaw.analysis.metrics import ComboMetrics, Estimate, priced
from ripsaw.analysis.pareto import Frontier, Point
from ripsaw.analysis.summary import Summary
from ripsaw.records import Attempt

_STATUS_STYLE = {
    "frontier": {"color": "#1f6feb", "mfc": "#1f6feb"},
    "not distinguishable": {"color": "#d97706", "mfc": "white"},
    "dominated": {"color": "#8b949e", "mfc": "white"},
}
# Text stays text in the SVG (searchable, selectable, small); ids are salted so output is reproducible.
_RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ripsaw",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True, slots=True)
class Plot:
    name: str  # file stem: "pareto_latency_p50"
    title: str
    svg: str  # an <svg> element, ready to inline
    png: bytes


def report_figures(summary: Summary) -> list[Plot]:
    """The PNG/SVG exports of report.html's own charts, by the same rules: Pareto plots only with more than one
    combo to choose between, cost ones only when some combo costs more than $0."""
    several = sum(1 for m in summary.combos if m.scored) > 1
    paid = priced(summary.combos)
    out = [
        render(f"pareto_{f.x.key}", f"{f.y.label} vs {f.x.label}", pareto(f))
        for f in summary.frontiers
        if several and (paid or f.x.unit != "usd")
    ]
    names = [m.name for m in summary.combos]
    out.append(render("latency", "Task latency distribution", latency_distribution(names, summary.attempts_by_combo())))
    if paid:
        out.append(render("cost", "Cost per task", cost(summary.combos)))
    return out


def render(name: str, title: str, fig: Figure) -> Plot:
    with matplotlib.rc_context(_RC):
        svg_buf = io.BytesIO()
        fig.savefig(svg_buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
        png_buf = io.BytesIO()
        fig.savefig(png_buf, format="png", dpi=150, bbox_inches="tight")
    svg = svg_buf.getvalue().decode("utf-8")
    return Plot(name, title, svg[svg.index("<svg") :], png_buf.getvalue())


def _new(width: float, height: float) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _wide(values: Sequence[float]) -> bool:
    """Log scale when values are positive and span more than a factor of 20."""
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) and len(values) > 1 and max(positive) / min(positive) > 20


def _err(e: Estimate, scale: float = 1.0) -> list[list[float]]:
    assert e.value is not None
    if e.lo is None or e.hi is None:
        return [[0.0], [0.0]]
    return [[max(0.0, (e.value - e.lo) * scale)], [max(0.0, (e.hi - e.value) * scale)]]


def pareto(front: Frontier) -> Figure:
    """Scatter of (x, pass rate) with interval whiskers, labels and the frontier as a staircase."""
    with matplotlib.rc_context(_RC):
        fig, ax = _new(7.5, 4.6)
        pts = [p for p in front.points if p.status != "no data"]
        # Labels alternate above and below the points in x order, so close neighbours do not print over each other.
        above = {p.name: i % 2 == 0 for i, p in enumerate(sorted(pts, key=lambda p: (_xv(p), _yv(p))))}
        for p in pts:
            assert p.x.value is not None and p.y.value is not None
            style = _STATUS_STYLE[p.status]
            ax.errorbar(
                p.x.value,
                p.y.value * 100,
                xerr=_err(p.x),
                yerr=_err(p.y, 100),
                fmt="o",
                ms=7,
                color=style["color"],
                mfc=style["mfc"],
                mew=1.5,
                capsize=3,
                elinewidth=1,
                label=None,
            )
            ax.annotate(
                p.name,
                (p.x.value, p.y.value * 100),
                xytext=(6, 6) if above[p.name] else (6, -12),
                textcoords="offset points",
                color=style["color"],
            )
        members = front.members
        if len(members) > 1:
            xs = [_xv(p) for p in members]
            ys = [_yv(p) * 100 for p in members]
            ax.step(xs, ys, where="post", color=_STATUS_STYLE["frontier"]["color"], lw=1.2, alpha=0.6)
        if pts and _wide([_xv(p) for p in pts]):
            ax.set_xscale("log")
        ax.set_xlabel(front.x.label)
        ax.set_ylabel(f"{front.y.label} (%)")
        ax.set_ylim(-3, 103)
        if not pts:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#8b949e")
        missing = [p.name for p in front.points if p.status == "no data"]
        if missing:
            fig.text(0.01, 0.005, f"no data: {', '.join(missing)}", fontsize=7, color="#8b949e")
        handles = [
            Line2D([], [], marker="o", ls="", color=s["color"], mfc=s["mfc"], label=status)
            for status, s in _STATUS_STYLE.items()
            if any(p.status == status for p in pts)
        ]
        if handles:
            ax.legend(handles=handles, loc="lower right", frameon=False)
        ax.grid(alpha=0.25)
    return fig


def _xv(p: Point) -> float:
    assert p.x.value is not None
    return p.x.value


def _yv(p: Point) -> float:
    assert p.y.value is not None
    return p.y.value


def latency_distribution(names: Sequence[str], attempts: Mapping[str, Sequence[Attempt]]) -> Figure:
    """Box plot of scored task times per combo, every attempt drawn as a dot over it."""
    with matplotlib.rc_context(_RC):
        fig, ax = _new(7.5, max(2.2, 0.55 * len(names) + 1.2))
        data = [[a.task_time_s for a in attempts.get(n, ()) if a.outcome.scored] for n in names]
        have = [i for i, d in enumerate(data) if d]
        if have:
            ax.boxplot(
                [data[i] for i in have],
                positions=have,
                orientation="horizontal",
                widths=0.5,
                showfliers=False,
                medianprops={"color": "#1f6feb"},
            )
            rng = np.random.default_rng(0)  # jitter only; fixed so the picture is reproducible
            for i in have:
                ax.scatter(data[i], i + rng.uniform(-0.15, 0.15, len(data[i])), s=8, alpha=0.5, color="#57606a")
            flat = [v for i in have for v in data[i]]
            if _wide(flat):
                ax.set_xscale("log")
        else:
            ax.text(0.5, 0.5, "no scored attempts", transform=ax.transAxes, ha="center", va="center")
        ax.set_yticks(range(len(names)), [f"{n} (n={len(d)})" for n, d in zip(names, data, strict=True)])
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.invert_yaxis()
        ax.set_xlabel("task latency (s): model calls + sandbox runs")
        ax.grid(axis="x", alpha=0.25)
    return fig


def cost(combos: Sequence[ComboMetrics]) -> Figure:
    """Mean cost per task with its bootstrap interval; combos without a known cost are labelled, not drawn."""
    with matplotlib.rc_context(_RC):
        fig, ax = _new(7.5, max(2.2, 0.5 * len(combos) + 1.2))
        for i, m in enumerate(combos):
            e = m.cost_per_task
            if e.value is None:
                ax.text(0, i, "  cost unknown", va="center", color="#8b949e")
                continue
            ax.barh(i, e.value, color="#1f6feb", alpha=0.8, height=0.5)
            if e.has_interval and e.value > 0:
                ax.errorbar(e.value, i, xerr=_err(e), fmt="none", color="#24292f", capsize=3)
        ax.set_yticks(range(len(combos)), [m.name for m in combos])
        ax.set_ylim(-0.7, max(len(combos), 1) - 0.3)
        ax.invert_yaxis()
        values = [m.cost_per_task.value for m in combos if m.cost_per_task.value is not None]
        tops = [m.cost_per_task.hi or m.cost_per_task.value or 0.0 for m in combos]
        if values and max(values) == 0:
            ax.set_xlim(0, 1)
            ax.text(
                0.5,
                0.5,
                "every combo costs $0 per task (local or unpriced)",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="#57606a",
            )
        elif values:
            ax.set_xlim(0, max(tops) * 1.15)
        ax.set_xlabel("mean cost per task (USD)")
        ax.grid(axis="x", alpha=0.25)
    return fig
