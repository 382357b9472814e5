"""`ripsaw validate SPEC`: check a spec and load its tasks without calling any model."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from ripsaw.providers import create_providers
from ripsaw.shipped import QUICKSTART, shipped_file
from ripsaw.spec import load_spec
from ripsaw.tasks import Task, load_spec_tasks, suite_hash
from ripsaw.types import ComboSpec, EvalSpec


def _as_json(spec: EvalSpec, tasks: list[Task]) -> dict[str, Any]:
    return {
        "ok": True,
        "spec": str(spec.path),
        "name": spec.name,
        "sha256": spec.sha256,
        "combos": [dataclasses.asdict(c) for c in spec.combos],
        "tasks": {**dataclasses.asdict(spec.tasks), "count": len(tasks), "suite_hash": suite_hash(tasks)},
        "run": dataclasses.asdict(spec.run),
    }


def _combo_rows(combos: tuple[ComboSpec, ...]) -> list[str]:
    rows = [
        [
            c.name,
            c.provider,
            c.model,
            c.prompt_mode,
            f"hardware: {c.hardware}" if c.hardware else "",
            c.base_url or "",
            f"key from ${c.api_key_env}" if c.api_key_env else "",
            f"${c.price_in_per_mtok:g}/${c.price_out_per_mtok:g} per Mtok in/out"
            + (f" (cached in ${c.price_cached_in_per_mtok:g})" if c.price_cached_in_per_mtok is not None else "")
            if c.price_in_per_mtok or c.price_out_per_mtok
            else "",
            f"strategy: {c.strategy}" if c.strategy else "",
        ]
        for c in combos
    ]
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True) if w).rstrip() for row in rows]


def _summary(spec: EvalSpec, tasks: list[Task]) -> str:
    t, r = spec.tasks, spec.run
    selection = [
        f"limit {t.limit}" if t.limit else "",
        f"{len(t.ids)} ids" if t.ids else "",
        f"shuffle seed {t.shuffle_seed}" if t.shuffle_seed is not None else "",
    ]
    return "\n".join(
        [
            f"spec    {spec.name}  ({spec.path}, sha256 {spec.sha256[:12]})",
            f"combos  {len(spec.combos)}",
            *_combo_rows(spec.combos),
            "tasks   "
            + "  ".join([t.source, *filter(None, selection)])
            + f"  -> {len(tasks)} tasks, suite {suite_hash(tasks)}",
            f"run     samples {r.samples}  budget {r.budget_s:g} s  strategy {r.strategy}  sandbox {r.sandbox}  "
            f"concurrency {r.concurrency}  output {r.output_dir}",
            "ok",
        ]
    )


async def _check_providers(spec: EvalSpec) -> None:
    """Provider options (llamacpp threads, model file, …) are checked by building each provider, launching nothing."""
    for provider in await create_providers(spec.combos):
        await provider.aclose()


@click.command("validate")
@click.argument("spec_path", metavar="SPEC", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the validated spec as JSON.")
def command(spec_path: Path | None, as_json: bool) -> None:
    """Check SPEC (default: the shipped quickstart) up front: keys, types, ranges, env vars, task files; load its tasks.

    Exit status: 0 valid, 2 invalid (one line naming the file, the key and the problem).
    """
    spec = load_spec(spec_path or shipped_file(QUICKSTART))
    tasks = load_spec_tasks(spec)
    asyncio.run(_check_providers(spec))
    if as_json:
        click.echo(json.dumps(_as_json(spec, tasks), indent=2, default=str))
    else:
        click.echo(_summary(spec, tasks))
