"""Interactive charts for report.html, built with plotly and drawn in the page by the plotly.js that the plotly
package bundles, inlined once: the page opens with no network.

Every chart is a plotly figure serialized to JSON (`Chart.figure`). One trace per combo, so clicking a legend
entry hides that combo; hovering a point shows its combo, n, value, interval and how it was obtained; budget axes
are logarithmic by default (pass@budget moves in the first seconds) with a button to switch to linear.

The static PNG/SVG exports of the same figures are drawn by matplotlib (plots.py, budget_section.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from ripsaw.analysis import format as fmt
from ripsaw.analysis.agents import AgentMetrics
from ripsaw.analysis.budgets import BASIS_LABELS, BasisView, BudgetAnalysis
from ripsaw.analysis.metrics import ComboMetrics, Estimate, proportion
from ripsaw.analysis.pareto import Frontier
from ripsaw.records import Attempt

# plotly's own qualitative palette, fixed per combo order so a combo keeps its colour across every chart.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # fmt: skip
_FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12, "color": "#24292f"}
_GRID = "#e6e8eb"


@dataclass(frozen=True, slots=True)
class Chart:
    id: str  # DOM id and the stem of its static exports ("pareto_latency_p50")
    title: str
    figure: dict[str, Any]  # plotly JSON: {"data": [...], "layout": {...}}
    export: str = ""  # the file stem of the same figure's PNG and SVG beside the page ("" when there are none)

    def json(self) -> str:
        return _script_safe(json.dumps(self.figure, separators=(",", ":"), allow_nan=False))


def _script_safe(text: str) -> str:
    """JSON inside a <script> element: "</script>" (or "<!--") in a task id or combo name must not end it."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plotly_js() -> str:
    """plotly.js as shipped inside the plotly package (the version its Python API writes JSON for)."""
    from plotly.offline import get_plotlyjs

    return _script_tag_safe(get_plotlyjs())


def _script_tag_safe(js: str) -> str:
    return js.replace("</script", "<\\/script")


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _layout(fig: go.Figure, *, height: int, xtitle: str, ytitle: str, xlog: bool = False) -> None:
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 16, "t": 24, "b": 48},
        font=_FONT,
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel={"align": "left"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    fig.update_xaxes(title_text=xtitle, gridcolor=_GRID, zeroline=False, type="log" if xlog else "linear")
    fig.update_yaxes(title_text=ytitle, gridcolor=_GRID, zeroline=False)


def _figure(fig: go.Figure) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(fig.to_json())
    out["layout"].pop("template", None)  # the default template is ~7 KB per chart of theme the layout overrides
    return out


def _ci(e: Estimate, show: Any = fmt.pct) -> str:
    if e.value is None:
        return fmt.DASH
    if e.lo is None or e.hi is None:
        return str(show(e.value))
    return f"{show(e.value)} [{show(e.lo)} – {show(e.hi)}]"


def _how(e: Estimate) -> str:
    """n and the method, one clause a line (a hover label does not wrap)."""
    parts = [f"n={e.n}", *(p for p in e.method.split("; ") if p)]
    return "<br>   " + "<br>   ".join(parts)


def wide(values: Sequence[float]) -> bool:
    """A log axis when every value is positive and they span more than a factor of 20."""
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) and len(values) > 1 and max(positive) / min(positive) > 20


# -- speed (or cost) against accuracy ----------------------------------------------------------------------


def pareto(front: Frontier, order: Sequence[str]) -> Chart:
    """pass rate against front.x per combo, 95% whiskers both ways, the frontier as a staircase."""
    fig = go.Figure()
    pts = [p for p in front.points if p.x.value is not None and p.y.value is not None]
    show_x = fmt.usd if front.x.unit == "usd" else fmt.secs
    # Labels beside points alternate above and below in x order, so neighbours do not print over each other;
    # past a handful of combos the legend and the hover carry the names instead.
    ranked = sorted(pts, key=lambda p: (p.x.value, p.y.value))
    above = {p.name: i % 2 == 0 for i, p in enumerate(ranked)}
    # Labels of the right-hand points go to their left, so they stay inside the plot.
    side = {p.name: "left" if len(ranked) > 1 and i >= len(ranked) / 2 else "right" for i, p in enumerate(ranked)}
    for p in pts:
        assert p.x.value is not None and p.y.value is not None
        c = colour(order.index(p.name)) if p.name in order else "#57606a"
        hover = (
            f"<b>{p.name}</b> ({p.status})<br>{front.y.label}: {_ci(p.y)}{_how(p.y)}<br>"
            f"{front.x.label}: {_ci(p.x, show_x)}{_how(p.x)}"
        )
        fig.add_trace(
            go.Scatter(
                x=[p.x.value],
                y=[p.y.value * 100],
                name=p.name,
                mode="markers+text" if len(pts) <= 6 else "markers",
                text=[p.name],
                textposition=f"{'top' if above[p.name] else 'bottom'} {side[p.name]}",
                textfont={"color": c},
                marker={
                    "size": 11,
                    "color": c if p.status == "frontier" else "white",
                    "line": {"color": c, "width": 2},
                    "symbol": "circle" if p.status != "not distinguishable" else "diamond",
                },
                error_x=_whisker(p.x, 1.0),
                error_y=_whisker(p.y, 100.0),
                hovertemplate=hover + "<extra></extra>",
            )
        )
    members = front.members
    if len(members) > 1:
        fig.add_trace(
            go.Scatter(
                x=[m.x.value for m in members],
                y=[(m.y.value or 0.0) * 100 for m in members],
                name="frontier",
                mode="lines",
                line={"shape": "hv", "color": "#1f6feb", "width": 1.2, "dash": "dot"},
                hoverinfo="skip",
            )
        )
    xs = [p.x.value for p in pts if p.x.value is not None]
    _layout(fig, height=420, xtitle=front.x.label, ytitle=f"{front.y.label} (%)", xlog=wide(xs))
    fig.update_yaxes(range=[-3, 103])
    missing = [p.name for p in front.points if p not in pts]
    title = f"{front.y.label} vs {front.x.label}"
    if missing:
        title += f" (no data: {', '.join(missing)})"
    return Chart(f"pareto_{front.x.key}", title, _figure(fig), f"pareto_{front.x.key}")


def _whisker(e: Estimate, scale: float) -> dict[str, Any]:
    if e.value is None or e.lo is None or e.hi is None:
        return {"visible": False}
    return {
        "type": "data",
        "symmetric": False,
        "array": [max(0.0, (e.hi - e.value) * scale)],
        "arrayminus": [max(0.0, (e.value - e.lo) * scale)],
        "thickness": 1,
        "width": 3,
    }


# -- distributions ---------------------------------------------------------------------------------------


def latency(names: Sequence[str], attempts: Mapping[str, Sequence[Attempt]]) -> Chart:
    """Scored task times per combo: a box, every attempt a point (hover: task, outcome, model + sandbox)."""
    fig = go.Figure()
    flat: list[float] = []
    for i, name in enumerate(names):
        scored = [a for a in attempts.get(name, ()) if a.outcome.scored]
        xs = [a.task_time_s for a in scored]
        flat += xs
        fig.add_trace(
            go.Box(
                x=xs,
                y=[name] * len(xs),
                name=name,
                orientation="h",
                boxpoints="all",
                jitter=0.5,
                pointpos=0,
                marker={"color": colour(i), "size": 4, "opacity": 0.55},
                line={"color": colour(i)},
                fillcolor="rgba(0,0,0,0)",
                customdata=[[a.task_id, a.outcome.value, a.model_time_s, a.sandbox_time_s] for a in scored],
                hovertemplate=(
                    f"<b>{name}</b> · %{{customdata[0]}}<br>%{{customdata[1]}}, task %{{x:.3g}} s"
                    "<br>model %{customdata[2]:.3g} s + sandbox %{customdata[3]:.3g} s<extra></extra>"
                ),
            )
        )
    _layout(fig, height=max(220, 70 * len(names) + 110), xtitle="task latency (s): model calls + sandbox runs",
            ytitle="", xlog=wide(flat))  # fmt: skip
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=len(names) > 1)
    return Chart("latency", f"Task latency distribution (n = {len(flat)} scored attempts)", _figure(fig), "latency")


def cost(combos: Sequence[ComboMetrics]) -> Chart:
    """Mean cost per task with its bootstrap interval; combos without a known cost are named in the title."""
    fig = go.Figure()
    known = [(i, m) for i, m in enumerate(combos) if m.cost_per_task.value is not None]
    for i, m in known:
        e = m.cost_per_task
        fig.add_trace(
            go.Bar(
                x=[e.value],
                y=[m.name],
                name=m.name,
                orientation="h",
                marker={"color": colour(i)},
                error_x=_whisker(e, 1.0),
                hovertemplate=f"<b>{m.name}</b><br>cost per task: {_ci(e, fmt.usd)}{_how(e)}<extra></extra>",
            )
        )
    _layout(fig, height=max(200, 60 * len(known) + 110), xtitle="mean cost per task (USD)", ytitle="")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=False)
    unknown = [m.name for m in combos if m.cost_per_task.value is None]
    title = "Cost per task (mean, 95% bootstrap interval)" + (
        f"; cost unknown: {', '.join(unknown)}" if unknown else ""
    )
    return Chart("cost", title, _figure(fig), "cost")


# -- time budgets ----------------------------------------------------------------------------------------


_LOG_LINEAR = [
    {
        "type": "buttons",
        "direction": "left",
        "x": 1,
        "xanchor": "right",
        "y": 1.12,
        "yanchor": "top",
        "showactive": True,
        "buttons": [
            {"label": "log budget", "method": "relayout", "args": [{"xaxis.type": "log", "xaxis.autorange": True}]},
            {"label": "linear", "method": "relayout", "args": [{"xaxis.type": "linear", "xaxis.autorange": True}]},
        ],
    }
]


def budget_curves(chart_id: str, export: str, analysis: BudgetAnalysis, view: BasisView, order: Sequence[str]) -> Chart:
    """pass@budget(b) per combo on a log budget axis; hover gives the rate, its Wilson interval and n."""
    fig = go.Figure()
    end = analysis.max_budget_s
    low = end
    for c in view.curves:
        i = order.index(c.combo) if c.combo in order else len(order)
        xs = [s.budget_s for s in c.steps] + [c.max_budget_s]
        steps = [*c.steps, c.steps[-1]]
        low = min([low, *(x for x in xs if x > 0)])
        text = []
        for s in steps:
            e = proportion(s.passed, s.n)
            text.append(f"{s.passed}/{s.n} = {_ci(e)}")
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[100 * (s.rate or 0.0) for s in steps],
                name=c.combo,
                mode="lines",
                line={
                    "shape": "hv",
                    "color": colour(i),
                    "width": 2,
                    "dash": "dash" if analysis.projection else "solid",
                },
                customdata=text,
                hovertemplate=(
                    f"<b>{c.combo}</b><br>budget %{{x:.3g}} s: pass@budget %{{customdata}}"
                    "<br>(Wilson 95%)<extra></extra>"
                ),
            )
        )
    if view.crossovers:
        fig.add_trace(
            go.Scatter(
                x=[x.at_s for x in view.crossovers],
                y=[100 * (view.curve(x.leader).at(x.at_s).rate or 0.0) for x in view.crossovers],
                name="crossovers",
                mode="markers",
                marker={"symbol": "x", "size": 9, "color": "#24292f"},
                customdata=[f"{x.leader} overtakes {x.overtaken}" for x in view.crossovers],
                hovertemplate="%{customdata} at %{x:.3g} s<extra></extra>",
            )
        )
    exact = min((c.exact_until_s for c in view.curves), default=end)
    if exact < end:
        fig.add_vrect(x0=max(exact, low), x1=end, fillcolor="#8b949e", opacity=0.12, line_width=0,
                      annotation_text="recorded candidates only", annotation_position="top left")  # fmt: skip
    title = f"pass@budget, {BASIS_LABELS[view.basis]}"
    if analysis.projection is not None:
        title = f"{analysis.label}: {title}"
    _layout(fig, height=400, xtitle="budget per task (s)", ytitle="pass@budget (%)", xlog=True)
    fig.update_yaxes(range=[-3, 103])
    # Log by default, starting a little before the first candidate: at 0 s nothing has passed yet.
    fig.update_xaxes(range=[math.log10(max(low, 1e-3) / 1.5), math.log10(end * 1.05)])
    fig.update_layout(updatemenus=_LOG_LINEAR, margin={"t": 40})
    return Chart(chart_id, title, _figure(fig), export)


def time_to_solve(chart_id: str, export: str, analysis: BudgetAnalysis, view: BasisView, order: Sequence[str]) -> Chart:
    """Kaplan–Meier share solved by t per combo with its 95% band (hidden with its combo from the legend)."""
    fig = go.Figure()
    end = analysis.max_budget_s
    low = end
    for k in view.time_to_solve:
        i = order.index(k.combo) if k.combo in order else len(order)
        xs = [*k.times, end]
        low = min([low, *(x for x in xs if x > 0)])
        ys = [*(100 * s for s in k.solved), 100 * (k.solved[-1] if k.solved else 0.0)]
        if any(v is not None for v in k.lo):
            lo = [100 * (v if v is not None else s) for v, s in zip(k.lo, k.solved, strict=True)]
            hi = [100 * (v if v is not None else s) for v, s in zip(k.hi, k.solved, strict=True)]
            for band, fill in ((lo, "none"), (hi, "tonexty")):
                fig.add_trace(
                    go.Scatter(
                        x=xs,
                        y=[*band, band[-1]] if band else [0.0],
                        mode="lines",
                        line={"shape": "hv", "width": 0, "color": colour(i)},
                        fill=fill,
                        fillcolor=_rgba(colour(i), 0.14),
                        legendgroup=k.combo,
                        showlegend=False,
                        hoverinfo="skip",
                    )
                )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                name=f"{k.combo} (n={k.n})",
                legendgroup=k.combo,
                mode="lines",
                line={"shape": "hv", "color": colour(i), "width": 2},
                hovertemplate=f"<b>{k.combo}</b><br>solved by %{{x:.3g}} s: %{{y:.1f}}%<br>Kaplan–Meier, n={k.n}"
                "<extra></extra>",
            )
        )
    title = f"time to solve, {BASIS_LABELS[view.basis]}"
    if analysis.projection is not None:
        title = f"{analysis.label}: {title}"
    _layout(fig, height=400, xtitle="time per task (s)", ytitle="solved by t (%)", xlog=True)
    fig.update_yaxes(range=[-3, 103])
    fig.update_xaxes(range=[math.log10(max(low, 1e-3) / 1.5), math.log10(end * 1.05)])
    fig.update_layout(updatemenus=_LOG_LINEAR, margin={"t": 40})
    return Chart(chart_id, title, _figure(fig), export)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# -- agents ------------------------------------------------------------------------------------------------


def agent_time_split(agents: Sequence[AgentMetrics]) -> Chart:
    """Where each combo's agent time went, stacked: model generation, the commands, Ripsaw's own overhead."""
    fig = go.Figure()
    names = [m.combo for m in agents]
    for part, colour_, values in (
        ("model", "#4c72b0", [m.model_s for m in agents]),
        ("tools", "#dd8452", [m.tool_s for m in agents]),
        ("overhead", "#8c8c8c", [m.overhead_s for m in agents]),
    ):
        shares = [v / m.wall_s if m.wall_s else 0.0 for v, m in zip(values, agents, strict=True)]
        fig.add_trace(
            go.Bar(
                x=shares,
                y=names,
                name=part,
                orientation="h",
                marker={"color": colour_},
                customdata=values,
                hovertemplate=f"{part}: %{{x:.1%}} of wall time (%{{customdata:.4g}} s in all)<extra>%{{y}}</extra>",
            )
        )
    fig.update_layout(barmode="stack")
    _layout(fig, height=max(200, 60 * len(names) + 110), xtitle="share of agent wall time", ytitle="")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return Chart("agent_time", "Where agent time went: model, tools, overhead", _figure(fig), "")


def agent_pass_at_budget(agents: Sequence[AgentMetrics]) -> Chart:
    """The share of attempts whose workspace passed at each budget mark (anytime scoring), with 95% intervals."""
    fig = go.Figure()
    for i, m in enumerate(agents):
        xs = [r.budget_s for r in m.marks]
        ys = [r.rate.value for r in m.marks]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                name=m.combo,
                mode="lines+markers",
                line={"color": colour(i), "shape": "hv"},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(r.rate.hi or 0) - (r.rate.value or 0) for r in m.marks],
                    "arrayminus": [(r.rate.value or 0) - (r.rate.lo or 0) for r in m.marks],
                    "thickness": 1,
                },
                customdata=[[_ci(r.rate), _how(r.rate)] for r in m.marks],
                hovertemplate=(
                    f"<b>{m.combo}</b><br>at %{{x:.4g}} s: %{{customdata[0]}}%{{customdata[1]}}<extra></extra>"
                ),
            )
        )
    _layout(fig, height=320, xtitle="budget (s): the workspace as the agent left it by then", ytitle="pass rate")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return Chart("agent_budget", "Agent pass rate at each budget mark (anytime scoring)", _figure(fig), "")


def agent_pareto(agents: Sequence[AgentMetrics]) -> Chart:
    """pass@1 against median time-to-solve per agent combo, 95% intervals both ways (combos that solved nothing
    have no time-to-solve and sit at the left edge, marked)."""
    fig = go.Figure()
    solved = [m.time_to_solve.value for m in agents if m.time_to_solve.value is not None]
    edge = min(solved) if solved else 1.0
    for i, m in enumerate(agents):
        t, p = m.time_to_solve, m.pass_at_1
        x = t.value if t.value is not None else edge
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[p.value],
                name=m.combo,
                mode="markers",
                marker={"color": colour(i), "size": 11, "symbol": "circle" if t.value is not None else "x"},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(p.hi or 0) - (p.value or 0)],
                    "arrayminus": [(p.value or 0) - (p.lo or 0)],
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [(t.hi or x) - x],
                    "arrayminus": [x - (t.lo or x)],
                },
                customdata=[[_ci(p), _ci(t, fmt.secs), _how(p)]],
                hovertemplate=(
                    f"<b>{m.combo}</b><br>pass@1 %{{customdata[0]}}<br>time-to-solve p50 %{{customdata[1]}}"
                    "%{customdata[2]}<extra></extra>"
                ),
            )
        )
    _layout(fig, height=340, xtitle="median time-to-solve (s), solved attempts", ytitle="pass@1", xlog=wide(solved))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return Chart("agent_pareto", "Agents: pass@1 against median time-to-solve (95% intervals)", _figure(fig), "")
