"""What makes two runs of a combo the same experiment, and which fields of it differ.

The gate compares a run with a baseline, a leaderboard ranks combos of several runs: both are only honest when
the numbers were made the same way. A changed prompt, extraction rule, speed definition, sandbox image, budget
or sampling setting moves pass rates and latencies with no model involved. The comparability key names each
of those, read from the run's manifest; a field a run does not record (written before it was) reads as
"unrecorded", which differs from any recorded value. `--allow-mismatch FIELD` makes a deliberate comparison
possible, and the output says which fields were allowed to differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ripsaw.types import is_agent

UNRECORDED = "unrecorded"

# Every field of the key, with what it covers.
FIELDS: dict[str, str] = {
    "task_suite": "the tasks' content hash",
    "prompt": "the chat prompt preset and a hash of its texts (or complete mode)",
    "extraction_rules": "the version of the rules that turn a reply into a program",
    "timing_definitions": "the version of TTFT, output speed and send-stamp definitions",
    "results_schema": "the version of the attempt records",
    "sandbox_image": "the sandbox kind and image id the verdicts were made in",
    "sandbox_limits": "memory, CPU, time and output limits of the sandbox",
    "budgets": "task budget, test timeout, samples, turns (agents: command timeout, token and cost limits)",
    "sampling": "temperature, max_tokens, stop, top_p, seed and extra request fields",
    "strategy": "the solver (single, repair, agent, ...)",
    "workspace": "agents: the workspace image and container limits their commands ran in",
    "tool_mode": "agents: native tool calls or fenced bash blocks",
    "ripsaw_version": "the Ripsaw release that made the run",
}
_BUDGET_KEYS: tuple[str, ...] = ("budget_s", "test_timeout_s", "timeout_factor", "samples", "max_turns")
_AGENT_KEYS: tuple[str, ...] = ("command_timeout_s", "max_output_tokens", "max_attempt_cost_usd")
# A leaderboard ranks different models side by side: their sampling settings and solver may differ by design;
# task suites and Ripsaw versions are refused earlier, when the runs are loaded (--allow-mixed).
LEADERBOARD_FIELDS = tuple(
    f for f in FIELDS if f not in ("sampling", "strategy", "task_suite", "ripsaw_version", "tool_mode")
)


def key(manifest: dict[str, Any], combo: str) -> dict[str, Any]:
    """The comparability key of `combo` in the run whose manifest this is (its "rules" are written by the runner)."""
    c: dict[str, Any] = next((c for c in manifest.get("combos") or [] if c.get("name") == combo), {})
    run = manifest.get("run") or {}
    sandbox = manifest.get("sandbox") or {}
    recorded = manifest.get("rules") or {}
    strategy = c.get("strategy") or run.get("strategy") or UNRECORDED
    prompt: Any = "complete mode" if c.get("prompt_mode") == "complete" else (c.get("prompt") or UNRECORDED)
    return {
        "task_suite": (manifest.get("task_suite") or {}).get("hash") or UNRECORDED,
        "prompt": prompt,
        "extraction_rules": recorded.get("extraction_rules", UNRECORDED),
        "timing_definitions": recorded.get("timing_definitions", UNRECORDED),
        "results_schema": recorded.get("results_schema", UNRECORDED),
        "sandbox_image": " ".join(str(v) for v in (sandbox.get("kind", UNRECORDED), sandbox.get("image_id")) if v),
        "sandbox_limits": sandbox.get("limits", UNRECORDED),
        "budgets": {k: run.get(k) for k in _BUDGET_KEYS + (_AGENT_KEYS if is_agent(strategy) else ())},
        "sampling": c.get("params", UNRECORDED),
        "strategy": strategy,
        # An agent's tools run in the workspace container: its image and limits shape every tool time.
        "workspace": manifest.get("workspace", UNRECORDED) if is_agent(strategy) else None,
        "tool_mode": c.get("tool_mode", UNRECORDED) if strategy == "agent" else None,
        "ripsaw_version": manifest.get("ripsaw_version") or UNRECORDED,
    }


@dataclass(frozen=True, slots=True)
class Mismatch:
    field: str
    theirs: Any  # the baseline's (gate) or the first run's (leaderboard)
    ours: Any
    allowed: bool

    def describe(self, theirs: str = "baseline", ours: str = "run") -> str:
        return f"{self.field}: {theirs} {_short(self.theirs)} vs {ours} {_short(self.ours)}"


def mismatches(
    theirs: dict[str, Any], ours: dict[str, Any], allow: frozenset[str] = frozenset(), fields: tuple[str, ...] = ()
) -> list[Mismatch]:
    return [
        Mismatch(f, theirs.get(f), ours.get(f), f in allow)
        for f in (fields or tuple(FIELDS))
        if _canon(theirs.get(f)) != _canon(ours.get(f))
    ]


def enforce(found: list[tuple[str, Mismatch]], refusal: str, anyway: str) -> list[str]:
    """`found`: (label, mismatch) pairs. Raise one ConfigError listing every mismatch not allowed, headed by
    `refusal` and ending with how to go on `anyway`; return the allowed ones, labelled, for the output."""
    from ripsaw.errors import ConfigError

    refused = [label for label, d in found if not d.allowed]
    if refused:
        raise ConfigError(f"{refusal}:\n  " + "\n  ".join(refused) + f"\npass --allow-mismatch FIELD to {anyway}")
    return [label for label, d in found if d.allowed]


def check_allow(allow: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Validate --allow-mismatch names against the key's fields."""
    from ripsaw.errors import ConfigError

    unknown = [f for f in allow if f not in FIELDS]
    if unknown:
        raise ConfigError(f"--allow-mismatch: unknown field {', '.join(unknown)} (fields: {', '.join(FIELDS)})")
    return frozenset(allow)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _canon(value)
    return text if len(text) <= 100 else text[:97] + "..."
