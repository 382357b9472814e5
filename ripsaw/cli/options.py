"""Options that several commands share, defined once so they read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

latency_slo = click.option(
    "--slo",
    "latency_slo_s",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Latency SLO for goodput, the share of attempts that pass within it (default: run.latency_slo_s).",
)


def _list_profiles(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from ripsaw.analysis.projection import load_profiles

    files = ctx.params.get("profile_files") or ()
    for p in load_profiles(*files).values():
        click.echo(f"{p.name:<24} {p.summary:<32} {p.source}")
    ctx.exit()


def profiles(command: Callable[..., Any]) -> Callable[..., Any]:
    """--profile NAME (repeatable), --profiles FILE, --list-profiles: hardware what-ifs, labelled projections."""
    for option in reversed(
        [
            click.option(
                "--profile",
                "profile_names",
                multiple=True,
                metavar="NAME",
                help="Also project the run onto this hardware profile (repeatable). Projections are labelled as such.",
            ),
            click.option(
                "--profiles",
                "profile_files",
                type=click.Path(path_type=Path, dir_okay=False),
                multiple=True,
                is_eager=True,
                metavar="FILE",
                help="Extra hardware profiles (TOML, same format as the shipped file).",
            ),
            click.option(
                "--list-profiles",
                is_flag=True,
                expose_value=False,
                callback=_list_profiles,
                help="List the known hardware profiles and exit.",
            ),
        ]
    ):
        command = option(command)
    return command
