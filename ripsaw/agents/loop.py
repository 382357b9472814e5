"""Solver `agent`: a tool-using agent in a repository task's container, against the attempt's wall-clock budget.

Each turn: one model call (the whole conversation so far, streamed, cut at the deadline) → its reply parsed into one
action (ripsaw.agents.actions) → the command run in the attempt's container as the non-root agent user, cut at
`command_timeout_s` or at the deadline, whichever comes first → the workspace's change since its base commit
snapshotted when it moved → the capped output is the next observation. The attempt ends when the agent submits, or
at the first limit: the budget (`budget_s`), `max_turns`, `max_output_tokens`, `max_attempt_cost_usd`. Which one is
`Attempt.stop_reason`.

The container starts while the first model call streams (its start-up hides behind the model's latency; how much
did is recorded). After the loop, outside the budget, the snapshots are scored by the repository verdict in fresh
containers (ripsaw.agents.scoring), so one run gives the pass rate at every budget mark up to the budget.

Time: per turn, the model call, the command's wall time and Ripsaw's own overhead (the rest: parsing, snapshots,
bookkeeping); per attempt, wall = Σ model + Σ tool + overhead, each recorded (records.AgentRun). A provider or
engine failure makes the attempt an infra error (retried on resume); nothing the agent does can: a command that
hangs is cut, a reply that makes no sense is a format error, a workspace it wrecked is its own failing verdict, and
a conversation it grew past what the endpoint accepts (a 400/413/422 after accepted turns) ends the attempt as
`rejected`, its workspace scored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass

from ripsaw.agents.actions import BASH_TOOL, ToolMode, observation, parse, system_prompt
from ripsaw.agents.scoring import score_attempt
from ripsaw.errors import ConfigError, InfraError, ProviderError, RequestRejected
from ripsaw.records import AgentRun, AgentTurn, Attempt, Snapshot, StopReason
from ripsaw.sandboxes.workspace import Box
from ripsaw.solvers.base import AttemptContext, AttemptUnit, call_cost_usd, cap_prompt, new_attempt
from ripsaw.tasks.task import RepoTests
from ripsaw.types import (
    Clock,
    Message,
    Prompt,
    RequestParams,
    ToolCall,
    ToolResult,
    render_messages,
)
from ripsaw.verdict.repo import RepoJudge

# Small models loop on one command; saying so is part of the observation, as a human would notice it.
REPEATED = "(You ran this exact command in your previous turn. Try a different step.)"


@dataclass(slots=True)
class _Warm:
    box: Box
    base: str
    start_ns: int
    end_ns: int


async def _warm(judge: RepoJudge, tests: RepoTests, label: str, clock: Clock) -> _Warm:
    start = clock()
    box = await judge.workspaces.box(judge.task.id, tests, label)
    try:
        base = await box.init_base()
    except BaseException:
        await box.close()
        raise
    return _Warm(box, base, start, clock())


async def _close(warm: asyncio.Task[_Warm]) -> None:
    if not warm.done():
        warm.cancel()
    with contextlib.suppress(asyncio.CancelledError, InfraError):
        await (await warm).box.close()


def tool_mode(ctx: AttemptContext) -> ToolMode:
    mode = ctx.combo.tool_mode or ctx.run.tool_mode
    if mode not in ("native", "text"):
        raise ConfigError(f"combo {ctx.combo.name!r}: unknown tool_mode {mode!r}")
    return "native" if mode == "native" else "text"


async def solve_agent(ctx: AttemptContext, unit: AttemptUnit) -> Attempt:
    combo, task, run = ctx.combo, ctx.task, ctx.run
    judge, tests = ctx.judge, task.tests
    if not isinstance(judge, RepoJudge) or not isinstance(tests, RepoTests):
        raise ConfigError(f"task {task.id}: strategy 'agent' needs a repository task (tasks.source = 'repo:PATH')")
    mode = tool_mode(ctx)
    attempt = new_attempt(ctx.run_id, combo, unit, strategy="agent")
    agent = attempt.agent = AgentRun(tool_mode=mode)
    await judge.prepare()  # the task's image: trusted preparation, before the clock starts

    clock = ctx.clock
    t0 = clock()
    deadline = t0 + int(run.budget_s * 1e9)
    rejected = ""
    warm = asyncio.create_task(_warm(judge, tests, unit.key, clock))
    diffs: dict[int, str] = {}  # snapshot index -> its diff (kept for scoring, not in the record)
    try:
        attempt.stop_reason = await _loop(ctx, attempt, agent, mode, warm, diffs, t0, deadline)
    except RequestRejected as e:
        if not _grown(e, agent):
            attempt.detail, attempt.stop_reason = f"endpoint: {e}", "error"
        else:  # the agent's own transcript outgrew the endpoint: its workspace so far is scored
            agent.turns.pop()  # the turn whose request was refused never happened
            attempt.stop_reason = "rejected"
            rejected = f"the endpoint refused the conversation after {len(agent.turns)} turns ({e})"
    except ProviderError as e:
        attempt.detail, attempt.stop_reason = f"endpoint: {e}", "error"
    except InfraError as e:
        attempt.detail, attempt.stop_reason = f"workspace: {e}", "error"
    finally:
        t_end = clock()
        await _close(warm)
    agent.wall_s = (t_end - t0) / 1e9
    agent.model_time_s = sum(t.model_time_s for t in agent.turns)
    agent.tool_time_s = sum(t.tool_time_s for t in agent.turns)
    agent.overhead_s = max(0.0, agent.wall_s - agent.model_time_s - agent.tool_time_s)
    attempt.model_time_s, attempt.sandbox_time_s = agent.model_time_s, agent.tool_time_s
    attempt.task_time_s = agent.wall_s
    attempt.cost_usd = _cost(ctx, attempt)
    if attempt.stop_reason == "error":
        return attempt  # an infra error: nothing to score, the attempt is run again on resume

    return await score_attempt(judge, run, unit.key, attempt, agent, diffs, rejected)


def _grown(e: RequestRejected, agent: AgentRun) -> bool:
    """A refusal the agent's conversation earned: a request-shape status after turns that the endpoint accepted
    (the first turn's refusal is the spec's or the endpoint's problem, an infra error)."""
    return e.status in (400, 413, 422) and len(agent.turns) > 1


def _cost(ctx: AttemptContext, attempt: Attempt) -> float | None:
    total = 0.0
    for call in attempt.calls:
        call.cost_usd = call_cost_usd(ctx.combo, call)
        if call.cost_usd is None:
            return None
        total += call.cost_usd
    return total


def _limit_reached(ctx: AttemptContext, attempt: Attempt) -> StopReason | None:
    run = ctx.run
    if run.max_output_tokens is not None:
        spent = sum(c.usage.completion_tokens or 0 for c in attempt.calls)
        if spent >= run.max_output_tokens:
            return "max_output_tokens"
    if run.max_attempt_cost_usd is not None:
        cost = _cost(ctx, attempt)
        if cost is not None and cost >= run.max_attempt_cost_usd:
            return "max_cost"
    return None


async def _loop(
    ctx: AttemptContext,
    attempt: Attempt,
    agent: AgentRun,
    mode: ToolMode,
    warm: asyncio.Task[_Warm],
    diffs: dict[int, str],
    t0: int,
    deadline: int,
) -> StopReason:
    run, clock, tests = ctx.run, ctx.clock, ctx.task.tests
    assert isinstance(tests, RepoTests)
    messages: list[Message] = [
        Message("system", system_prompt(mode, tests.workdir, run.command_timeout_s)),
        Message("user", ctx.task.prompt),
    ]
    attempt.prompt = cap_prompt(render_messages(messages))
    tools = (BASH_TOOL,) if mode == "native" else ()
    # The combo's parameters as given: the default stop sequences are for function completions, not commands.
    params: RequestParams = ctx.combo.params
    last_sha = ""
    for index in range(run.max_turns):
        if clock() >= deadline:
            return "budget"
        if limit := _limit_reached(ctx, attempt):
            return limit
        start = clock()
        turn = AgentTurn(index=index, started_at_s=(start - t0) / 1e9, action="no_reply")
        agent.turns.append(turn)
        call = await ctx.provider.complete(Prompt(mode="chat", messages=tuple(messages), tools=tools), params, deadline)
        called = clock()
        attempt.calls.append(call)
        turn.call, turn.model_time_s = len(attempt.calls) - 1, (called - start) / 1e9
        if index == 0:
            _first_call(agent, warm, start, called)
        if call.cut == "budget":
            turn.cut = "budget"
            turn.overhead_s = max(0.0, (clock() - start) / 1e9 - turn.model_time_s)
            return "budget"
        action = parse(mode, call)
        turn.action, turn.command = action.kind, action.command
        messages.append(call.message())
        if action.kind == "submit":
            agent.submitted = True
            turn.overhead_s = max(0.0, (clock() - start) / 1e9 - turn.model_time_s)
            return "submitted"
        if action.kind == "format_error":
            turn.observation = f"Format error: {action.error}"
        else:
            w = await warm
            remaining = (deadline - clock()) / 1e9
            timeout = min(run.command_timeout_s, remaining)
            if timeout <= 0:
                turn.cut = "budget"
                turn.overhead_s = max(0.0, (clock() - start) / 1e9 - turn.model_time_s)
                return "budget"
            result = await w.box.exec(action.command, timeout_s=timeout)
            budget_cut = result.timed_out and timeout < run.command_timeout_s
            turn.tool_time_s, turn.exit_code, turn.timed_out = result.duration_s, result.exit_code, result.timed_out
            turn.output_chars = result.output_chars
            turn.cut = "budget" if budget_cut else None
            turn.observation = observation(result, timeout_s=timeout, budget_cut=budget_cut)
            if index and agent.turns[index - 1].command == action.command:
                turn.observation += f"\n{REPEATED}"
            diff, left_out = await w.box.diff(w.base)
            sha = hashlib.sha256(diff.encode()).hexdigest()
            if sha != last_sha and (diff or agent.snapshots):
                snap = Snapshot(len(agent.snapshots), index, (clock() - t0) / 1e9, sha, len(diff.encode()), left_out)
                agent.snapshots.append(snap)
                diffs[snap.index] = diff
                turn.snapshot, last_sha = snap.index, sha
            if budget_cut:
                turn.overhead_s = max(0.0, (clock() - start) / 1e9 - turn.model_time_s - turn.tool_time_s)
                return "budget"
        messages.extend(_observation_messages(mode, call.tool_calls, turn.observation))
        turn.overhead_s = max(0.0, (clock() - start) / 1e9 - turn.model_time_s - turn.tool_time_s)
    return "max_turns"


def _observation_messages(mode: ToolMode, calls: list[ToolCall], text: str) -> list[Message]:
    """The observation as the next message(s): a tool result for each tool call the reply made (the API wants one
    per call id, even when the calls were a format error), else a user message."""
    if mode == "native" and calls:
        return [Message("tool", (ToolResult(c.id, text, is_error=text.startswith("Format error")),)) for c in calls]
    return [Message("user", text)]


def _first_call(agent: AgentRun, warm: asyncio.Task[_Warm], call_start: int, call_end: int) -> None:
    """How long the container took to start, and how much of it the first model call hid (recorded once the
    start is over, which may be after this call)."""
    warm.add_done_callback(lambda t: _record_warm(agent, t, call_start, call_end))


def _record_warm(agent: AgentRun, warm: asyncio.Task[_Warm], call_start: int, call_end: int) -> None:
    if warm.cancelled() or warm.exception() is not None:
        return
    w = warm.result()
    agent.warm_s = (w.end_ns - w.start_ns) / 1e9
    agent.warm_hidden_s = max(0, min(w.end_ns, call_end) - max(w.start_ns, call_start)) / 1e9
