"""Synthetic run directories with known properties, written through the real results store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ripsaw import __version__
from ripsaw.execution.store import RunStore
from ripsaw.records import (
    AgentRun,
    AgentTurn,
    Attempt,
    BudgetMark,
    CallTiming,
    ModelCall,
    Outcome,
    RepoVerdict,
    SandboxRun,
    Usage,
)


@dataclass
class Combo:
    """One combo: outcomes[i] and task_times[i] belong to attempt i, laid out task-major (task, sample)."""

    name: str
    outcomes: Sequence[Outcome | str]
    task_times: Sequence[float]
    ttft_s: float | None = 0.25
    speed_tok_s: float = 50.0
    completion_tokens: int | None = 101
    prompt_tokens: int | None = 200
    token_source: str = "server"
    cost_usd: float | None = 0.0
    hardware: str = "cpu"
    model: str = "synthetic"
    extra: dict[str, Any] = field(default_factory=dict)


def task_ids(n: int) -> list[str]:
    return [f"synth/{i:03d}" for i in range(n)]


def make_attempt(run_id: str, c: Combo, task_id: str, sample: int, outcome: Outcome, task_time: float) -> Attempt:
    calls = []
    if c.ttft_s is not None or c.completion_tokens is not None:
        timing = CallTiming()
        if c.ttft_s is not None and c.completion_tokens is not None:
            first = int(c.ttft_s * 1e9)
            last = first + int((c.completion_tokens - 1) / c.speed_tok_s * 1e9)
            timing = CallTiming(first_any_ns=first, first_content_ns=first, last_token_ns=last, close_ns=last, chunks=5)
        usage = Usage(c.prompt_tokens, c.completion_tokens, None, c.token_source)  # type: ignore[arg-type]
        calls.append(ModelCall(text="def f(): pass", finish_reason="stop", usage=usage, timing=timing))
    sandbox = SandboxRun(
        "process",
        "ok",
        0 if outcome is Outcome.PASSED else 1,
        0.05,
        stdout="",
        stderr="" if outcome is Outcome.PASSED else "AssertionError: <wrong> & more",
    )
    return Attempt(
        run_id=run_id,
        combo=c.name,
        task_id=task_id,
        sample=sample,
        outcome=outcome,
        hardware=c.hardware,
        model=c.model,
        provider="openai",
        code=f"def f():\n    return {sample}  # <{c.name}>",
        calls=calls,
        sandbox=sandbox,
        model_time_s=max(task_time - 0.05, 0.0),
        sandbox_time_s=0.05,
        task_time_s=task_time,
        cost_usd=c.cost_usd,
        started_at="2025-01-01T00:00:00+00:00",
    )


def write_run(
    root: Path,
    combos: Sequence[Combo],
    *,
    tasks: int,
    samples: int = 1,
    run_id: str = "synth-run",
    status: str = "complete",
    suite_hash: str = "suitehash-1",
    latency_slo_s: float | None = None,
    gate: dict[str, Any] | None = None,
    ripsaw_version: str = __version__,
) -> Path:
    run_dir = root / run_id
    ids = task_ids(tasks)
    spec: dict[str, Any] = {"combos": [{"name": c.name} for c in combos]}
    if gate is not None:
        spec["gate"] = gate
    manifest = {
        "schema_version": 1,
        "run_id": run_id,
        "ripsaw_version": ripsaw_version,
        "spec_path": "evals/synth.toml",
        "spec_sha256": "0" * 64,
        "spec": spec,
        "task_suite": {"source": "jsonl:synth.jsonl", "count": tasks, "hash": suite_hash, "ids": ids},
        "host": {"cpu": "Synthetic CPU", "cores": 2, "os": "Linux", "python": "3.11", "hostname_hash": "abc123"},
        "sandbox": {"kind": "process"},
        "combos": [
            {
                "name": c.name,
                "provider": "openai",
                "model": c.model,
                "hardware": c.hardware,
                "prompt_mode": "complete",
                "price_in_per_mtok": 0.0,
                "price_out_per_mtok": 0.0,
                "strategy": "single",
                "server": {},
                **c.extra,
            }
            for c in combos
        ],
        "run": {"samples": samples, "budget_s": 60.0, "latency_slo_s": latency_slo_s, "concurrency": 2},
        "started_at": "2025-01-01T00:00:00+00:00",
        "ended_at": "2025-01-01T00:10:00+00:00" if status == "complete" else None,
        "status": status,
    }
    with RunStore(run_dir) as store:
        store.write_manifest(manifest)
        for c in combos:
            assert len(c.outcomes) == len(c.task_times) <= tasks * samples
            for i, (o, t) in enumerate(zip(c.outcomes, c.task_times, strict=True)):
                store.append(make_attempt(run_id, c, ids[i // samples], i % samples, Outcome(o), t))
    return run_dir


def outcomes(passed: int, total: int, fail: str = "failed") -> list[Outcome]:
    """`passed` passes first, then failures."""
    return [Outcome.PASSED] * passed + [Outcome(fail)] * (total - passed)


N = 20


def three_combos() -> list[Combo]:
    """fast: 8/20 passed, task times 0.1..2.0 s; accurate: 15/20, 1..20 s; slowbad: 6/20, 2..40 s.

    Pairs per task: fast passes tasks 0-7, accurate 0-14, slowbad 0-5, so every discordant pair favours the
    more accurate combo.
    """
    return [
        Combo("fast", outcomes(8, N), [(i + 1) / 10 for i in range(N)]),
        Combo("accurate", outcomes(15, N), [float(i + 1) for i in range(N)]),
        Combo("slowbad", outcomes(6, N), [(i + 1) * 2.0 for i in range(N)]),
    ]


def agent_attempt(
    run_id: str,
    combo: str,
    task_id: str,
    outcome: Outcome,
    split: tuple[float, float, float],
    marks: Sequence[tuple[float, Outcome]] = (),
    *,
    tokens: int = 100,
    tampered: bool = False,
    dropped: Sequence[str] = (),
    stop: str = "submitted",
) -> Attempt:
    """An agent attempt whose model / tools / overhead time is `split`, one call per 10 s of model time."""
    model, tool, overhead = split
    n_calls = max(1, round(model / 10))
    calls = [
        ModelCall(text="```bash\nls\n```", usage=Usage(500, tokens // n_calls, None, "server")) for _ in range(n_calls)
    ]
    agent = AgentRun(
        tool_mode="text",
        turns=[AgentTurn(index=i, started_at_s=0.0, action="command", call=i, command="ls") for i in range(n_calls)],
        marks=[BudgetMark(b, None, o) for b, o in marks],
        model_time_s=model,
        tool_time_s=tool,
        overhead_s=overhead,
        wall_s=model + tool + overhead,
        verdict=RepoVerdict(tampered=tampered, dropped=list(dropped)),
    )
    return Attempt(
        run_id=run_id,
        combo=combo,
        task_id=task_id,
        sample=0,
        outcome=outcome,
        strategy="agent",
        calls=calls,
        model_time_s=model,
        sandbox_time_s=tool,
        task_time_s=model + tool + overhead,
        cost_usd=0.0,
        started_at="2025-01-01T00:00:00+00:00",
        agent=agent,
        stop_reason=stop,  # type: ignore[arg-type]
    )
