"""Value types shared across Ripsaw's layers: what a spec says, what a prompt is, how a request is made.

A leaf module: it imports nothing from Ripsaw, so every layer (spec loading, task sources, providers,
solvers, the runner) can use these types without importing one another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Clock = Callable[[], int]  # nanoseconds, monotonic (time.perf_counter_ns by default)


# -- the conversation ------------------------------------------------------------------------------------------
# One conversation type for every provider and solver. A message's content is plain text or a sequence of
# blocks; every provider maps the blocks to its own wire format (chat completions `tool_calls` / `tool`
# messages, Responses `function_call` / `function_call_output` / reasoning items, Messages `tool_use` /
# `tool_result` / `thinking` blocks) and fills the same blocks from its replies.


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the model made. `arguments` is the JSON text exactly as the model produced it: it may not
    parse, and the solver, not the provider, decides what a malformed call costs."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Reasoning:
    """The model's reasoning. `opaque` is what its API requires to be sent back unchanged on the next turn
    (an Anthropic thinking block's signature, a Responses reasoning item with its encrypted content); `api`
    names that API, and a provider of another API sends the text only, or nothing."""

    text: str = ""
    opaque: dict[str, Any] | None = None
    api: str = ""


Block = Text | ToolCall | ToolResult | Reasoning


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str | tuple[Block, ...]

    @property
    def text(self) -> str:
        """The message's text: the content itself, or its Text blocks joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text for b in self.content if isinstance(b, Text))

    @property
    def blocks(self) -> tuple[Block, ...]:
        if isinstance(self.content, str):
            return (Text(self.content),) if self.content else ()
        return self.content


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and a JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True, slots=True)
class Prompt:
    """Either a raw text to continue (`complete` mode) or a conversation (`chat` mode), with the tools offered."""

    mode: Literal["complete", "chat"]
    text: str = ""
    messages: tuple[Message, ...] = ()
    tools: tuple[ToolSpec, ...] = ()

    def rendered(self) -> str:
        """The prompt as a person reads it: the text, or each message under its role."""
        return self.text if self.mode == "complete" else render_messages(self.messages)


def render_messages(messages: Sequence[Message]) -> str:
    return "\n\n".join(f"[{m.role}]\n{m.text}" for m in messages)


@dataclass(frozen=True, slots=True)
class RequestParams:
    temperature: float | None = 0.0
    max_tokens: int | None = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    top_p: float | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)


PromptMode = Literal["complete", "chat"]


@dataclass(frozen=True, slots=True)
class PriceCard:
    """USD per million tokens; cached input (read from the server's prompt cache) at its own rate when known."""

    in_per_mtok: float = 0.0
    out_per_mtok: float = 0.0
    cached_in_per_mtok: float | None = None  # None: cached input is priced as any input

    @property
    def free(self) -> bool:
        return self.in_per_mtok == 0 and self.out_per_mtok == 0 and not self.cached_in_per_mtok

    def cost_usd(self, prompt: int | None, completion: int | None, cached: int | None) -> float | None:
        """One call's cost; None where a price meets an unknown count (not a number to stand behind)."""
        if self.free:
            return 0.0
        if prompt is None or completion is None:
            return None
        hit = min(cached or 0, prompt)
        cached_rate = self.in_per_mtok if self.cached_in_per_mtok is None else self.cached_in_per_mtok
        return ((prompt - hit) * self.in_per_mtok + hit * cached_rate + completion * self.out_per_mtok) / 1e6


@dataclass(frozen=True, slots=True)
class ComboSpec:
    name: str
    provider: str  # registry name: "openai", "llamacpp"
    model: str
    hardware: str = ""
    base_url: str | None = None
    api_key_env: str | None = None  # the NAME of the env var holding the key; the key is never stored
    prompt_mode: PromptMode = "chat"
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    # Input tokens the server read from its prompt cache; None: priced as any input token.
    price_cached_in_per_mtok: float | None = None
    max_concurrency: int = 4
    # The endpoint's requests and tokens per minute, held by every call to it across the run's workers (paced:
    # ripsaw.providers.ratelimit); None: no limit.
    rpm: int | None = None
    tpm: int | None = None
    params: RequestParams = field(default_factory=RequestParams)
    # provider-specific settings (llamacpp: threads, ctx, model_path, server_args)
    options: dict[str, Any] = field(default_factory=dict)
    strategy: str | None = None  # a solver name (ripsaw.solvers); overrides run.strategy
    prompt: str | None = None  # a chat prompt preset (ripsaw.solvers.prompts.PROMPTS); overrides run.prompt
    tool_mode: str | None = None  # an agent's tool mode ("native" | "text"); overrides run.tool_mode

    @property
    def prices(self) -> PriceCard:
        return PriceCard(self.price_in_per_mtok, self.price_out_per_mtok, self.price_cached_in_per_mtok)


@dataclass(frozen=True, slots=True)
class TasksSpec:
    source: str  # "humaneval" | "jsonl:PATH" | "hf:DATASET" | a preset name: "mbpp", "humaneval+", "livecodebench"
    preset: str | None = None  # column layout for hf: sources; inferred from the dataset name when unset
    limit: int | None = None
    ids: tuple[str, ...] = ()
    shuffle_seed: int | None = None
    # hf: options
    split: str | None = None
    revision: str | None = None
    subset: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # Task field -> dataset column
    data_files: str | None = None  # local files for hf sources (tests, offline mirrors)
    repo_cache: str | None = None  # swebench: a directory of repository clones the workspaces are made from


@dataclass(frozen=True, slots=True)
class RunSpec:
    samples: int = 1
    budget_s: float = 120.0  # per-task wall-clock budget (model + sandbox)
    sandbox: str = "auto"  # a sandbox registry name, or "auto"
    test_timeout_s: float = 10.0  # floor of the per-test timeout
    timeout_factor: float = 10.0  # per-test limit = max(floor, factor x reference time on this host)
    concurrency: int = 4
    output_dir: str = "reports"
    run_id: str | None = None
    strategy: str = "single"  # the solver every combo uses unless it names its own (ripsaw.solvers)
    prompt: str = "ripsaw"  # the chat prompt preset every combo uses unless it names its own
    max_turns: int = 4
    latency_slo_s: float | None = None
    # Spend cap for the whole run: once the recorded cost reaches it, no new attempt starts (finished ones stay).
    max_cost_usd: float | None = None
    executor: str = "local"  # an executor registry name (ripsaw.execution.executor): "local", "ray"
    # Where the executor's cluster is (ray: an address as `ray.init` takes it, "auto" for the one this machine
    # belongs to); None: the executor's default (ray: a cluster of this machine alone, started for the run).
    executor_address: str | None = None
    # Agents (strategy "agent"; ripsaw.agents). max_turns counts model turns there; unset in a spec whose combos use
    # the agent it is AGENT_MAX_TURNS. Marks: the budgets at which the agent's workspace is scored (anytime
    # scoring); empty: AGENT_MARK_FRACTIONS of budget_s.
    command_timeout_s: float = 60.0
    tool_mode: str = "text"  # "native" (the API's tool calls) or "text" (one fenced bash block per reply)
    max_output_tokens: int | None = None  # per attempt, all turns
    max_attempt_cost_usd: float | None = None  # per attempt, all turns
    budget_marks: tuple[float, ...] = ()


AGENT_MAX_TURNS = 50
AGENT_MARK_FRACTIONS = (0.125, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, slots=True)
class EvalSpec:
    path: Path
    name: str
    combos: tuple[ComboSpec, ...]
    tasks: TasksSpec
    run: RunSpec
    raw: dict[str, Any]  # the TOML as read, for the manifest (holds env var names, never keys)
    sha256: str
