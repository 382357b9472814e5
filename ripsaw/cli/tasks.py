"""`ripsaw tasks`: work with task suites (`ripsaw tasks validate SOURCE`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm


@click.group("tasks")
def command() -> None:
    """Work with task suites."""


@command.command("validate")
@click.argument("source", metavar="SOURCE")
@click.option("--ids", "ids", multiple=True, help="Only these task ids (repeatable).")
@click.option("--runs", default=2, show_default=True, type=click.IntRange(1, 10),
              help="Runs of the solution: a test that passes in some and fails in others is flaky.")  # fmt: skip
@click.option("-j", "--jobs", default=2, show_default=True, type=click.IntRange(1, 32),
              help="Tasks validated at once.")  # fmt: skip
@click.option("--repo-cache", type=click.Path(exists=True, file_okay=False),
              help="swebench: a directory of repository clones to make workspaces from.")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def validate_command(
    source: str, ids: tuple[str, ...], runs: int, jobs: int, repo_cache: str | None, no_progress: bool, as_json: bool
) -> None:
    """Prove every repository task of SOURCE (`repo:PATH`, `swebench:DATASET`, or a directory of task directories)
    sound, in Docker: the untouched workspace fails every fail_to_pass test and passes every pass_to_pass test; the
    task's solution/solve.sh (for swebench: the gold patch) passes them all, --runs times (a flaky test is named).
    A task without [ripsaw] test ids is checked by its tests/test.sh reward instead.

    Exit status: 0 every task is valid, 1 a task is not (one line per problem), 2 the tasks cannot be loaded.
    """
    from ripsaw.errors import ConfigError
    from ripsaw.sandboxes.workspace import Workspaces
    from ripsaw.tasks import RepoTests, load_tasks
    from ripsaw.types import TasksSpec
    from ripsaw.verdict.repo import RepoJudge, validate_all

    spec = TasksSpec(source=source if ":" in source else f"repo:{source}", ids=ids, repo_cache=repo_cache)
    tasks = load_tasks(spec)
    if not tasks or not all(isinstance(t.tests, RepoTests) for t in tasks):
        raise ConfigError(f"{source}: validate checks repository tasks (repo:PATH); this source has other tasks")
    spaces = Workspaces("tasks-validate")
    bar = tqdm(total=len(tasks), desc="validate", unit="task", disable=no_progress, file=sys.stderr)
    try:
        judges = [RepoJudge(t, spaces) for t in tasks]
        results = asyncio.run(validate_all(judges, runs=runs, concurrency=jobs, done=lambda _: bar.update(1)))
    finally:
        bar.close()
        spaces.close()
    bad = [v for v in results if not v.ok]
    if as_json:
        out: list[dict[str, Any]] = [
            {"task": v.task_id, "ok": v.ok, "problems": v.problems, "duration_s": round(v.duration_s, 3)}
            for v in results
        ]
        click.echo(json.dumps(out, indent=2))
    else:
        for v in bad:
            for problem in v.problems:
                click.echo(f"INVALID  {v.task_id}: {problem}")
        total = sum(v.duration_s for v in results)
        click.echo(f"{len(results) - len(bad)} of {len(results)} task(s) valid ({total:.1f} s of validation)")
    if bad:
        sys.exit(1)


@command.command("forge")
@click.argument("requirement", metavar="PACKAGE==VERSION")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory the task directories are written into (one per kept mutation).")  # fmt: skip
@click.option("--n", "n", default=20, show_default=True, type=click.IntRange(1, 500), help="Tasks wanted.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same tasks (byte for byte).")
@click.option("--max-tries", default=0, type=click.IntRange(0, 10000),
              help="Mutations tried at most (default: 8 per task wanted).")  # fmt: skip
@click.option("--tests", "tests_dir", default=None, help="The sdist's test directory (default: found).")
@click.option("--index-url", default="https://pypi.org/simple", show_default=True,
              help="A PyPI-style simple index (JSON API) the sdist comes from.")  # fmt: skip
@click.option("--requirements", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="What the tests need beyond pytest (e.g. hypothesis): a requirements file pinning every "
                   "package with its hash (the host downloads the wheels, each task image installs them).")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def forge_command(
    requirement: str,
    out: Path,
    n: int,
    seed: int,
    max_tries: int,
    tests_dir: str | None,
    index_url: str,
    requirements: Path | None,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Make repository tasks from a real package: download its sdist, run its tests in a workspace box, inject one
    small bug (a mutation of a function the tests use) per task, keep the mutations some tests catch, and write
    each as a task directory under --out (instruction from the failing test, hidden tests, solution).

    Check the result with `ripsaw tasks validate OUT`. Exit status: 0 done (even with fewer than --n tasks; the
    summary says how many), 2 bad input or nothing to forge from.
    """
    from ripsaw.tasks.forge import ForgeOptions, forge

    opts = ForgeOptions(n=n, seed=seed, max_tries=max_tries, index_url=index_url, requirements=requirements)
    bar = tqdm(total=n, desc=f"forge {requirement}", unit="task", disable=no_progress or as_json, file=sys.stderr)

    def progress(kept: int, tried: int) -> None:
        bar.n = kept
        bar.set_postfix(tried=tried, refresh=False)
        bar.refresh()

    def log(line: str) -> None:
        if not no_progress:
            tqdm.write(line, file=sys.stderr)

    out.mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(forge(requirement, out, opts, tests_dir=tests_dir, log=log, progress=progress))
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    rejected = ", ".join(f"{v} {k}" for k, v in sorted(result.rejected.items())) or "none"
    click.echo(
        f"{requirement}: {len(result.kept)} task(s) kept of {result.tried} mutation(s) tried "
        f"({result.candidates} candidates; rejected: {rejected}); {result.tests_passing} of "
        f"{result.tests_collected} tests pass offline, the suite takes {result.suite_s:.1f} s; "
        f"{result.duration_s:.0f} s in all; written to {out}"
    )
