"""What a run would ask for, before it asks: attempts, tokens and cost per combo (`ripsaw run --dry-run`).

Nothing is sent and no server is started. Input tokens are counted on the prompts the run would send (the
model's tokenizer where Ripsaw knows it, else the labelled estimate); output tokens are the most the run can
be billed for: max_tokens for every call it may make (one per attempt, max_turns for a repair loop).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

from ripsaw.providers.tokenizers import tokenizer_for
from ripsaw.solvers.base import prompt_preset
from ripsaw.solvers.prompts import build_prompt
from ripsaw.tasks import load_spec_tasks
from ripsaw.tasks.task import Task
from ripsaw.tokens import estimate_tokens
from ripsaw.types import ComboSpec, EvalSpec

_ONE_CALL = {"single"}  # solvers that make exactly one call per attempt; others may make max_turns


@dataclass(frozen=True, slots=True)
class ComboPlan:
    combo: str
    attempts: int
    calls_at_most: int
    input_tokens: int  # of the first call of every attempt (a repair turn resends more)
    output_tokens_at_most: int | None  # None when max_tokens is unset: no bound
    token_source: str  # "tokenizer <name>" or "estimated"
    cost_usd_at_most: float | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def plan(spec: EvalSpec) -> list[ComboPlan]:
    tasks = load_spec_tasks(spec)
    return [asyncio.run(_combo_plan(spec, combo, tasks)) for combo in spec.combos]


async def _combo_plan(spec: EvalSpec, combo: ComboSpec, tasks: list[Task]) -> ComboPlan:
    preset = prompt_preset(combo, spec.run)
    tokenizer = tokenizer_for(combo.model, str(combo.options.get("tokenizer", "auto")))
    prompt_tokens = 0
    for task in tasks:
        prompt = build_prompt(task, combo.prompt_mode, preset)
        counted = await tokenizer.count_prompt(prompt) if tokenizer is not None else None
        if counted is None:
            text = prompt.text if prompt.mode == "complete" else "\n".join(m.text for m in prompt.messages)
            counted = estimate_tokens(text)
        prompt_tokens += counted
    samples = spec.run.samples
    attempts = len(tasks) * samples
    strategy = combo.strategy or spec.run.strategy
    calls = attempts * (1 if strategy in _ONE_CALL else spec.run.max_turns)
    out = None if combo.params.max_tokens is None else calls * combo.params.max_tokens
    inputs = prompt_tokens * samples
    cost = None if out is None else (inputs * combo.price_in_per_mtok + out * combo.price_out_per_mtok) / 1e6
    source = f"tokenizer {tokenizer.name}" if tokenizer is not None else "estimated"
    return ComboPlan(combo.name, attempts, calls, inputs, out, source, cost)
