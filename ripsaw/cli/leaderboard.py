"""`ripsaw leaderboard RUN_DIR… --out DIR`: a static site ranking the combos of several runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("leaderboard")
@click.argument("run_dirs", metavar="RUN_DIR...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for index.html, leaderboard.json and leaderboard.csv.",
)
@click.option(
    "--allow-mixed",
    is_flag=True,
    help="Merge runs scored on different task suites or made by different ripsaw versions (flagged).",
)
@click.option(
    "--allow-mismatch",
    "allow_mismatch",
    multiple=True,
    metavar="FIELD",
    help="Rank combos whose runs differ in this comparability field (repeatable; the page says so). Fields: "
    "prompt, extraction_rules, timing_definitions, results_schema, sandbox_image, sandbox_limits, budgets.",
)
def command(run_dirs: tuple[Path, ...], out: Path, allow_mixed: bool, allow_mismatch: tuple[str, ...]) -> None:
    """Merge runs into a static leaderboard: one row per combo with pass rate ± interval, latency, speed, cost,
    frontier membership and provenance. Refuses runs on different task suites or harness versions unless
    --allow-mixed, and combos asked or scored differently (another prompt, rule, timing definition, sandbox image
    or budget) unless --allow-mismatch names the field."""
    # Imported here so `ripsaw --help` does not load scipy and matplotlib.
    from ripsaw.analysis.comparability import check_allow
    from ripsaw.analysis.runs import load_runs
    from ripsaw.analysis.summary import summarize
    from ripsaw.leaderboard import build, comparable

    runs = load_runs(
        run_dirs,
        allow_mixed=allow_mixed,
        same_harness=True,
        mixed_hint="; pass --allow-mixed to merge them anyway (the page says so)",
    )
    allowed = comparable(runs, check_allow(allow_mismatch))
    paths = build(summarize(runs), out, allowed_mismatches=allowed)
    click.echo(f"leaderboard: {paths[0]} ({len(runs.runs)} runs)")
