"""How much of a combo's score depends on extraction: counts of what extraction did to its replies, with examples.

Read from each scored attempt's `Extraction` record (ripsaw.solvers.extract). Attempts recorded before extraction
was recorded have none and are counted apart (`unrecorded`), so an old run reads as "unknown", not as "nothing".
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ripsaw.records import Attempt, Extraction, Outcome

EXAMPLES = 5  # attempts linked per combo


def attempt_anchor(attempt_id: str) -> str:
    """A stable HTML id for an attempt (ids hold "::" and task names hold "/")."""
    return "a-" + hashlib.sha1(attempt_id.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class ExtractionExample:
    attempt_id: str
    task_id: str
    outcome: str
    what: str  # one line: what extraction did

    @property
    def anchor(self) -> str:
        return attempt_anchor(self.attempt_id)

    def to_dict(self) -> dict[str, Any]:
        return {"attempt_id": self.attempt_id, "task_id": self.task_id, "outcome": self.outcome, "what": self.what}


@dataclass(slots=True)
class ExtractionCounts:
    """Over a combo's scored attempts with a reply (attempts, not statements, unless named `statements`)."""

    recorded: int = 0
    unrecorded: int = 0  # records written before extraction was recorded
    rules: list[int] = field(default_factory=list)  # extraction rules versions seen
    joined_blocks: int = 0
    reindented: int = 0
    prompt_context: int = 0
    cut: int = 0  # complete mode: continuation cut (stop sequence, dedent or trailing prose)
    pruned: int = 0  # at least one top-level statement dropped
    statements_dropped: dict[str, int] = field(default_factory=dict)  # by kind
    passed_pruned: int = 0  # passed with statements dropped: passes that depend on the closure
    passed_reshaped: int = 0  # passed after blocks were joined or a body re-indented
    examples: list[ExtractionExample] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "unrecorded": self.unrecorded,
            "rules": list(self.rules),
            "joined_blocks": self.joined_blocks,
            "reindented": self.reindented,
            "prompt_context": self.prompt_context,
            "cut": self.cut,
            "pruned": self.pruned,
            "statements_dropped": dict(self.statements_dropped),
            "passed_pruned": self.passed_pruned,
            "passed_reshaped": self.passed_reshaped,
            "examples": [e.to_dict() for e in self.examples],
        }


def extraction_counts(attempts: Sequence[Attempt]) -> ExtractionCounts:
    counts = ExtractionCounts()
    kinds: Counter[str] = Counter()
    rules: set[int] = set()
    for a in attempts:
        if not a.outcome.scored or not a.completion:
            continue
        x = a.extraction
        if x is None:
            counts.unrecorded += 1
            continue
        counts.recorded += 1
        rules.add(x.rules)
        reshaped = x.joined_blocks > 0 or x.reindented
        counts.joined_blocks += x.joined_blocks > 0
        counts.reindented += x.reindented
        counts.prompt_context += x.prompt_context > 0
        counts.cut += bool(x.cut)
        counts.pruned += bool(x.dropped)
        kinds.update(d.kind for d in x.dropped)
        passed = a.outcome is Outcome.PASSED
        counts.passed_pruned += passed and bool(x.dropped)
        counts.passed_reshaped += passed and reshaped
        if (x.dropped or reshaped) and len(counts.examples) < EXAMPLES:
            counts.examples.append(ExtractionExample(a.attempt_id, a.task_id, a.outcome.value, describe(x)))
    counts.rules = sorted(rules)
    counts.statements_dropped = dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    return counts


def describe(x: Extraction) -> str:
    """One line: what extraction did to a reply."""
    parts = []
    if x.joined_blocks:
        parts.append(f"joined {x.joined_blocks} other block{'s' if x.joined_blocks != 1 else ''}")
    if x.reindented:
        parts.append("body re-indented under the prompt's signature")
    if x.prompt_context:
        parts.append(f"{x.prompt_context} piece{'s' if x.prompt_context != 1 else ''} of the prompt added")
    if x.cut:
        parts.append(f"continuation cut ({x.cut})")
    if x.dropped:
        shown = "; ".join(f"line {d.line} {d.kind} `{d.text}`" for d in x.dropped[:3])
        more = f" and {len(x.dropped) - 3} more" if len(x.dropped) > 3 else ""
        parts.append(f"dropped {shown}{more}")
    if x.note:
        parts.append(x.note)
    return "; ".join(parts) or "taken as written"
