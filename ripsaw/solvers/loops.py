"""Solvers that spend a time budget on more than one try: `repair` and `sample-k`.

repair:   generate → run the task's PUBLIC tests in the sandbox → if they fail, show the model the failure
          (chat: the candidate and the test output as the next two messages; complete mode, for base models:
          a continuation prompt that quotes both as comments) → repeat until the public tests pass, `max_turns`
          calls were made, or the budget ends.
sample-k: up to k = `max_turns` independent samples of the first prompt; the first that passes the public tests
          ends the loop. With temperature 0 the samples are (nearly) identical, and the attempt says so; a
          fixed seed is advanced per sample, or every sample would be the same.

Budget: one wall-clock budget per attempt (`run.budget_s`) covers model calls and public-test runs. The
model call gets the deadline, so a stream still running when the budget ends is cancelled and the last
complete candidate stands. A public-test run is not cut (it is bounded by the per-test timeout): it only
decides whether another turn starts, and none starts after the deadline.

Each candidate becomes the attempt's answer when its generation finishes (`Turn.submitted_at_s`). After the
loop, outside the budget, every candidate is scored on the HIDDEN tests in a fresh sandbox session, so the
pass rate at any smaller budget follows from this one run (ripsaw.analysis.budgets). The attempt's outcome is the hidden
verdict of the last candidate. A task without public tests (or with public tests that do not pass with its
own reference solution) is solved as `single`, and the attempt's detail says so.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field, replace
from typing import Literal

from ripsaw.errors import ConfigError, InfraError, ProviderError
from ripsaw.records import Attempt, Outcome, StopReason, Turn, TurnKind, single_turn
from ripsaw.sandboxes.base import SandboxSession
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
from ripsaw.solvers.prompts import build_prompt, repair_completion_prompt, repair_messages
from ripsaw.solvers.single import solve_single
from ripsaw.types import Prompt, RequestParams, render_messages
from ripsaw.verdict import Judge, Verdict

LoopName = Literal["repair", "sample-k"]

PROMPT_DELTA_CHARS = 4000  # of the prompt text a turn records; the full prompt is reproducible from the turns

# One public-test Judge per hidden Judge: the runner keeps one hidden Judge per task for the whole run, so this
# prepares each task's public tests once and forgets them with the run.
_public_judges: weakref.WeakKeyDictionary[Judge, Judge | str] = weakref.WeakKeyDictionary()


async def solve_repair(ctx: AttemptContext, unit: AttemptUnit) -> Attempt:
    return await _solve(ctx, unit, "repair")


async def solve_sample_k(ctx: AttemptContext, unit: AttemptUnit) -> Attempt:
    return await _solve(ctx, unit, "sample-k")


async def public_judge(ctx: AttemptContext) -> Judge | str:
    """The prepared Judge for the task's public tests, or why there is none (the loop then runs as single)."""
    if ctx.task.public_tests is None:
        return "the task has no public tests"
    hidden = ctx.function_judge()
    judge = _public_judges.get(hidden)
    if judge is None:
        judge = Judge(
            ctx.task,
            ctx.task.public_tests,
            timeout_floor_s=ctx.run.test_timeout_s,
            timeout_factor=ctx.run.timeout_factor,
            limits=hidden.limits,
            box=hidden.box,
        )
        _public_judges[hidden] = judge
    if isinstance(judge, str):
        return judge
    try:
        await judge.prepare()  # idempotent and locked: concurrent attempts share one preparation
    except ConfigError as e:
        _public_judges[hidden] = reason = f"its public tests are unusable ({e})"
        return reason
    return judge


@dataclass(slots=True)
class _Loop:
    """The state of one attempt's loop; times are ns on ctx.clock."""

    ctx: AttemptContext
    attempt: Attempt
    name: LoopName
    t0: int
    deadline: int
    model_ns: int = 0
    sandbox_ns: int = 0
    notes: list[str] = field(default_factory=list)

    def elapsed_s(self) -> float:
        return (self.ctx.clock() - self.t0) / 1e9


async def _solve(ctx: AttemptContext, unit: AttemptUnit, name: LoopName) -> Attempt:
    judge = await public_judge(ctx)  # trusted preparation, before the budget clock starts
    if isinstance(judge, str):
        attempt = await solve_single(ctx, unit)
        attempt.strategy = name
        attempt.detail = "; ".join(x for x in (f"{judge}: solved as single", attempt.detail) if x)
        attempt.turns = [single_turn(attempt)]
        stops: dict[Outcome, StopReason] = {Outcome.BUDGET_EXCEEDED: "budget", Outcome.INFRA_ERROR: "error"}
        attempt.stop_reason = stops.get(attempt.outcome, "single")
        return attempt

    attempt = new_attempt(ctx.run_id, ctx.combo, unit, strategy=name)
    t0 = ctx.clock()
    loop = _Loop(ctx, attempt, name, t0, t0 + int(ctx.run.budget_s * 1e9))
    # Pre-warm the sandbox while the first reply streams (a container start hides behind the model's latency).
    label = unit.key
    session_task = asyncio.create_task(ctx.sandbox.session(label))
    try:
        attempt.stop_reason = await _run_turns(loop, judge, request_params(ctx.combo, ctx.task), session_task)
    finally:
        await close_session(session_task)
    attempt.model_time_s = loop.model_ns / 1e9
    attempt.sandbox_time_s = loop.sandbox_ns / 1e9
    attempt.task_time_s = attempt.model_time_s + attempt.sandbox_time_s
    price(ctx.combo, attempt)
    if attempt.stop_reason != "error":
        await _score_hidden(ctx, attempt, label)
    _finish(loop, attempt.stop_reason)
    return attempt


async def _run_turns(
    loop: _Loop, judge: Judge, params: RequestParams, session_task: asyncio.Task[SandboxSession]
) -> StopReason:
    ctx, attempt = loop.ctx, loop.attempt
    task, mode = ctx.task, ctx.combo.prompt_mode
    first = build_prompt(task, mode, prompt_preset(ctx.combo, ctx.run))
    if loop.name == "sample-k":
        if params.temperature == 0:
            loop.notes.append("temperature 0: the samples are likely identical")
        if params.seed is not None:
            loop.notes.append(f"seeds {params.seed}..{params.seed + ctx.run.max_turns - 1}, one per sample")
    prompt, delta = first, first.rendered()
    attempt.prompt = cap_prompt(delta)
    for index in range(ctx.run.max_turns):
        if ctx.clock() >= loop.deadline:
            return "budget"
        kind: TurnKind = "generate" if index == 0 else ("repair" if loop.name == "repair" else "sample")
        turn = Turn(index=index, kind=kind, prompt_delta=_cap(delta))
        attempt.turns.append(turn)
        call_params = _sample_params(params, index) if loop.name == "sample-k" else params
        started = ctx.clock()
        turn.started_at_s = (started - loop.t0) / 1e9
        try:
            call = await ctx.provider.complete(prompt, call_params, loop.deadline)
        except ProviderError as e:
            loop.model_ns += ctx.clock() - started
            loop.notes.append(f"endpoint: {e}")
            return "error"
        spent = ctx.clock() - started
        loop.model_ns += spent
        turn.model_time_s = spent / 1e9
        attempt.calls.append(call)
        turn.call = len(attempt.calls) - 1
        turn.reply, turn.cut = call.text, call.cut
        turn.prompt_tokens, turn.completion_tokens = call.usage.prompt_tokens, call.usage.completion_tokens
        turn.token_source = call.usage.source
        if call.cut == "budget":
            return "budget"
        code, turn.extraction = extract(
            call.text, task, mode, prompt_text=prompt.text if mode == "complete" else None, stop=call_params.stop
        )
        turn.submitted_at_s = loop.elapsed_s()
        turn.model_elapsed_s = loop.model_ns / 1e9
        if code is None:
            turn.public_outcome = Outcome.NO_CODE
            turn.public_feedback = "no code found in the reply"
            # Nothing to repair: the same prompt goes out again (a sample loop does that anyway).
            delta = ""
            continue
        turn.code = code
        try:
            session = await session_task
        except InfraError as e:
            loop.notes.append(f"sandbox: {e}")
            return "error"
        started = ctx.clock()
        verdict = await judge.judge(code, session)
        spent = ctx.clock() - started
        loop.sandbox_ns += spent
        turn.sandbox_time_s = spent / 1e9
        turn.public_outcome, turn.public_feedback = verdict.outcome, verdict.feedback or verdict.detail
        if verdict.outcome is Outcome.INFRA_ERROR:
            loop.notes.append(f"sandbox (public tests): {verdict.detail}")
            return "error"
        if verdict.outcome is Outcome.PASSED:
            return "public_pass"
        if loop.name == "repair":
            prompt, delta = _repair_prompt(ctx, prompt, code, turn.public_feedback)
        else:
            delta = ""
    return "max_turns"


def _sample_params(params: RequestParams, index: int) -> RequestParams:
    return params if params.seed is None else replace(params, seed=params.seed + index)


def _repair_prompt(ctx: AttemptContext, prompt: Prompt, code: str, feedback: str) -> tuple[Prompt, str]:
    """The next repair prompt and what it adds to the conversation."""
    task = ctx.task
    if prompt.mode == "chat":
        messages = repair_messages(task, list(prompt.messages), code, feedback, prompt_preset(ctx.combo, ctx.run))
        added = messages[len(prompt.messages) :]
        return Prompt(mode="chat", messages=messages), render_messages(added)
    text = repair_completion_prompt(task, code, feedback)
    # Everything before the task prompt is new; the task prompt itself was shown on the first turn.
    return Prompt(mode="complete", text=text), text[: len(text) - len(task.prompt)]


async def _score_hidden(ctx: AttemptContext, attempt: Attempt, label: str) -> None:
    """Every candidate's hidden verdict, in a fresh session: nothing a public-test run left behind can reach it."""
    candidates = [t for t in attempt.turns if t.submitted_at_s is not None]
    if not candidates:
        return
    verdicts: dict[str, Verdict] = {}
    session: SandboxSession | None = None
    try:
        for turn in candidates:
            if not turn.code:
                turn.hidden_outcome, turn.hidden_detail = Outcome.NO_CODE, "no code found in the reply"
                continue
            if turn.code not in verdicts:  # identical candidates (greedy samples, unchanged repairs) run once
                if session is None:
                    session = await ctx.sandbox.session(f"{label}::hidden")
                verdicts[turn.code] = await ctx.function_judge().judge(turn.code, session)
            verdict = verdicts[turn.code]
            turn.hidden_outcome, turn.hidden_detail = verdict.outcome, verdict.detail
            if turn is candidates[-1]:
                attempt.sandbox = verdict.run
    except InfraError as e:
        for turn in candidates:
            if turn.hidden_outcome is None:
                turn.hidden_outcome, turn.hidden_detail = Outcome.INFRA_ERROR, f"sandbox: {e}"
    finally:
        if session is not None:
            await session.close()


def _finish(loop: _Loop, stop: StopReason) -> None:
    """The attempt's outcome, answer and detail from its turns."""
    attempt = loop.attempt
    candidates = [t for t in attempt.turns if t.submitted_at_s is not None]
    final = candidates[-1] if candidates else None
    if final is not None:
        attempt.completion, attempt.code, attempt.extraction = final.reply, final.code, final.extraction
    if stop == "error":
        attempt.outcome = Outcome.INFRA_ERROR
    elif any(t.hidden_outcome is Outcome.INFRA_ERROR for t in candidates):
        # The answer at smaller budgets would be unknown: retried on resume like any infra error.
        attempt.outcome = Outcome.INFRA_ERROR
        loop.notes.append("hidden tests: the sandbox failed on a candidate")
    elif final is None:
        attempt.outcome = Outcome.BUDGET_EXCEEDED
        loop.notes.append(f"no complete candidate within the {loop.ctx.run.budget_s:g} s budget")
    else:
        assert final.hidden_outcome is not None
        attempt.outcome = final.hidden_outcome
    summary = _summary(loop, stop, final)
    hidden = final.hidden_detail if final is not None and attempt.outcome is final.hidden_outcome else ""
    attempt.detail = "; ".join(x for x in (summary, *loop.notes, hidden) if x)


def _summary(loop: _Loop, stop: StopReason, final: Turn | None) -> str:
    n = len(loop.attempt.turns)
    why: dict[StopReason, str] = {
        "public_pass": "passed the public tests",
        "max_turns": f"max_turns={loop.ctx.run.max_turns} reached",
        "budget": f"the {loop.ctx.run.budget_s:g} s budget ended",
        "single": "single call",
        "error": "stopped by an infra error",
    }
    answer = f"; answer from turn {final.index + 1}" if final is not None else ""
    return f"{loop.name}: {n} turn{'s' if n != 1 else ''}, {why[stop]}{answer}"


def _cap(text: str) -> str:
    if len(text) <= PROMPT_DELTA_CHARS:
        return text
    return text[: PROMPT_DELTA_CHARS - 40] + f"\n… [{len(text) - PROMPT_DELTA_CHARS + 40} more characters]"
