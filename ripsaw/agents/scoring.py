"""Anytime scoring: what the agent's workspace was worth at each budget mark, from one run at the largest budget.

A snapshot is in force from the moment it was taken until the next one. At mark B the workspace held the snapshot
in force at B (or was still untouched); scoring it with the hidden tests answers "had the agent been stopped at B,
would its workspace pass?". Each distinct snapshot is judged once (a fresh verdict container each, never the
agent's), the last one always: it is the attempt's outcome. The untouched workspace fails without a verdict run:
every task is validated to fail its fail_to_pass tests as given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ripsaw.errors import InfraError
from ripsaw.records import AgentRun, Attempt, BudgetMark, Outcome, RepoVerdict, Snapshot
from ripsaw.types import AGENT_MARK_FRACTIONS, RunSpec
from ripsaw.verdict.repo import RepoJudge

UNTOUCHED = "the agent did not change the workspace"
CONCURRENCY = 2  # verdict containers of one attempt at a time
MAX_DIFF_CHARS = 256_000  # of the final change kept in the record (Attempt.code); the verdict saw all of it


def in_force(snapshots: Sequence[Snapshot], at_s: float) -> int | None:
    """The index of the snapshot in force `at_s` seconds into the attempt; None while untouched."""
    current = None
    for snap in snapshots:
        if snap.at_s > at_s:
            break
        current = snap.index
    return current


async def score(
    judge: RepoJudge,
    label: str,
    snapshots: Sequence[Snapshot],
    diffs: dict[int, str],
    marks: Sequence[float],
) -> tuple[Outcome, str, RepoVerdict | None, list[BudgetMark], float | None]:
    """(outcome, detail, verdict) of the last snapshot, the verdict at every mark, and when the earliest passing
    snapshot of those judged was taken (None: none passed)."""
    final = snapshots[-1].index if snapshots else None
    wanted = sorted({i for i in (*(in_force(snapshots, m) for m in marks), final) if i is not None})
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int) -> tuple[Outcome, str, RepoVerdict]:
        async with gate:
            return await judge.judge(diffs[index], f"{label}::snapshot-{index}")

    judged = dict(zip(wanted, await asyncio.gather(*(one(i) for i in wanted)), strict=True))

    def result(index: int | None) -> tuple[Outcome, str, RepoVerdict | None]:
        return (Outcome.FAILED, UNTOUCHED, None) if index is None else judged[index]

    budget_marks = []
    for mark in marks:
        index = in_force(snapshots, mark)
        outcome, detail, _ = result(index)
        budget_marks.append(BudgetMark(mark, index, outcome, detail))
    passing = [snapshots[i].at_s for i, (outcome, _, _) in judged.items() if outcome is Outcome.PASSED]
    outcome, detail, verdict = result(final)
    return outcome, detail, verdict, budget_marks, min(passing) if passing else None


async def score_attempt(
    judge: RepoJudge, run: RunSpec, label: str, attempt: Attempt, agent: AgentRun, diffs: dict[int, str], note: str
) -> Attempt:
    """Score a finished agent or scaffold attempt: its outcome (the last snapshot's verdict, `note` added to the
    detail), the budget marks, when it was first solved, and its final change as `code`. A verdict that could not
    run leaves the attempt an infra error."""
    budget_marks = run.budget_marks or tuple(f * run.budget_s for f in AGENT_MARK_FRACTIONS)
    final = len(agent.snapshots) - 1 if agent.snapshots else None
    try:
        outcome, detail, verdict, marks, solved_at = await score(judge, label, agent.snapshots, diffs, budget_marks)
    except InfraError as e:
        attempt.detail = f"verdict: {e}"
        return attempt
    agent.marks, agent.verdict, agent.solved_at_s = marks, verdict, solved_at
    attempt.outcome, attempt.detail = outcome, "; ".join(x for x in (detail, note) if x)
    if final is not None:
        diff = diffs[final]
        attempt.code = diff if len(diff) <= MAX_DIFF_CHARS else diff[:MAX_DIFF_CHARS] + "\n[... change cut ...]\n"
    return attempt
