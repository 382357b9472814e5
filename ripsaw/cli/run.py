"""`ripsaw run SPEC`: run an eval spec and print the results table."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from ripsaw.execution.executor import EXECUTORS
from ripsaw.execution.runner import RunResult, default_run_id, run_eval
from ripsaw.names import local_stamp
from ripsaw.providers.streaming import freeze_heap
from ripsaw.shipped import QUICKSTART, shipped_file
from ripsaw.spec import load_spec


async def _run_cancellable(run: Coroutine[Any, Any, RunResult]) -> RunResult:
    """Turn SIGTERM into cancellation so a terminated run closes its servers and marks the manifest."""
    task = asyncio.ensure_future(run)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


@click.command("run")
@click.argument("spec_path", metavar="SPEC", required=False, type=click.Path(path_type=Path))
@click.option("--run-id", help="Run directory name (default: spec name + spec hash [+ -limitN], so reruns resume).")
@click.option("--fresh", is_flag=True, help="Start a new run directory instead of resuming the spec's last one.")
@click.option(
    "--output-dir", type=click.Path(path_type=Path), help="Parent of run directories (default: run.output_dir)."
)
@click.option("--sandbox", type=click.Choice(["auto", "process", "docker"]), help="Override run.sandbox.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Only the first N tasks (after ids/shuffle); a run directory of its own.",
)
@click.option("--executor", metavar="NAME", help='Override run.executor: "local" (this process) or "ray" (a cluster).')
@click.option(
    "--ray-address",
    metavar="ADDR",
    help='The Ray cluster to run on ("auto": the one this machine belongs to; default: a local one); implies '
    "--executor ray.",
)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON instead of a table.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print per combo the attempts, tokens and most it can cost, and run nothing (no call, no server).",
)
def command(
    spec_path: Path | None,
    run_id: str | None,
    fresh: bool,
    output_dir: Path | None,
    sandbox: str | None,
    limit: int | None,
    executor: str | None,
    ray_address: str | None,
    no_progress: bool,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Run SPEC (default: the quickstart shipped with Ripsaw, evals/quickstart.toml): every combo on every task.

    Re-running the same spec resumes its run directory: finished attempts are kept, infra errors retried.
    Exit status: 0 run complete, 1 attempts left with infra errors or a combo stopped (re-run to retry them),
    2 bad spec or usage, 3 stopped at run.max_cost_usd (finished attempts kept), 130 interrupted.
    """
    spec = load_spec(spec_path or shipped_file(QUICKSTART))
    name = run_id or spec.run.run_id or default_run_id(spec, limit=limit)
    if limit is not None:
        spec = dataclasses.replace(spec, tasks=dataclasses.replace(spec.tasks, limit=limit))
    if ray_address is not None:
        if executor not in (None, "ray"):
            raise click.UsageError(f"--ray-address is for --executor ray, not {executor!r}")
        executor = "ray"
        spec = dataclasses.replace(spec, run=dataclasses.replace(spec.run, executor_address=ray_address))
    if executor is not None:
        if executor not in EXECUTORS:
            raise click.BadParameter(EXECUTORS.unknown(executor), param_hint="--executor")
        spec = dataclasses.replace(spec, run=dataclasses.replace(spec.run, executor=executor))
    if dry_run:
        _dry_run(spec, as_json)
        return
    base = output_dir or Path(spec.run.output_dir)
    if fresh:
        name = f"{name}-{local_stamp()}"
    run_dir = base / name
    click.echo(f"run directory: {run_dir}", err=True)
    freeze_heap()
    try:
        result = asyncio.run(_run_cancellable(run_eval(spec, run_dir, progress=not no_progress, sandbox_name=sandbox)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo(f"interrupted; finished attempts are saved in {run_dir}; run the same command to resume", err=True)
        sys.exit(130)
    if result.skipped:
        click.echo(f"resumed: {result.skipped} attempts were already recorded (use --fresh for a new run)", err=True)
    from ripsaw.cli.report import show_report

    show_report([run_dir], as_json=as_json, write_files=True)
    if result.capped_at_usd is not None:
        click.echo(
            f"stopped at run.max_cost_usd = {spec.run.max_cost_usd:g}: ${result.capped_at_usd:.4f} recorded; "
            "finished attempts are kept (raise the cap and run the same command to go on)",
            err=True,
        )
        sys.exit(3)
    for name, why in result.failed_combos.items():
        click.echo(f"combo {name!r} stopped, none of its remaining attempts scored:\n{why}", err=True)
    if result.failed_combos:
        sys.exit(1)
    if result.infra_errors:
        click.echo(
            f"{result.infra_errors} attempts ended in infra_error (not scored); run the same command to retry them",
            err=True,
        )
        sys.exit(1)


def _dry_run(spec: Any, as_json: bool) -> None:
    import json

    from ripsaw.analysis import format as fmt
    from ripsaw.execution.plan import plan
    from ripsaw.report.table import text_table

    plans = plan(spec)
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in plans], indent=2))
        return
    rows = [
        (
            p.combo,
            str(p.attempts),
            str(p.calls_at_most),
            f"{p.input_tokens:,}",
            "no bound (max_tokens unset)" if p.output_tokens_at_most is None else f"≤ {p.output_tokens_at_most:,}",
            "—" if p.cost_usd_at_most is None else f"≤ {fmt.usd(p.cost_usd_at_most)}",
            p.token_source,
        )
        for p in plans
    ]
    headers = ("combo", "attempts", "calls ≤", "input tokens", "output tokens", "cost", "counted by")
    click.echo(text_table(headers, rows))
    total = [p.cost_usd_at_most for p in plans]
    if all(c is not None for c in total):
        click.echo(f"at most {fmt.usd(sum(c for c in total if c is not None))} for the run; nothing was sent")
    if spec.run.max_cost_usd is not None:
        click.echo(f"run.max_cost_usd = {spec.run.max_cost_usd:g}: the run stops issuing calls once it is reached")
