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
def command(run_dirs: tuple[Path, ...], out: Path, allow_mixed: bool) -> None:
    """Merge runs into a static leaderboard: one row per combo with pass rate ± interval, latency, speed, cost,
    frontier membership and provenance. Refuses runs on different task suites or harness versions unless
    --allow-mixed."""
    # Imported here so `ripsaw --help` does not load scipy and matplotlib.
    from ripsaw.analysis.runs import load_runs
    from ripsaw.analysis.summary import summarize
    from ripsaw.leaderboard import build

    runs = load_runs(
        run_dirs,
        allow_mixed=allow_mixed,
        same_harness=True,
        mixed_hint="; pass --allow-mixed to merge them anyway (the page says so)",
    )
    paths = build(summarize(runs), out)
    click.echo(f"leaderboard: {paths[0]} ({len(runs.runs)} runs)")
