"""Options that several commands share, defined once so they read the same everywhere."""

from __future__ import annotations

import click

latency_slo = click.option(
    "--slo",
    "latency_slo_s",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Latency SLO for goodput, the share of attempts that pass within it (default: run.latency_slo_s).",
)
