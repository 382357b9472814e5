"""report.html, its figures and the exports, written from a Summary."""

from __future__ import annotations

from pathlib import Path

from ripsaw.analysis.summary import Summary
from ripsaw.report.budget_section import sections
from ripsaw.report.exports import write_exports
from ripsaw.report.html import build_charts, render_html
from ripsaw.report.plots import report_figures


def write_report(summary: Summary, out: Path, *, html: bool = True) -> list[Path]:
    """Write the exports and, unless html=False, report.html with each figure as PNG and SVG files beside it."""
    written = write_exports(summary, out)
    if html:
        budgets = sections(summary.runset.runs, summary.profiles, measured=summary.measured_budgets())
        for p in [*report_figures(summary), *(plot for section in budgets for plot in section.figures)]:
            for path, data in ((out / f"{p.name}.png", p.png), (out / f"{p.name}.svg", p.svg.encode("utf-8"))):
                path.write_bytes(data)
                written.append(path)
        page = out / "report.html"
        page.write_text(render_html(summary, build_charts(summary), budgets), encoding="utf-8")
        written.append(page)
    return written
