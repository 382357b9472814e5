"""`ripsaw sweep SPEC --combo NAME`: one combo at rising concurrency, until aggregate throughput stops growing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from ripsaw.execution.sweep import (
    DEFAULT_LEVELS,
    DEFAULT_REQUESTS_PER_LEVEL,
    MIN_GAIN,
    SweepLevel,
    SweepResult,
    find_combo,
    parse_levels,
    run_sweep,
    write_sweep,
)
from ripsaw.names import local_stamp, slug
from ripsaw.providers.streaming import freeze_heap
from ripsaw.spec import load_spec


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


def _row(level: SweepLevel) -> list[str]:
    speed = level.output_speed_median
    return [
        str(level.concurrency),
        f"{level.requests} (+{level.warmup})",
        str(level.failed),
        f"{level.throughput_tok_s:,.1f}",
        "-" if level.gain is None else f"{level.gain:+.1%}",
        "-" if speed is None else f"{speed:,.1f}",
        _ms(level.ttft_p50_s),
        _ms(level.ttft_p90_s),
        _ms(level.ttft_p99_s),
        _ms(level.e2e_p50_s),
        f"{_ms(level.queue_p50_s)}/{_ms(level.queue_p99_s)}",
    ]


_HEADERS = [
    "concurrency",
    "requests (+warm-up)",
    "failed",
    "throughput tok/s",
    "gain",
    "speed/request tok/s",
    "TTFT p50 ms",
    "p90",
    "p99",
    "E2E p50 ms",
    "queue p50/p99 ms",
]


def _table(result: SweepResult) -> str:
    rows = [_HEADERS, *(_row(level) for level in result.levels)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    sources = {level.token_source for level in result.levels}
    if sources - {"server"}:
        lines.append(f"token counts: {', '.join(sorted(sources))} (not all from the server's usage)")
    lines.append("queue: the client's wait before a request left (not in TTFT); it grows when the client is the limit")
    return "\n".join(lines)


@click.command("sweep")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--combo", "combo_name", required=True, help="The combo to sweep (its name in the spec).")
@click.option(
    "--levels",
    default=",".join(map(str, DEFAULT_LEVELS)),
    show_default=True,
    help="Concurrency levels, increasing; the sweep may stop before the last.",
)
@click.option(
    "--requests-per-level",
    type=click.IntRange(min=1),
    default=DEFAULT_REQUESTS_PER_LEVEL,
    show_default=True,
    help="Measured requests per level (at least 2 per concurrent slot are sent).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    help="Warm-up requests per level, recorded but not measured (default: one per concurrent slot).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
def command(
    spec_path: Path, combo_name: str, levels: str, requests_per_level: int, warmup: int | None, as_json: bool
) -> None:
    """Run one combo of SPEC at concurrency 1, 2, 4, 8, ... and report, per level, aggregate throughput,
    per-request output speed and TTFT percentiles, until throughput grows less than 5% or the last level.

    Results go to <run.output_dir>/sweep-<combo>-<time>/sweep.json, warm-up requests included and flagged.
    """
    spec = load_spec(spec_path)
    combo = find_combo(spec, combo_name)
    planned = parse_levels(levels)

    def progress(level: SweepLevel) -> None:
        if not as_json:
            click.echo(
                f"concurrency {level.concurrency}: {level.throughput_tok_s:,.1f} tok/s aggregate"
                f" ({level.requests} requests, {level.failed} failed)",
                err=True,
            )

    freeze_heap()
    result = asyncio.run(
        run_sweep(
            spec,
            combo,
            levels=planned,
            requests_per_level=requests_per_level,
            warmup=warmup,
            min_gain=MIN_GAIN,
            on_level=progress,
        )
    )
    run_dir = Path(spec.run.output_dir) / f"sweep-{slug(combo.name, 'combo')}-{local_stamp()}"
    path = write_sweep(result, run_dir)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        click.echo(f"written: {path}", err=True)
        return
    click.echo(f"sweep of {combo.name!r} ({combo.model}{', ' + combo.hardware if combo.hardware else ''})")
    click.echo(_table(result))
    click.echo(f"stopped: {result.stop_reason}")
    click.echo(f"written: {path}")
