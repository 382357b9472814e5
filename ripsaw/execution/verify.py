"""`ripsaw verify RUN_DIR`: re-check a stored run without trusting its files.

Every stored candidate program is judged again, with the task's hidden tests, in the sandbox kind the manifest
names, and the verdict compared with the stored outcome; each record's cost is recomputed from its usage and the
combo's prices; its timing must be consistent with its own per-chunk data (offsets in order, the first chunk at
TTFT, model, sandbox and task times adding up). A leaderboard maintainer can check a submitted run this way: a
hand-edited outcome, cost or time shows up as a difference.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ripsaw.errors import ConfigError
from ripsaw.execution.attempt import Judges
from ripsaw.execution.store import RunStore
from ripsaw.records import Attempt, Outcome
from ripsaw.sandboxes import create_sandbox
from ripsaw.sandboxes.base import Limits
from ripsaw.solvers.base import call_cost_usd, cost_usd
from ripsaw.spec import load_spec
from ripsaw.tasks import load_spec_tasks
from ripsaw.tasks.task import Task, suite_hash
from ripsaw.types import ComboSpec, RunSpec
from ripsaw.verdict.repo import RepoJudge

# Outcomes a judge decides from a program; the others come from the model call (no code, budget, infra).
_JUDGED = {Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT, Outcome.RESOURCE_LIMIT, Outcome.SYNTAX_ERROR}
_REL = 1e-6


@dataclass(slots=True)
class Difference:
    attempt_id: str
    what: str  # "verdict", "cost", "timing"
    stored: Any
    found: Any


@dataclass(slots=True)
class Verification:
    run_dir: str
    attempts: int
    rejudged: int
    differences: list[Difference] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": not self.differences}


def _tasks(manifest: dict[str, Any], spec_path: Path | None) -> dict[str, Task]:
    path = spec_path or Path(str(manifest.get("spec_path") or ""))
    if not path.is_file():
        raise ConfigError(
            f"the run's spec {path} is not here: run `ripsaw verify` where the run was made, or pass --spec PATH"
        )
    tasks = {t.id: t for t in load_spec_tasks(load_spec(path))}
    suite = manifest.get("task_suite") or {}
    try:
        chosen = [tasks[i] for i in suite.get("ids") or []]
    except KeyError as e:
        raise ConfigError(f"{path}: task {e.args[0]} of the run is not in this spec's suite") from None
    if suite_hash(chosen) != suite.get("hash"):
        raise ConfigError(f"{path}: the tasks' content differs from the run's suite ({suite.get('hash')})")
    return {t.id: t for t in chosen}


def _priced(manifest: dict[str, Any]) -> dict[str, ComboSpec]:
    """Each combo with the prices it ran at, for the cost formula the solvers use."""
    return {
        c["name"]: ComboSpec(
            name=c["name"],
            provider=str(c.get("provider") or ""),
            model=str(c.get("model") or ""),
            price_in_per_mtok=float(c.get("price_in_per_mtok") or 0),
            price_out_per_mtok=float(c.get("price_out_per_mtok") or 0),
            price_cached_in_per_mtok=_price_or_none(c.get("price_cached_in_per_mtok")),
        )
        for c in manifest.get("combos") or []
    }


def _price_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _bookkeeping(a: Attempt, combo: ComboSpec) -> list[Difference]:
    out = []
    if a.calls and a.cost_usd is not None:
        cost = cost_usd(combo, a.calls)
        if cost is None or not math.isclose(cost, a.cost_usd, rel_tol=_REL, abs_tol=1e-12):
            out.append(Difference(a.attempt_id, "cost", a.cost_usd, cost))
    for i, c in enumerate(a.calls):
        if c.cost_usd is not None:
            cost = call_cost_usd(combo, c)
            if cost is None or not math.isclose(cost, c.cost_usd, rel_tol=_REL, abs_tol=1e-12):
                out.append(Difference(a.attempt_id, f"cost of call {i}", c.cost_usd, cost))
    for c in a.calls:
        t = c.timing
        chunks = t.chunk_ns
        if any(later < earlier for earlier, later in itertools.pairwise(chunks)):
            out.append(Difference(a.attempt_id, "timing", "chunk offsets", "out of order"))
        # The first and last token were each delivered by one of the chunk reads the record lists.
        for name, stamp in (("first token", t.first_any_ns), ("last token", t.last_token_ns)):
            if chunks and stamp is not None and stamp not in chunks:
                out.append(Difference(a.attempt_id, "timing", f"{name} at {stamp} ns", "no chunk arrived then"))
    if a.turns == [] and not math.isclose(a.task_time_s, a.model_time_s + a.sandbox_time_s, rel_tol=1e-6, abs_tol=1e-6):
        out.append(
            Difference(
                a.attempt_id, "timing", f"task {a.task_time_s}", f"model + sandbox {a.model_time_s + a.sandbox_time_s}"
            )
        )
    return out


async def verify(run_dir: Path, *, spec_path: Path | None = None, progress: bool = True) -> Verification:
    store = RunStore(run_dir)
    if not RunStore.is_run_dir(run_dir):
        raise ConfigError(f"{run_dir}: not a run directory (no manifest.json)")
    manifest = store.manifest()
    tasks = _tasks(manifest, spec_path)
    priced = _priced(manifest)
    run = manifest.get("run") or {}
    attempts = store.attempts()
    result = Verification(str(run_dir), len(attempts), 0)
    limits = Limits(timeout_s=float(run.get("test_timeout_s") or 10.0))
    kind = (manifest.get("sandbox") or {}).get("kind") or "process"
    sandbox = create_sandbox(kind, run_id=f"verify-{run_dir.name}", limits=limits)
    judges = Judges(_run_spec(run), limits, f"verify-{run_dir.name}")
    try:
        for a in tqdm(attempts, desc="verify", unit="attempt", disable=not progress):
            result.differences += _bookkeeping(a, priced.get(a.combo) or ComboSpec(a.combo, "", ""))
            if a.outcome not in _JUDGED:
                continue
            if not a.code:
                result.differences.append(Difference(a.attempt_id, "verdict", a.outcome.value, "no program stored"))
                continue
            judge = await judges.get(tasks[a.task_id])
            if isinstance(judge, RepoJudge):  # an agent's change, judged again in a fresh container
                outcome, detail, _ = await judge.judge(a.code, f"verify::{a.attempt_id}")
            else:
                session = await sandbox.session(f"verify::{a.attempt_id}")
                try:
                    verdict = await judge.judge(a.code, session)
                finally:
                    await session.close()
                outcome, detail = verdict.outcome, verdict.detail
            result.rejudged += 1
            if outcome is Outcome.INFRA_ERROR:
                raise ConfigError(f"{a.attempt_id}: the sandbox failed while verifying: {detail}")
            if outcome is not a.outcome:
                result.differences.append(Difference(a.attempt_id, "verdict", a.outcome.value, outcome.value))
    finally:
        judges.close()
        sandbox.close()
    return result


def _run_spec(run: dict[str, Any]) -> RunSpec:
    known = {k: v for k, v in run.items() if k in RunSpec.__dataclass_fields__}
    return RunSpec(**known)
