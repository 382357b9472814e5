"""Builds the extraction-agreement fixture: MBPP-style tasks, the specs that record replies, and the replies.

    python -m tests.solvers.agreement.record tasks            # writes mbpp_style.jsonl (from HumanEval, offline)
    python -m tests.solvers.agreement.record specs --gguf-dir /path/to/gguf --out DIR
    python -m tests.solvers.agreement.record collect RUN_DIR... # adds their replies to replies.jsonl.gz

MBPP itself is on the Hugging Face hub, which this project cannot reach at test time, so the MBPP-style tasks are
made from HumanEval's: EvalPlus's MBPP+ prompt form (a docstring holding the task in prose and one `assert`
example, no signature), HumanEval's own hidden test and reference solution. The model has to write the whole
function, named as the example calls it, which is the shape of an MBPP reply.

The replies are real: each is the raw `completion` of an attempt recorded by `ripsaw run` with a local instruct
model (chat mode, greedy), with the model, prompt preset and max_tokens it was made with.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import sys
from pathlib import Path

from ripsaw.tasks.humaneval import KNOWN_WRONG_EXAMPLES, load_humaneval
from ripsaw.tasks.public_examples import parse_examples

HERE = Path(__file__).parent
TASKS = HERE / "mbpp_style.jsonl"
REPLIES = HERE / "replies.jsonl.gz"

# The recording runs `specs` writes: model, prompt preset, max_tokens (small ones leave replies truncated), tasks
# (shuffle seed 19, first N); the fixture holds the 1.5B run whole and the 0.5B runs in part (60 and 8 replies).
# It also holds Qwen2.5-Coder-0.5B-Instruct on all 164 HumanEval tasks with the default preset and max_tokens 768
# (bench/paper.py's configuration, recorded in two parts by task ids), and on 40 HumanEval tasks (shuffle seed 7)
# with a terse "concise" preset and max_tokens 512.
RUNS = (
    ("qwen05-mbpp-evalplus-256", "qwen2.5-coder-0.5b-instruct", "evalplus", 256, "mbpp_style", 60),
    ("qwen15-he-ripsaw-256", "qwen2.5-coder-1.5b-instruct", "ripsaw", 256, "humaneval", 30),
    ("qwen05-he-evalplus-256", "qwen2.5-coder-0.5b-instruct", "evalplus", 256, "humaneval", 70),
)
_EXAMPLE_HEADS = (">>>", "example", "for example", "examples")


def mbpp_style_tasks() -> list[dict[str, object]]:
    rows = []
    for task in load_humaneval():
        wrong = KNOWN_WRONG_EXAMPLES.get(task.id, frozenset())
        examples = [ex for ex in parse_examples(task.prompt, task.entry_point) if ex.text not in wrong]
        prose = _prose(task.prompt, task.entry_point)
        if not examples or not prose:
            continue
        example = f"assert {examples[0].expr} == {examples[0].expected}"
        rows.append(
            {
                "id": task.id.replace("HumanEval/", "he-mbpp/"),
                "prompt": f'"""\n{prose}\n{example}\n"""\n',
                "entry_point": task.entry_point,
                "canonical_solution": task.canonical_solution,
                "tests": {"check": task.tests.code},  # type: ignore[union-attr]
                "public_tests": {"check": example},
                "metadata": {"from": task.id},
            }
        )
    return rows


def _prose(prompt: str, entry_point: str) -> str:
    """The entry point's docstring up to its first example, dedented, one paragraph per line block."""
    for node in ast.walk(ast.parse(prompt)):
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            doc = ast.get_docstring(node) or ""
            break
    else:
        return ""
    kept = []
    for line in doc.splitlines():
        low = line.strip().lower()
        if low.startswith(_EXAMPLE_HEADS) or f"{entry_point}(" in line:
            break
        kept.append(line.strip())
    return "\n".join(kept).strip().replace('"""', "'''")


def specs(gguf_dir: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, model, preset, max_tokens, suite, limit in RUNS:
        source = "humaneval" if suite == "humaneval" else f"jsonl:{TASKS.resolve()}"
        text = f"""name = "{name}"
[[combos]]
name = "{model}"
provider = "llamacpp"
model = "{model}"
hardware = "CPU, 2 threads"
prompt_mode = "chat"
prompt = "{preset}"
[combos.params]
temperature = 0
max_tokens = {max_tokens}
[combos.options]
threads = 2
n_ctx = 4096
model_path = "{(gguf_dir / f"{model}-q4_k_m.gguf").resolve()}"
[tasks]
source = "{source}"
shuffle_seed = 19
limit = {limit}
[run]
output_dir = "{out.resolve()}"
budget_s = 300
sandbox = "docker"
concurrency = 1
"""
        path = out / f"{name}.toml"
        path.write_text(text)
        paths.append(path)
    return paths


def collect(run_dirs: list[Path]) -> list[dict[str, object]]:
    """The fixture's rows plus one per scored attempt with a reply in `run_dirs`, in a stable order.

    The fixture only grows: the run directories of earlier recordings need not be kept to add a new one.
    """
    rows = []
    if REPLIES.exists():
        with gzip.open(REPLIES, "rt", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    for run_dir in run_dirs:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        combos = {c["name"]: c for c in manifest["combos"]}
        for line in (run_dir / "attempts.jsonl").read_text().splitlines():
            a = json.loads(line)
            if a["outcome"] == "infra_error" or not a["calls"]:
                continue
            combo = combos[a["combo"]]
            if combo["prompt_mode"] != "chat":  # base models' continuations are another protocol
                continue
            call = a["calls"][-1]
            rows.append(
                {
                    "task_id": a["task_id"],
                    "model": combo["model"],
                    # Manifests written before prompt presets existed: those runs used the default preset.
                    "prompt": (combo.get("prompt") or {}).get("preset") or "ripsaw",
                    "max_tokens": combo["params"]["max_tokens"],
                    "finish_reason": call["finish_reason"],
                    "reply": a["completion"],
                }
            )
    rows.sort(key=lambda r: (str(r["model"]), str(r["prompt"]), int(r["max_tokens"]), str(r["task_id"])))  # type: ignore[call-overload]
    unique = {(r["task_id"], r["model"], r["prompt"], r["max_tokens"]): r for r in rows}
    return list(unique.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("tasks", help=f"write {TASKS.name}")
    p = sub.add_parser("specs", help="write the recording specs")
    p.add_argument("--gguf-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("collect", help=f"add the replies of run directories to {REPLIES.name}")
    p.add_argument("run_dirs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "tasks":
        rows = mbpp_style_tasks()
        TASKS.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        print(f"{len(rows)} tasks -> {TASKS}")
    elif args.command == "specs":
        for path in specs(args.gguf_dir, args.out):
            print(path)
    else:
        rows = collect(args.run_dirs)
        with gzip.open(REPLIES, "wt", encoding="utf-8", compresslevel=9) as f:
            f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        print(f"{len(rows)} replies -> {REPLIES} ({REPLIES.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
