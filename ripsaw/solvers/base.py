"""What every solver shares: the attempt's identity and context, the Solver signature, and small helpers.

A solver (`[run] strategy`) turns one task into one finished Attempt: it gets an AttemptContext (the combo's
provider, a sandbox, the task's trusted judge, the budget clock) and the AttemptUnit it is solving.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from ripsaw.errors import ConfigError, InfraError
from ripsaw.names import utc_now
from ripsaw.providers.base import Provider
from ripsaw.records import Attempt, ModelCall, Outcome, attempt_key
from ripsaw.sandboxes.base import Sandbox, SandboxSession
from ripsaw.solvers.prompts import PROMPTS, PromptPreset, default_stop
from ripsaw.tasks.task import Task
from ripsaw.types import Clock, ComboSpec, RequestParams, RunSpec
from ripsaw.verdict import Judge
from ripsaw.verdict.repo import RepoJudge


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
    judge: Judge | RepoJudge  # a RepoJudge exactly when the task is a repository task (strategy "agent")
    clock: Clock

    def function_judge(self) -> Judge:
        """The judge of a function-level task; the runner never gives a repository task to such a solver."""
        if not isinstance(self.judge, Judge):
            raise ConfigError(f"task {self.task.id} is a repository task: only strategy 'agent' solves those")
        return self.judge


def prompt_preset(combo: ComboSpec, run: RunSpec) -> PromptPreset:
    """The chat prompt preset a combo's attempts use: its own, else the run's."""
    return PROMPTS.get(combo.prompt or run.prompt)


def request_params(combo: ComboSpec, task: Task) -> RequestParams:
    params = combo.params
    if not params.stop:
        params = replace(params, stop=default_stop(task, combo.prompt_mode))
    return params


def price(combo: ComboSpec, attempt: Attempt) -> None:
    """Set each call's cost and the attempt's."""
    for call in attempt.calls:
        call.cost_usd = call_cost_usd(combo, call)
    attempt.cost_usd = cost_usd(combo, attempt.calls)


def cost_usd(combo: ComboSpec, calls: list[ModelCall]) -> float | None:
    """The calls' cost at the combo's prices; None when a count it needs is unknown."""
    total = 0.0
    for call in calls:
        cost = call_cost_usd(combo, call)
        if cost is None:
            return None  # a price times an unknown count is not a number we can stand behind
        total += cost
    return total


def call_cost_usd(combo: ComboSpec, call: ModelCall) -> float | None:
    """One call's cost: uncached input, cached input (at the cached rate when the combo has one) and output."""
    usage = call.usage
    return combo.prices.cost_usd(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)


async def close_session(session_task: asyncio.Task[SandboxSession]) -> None:
    if not session_task.done():
        session_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, InfraError):
        session = await session_task
        await session.close()


Solver = Callable[[AttemptContext, AttemptUnit], Awaitable[Attempt]]

PROMPT_CHARS = 20_000  # of the first prompt an attempt records (Attempt.prompt)


def cap_prompt(text: str) -> str:
    if len(text) <= PROMPT_CHARS:
        return text
    return text[:PROMPT_CHARS] + f"\n… [{len(text) - PROMPT_CHARS} more characters]"


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
        started_at=utc_now(),
    )
