"""`ripsaw report RUN_DIR [RUN_DIR…]`: the per-combo table, report.html and the exports."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ripsaw.cli import options
from ripsaw.errors import ConfigError

if TYPE_CHECKING:
    from ripsaw.analysis.summary import Summary

# scipy, pandas and matplotlib are imported inside the functions: `ripsaw --help` should not pay for them.


def _text(summary: Summary) -> str:
    from ripsaw.report.table import LEGEND, terminal

    lines = [terminal(summary.combos), "", LEGEND, ""]
    for run in summary.runset.runs:
        box = run.manifest.get("sandbox") or {}
        where = box.get("image") or box.get("isolation") or "?"
        lines.append(
            f"run {run.run_id}: {run.status}; {len(run.attempts)} attempts on {summary.runset.suite.get('count', '?')}"
            f" tasks ({summary.runset.suite.get('source', '?')}); sandbox {box.get('kind', '?')} ({where})"
        )
    lines += ["", summary.headline]
    if summary.detectable is not None:
        lines.append(summary.detectable.sentence)
    for front in summary.frontiers:
        names = ", ".join(p.name for p in front.members) or "—"
        lines.append(f"  frontier {front.x.label} vs {front.y.label}: {names}")
    lines += [f"warning: {w}" for w in summary.warnings]
    return "\n".join(lines)


def show_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    as_json: bool = False,
    write_files: bool = True,
    out: Path | None = None,
    html: bool = True,
    latency_slo_s: float | None = None,
    seed: int | None = None,
    profile_names: Sequence[str] = (),
    profile_files: Sequence[Path] = (),
) -> Summary:
    """Print the table (or summary.json with as_json) and write the report files into `out`.

    `out` defaults to the run directory itself when there is one run; combining runs needs an explicit `out`.
    """
    from ripsaw.analysis.metrics import DEFAULT_SEED
    from ripsaw.analysis.projection import load_profiles, pick
    from ripsaw.analysis.runs import load_runs
    from ripsaw.analysis.summary import summarize
    from ripsaw.report.exports import summary_json
    from ripsaw.report.write import write_report

    if write_files and out is None:
        if len(run_dirs) > 1:
            raise ConfigError("combining several runs needs --out DIR for the combined report")
        out = Path(run_dirs[0])
    profiles = pick(load_profiles(*profile_files), profile_names) if profile_names else []
    summary = summarize(
        load_runs(run_dirs),
        latency_slo_s=latency_slo_s,
        seed=DEFAULT_SEED if seed is None else seed,
        profiles=profiles,
    )
    click.echo(summary_json(summary) if as_json else _text(summary), nl=not as_json)
    if write_files:
        assert out is not None
        written = write_report(summary, out, html=html)
        page = next((p for p in written if p.name == "report.html"), None)
        # stderr with --json, so stdout stays one JSON document
        click.echo(f"report: {page or out / 'summary.md'} (+ {len(written) - 1} files in {out})", err=as_json)
    return summary


@click.command("report")
@click.argument("run_dirs", metavar="RUN_DIR...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout instead of the table.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for report.html and the exports (default: the run directory; required for several).",
)
@click.option("--no-html", is_flag=True, help="Write the exports (CSV, Parquet, JSON, Markdown) but not report.html.")
@options.latency_slo
@click.option("--seed", type=int, help="Seed of the bootstrap intervals (default 0: reports are reproducible).")
@options.profiles
def command(
    run_dirs: tuple[Path, ...],
    as_json: bool,
    out: Path | None,
    no_html: bool,
    latency_slo_s: float | None,
    seed: int | None,
    profile_names: tuple[str, ...],
    profile_files: tuple[Path, ...],
) -> None:
    """Report on one run directory, or combine several scored on the same task suite.

    Prints per combo: attempts, pass@1 with a 95% Wilson interval, p50/p90 task latency, median TTFT, median
    output speed, tokens, cost and outcome counts; writes report.html (Pareto plots, per-task matrix,
    manifest), attempts.csv, attempts.parquet, summary.json and summary.md.

    With --profile, the time-budget curves and the agents' wall times are also re-timed on a hardware profile:
    PROJECTIONS, labelled and kept apart from what was measured.
    """
    show_report(
        run_dirs,
        as_json=as_json,
        out=out,
        html=not no_html,
        latency_slo_s=latency_slo_s,
        seed=seed,
        profile_names=profile_names,
        profile_files=profile_files,
    )
