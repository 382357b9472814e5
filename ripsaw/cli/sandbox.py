"""`ripsaw sandbox build|status`: the Docker sandbox image."""

from __future__ import annotations

import json

import click

from ripsaw.sandboxes import image


@click.group("sandbox")
def command() -> None:
    """Build and inspect the Docker sandbox image."""


@command.command("build")
@click.option(
    "--offline", "mode", flag_value="offline", help="Debootstrap the base from a Debian mirror (no registry)."
)
@click.option("--online", "mode", flag_value="online", help="Use python:3.11-slim from a registry.")
@click.option("--force", is_flag=True, help="Rebuild even when the expected tag exists.")
@click.option(
    "--workspace",
    is_flag=True,
    help="Build the workspace image instead (git and pytest: what repository tasks and agents run in).",
)
def build(mode: image.BuildMode | None, force: bool, workspace: bool) -> None:
    """Build the sandbox image (skipped when its tag already exists).

    Without --offline/--online: the registry base when it can be pulled, else the offline path.
    """
    client = image.connect()
    try:
        recipe = image.WORKSPACE if workspace else image.SANDBOX
        result = image.build_image(client, mode=mode or "auto", force=force, recipe=recipe)
    finally:
        client.close()
    click.echo(f"{result.tag} {result.id}")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Engine version and the sandbox image's tag, id and digest. Exit 1 when Docker sandboxes are unusable."""
    st = image.status()
    if as_json:
        click.echo(json.dumps(st.to_dict(), indent=2))
    else:
        click.echo(f"engine:  {st.engine or 'unavailable: ' + str(st.engine_error)}")
        click.echo(
            f"image:   {st.image.tag} ({'present' if st.image.present else 'missing: run `ripsaw sandbox build`'})"
        )
        if st.image.present:
            click.echo(f"id:      {st.image.id}")
            click.echo(f"digests: {', '.join(st.image.repo_digests) or 'none (built locally)'}")
            click.echo(f"base:    {st.image.base}")
            click.echo(f"created: {st.image.created}")
    if st.engine is None or not st.image.present:
        raise SystemExit(1)
