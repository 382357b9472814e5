"""The `ripsaw` command: a click group with one module per subcommand."""

from __future__ import annotations

import sys
from typing import Any

import click

from ripsaw import __version__
from ripsaw.errors import RipsawError


class _Group(click.Group):
    """Prints RipsawError as one line (no traceback) and exits with its code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RipsawError as e:
            click.echo(f"ripsaw: error: {e}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ripsaw")
def main() -> None:
    """Measure coding models on speed and accuracy together."""


# One module per subcommand, each exposing `command`.
_COMMANDS = (
    "validate",
    "run",
    "report",
    "sandbox",
    "gate",
    "leaderboard",
    "budget",
    "sweep",
    "models",
    "doctor",
    "verify",
    "tasks",
)


def _register() -> None:
    import importlib

    for name in _COMMANDS:
        main.add_command(importlib.import_module(f"ripsaw.cli.{name}").command)


_register()
