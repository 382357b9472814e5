"""Ripsaw's verdict and the field's reference verdict on each recorded reply, and why they differ when they do.

Both verdicts use the same test runner (tests/support/check_runner.py: the task's own check code, the
candidate in a separate namespace, a subprocess), so a difference comes from extraction alone: Ripsaw's program is
`ripsaw.solvers.extract.extract(reply, task, "chat")`, the reference's is EvalPlus's
`evalplus.sanitize.sanitize(reply, entry_point)`.

Every reply that Ripsaw passes and the reference fails must be explained by one of RULES, each a deliberate
difference documented in docs/extraction.md with its count on the fixture. A reply the reference passes and Ripsaw
fails is never acceptable: it would be Ripsaw failing a correct entry point.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ripsaw.records import Extraction
from ripsaw.solvers.extract import extract
from ripsaw.tasks import load_tasks
from ripsaw.tasks.humaneval import load_humaneval
from ripsaw.tasks.task import Task
from ripsaw.types import TasksSpec
from tests.support.reference import CheckResult, evalplus_sanitize, run_checks

HERE = Path(__file__).parent
REPLIES = HERE / "replies.jsonl.gz"
MBPP_STYLE = HERE / "mbpp_style.jsonl"
DOC = HERE.parents[2] / "docs" / "extraction.md"


@dataclass(frozen=True, slots=True)
class Verdicts:
    row: dict[str, object]
    task: Task
    ripsaw_program: str
    extraction: Extraction
    evalplus_program: str
    ripsaw: CheckResult
    evalplus: CheckResult


def load_rows() -> list[dict[str, object]]:
    with gzip.open(REPLIES, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_all_tasks() -> dict[str, Task]:
    mbpp = load_tasks(TasksSpec(source=f"jsonl:{MBPP_STYLE}"), base_dir=None)
    return {t.id: t for t in [*load_humaneval(), *mbpp]}


def compute(rows: list[dict[str, object]], tasks: dict[str, Task]) -> list[Verdicts]:
    picked = [tasks[str(r["task_id"])] for r in rows]
    extracted = [extract(str(r["reply"]), t, "chat") for r, t in zip(rows, picked, strict=True)]
    sanitized = evalplus_sanitize([(str(r["reply"]), t.entry_point) for r, t in zip(rows, picked, strict=True)])
    # Identical programs of the same task run once.
    unique: dict[tuple[str, str], int] = {}
    jobs: list[tuple[str, Task]] = []
    for (program, _), code, task in zip(extracted, sanitized, picked, strict=True):
        for text in (program or "", code):
            if (text, task.id) not in unique:
                unique[(text, task.id)] = len(jobs)
                jobs.append((text, task))
    results = run_checks(jobs)
    return [
        Verdicts(
            row=r,
            task=t,
            ripsaw_program=program or "",
            extraction=report,
            evalplus_program=code,
            ripsaw=results[unique[(program or "", t.id)]],
            evalplus=results[unique[(code, t.id)]],
        )
        for r, t, (program, report), code in zip(rows, picked, extracted, sanitized, strict=True)
    ]


# ---- why Ripsaw passes a reply the reference fails ---------------------------------------------------------------


def _top_defs(program: str, name: str) -> list[ast.stmt]:
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    head = name.split(".")[0]
    defs = (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))
    return [n for n in defs if n.name == head]


def _reindented(v: Verdicts) -> bool:
    """The reply is the entry point's body only: Ripsaw puts it under the prompt's signature; EvalPlus keeps a
    body without a def, which defines nothing."""
    return v.extraction.reindented and not _top_defs(v.evalplus_program, v.task.entry_point)


def _no_return(v: Verdicts) -> bool:
    """The entry point has no `return` statement (it yields, or prints, or changes its argument): EvalPlus's
    sanitizer keeps only functions with a `return` and drops it."""
    defs = _top_defs(v.ripsaw_program, v.task.entry_point)
    return bool(defs) and not any(isinstance(n, ast.Return) for n in ast.walk(defs[-1]))


def _outside_longest_span(v: Verdicts) -> bool:
    """EvalPlus keeps only the longest run of consecutive lines that parses; the entry point is outside it (prose
    or a second fence between the definition and the rest, a truncated block after it). Ripsaw reads every
    fenced block and statement by statement."""
    entry = v.task.entry_point
    return not _top_defs(v.evalplus_program, entry) and bool(_top_defs(v.ripsaw_program, entry))


def _prompt_context(v: Verdicts) -> bool:
    """The reply uses a name the task prompt binds (`List` from `from typing import List`, a helper the prompt
    defines) without binding it; Ripsaw takes it from the prompt, EvalPlus's program raises NameError."""
    return v.extraction.prompt_context > 0 and v.evalplus.detail.startswith("NameError")


def _dropped_dependency(v: Verdicts) -> bool:
    """The entry point needs a top-level statement EvalPlus's sanitizer does not keep (only imports, defs,
    classes and plain assignments survive it): a setup call, a name bound in `if`/`try`, a tuple assignment."""
    return v.evalplus.detail.startswith("NameError")


def _unused_import(v: Verdicts) -> bool:
    """EvalPlus keeps every import; one the entry point does not use fails (a module the machine lacks)."""
    return v.evalplus.detail.startswith(("ModuleNotFoundError", "ImportError"))


def _first_definition(v: Verdicts) -> bool:
    """The reply defines the entry point (or a helper) twice; EvalPlus keeps the first definition, Ripsaw keeps
    what Python binds, the last."""
    try:
        tree = ast.parse(v.evalplus_program)
    except SyntaxError:
        return False
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    reply_defs = str(v.row["reply"]).count(f"def {v.task.entry_point.split('.')[-1]}(")
    return reply_defs > 1 or len(names) != len(set(names))


# In order: the first rule that holds explains a disagreement.
RULES: dict[str, Callable[[Verdicts], bool]] = {
    "body-reindented": _reindented,
    "no-return": _no_return,
    "outside-longest-span": _outside_longest_span,
    "prompt-context": _prompt_context,
    "dropped-dependency": _dropped_dependency,
    "unused-import": _unused_import,
    "first-definition": _first_definition,
}


def explain(v: Verdicts) -> str:
    return next((name for name, rule in RULES.items() if rule(v)), "unexplained")


def documented_counts(doc: Path = DOC) -> dict[str, int]:
    """The `| `rule` | ... | count |` rows of the agreement table in docs/extraction.md."""
    counts = {}
    for line in doc.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0].endswith("`") and cells[-1].isdigit():
            counts[cells[0].strip("`")] = int(cells[-1])
    return counts
