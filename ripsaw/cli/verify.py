"""`ripsaw verify RUN_DIR`: re-judge every stored candidate and re-check costs and timings, trusting no file."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click


@click.command("verify")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
@click.option("--spec", "spec_path", type=click.Path(path_type=Path, dir_okay=False), help="The run's spec, when "
              "it is not at the path the manifest names (relative to where the run was made).")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(run_dir: Path, spec_path: Path | None, no_progress: bool, as_json: bool) -> None:
    """Judge every stored candidate again with the hidden tests, in the sandbox kind the manifest names, and
    compare with the stored outcome; recompute each cost from its usage and prices; check each timing against
    its own per-chunk data. Prints every difference.

    Exit status: 0 everything agrees, 1 a difference, 2 the run or its spec cannot be read.
    """
    from ripsaw.execution.verify import verify

    result = asyncio.run(verify(run_dir, spec_path=spec_path, progress=not no_progress))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for d in result.differences:
            click.echo(f"DIFF  {d.attempt_id}  {d.what}: stored {d.stored!r}, found {d.found!r}")
        verdict = "agrees" if not result.differences else f"{len(result.differences)} difference(s)"
        click.echo(f"{run_dir}: {result.attempts} attempts, {result.rejudged} re-judged: {verdict}")
    if result.differences:
        sys.exit(1)
