"""Solver `single`: one completion, one verdict, as classic harnesses do."""

from __future__ import annotations

import asyncio

from ripsaw.errors import InfraError, ProviderError
from ripsaw.records import Attempt, Outcome
from ripsaw.solvers.base import (
    AttemptContext,
    AttemptUnit,
    cap_prompt,
    close_session,
    new_attempt,
    price,
    prompt_preset,
    request_params,
)
from ripsaw.solvers.extract import extract
from ripsaw.solvers.prompts import build_prompt


async def solve_single(ctx: AttemptContext, unit: AttemptUnit) -> Attempt:
    combo, task = ctx.combo, ctx.task
    attempt = new_attempt(ctx.run_id, combo, unit, strategy="single")
    t0 = ctx.clock()
    deadline = t0 + int(ctx.run.budget_s * 1e9)
    # Start the sandbox while the model generates: a container's start-up hides behind the model's latency.
    session_task = asyncio.create_task(ctx.sandbox.session(unit.key))
    try:
        prompt = build_prompt(task, combo.prompt_mode, prompt_preset(combo, ctx.run))
        attempt.prompt = cap_prompt(prompt.rendered())
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
        price(combo, attempt)
        attempt.task_time_s = attempt.model_time_s
        if call.cut == "budget":
            attempt.outcome = Outcome.BUDGET_EXCEEDED
            attempt.detail = f"generation cut at the {ctx.run.budget_s:g} s task budget"
            return attempt
        code, attempt.extraction = extract(
            call.text, task, combo.prompt_mode, prompt_text=prompt.text or None, stop=params.stop
        )
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
        verdict = await ctx.function_judge().judge(code, session)
        attempt.outcome = verdict.outcome
        attempt.detail = verdict.detail
        attempt.sandbox = verdict.run
        attempt.sandbox_time_s = verdict.sandbox_time_s  # every sandbox run the verdict needed
        attempt.task_time_s = attempt.model_time_s + attempt.sandbox_time_s
        return attempt
    finally:
        await close_session(session_task)
