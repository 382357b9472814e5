"""A paper check: named local models on all 164 HumanEval tasks, greedy, Ripsaw's pass@1 beside the published one.

    python bench/paper.py --model qwen2.5-coder-0.5b-instruct=/path/to/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
    python bench/paper.py --replies reports/<run-id>        # re-score the replies of an existing run
    python bench/paper.py --replies PART1 --replies PART2   # one model's run made in parts (by task ids)

For each model: `ripsaw run` (chat mode, temperature 0, max_tokens 768 as in EvalPlus, the `ripsaw` prompt preset
unless --prompt says otherwise, the default sandbox; re-running resumes), then three figures from the same replies:

  - Ripsaw's pass@1 with its 95 % Wilson interval (the run's own verdicts);
  - the EvalPlus re-score: each reply through `evalplus.sanitize.sanitize(reply, entry_point)` (evalplus 0.3.1)
    and HumanEval's own `check`, in a subprocess (tests/support/reference.py);
  - the published figure (PUBLISHED, with its source).

--replies takes a run made earlier (by this script or any `ripsaw run` on HumanEval in chat mode) and scores its
stored replies again with the current extraction and verdict: a reference server replays each reply to its task
and `ripsaw run` scores it in the sandbox as if the model had answered. Run time and speed then come from the
stored run. Every task where the two verdicts differ is listed.

Needs evalplus (`pip install -e '.[test]'`). Model runs are heavy: on a shared machine run this under the CPU lock.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import REPO, machine

from ripsaw.analysis.metrics import Estimate, proportion, run_metrics
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import Task
from tests.refserver import RefServer, Reply
from tests.support.reference import evalplus_sanitize, evalplus_version, run_checks

# HumanEval pass@1 of the instruct models, bf16 weights: Qwen2.5-Coder Technical Report (Hui et al., 2024,
# arXiv:2409.12186), table of instruct models' HumanEval / HumanEval+ / MBPP / MBPP+ scores.
PUBLISHED = {
    "qwen2.5-coder-0.5b-instruct": (61.6, "Qwen2.5-Coder Technical Report, bf16"),
    "qwen2.5-coder-1.5b-instruct": (70.7, "Qwen2.5-Coder Technical Report, bf16"),
}
MAX_TOKENS = 768  # EvalPlus's default max_new_tokens


@dataclass(slots=True)
class Row:
    model: str
    run_dir: Path
    n: int = 0
    ripsaw: Estimate = field(default_factory=lambda: Estimate(None))
    evalplus: Estimate = field(default_factory=lambda: Estimate(None))
    published: tuple[float, str] | None = None
    ripsaw_only: list[str] = field(default_factory=list)  # tasks Ripsaw passes and the re-score fails
    evalplus_only: list[str] = field(default_factory=list)
    infra_errors: int = 0
    wall_s: float | None = None  # this script's `ripsaw run`, when it ran the model
    latency_p50_s: float | None = None
    speed_tok_s: float | None = None
    tokens_out: float | None = None  # per attempt
    model_time_s: float = 0.0  # summed over attempts (the run's generation time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run_dir": str(self.run_dir),
            "tasks": self.n,
            "ripsaw_pass_at_1": self.ripsaw.to_dict(),
            "evalplus_rescore_pass_at_1": self.evalplus.to_dict(),
            "published_pass_at_1": self.published[0] if self.published else None,
            "published_source": self.published[1] if self.published else None,
            "ripsaw_only": self.ripsaw_only,
            "evalplus_only": self.evalplus_only,
            "infra_errors": self.infra_errors,
            "wall_s": self.wall_s,
            "latency_p50_s": self.latency_p50_s,
            "output_tokens_per_s": self.speed_tok_s,
            "output_tokens_per_attempt": self.tokens_out,
            "model_time_s": self.model_time_s,
        }


def _spec(path: Path, name: str, combo: str, out: Path, prompt: str, max_tokens: int = MAX_TOKENS) -> Path:
    path.write_text(
        f"""name = "{name}"
[[combos]]
{combo}
prompt_mode = "chat"
prompt = "{prompt}"
[combos.params]
temperature = 0
max_tokens = {max_tokens}
[tasks]
source = "humaneval"
[run]
output_dir = "{out}"
run_id = "{name}"
budget_s = 600
concurrency = 1
"""
    )
    return path


def _ripsaw_run(spec: Path) -> float:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ripsaw", "run", str(spec), "--no-progress"], cwd=REPO, check=False)
    if done.returncode not in (0, 1):  # 1: the run finished with infra errors, reported below
        raise SystemExit(f"ripsaw run {spec} failed with exit code {done.returncode}")
    return time.monotonic() - t0


def run_model(name: str, gguf: Path, out: Path, prompt: str, threads: int) -> tuple[Path, float]:
    """Run the model on HumanEval (resuming a previous run of the same spec); (run dir, wall seconds)."""
    combo = f"""name = "{name}"
provider = "llamacpp"
model = "{name}"
hardware = "local CPU"
[combos.options]
model_path = "{gguf.resolve()}"
threads = {threads}
n_ctx = 4096"""
    run_id = f"paper-{name}-{prompt}"
    spec = _spec(out / f"{run_id}.toml", run_id, combo, out, prompt)
    return out / run_id, _ripsaw_run(spec)


def replay(sources: list[Path], out: Path) -> Path:
    """Score the stored replies of `sources` (one model's run, possibly made in parts) again through `ripsaw run`,
    replayed by a reference server."""
    manifest = RunStore(sources[0]).manifest()
    (combo,) = manifest["combos"]
    prompt = (combo.get("prompt") or {}).get("preset") or "ripsaw"
    replies = {
        a.task_id: a.completion
        for source in sources
        for a in RunStore(source).attempts()
        if a.outcome is not Outcome.INFRA_ERROR
    }
    tasks = {t.id: t for t in load_humaneval()}

    def script(request: dict[str, Any]) -> Reply:
        content = request["messages"][-1]["content"]
        task_id = next(t for t in replies if tasks[t].prompt.strip() in content)
        return Reply(text=replies[task_id])

    run_id = f"replay-{sources[0].name}"
    with RefServer(script, spin_s=0) as server:
        spec_combo = f"""name = "{combo["name"]}"
provider = "openai"
model = "{combo["model"]}"
base_url = "{server.base_url}"
hardware = "replay of {", ".join(p.name for p in sources)}\""""
        ids = json.dumps(sorted(replies, key=lambda t: int(t.split("/")[1])))
        # The server counts words as tokens: a max_tokens that never cuts a stored reply.
        spec = _spec(out / f"{run_id}.toml", run_id, spec_combo, out, prompt, max_tokens=1_000_000)
        spec.write_text(spec.read_text().replace('source = "humaneval"', f'source = "humaneval"\nids = {ids}'))
        _ripsaw_run(spec)
    return out / run_id


def score(model: str, run_dir: Path, timing_dirs: list[Path], tasks: dict[str, Task]) -> Row:
    attempts = [a for a in RunStore(run_dir).attempts() if a.outcome is not Outcome.INFRA_ERROR]
    row = Row(model=model, run_dir=run_dir, n=len(attempts), published=PUBLISHED.get(model))
    row.infra_errors = sum(a.outcome is Outcome.INFRA_ERROR for a in RunStore(run_dir).attempts())
    sanitized = evalplus_sanitize([(a.completion, tasks[a.task_id].entry_point) for a in attempts])
    checks = run_checks([(code, tasks[a.task_id]) for code, a in zip(sanitized, attempts, strict=True)])
    ripsaw_pass = {a.task_id: a.outcome is Outcome.PASSED for a in attempts}
    evalplus_pass = {a.task_id: c.passed for a, c in zip(attempts, checks, strict=True)}
    row.ripsaw = proportion(sum(ripsaw_pass.values()), len(attempts))
    row.evalplus = proportion(sum(evalplus_pass.values()), len(attempts))
    row.ripsaw_only = sorted((t for t in ripsaw_pass if ripsaw_pass[t] and not evalplus_pass[t]), key=_order)
    row.evalplus_only = sorted((t for t in ripsaw_pass if evalplus_pass[t] and not ripsaw_pass[t]), key=_order)
    timed: list[Attempt] = [a for d in timing_dirs for a in RunStore(d).attempts()]
    (m,) = run_metrics(RunStore(timing_dirs[0]).manifest(), timed)
    row.latency_p50_s = m.latency_p50.value
    row.speed_tok_s = m.speed_median.value
    row.tokens_out = m.tokens.per_attempt(m.tokens.completion)
    row.model_time_s = sum(a.model_time_s for a in timed if a.outcome.scored)
    return row


def _order(task_id: str) -> int:
    return int(task_id.rsplit("/", 1)[1])


def _pct(e: Estimate) -> str:
    if e.value is None or e.lo is None or e.hi is None:
        return "—"
    return f"{100 * e.value:.1f}% [{100 * e.lo:.1f}–{100 * e.hi:.1f}]"


def table(rows: list[Row]) -> str:
    lines = [
        "| model | tasks | Ripsaw pass@1 [95% Wilson] | EvalPlus re-score [95% Wilson] | published | "
        "Ripsaw only / EvalPlus only | p50 task | tok/s | out tokens/attempt | generation time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        published = f"{r.published[0]:.1f}% ({r.published[1]})" if r.published else "—"
        lines.append(
            f"| {r.model} | {r.n} | {_pct(r.ripsaw)} | {_pct(r.evalplus)} | {published} | "
            f"{len(r.ripsaw_only)} / {len(r.evalplus_only)} | "
            f"{r.latency_p50_s or 0:.1f} s | {r.speed_tok_s or 0:.1f} | {r.tokens_out or 0:.0f} | "
            f"{r.model_time_s / 60:.1f} min |"
        )
    for r in rows:
        if r.ripsaw_only or r.evalplus_only:
            lines.append(f"\n{r.model}: Ripsaw only {r.ripsaw_only or '—'}; EvalPlus only {r.evalplus_only or '—'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=GGUF", help="a local model to run")
    parser.add_argument("--replies", action="append", default=[], type=Path, metavar="RUN_DIR", help="re-score a run")
    parser.add_argument("--prompt", default="ripsaw", help="chat prompt preset for --model runs (default: ripsaw)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads for --model runs (default: 2)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "paper", help="run directories")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if not args.model and not args.replies:
        parser.error("give at least one --model NAME=GGUF or --replies RUN_DIR")
    if evalplus_version() is None:
        parser.error("evalplus is not installed: pip install -e '.[test]'")
    args.out.mkdir(parents=True, exist_ok=True)
    tasks = {t.id: t for t in load_humaneval()}
    print(machine())
    rows = []
    for item in args.model:
        name, _, gguf = item.partition("=")
        if not gguf or not Path(gguf).is_file():
            parser.error(f"--model {item}: expected NAME=PATH to a GGUF file")
        run_dir, wall = run_model(name, Path(gguf), args.out, args.prompt, args.threads)
        row = score(name, run_dir, [run_dir], tasks)
        row.wall_s = wall
        rows.append(row)
    by_model: dict[str, list[Path]] = {}
    for source in args.replies:  # the parts of one model's run make one row
        by_model.setdefault(str(RunStore(source).manifest()["combos"][0]["model"]), []).append(source)
    for model, sources in by_model.items():
        rows.append(score(model, replay(sources, args.out), sources, tasks))
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
