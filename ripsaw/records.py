"""The records that flow through a run: model calls, sandbox results and attempts.

Every record is a plain dataclass that round-trips through JSON (`to_dict` / `from_dict`), so an
attempt can be computed anywhere (another process, another machine) and appended to the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Literal

from ripsaw.types import Block, Message, Reasoning, Text, ToolCall

# Bump when a field of Attempt (or anything nested in it) is added, changes meaning or disappears, and add the
# step that brings a record of the previous version up to this one to _MIGRATIONS (older run directories are
# migrated on load; a record from a newer Ripsaw is refused with one line).
#   1: the first records.
#   2: timing definitions 2 (wire send stamp, queueing, chunk-aware speed: CallTiming.t_queue_ns, n_first),
#      the extraction audit (Attempt.extraction, Turn.extraction), tool calls and reasoning items on ModelCall.
#   3: prompt caching and per-call cost: Usage.cached_tokens, ModelCall.cost_usd.
#   4: where the attempt ran (Attempt.placement: executor, node, CPU model, load at start, dispatch wait).
#   5: agent runs (Attempt.agent: turns with their commands, snapshots, budget marks, the repository verdict) and
#      the agent's stop reasons; the first prompt (Attempt.prompt).
#   6: scaffolds behind the timing proxy (AgentRun.scaffold, AgentRun.requests: every proxied request,
#      AgentRun.scaffold_log: the scaffold's own output; the turn action "model_call", the stop reason "exited").
#   7: the output speed's span end (CallTiming.span_end_ns, n_after, n_after_source: timing definitions 4).
RESULTS_SCHEMA_VERSION = 7


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # ran, wrong answer
    ERROR = "error"  # the candidate raised
    TIMEOUT = "timeout"
    RESOURCE_LIMIT = "resource_limit"  # memory, pids, output, disk
    SYNTAX_ERROR = "syntax_error"
    NO_CODE = "no_code"
    BUDGET_EXCEEDED = "budget_exceeded"  # the task's wall-clock budget ran out during generation
    INFRA_ERROR = "infra_error"  # endpoint, daemon, host: retried, excluded from pass-rate denominators

    @property
    def scored(self) -> bool:
        """Whether this outcome counts in a pass-rate denominator."""
        return self is not Outcome.INFRA_ERROR


TokenSource = Literal["server", "tokenizer", "estimated"]


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    # "server": from the endpoint's `usage`; "tokenizer": the model's own tokenizer run on the returned text
    # (exact for that text; for servers that stream no usage, e.g. llama-cpp-python);
    # "estimated": Ripsaw's tokenizer-free estimate on the joined text.
    source: TokenSource = "server"
    # Of prompt_tokens, those the server read from its prompt cache (priced at the cached rate); None: not reported.
    cached_tokens: int | None = None


# What the timing fields of a record mean; the comparability key carries it, so numbers measured under different
# definitions are never compared as if they were one.
#   1: t_send = when Ripsaw decided to send (before the pool, h11 and the event loop); events stamped after the
#      socket read's task resumed; output speed = (N - 1) / (t_last_token - t_first_any).
#   2: t_send = the request's last byte handed to the kernel (`t_send_wire`; the wait before it is `queue_ns`);
#      events stamped in the event loop's socket read callback; output speed = (N - n_first) / span, n_first = the
#      first token chunk's tokens (`n_first`, `n_first_source`). Records of version 1 have n_first None: 1.
#   3: as 2, but on Linux an event's arrival is the kernel's receive timestamp of the read that delivered it
#      (when its last byte reached the socket), not the instant the event loop performed that read.
#   4: as 3, but that stamp is exact only for its read's last event, so the output speed's span starts at the
#      first token chunk's read with every token chunk of that read in n_first, and ends at the last token chunk
#      that ended its read (`span_end_ns`), the tokens after it (`n_after`) left out too:
#      (N - n_first - n_after) / (span_end - first_any). Records of version 3 have n_after None: the old formula.
TIMING_DEFINITIONS_VERSION = 4


@dataclass(slots=True)
class CallTiming:
    """One model call. All offsets are nanoseconds after t_send, from a monotonic clock.

    t_send: the request's last byte left the client (handed to the kernel); before it, the call waited
    `queue_ns` (connection pool, connecting, TLS, the send path), counted in no latency. `t_send_wire` is False
    when no wire stamp could be taken (a test transport): t_send is then when the call had its slot.
    first_any: first non-empty content, reasoning or tool-call delta (a role-only chunk is not a token).
    first_content: first answer (non-reasoning) token. last_token: last non-empty delta.
    close: the response stream ended (or was cancelled).
    chunk_ns: every chunk's arrival (the socket read that delivered it).
    n_first: tokens of the token chunks read with the first one, which arrived together at first_any (so the
    output speed leaves them out of its span), counted per `n_first_source`: "server" (its running usage, or one
    token per chunk proven by the server's N), "tokenizer", or "estimated" (their share of the reply's characters).
    span_end: the arrival of the last token chunk that was its read's last event (a read's stamp is its last
    byte's: a token chunk read together with the finish event after it is stamped with the finish's arrival);
    n_after: the tokens after it, counted per `n_after_source` (None when the span ends at the last token).
    """

    first_any_ns: int | None = None
    first_content_ns: int | None = None
    first_reasoning_ns: int | None = None
    last_token_ns: int | None = None
    close_ns: int | None = None
    chunks: int = 0
    chunk_ns: list[int] = field(default_factory=list)
    queue_ns: int | None = None
    t_send_wire: bool = False
    n_first: int | None = None
    n_first_source: TokenSource | None = None
    span_end_ns: int | None = None
    n_after: int | None = None
    n_after_source: TokenSource | None = None

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_any_ns is None else self.first_any_ns / 1e9

    @property
    def ttfat_s(self) -> float | None:
        """Time to first answer token."""
        return None if self.first_content_ns is None else self.first_content_ns / 1e9

    @property
    def e2e_s(self) -> float | None:
        return None if self.last_token_ns is None else self.last_token_ns / 1e9

    @property
    def queue_s(self) -> float | None:
        return None if self.queue_ns is None else self.queue_ns / 1e9

    def output_speed(self, completion_tokens: int | None) -> float | None:
        """(N - n_first - n_after) / (span_end - t_first_any), tokens per second: the tokens that arrived during
        the span over the span (n_first arrived at its start, n_after after its end). Records without `n_after`
        (timing definitions 3 and before) end it at the last token. None when undefined."""
        n_first = 1 if self.n_first is None else self.n_first
        if self.n_after is None:
            end, n_after = self.last_token_ns, 0
        else:
            end, n_after = self.span_end_ns, self.n_after
        n = None if completion_tokens is None else completion_tokens - n_first - n_after
        if n is None or n < 1 or self.first_any_ns is None or end is None:
            return None
        span = end - self.first_any_ns
        if span <= 0:
            return None
        return n / (span / 1e9)


@dataclass(slots=True)
class ModelCall:
    """What one request to a model endpoint produced, with its timing."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    timing: CallTiming = field(default_factory=CallTiming)
    retries: int = 0
    # Set when the call was cut: "budget" (task deadline), or an infra error message after retries ran out.
    cut: str | None = None
    server_model: str | None = None
    # Tool calls the reply made, assembled from their deltas, in order.
    tool_calls: list[ToolCall] = field(default_factory=list)
    # Reasoning items the API wants back on the next turn (each with its own text and opaque payload); empty
    # when the reasoning is plain text (`reasoning`) or there is none.
    reasoning_items: list[Reasoning] = field(default_factory=list)
    # At the combo's prices (cached input at the cached rate); None when a count it needs is unknown.
    cost_usd: float | None = None

    def message(self) -> Message:
        """The reply as the assistant's turn of a conversation: reasoning, text, then tool calls."""
        reasoning: list[Block] = list(self.reasoning_items)
        if not reasoning and self.reasoning:
            reasoning = [Reasoning(self.reasoning)]
        text: list[Block] = [Text(self.text)] if self.text else []
        return Message("assistant", (*reasoning, *text, *self.tool_calls))


@dataclass(slots=True)
class SandboxRun:
    """What the sandbox reported for one execution of candidate code (plain data, no verdict)."""

    kind: str  # "process", "docker"
    status: Literal["ok", "timeout", "resource_limit", "crashed", "infra_error"]
    exit_code: int | None
    duration_s: float
    stdout: str = ""
    stderr: str = ""
    detail: str = ""


@dataclass(slots=True)
class Placement:
    """Where an attempt ran and how busy that machine was when it started: latencies are comparable only across
    machines that are alike, so a cluster run keeps, per attempt, what the report needs to tell them apart."""

    executor: str  # "local", "ray", ...
    host: str = ""  # a hash of the host name (as the manifest's host fingerprint): same machine or not, no name
    node_id: str = ""  # the cluster's id of the node ("" for the local executor)
    cpu_model: str = ""
    cpus: int | None = None
    load_1m: float | None = None  # the 1-minute load average when the attempt started
    # From the driver handing the attempt to a worker to the worker starting it (a cluster's scheduling, on the
    # wall clocks of two hosts); None for the local executor, where no hand-over happens.
    dispatch_s: float | None = None


@dataclass(slots=True)
class DroppedStatement:
    """A top-level statement of the reply that extraction left out of the candidate (it was not needed)."""

    line: int  # first line in the program before pruning, 1-based
    # def | class | import | assignment | call | print | assert | loop | main_guard | unparseable | other
    kind: str
    name: str = ""  # the names it binds, comma-separated ("" when none)
    text: str = ""  # its first line, capped
    why: str = ""  # why it was dropped, in words


@dataclass(slots=True)
class Extraction:
    """What extraction did to turn a reply into the candidate (ripsaw.solvers.extract), so a reader can see how much
    of a score depends on it. `rules` is the extraction rules version the candidate was made with."""

    rules: int
    source: Literal["fence", "text", "continuation", "none"] = "none"  # where the code came from
    blocks: int = 0  # python code blocks in the reply (chat)
    joined_blocks: int = 0  # other blocks put before the chosen one for names it uses
    prompt_context: int = 0  # top-level pieces of the task prompt put before it (imports, helpers)
    reindented: bool = False  # the reply was a body, placed under the task prompt's signature
    cut: str = ""  # complete mode: "stop" (a stop sequence), "dedent" (left the function), "prose" (did not parse)
    dropped: list[DroppedStatement] = field(default_factory=list)
    note: str = ""  # why the dependency closure was not applied, when it was not

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Extraction:
        return cls(**{**d, "dropped": [DroppedStatement(**x) for x in d.get("dropped", [])]})


TurnKind = Literal["generate", "repair", "sample"]
# Why a solve loop ended: "public_pass" (a candidate passed the public tests), "max_turns", "budget" (the
# task budget ran out: a longer budget might have produced more candidates), "single" (one call by design),
# "error" (endpoint or sandbox failure: the attempt is an infra_error). An agent also stops when it "submitted",
# at its "max_output_tokens" or "max_cost" limit, or when the endpoint "rejected" the conversation it had grown
# (a 400/413/422 after the first turn: too long for the model's context; scored, not an infra error).
StopReason = Literal[
    "public_pass",
    "max_turns",
    "budget",
    "single",
    "error",
    "submitted",
    "max_output_tokens",
    "max_cost",
    "rejected",
    "exited",  # a scaffold ended on its own without saying it was done (its own limit, or it gave up or crashed)
]


@dataclass(slots=True)
class Turn:
    """One model call of a solve loop and the candidate it produced. Times in seconds, from the attempt's
    monotonic clock; a turn's call is `Attempt.calls[call]`.

    submitted_at_s: elapsed since the attempt started (model and public-test time so far) when the candidate
    became the attempt's answer, i.e. when its generation finished; None when the turn produced no candidate
    (cut by the budget mid-stream: the previous candidate stands). model_elapsed_s: the same instant counting
    model time only. The hidden verdict of every candidate is computed after the loop, outside the budget.
    """

    index: int
    kind: TurnKind
    started_at_s: float = 0.0  # elapsed since the attempt started when this turn's request was sent
    model_time_s: float = 0.0
    sandbox_time_s: float = 0.0  # the public-test run of this turn's candidate (inside the budget)
    submitted_at_s: float | None = None
    model_elapsed_s: float | None = None
    prompt_delta: str = ""  # what this turn added to the prompt (capped); "" when the prompt was sent again
    reply: str = ""
    code: str = ""
    public_outcome: Outcome | None = None
    public_feedback: str = ""
    hidden_outcome: Outcome | None = None
    hidden_detail: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: TokenSource | None = None
    call: int | None = None
    cut: str | None = None  # copied from the call: "budget" when the deadline ended the stream
    extraction: Extraction | None = None  # what extraction did to this turn's reply (None: no reply)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Turn:
        d = dict(d)
        for name in ("public_outcome", "hidden_outcome"):
            d[name] = Outcome(d[name]) if d.get(name) is not None else None
        if d.get("extraction") is not None:
            d["extraction"] = Extraction.from_dict(d["extraction"])
        return cls(**d)


# What an agent's reply did: ran a command, submitted, was malformed (the format error was its observation and
# the turn counted), or never arrived (the budget cut the call).
# "model_call": a scaffold's turn, seen through the timing proxy (its commands are the scaffold's, not seen one by one)
AgentAction = Literal["command", "submit", "format_error", "no_reply", "model_call"]


@dataclass(slots=True)
class AgentTurn:
    """One turn of an agent: a model call, then the command its reply named. Times in seconds on the attempt's
    monotonic clock; the turn's call is `Attempt.calls[call]`. model + tool + overhead is the turn's wall time."""

    index: int
    started_at_s: float  # elapsed since the attempt started when the turn's request was sent
    action: AgentAction
    call: int | None = None
    model_time_s: float = 0.0
    command: str = ""
    tool_time_s: float = 0.0  # the command's wall time, as the exec round trip measured it
    exit_code: int | None = None  # None: not run, or cut at its timeout
    timed_out: bool = False
    cut: str | None = None  # "budget": the deadline cut this turn's call or command
    output_chars: int = 0  # what the command printed in all (the observation keeps head and tail)
    observation: str = ""  # what the model was shown next: the capped output and status, or the format error
    overhead_s: float = 0.0  # Ripsaw's own time in the turn: the request, parsing, the snapshot, bookkeeping
    snapshot: int | None = None  # the snapshot taken after this turn; None when the workspace did not change


@dataclass(slots=True)
class Snapshot:
    """The workspace's change since its base commit after a turn, in force from `at_s` until the next one."""

    index: int
    turn: int
    at_s: float
    diff_sha256: str
    diff_bytes: int
    left_out: list[str] = field(default_factory=list)  # files over the snapshot's size limit (not in the diff)


@dataclass(slots=True)
class BudgetMark:
    """Anytime scoring: the hidden tests' verdict on the snapshot in force when `budget_s` had elapsed."""

    budget_s: float
    snapshot: int | None  # None: the workspace was still untouched
    outcome: Outcome
    detail: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BudgetMark:
        return cls(**{**d, "outcome": Outcome(d["outcome"])})


@dataclass(slots=True)
class RepoVerdict:
    """How a repository task's verdict was reached, beside the attempt's outcome and detail.

    trust: "tests" (the fail_to_pass / pass_to_pass ids decided, with a sentinel) or "reward" (only the task's own
    tests/test.sh reward, a weaker verdict). tests: each required id's result ("passed", "failed", "error",
    "skipped", "missing"). dropped: paths of the agent's change the verdict did not apply (protected: hidden tests,
    test configuration, import hooks, .git). tampered: the sentinel test passed."""

    trust: str = "tests"
    tests: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    tampered: bool = False
    duration_s: float = 0.0


@dataclass(slots=True)
class ProxiedRequest:
    """One request a scaffold made through the timing proxy (ripsaw.agents.proxy), refused or forwarded."""

    index: int
    at_s: float  # elapsed since the attempt started when the request arrived
    api: str  # "chat", "responses", "messages", "models"; "" for a path the proxy does not serve
    path: str
    stream: bool  # the scaffold asked for a stream
    items: int = 0  # conversation items (messages, input items) the request carried
    status: int = 0  # what the scaffold was answered (200 also for a stream cut at the deadline)
    call: int | None = None  # the ModelCall it made (index into Attempt.calls); None: refused or failed
    duration_s: float = 0.0  # from its arrival to its answer's last byte (or the cut)
    detail: str = ""  # why it was refused, how it failed, or that the deadline cut it


@dataclass(slots=True)
class AgentRun:
    """An agent attempt's turns and where its time went. wall_s = model_time_s + tool_time_s + overhead_s.

    warm_s: starting the attempt's container and recording its base commit; warm_hidden_s: how much of it ran
    while the first model call was under way (the part the agent did not wait for). solved_at_s: when the
    earliest snapshot that passes the hidden tests (of those scored: the budget marks' and the last) was taken."""

    tool_mode: str  # "native" (the API's tool calls) or "text" (one fenced bash block per reply)
    turns: list[AgentTurn] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    marks: list[BudgetMark] = field(default_factory=list)
    model_time_s: float = 0.0
    tool_time_s: float = 0.0
    overhead_s: float = 0.0
    wall_s: float = 0.0
    warm_s: float | None = None
    warm_hidden_s: float | None = None
    submitted: bool = False
    solved_at_s: float | None = None
    verdict: RepoVerdict | None = None
    scaffold: str = ""  # the scaffold adapter that ran (strategy "scaffold:NAME"); "": Ripsaw's own agent loop
    requests: list[ProxiedRequest] = field(default_factory=list)  # a scaffold's, through the proxy
    scaffold_log: str = ""  # the scaffold's own output (capped head and tail)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AgentRun:
        verdict = d.get("verdict")
        return cls(
            **{
                **d,
                "turns": [AgentTurn(**t) for t in d.get("turns", [])],
                "snapshots": [Snapshot(**x) for x in d.get("snapshots", [])],
                "marks": [BudgetMark.from_dict(m) for m in d.get("marks", [])],
                "verdict": RepoVerdict(**verdict) if verdict else None,
                "requests": [ProxiedRequest(**r) for r in d.get("requests", [])],
            }
        )


@dataclass(slots=True)
class Attempt:
    """One (combo, task, sample): the unit the runner schedules and the store appends."""

    run_id: str
    combo: str
    task_id: str
    sample: int
    outcome: Outcome
    detail: str = ""
    hardware: str = ""
    model: str = ""
    provider: str = ""
    strategy: str = "single"
    prompt_mode: str = "complete"
    completion: str = ""
    code: str = ""
    calls: list[ModelCall] = field(default_factory=list)
    sandbox: SandboxRun | None = None
    model_time_s: float = 0.0
    sandbox_time_s: float = 0.0
    task_time_s: float = 0.0
    cost_usd: float | None = None
    started_at: str = ""  # ISO-8601 wall clock, for humans; durations never come from it
    schema_version: int = RESULTS_SCHEMA_VERSION
    # Solve loops (repair, sample-k) record every candidate; `outcome` is the hidden verdict of the last one
    # submitted. Empty for records written without turns: `single_turn(attempt)` derives the one they had.
    turns: list[Turn] = field(default_factory=list)
    stop_reason: StopReason | None = None
    # What extraction did to the answer's reply; None for records written before it was recorded, or no reply.
    extraction: Extraction | None = None
    placement: Placement | None = None  # None for records written before it was recorded
    agent: AgentRun | None = None  # an agent attempt's turns and time split (strategy "agent"); `code` is its diff
    prompt: str = ""  # what the model was first sent, rendered (capped); "" for records written before it was kept

    @property
    def attempt_id(self) -> str:
        return attempt_key(self.combo, self.task_id, self.sample)

    def to_dict(self) -> dict[str, Any]:
        d = _plain(self)
        d["attempt_id"] = self.attempt_id  # last: the store's resume scan finds it there (store.py)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attempt:
        """A record as stored, migrated to this version. Raises RecordError for a record from a newer Ripsaw, or
        one that does not fit the schema it names (unknown or missing fields)."""
        d = _migrate(dict(d))
        d.pop("attempt_id", None)
        unknown = sorted(set(d) - _ATTEMPT_FIELDS - {"calls", "sandbox", "turns", "extraction", "placement", "agent"})
        if unknown:
            raise RecordError(
                f"unknown field(s) {', '.join(unknown)} in a results-schema-{RESULTS_SCHEMA_VERSION} record"
            )
        try:
            return cls._build(d)
        except (TypeError, ValueError, KeyError) as e:
            raise RecordError(f"malformed record: {e}") from None

    @classmethod
    def _build(cls, d: dict[str, Any]) -> Attempt:
        calls = [
            ModelCall(
                **{
                    **c,
                    "usage": Usage(**c["usage"]),
                    "timing": CallTiming(**c["timing"]),
                    "tool_calls": [ToolCall(**t) for t in c.get("tool_calls", [])],
                    "reasoning_items": [Reasoning(**r) for r in c.get("reasoning_items", [])],
                }
            )
            for c in d.pop("calls", [])
        ]
        sb = d.pop("sandbox", None)
        turns = [Turn.from_dict(t) for t in d.pop("turns", [])]
        extraction = d.pop("extraction", None)
        placement = d.pop("placement", None)
        agent = d.pop("agent", None)
        return cls(
            **{**d, "outcome": Outcome(d["outcome"])},
            calls=calls,
            sandbox=SandboxRun(**sb) if sb else None,
            turns=turns,
            extraction=Extraction.from_dict(extraction) if extraction else None,
            placement=Placement(**placement) if placement else None,
            agent=AgentRun.from_dict(agent) if agent else None,
        )


def _plain(record: Any) -> dict[str, Any]:
    """A record as JSON-ready data: the keys and order of `dataclasses.asdict`, outcomes as their values.

    Unlike `asdict` nothing is deep-copied: that copy (every chunk offset of every call, one at a time) was most
    of the cost of appending an attempt to the store. Nested records become dicts; other values, lists of
    numbers included, are the record's own objects, so the result is for serializing, not for editing.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, list):
            # lists are typed homogeneous: records (calls, turns) or plain values (chunk offsets)
            if value and dataclasses.is_dataclass(value[0]):
                value = [_plain(v) for v in value]
        elif isinstance(value, Enum):
            value = value.value
        elif dataclasses.is_dataclass(value):
            value = _plain(value)
        out[f.name] = value
    return out


def attempt_key(combo: str, task_id: str, sample: int) -> str:
    return f"{combo}::{task_id}::{sample}"


def single_turn(attempt: Attempt) -> Turn:
    """The one turn of an attempt recorded without turns (a `single` call): its candidate was submitted when
    the call ended; a call cut by the budget left no candidate."""
    call = attempt.calls[-1] if attempt.calls else None
    cut = attempt.outcome is Outcome.BUDGET_EXCEEDED or (call is not None and call.cut == "budget")
    submitted = None if cut or call is None else attempt.model_time_s
    return Turn(
        index=0,
        kind="generate",
        model_time_s=attempt.model_time_s,
        submitted_at_s=submitted,
        model_elapsed_s=submitted,
        reply=attempt.completion,
        code=attempt.code,
        hidden_outcome=None if submitted is None else attempt.outcome,
        hidden_detail=attempt.detail,
        prompt_tokens=call.usage.prompt_tokens if call else None,
        completion_tokens=call.usage.completion_tokens if call else None,
        token_source=call.usage.source if call else None,
        call=len(attempt.calls) - 1 if call else None,
        cut=call.cut if call else None,
        extraction=attempt.extraction,
    )


class RecordError(ValueError):
    """A stored record this Ripsaw cannot read; the store adds the file and line."""


_ATTEMPT_FIELDS = {f.name for f in dataclasses.fields(Attempt)}


def _to_2(d: dict[str, Any]) -> dict[str, Any]:
    # Version 2 only added fields, each with a default that means "not recorded"; timings keep the meaning they
    # were measured with (the manifest's rules say which), so nothing is rewritten.
    return d


def _to_3(d: dict[str, Any]) -> dict[str, Any]:
    # Version 3 only added fields whose defaults mean "not recorded" (no cached tokens reported, no per-call cost).
    return d


def _to_4(d: dict[str, Any]) -> dict[str, Any]:
    # Version 4 added Attempt.placement; an older record does not say where it ran (None).
    return d


def _to_5(d: dict[str, Any]) -> dict[str, Any]:
    # Version 5 added Attempt.agent (None: not an agent attempt), stop reasons only agents give, and Attempt.prompt
    # ("": not recorded).
    return d


def _to_6(d: dict[str, Any]) -> dict[str, Any]:
    # Version 6 only added AgentRun fields whose defaults mean "Ripsaw's own agent loop" (no scaffold, no proxied
    # requests, no scaffold log).
    return d


def _to_7(d: dict[str, Any]) -> dict[str, Any]:
    # Version 7 only added CallTiming fields whose defaults (None) keep the speed the record was measured with.
    return d


# _MIGRATIONS[v] turns a version-v record into a version v + 1 record.
_MIGRATIONS = {1: _to_2, 2: _to_3, 3: _to_4, 4: _to_5, 5: _to_6, 6: _to_7}


def _migrate(d: dict[str, Any]) -> dict[str, Any]:
    version = d.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        raise RecordError(f"schema_version {version!r} is not a results schema version")
    if version > RESULTS_SCHEMA_VERSION:
        raise RecordError(
            f"written by a newer Ripsaw (results schema {version}; this one reads up to {RESULTS_SCHEMA_VERSION}): "
            "upgrade Ripsaw (pip install -U ripsaw) to read this run"
        )
    for v in range(version, RESULTS_SCHEMA_VERSION):
        d = _MIGRATIONS[v](d)
    d["schema_version"] = RESULTS_SCHEMA_VERSION
    return d
