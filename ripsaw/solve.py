"""Solve strategies: how one attempt turns a task into a scored candidate.

A strategy gets an AttemptContext (the combo's provider, a sandbox, the task's judge, the budget clock) and
returns a finished Attempt. `single` is one completion, as classic harnesses do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from ripsaw.errors import InfraError, ProviderError
from ripsaw.extract import extract_code
from ripsaw.prompts import build_prompt, default_stop
from ripsaw.providers.base import Clock, Provider, RequestParams
from ripsaw.records import Attempt, ModelCall, Outcome, attempt_key
from ripsaw.sandboxes.base import Sandbox, SandboxSession
from ripsaw.spec import ComboSpec, RunSpec
from ripsaw.tasks.task import Task
from ripsaw.verdict import Judge


@dataclass(frozen=True, slots=True)
class AttemptUnit:
    """The plain, serializable identity of one attempt: what an executor schedules."""

    combo: str
    task_id: str
    sample: int

    @property
    def key(self) -> str:
        """The attempt id the store records it under."""
        return attempt_key(self.combo, self.task_id, self.sample)


@dataclass(slots=True)
class AttemptContext:
    run_id: str
    combo: ComboSpec
    run: RunSpec
    task: Task
    provider: Provider
    sandbox: Sandbox
    judge: Judge
    clock: Clock


def request_params(combo: ComboSpec, task: Task) -> RequestParams:
    params = combo.params
    if not params.stop:
        params = replace(params, stop=default_stop(task, combo.prompt_mode))
    return params


def cost_usd(combo: ComboSpec, calls: list[ModelCall]) -> float | None:
    if combo.price_in_per_mtok == 0 and combo.price_out_per_mtok == 0:
        return 0.0
    total = 0.0
    for call in calls:
        if call.usage.prompt_tokens is None or call.usage.completion_tokens is None:
            return None  # a price times an unknown count is not a number we can stand behind
        total += call.usage.prompt_tokens * combo.price_in_per_mtok
        total += call.usage.completion_tokens * combo.price_out_per_mtok
    return total / 1e6


async def solve_single(ctx: AttemptContext, unit: AttemptUnit) -> Attempt:
    combo, task = ctx.combo, ctx.task
    attempt = new_attempt(ctx.run_id, combo, unit, strategy="single")
    t0 = ctx.clock()
    deadline = t0 + int(ctx.run.budget_s * 1e9)
    # Start the sandbox while the model generates: a container's start-up hides behind the model's latency.
    session_task = asyncio.create_task(ctx.sandbox.session(unit.key))
    try:
        prompt = build_prompt(task, combo.prompt_mode)
        params = request_params(combo, task)
        try:
            call = await ctx.provider.complete(prompt, params, deadline)
        except ProviderError as e:
            attempt.detail = f"endpoint: {e}"
            attempt.model_time_s = (ctx.clock() - t0) / 1e9
            attempt.task_time_s = attempt.model_time_s
            return attempt
        attempt.model_time_s = (ctx.clock() - t0) / 1e9
        attempt.calls.append(call)
        attempt.completion = call.text
        attempt.cost_usd = cost_usd(combo, attempt.calls)
        attempt.task_time_s = attempt.model_time_s
        if call.cut == "budget":
            attempt.outcome = Outcome.BUDGET_EXCEEDED
            attempt.detail = f"generation cut at the {ctx.run.budget_s:g} s task budget"
            return attempt
        code = extract_code(call.text, task, combo.prompt_mode, prompt_text=prompt.text or None, stop=params.stop)
        if code is None:
            attempt.outcome = Outcome.NO_CODE
            attempt.detail = "no code found in the reply"
            return attempt
        attempt.code = code
        try:
            session = await session_task
        except InfraError as e:
            attempt.detail = f"sandbox: {e}"
            return attempt
        verdict = await ctx.judge.judge(code, session)
        attempt.outcome = verdict.outcome
        attempt.detail = verdict.detail
        attempt.sandbox = verdict.run
        attempt.sandbox_time_s = verdict.sandbox_time_s  # every sandbox run the verdict needed
        attempt.task_time_s = attempt.model_time_s + attempt.sandbox_time_s
        return attempt
    finally:
        await close_session(session_task)


async def close_session(session_task: asyncio.Task[SandboxSession]) -> None:
    if not session_task.done():
        session_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, InfraError):
        session = await session_task
        await session.close()


Strategy = Callable[[AttemptContext, AttemptUnit], Awaitable[Attempt]]

STRATEGIES: dict[str, Strategy] = {"single": solve_single}


def new_attempt(run_id: str, combo: ComboSpec, unit: AttemptUnit, *, strategy: str, detail: str = "") -> Attempt:
    """An attempt record that starts out as infra_error: only a finished verdict or a model outcome replaces it."""
    return Attempt(
        run_id=run_id,
        combo=combo.name,
        task_id=unit.task_id,
        sample=unit.sample,
        outcome=Outcome.INFRA_ERROR,
        detail=detail,
        hardware=combo.hardware,
        model=combo.model,
        provider=combo.provider,
        strategy=strategy,
        prompt_mode=combo.prompt_mode,
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


# The multi-turn loops build on the helpers above, so they are imported last (ripsaw.strategies imports them lazily).
from ripsaw.strategies import solve_repair, solve_sample_k  # noqa: E402

STRATEGIES.update({"repair": solve_repair, "sample-k": solve_sample_k})
