"""`ripsaw gate RUN_DIR`: pass or fail a build on a run's metrics and on regression against a baseline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ripsaw.analysis.comparability import FIELDS
from ripsaw.cli import options
from ripsaw.errors import ConfigError


def _write(path: Path, text: str, *, append: bool) -> None:
    try:
        with path.open("a" if append else "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise ConfigError(f"{path}: cannot write: {e.strerror}") from None


@click.command("gate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    metavar="RUN_DIR",
    help="Fail on a significant pass-rate drop (and, with --latency-margin, latency rise) against this run.",
)
@click.option("--min-pass-rate", type=float, metavar="X", help="Minimum pass@1, a fraction (0.6 = 60%).")
@click.option("--use-lower-bound", is_flag=True, help="Compare the 95% Wilson lower bound, not the point estimate.")
@click.option("--max-p90-latency", type=float, metavar="S", help="Maximum p90 task latency, seconds.")
@click.option("--max-cost-per-task", type=float, metavar="USD", help="Maximum mean cost per task, USD.")
@click.option(
    "--min-goodput",
    type=float,
    metavar="X",
    help="Minimum share of attempts that pass within the latency SLO (run.latency_slo_s or --slo).",
)
@options.latency_slo
@click.option(
    "--margin",
    type=float,
    metavar="PTS",
    help="Allowed pass-rate drop against the baseline, percentage points (default 0).",
)
@click.option(
    "--latency-margin",
    type=float,
    metavar="PCT",
    help="Also fail on a significant rise of the median task latency against the baseline beyond PCT percent.",
)
@click.option("--alpha", type=float, help="Significance level of the regression tests (default 0.05).")
@click.option("--combo", "combos", multiple=True, metavar="NAME", help="Gate only this combo (repeatable).")
@click.option(
    "--junit",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write JUnit XML, one testcase per check.",
)
@click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help='Append a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY").',
)
@click.option("--allow-incomplete", is_flag=True, help="Gate a run that is still running or was interrupted.")
@click.option(
    "--allow-mismatch",
    "allow_mismatch",
    multiple=True,
    metavar="FIELD",
    help="Compare with a baseline that differs in this comparability field (repeatable; the output says so). "
    f"Fields: {', '.join(FIELDS)}.",
)
def command(
    run_dir: Path,
    baseline: Path | None,
    min_pass_rate: float | None,
    use_lower_bound: bool,
    max_p90_latency: float | None,
    max_cost_per_task: float | None,
    min_goodput: float | None,
    latency_slo_s: float | None,
    margin: float | None,
    latency_margin: float | None,
    alpha: float | None,
    combos: tuple[str, ...],
    junit: Path | None,
    summary: Path | None,
    allow_incomplete: bool,
    allow_mismatch: tuple[str, ...],
) -> None:
    """Check RUN_DIR against thresholds (flags, or the [gate] table of the run's spec; flags win).

    Exit status: 0 all checks passed, 1 a check failed, 2 usage or data error (including a check that
    cannot be evaluated, such as a pass rate with no scored attempts).
    """
    # Imported here so `ripsaw --help` does not load scipy and matplotlib.
    from ripsaw.analysis.comparability import check_allow
    from ripsaw.analysis.runs import load_runs
    from ripsaw.analysis.summary import summarize
    from ripsaw.gate import GateConfig, evaluate, junit_xml, markdown_summary, text_summary

    runs = load_runs([run_dir])
    run = runs.runs[0]
    if run.status != "complete" and not allow_incomplete:
        raise ConfigError(
            f"{run_dir}: run is {run.status}, not complete; finish it (re-run the spec to resume) "
            "or pass --allow-incomplete"
        )
    spec = run.manifest.get("spec") or {}
    cfg = GateConfig.from_table(spec.get("gate") or {}, f"{run_dir}/manifest.json spec")
    cfg = cfg.override(
        min_pass_rate=min_pass_rate,
        use_lower_bound=use_lower_bound,
        max_p90_latency=max_p90_latency,
        max_cost_per_task=max_cost_per_task,
        min_goodput=min_goodput,
        margin=margin,
        latency_margin=latency_margin,
        alpha=alpha,
    ).validated("command line")
    current = summarize(runs, latency_slo_s=latency_slo_s)
    base = summarize(load_runs([baseline]), latency_slo_s=latency_slo_s) if baseline else None
    result = evaluate(current, cfg, baseline=base, combos=combos, allow_mismatch=check_allow(allow_mismatch))
    click.echo(text_summary(result))
    if junit:
        _write(junit, junit_xml(result), append=False)
    if summary:
        _write(summary, markdown_summary(result), append=True)
    sys.exit(result.exit_code)
