"""The starter task suite against the reference server, with every verdict known in advance: a spec of scripted
combos, and the script that answers them."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from ripsaw.spec import load_spec
from ripsaw.types import EvalSpec
from tests.refserver import RefServer, Reply

STARTER = Path(__file__).resolve().parents[2] / "tasks" / "starter.jsonl"
TASKS = [json.loads(line) for line in STARTER.read_text().splitlines() if line.strip()]
WRONG = {"starter/1", "starter/4"}


def scripted(**reply: Any) -> Any:
    """The reference solution for every task, except a wrong body for WRONG: every verdict is known."""
    answers = {}
    for t in TASKS:
        code = t["prompt"] + "    return None\n" if t["id"] in WRONG else t["canonical_solution"]
        answers[t["prompt"]] = f"```python\n{code}```\n"

    def script(request: dict[str, Any]) -> Reply:
        content = request["messages"][-1]["content"]
        return Reply(text=next(a for p, a in answers.items() if p in content), **reply)

    return script


def starter_spec(
    tmp_path: Path,
    combos: dict[str, tuple[str, int]],
    *,
    limit: int,
    concurrency: int = 4,
    executor: str = "local",
    combo_extra: str = "",
) -> EvalSpec:
    """combos: name -> (base_url, max_concurrency); `combo_extra`: more lines for every combo table."""
    tables = "".join(
        f'[[combos]]\nname = "{name}"\nprovider = "openai"\nmodel = "ref-model"\nbase_url = "{url}"\n'
        f"max_concurrency = {limit_}\n{combo_extra}"
        for name, (url, limit_) in combos.items()
    )
    path = tmp_path / f"{executor}.toml"
    path.write_text(
        f'name = "{executor}"\n{tables}[tasks]\nsource = "jsonl:{STARTER}"\nlimit = {limit}\n'
        f'[run]\nbudget_s = 60\nsandbox = "process"\nconcurrency = {concurrency}\nexecutor = "{executor}"\n'
    )
    return load_spec(path)


def arrival_gaps_s(server: RefServer) -> list[float]:
    """Seconds between consecutive completion requests, as the server's log has them (its arrival stamps)."""
    arrivals = sorted(r.t_ns for r in server.requests if r.path.endswith("completions"))
    return [(b - a) / 1e9 for a, b in itertools.pairwise(arrivals)]
