"""report.html, its figures and the exports, written from a Summary."""

from __future__ import annotations

from pathlib import Path

from ripsaw.analysis.summary import Summary
from ripsaw.report.budget_section import sections
from ripsaw.report.exports import write_exports
from ripsaw.report.html import build_plots, render_html


def write_report(summary: Summary, out: Path, *, html: bool = True) -> list[Path]:
    """Write the exports and, unless html=False, report.html with its plots as PNG files beside it."""
    written = write_exports(summary, out)
    if html:
        figures = build_plots(summary)
        budgets = sections(summary.runset.runs)
        for p in [*figures, *(plot for section in budgets for plot in section.figures)]:
            path = out / f"{p.name}.png"
            path.write_bytes(p.png)
            written.append(path)
        page = out / "report.html"
        page.write_text(render_html(summary, figures, budgets), encoding="utf-8")
        written.append(page)
    return written
