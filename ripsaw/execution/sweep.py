"""Load sweeps: one combo at concurrency 1, 2, 4, 8, ... until aggregate throughput stops growing.

The curve hardware is compared on: as more requests share an endpoint, each one streams slower while the
endpoint as a whole emits more tokens per second, until it saturates. At each level `c`:

1. Warm-up: `warmup` requests (default: `c`, one per slot, so every pooled connection is open and a cold server
   has compiled its kernels) run at concurrency `c`. They are recorded, flagged `warmup`, and excluded from
   every figure.
2. Measured: `max(requests_per_level, 2c)` requests, closed loop: `c` workers each send the next request as soon
   as their previous one ends, so `c` are in flight until the queue drains. At least two per slot, so a level
   measures a steady state rather than one synchronized wave.

Per level: aggregate throughput = completion tokens of the measured requests / wall time from the first send
to the last end; per-request output speed (median; (N - n_first - n_after) / (t_span_end - t_first), README); TTFT
p50/p90/p99 and E2E p50; the client's own queueing before the wire, p50/p99. Failed requests (the endpoint
gave up after its retries) are counted and excluded.

The sweep stops after the level whose throughput grew less than `min_gain` (5%) over the previous one, or
after the last level. Prompts are the spec's tasks in order, cycled; the combo's params are sent unchanged.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ripsaw import __version__
from ripsaw.analysis.metrics import one_source, quantile
from ripsaw.errors import ConfigError, ProviderError
from ripsaw.execution.executor import closed_loop
from ripsaw.host import fingerprint
from ripsaw.names import utc_now
from ripsaw.providers import create_provider
from ripsaw.providers.base import Provider
from ripsaw.solvers.base import prompt_preset, request_params
from ripsaw.solvers.prompts import PromptPreset, build_prompt
from ripsaw.tasks import load_spec_tasks
from ripsaw.tasks.task import Task
from ripsaw.types import Clock, ComboSpec, EvalSpec

DEFAULT_LEVELS = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_REQUESTS_PER_LEVEL = 16
MIN_GAIN = 0.05
SWEEP_FILE = "sweep.json"
SWEEP_SCHEMA_VERSION = 1


@dataclass(slots=True)
class SweepRequest:
    """One request of a sweep; times in seconds."""

    concurrency: int
    index: int  # within its level, warm-up first
    warmup: bool
    task_id: str
    ttft_s: float | None = None
    e2e_s: float | None = None
    # the client's own wait before the request left (pool, connecting, send path): not in TTFT, shown apart
    queue_s: float | None = None
    output_speed: float | None = None  # tok/s
    completion_tokens: int | None = None
    token_source: str | None = None
    error: str | None = None


@dataclass(slots=True)
class SweepLevel:
    concurrency: int
    requests: int  # measured (warm-up excluded), failed included
    warmup: int
    failed: int
    wall_s: float
    completion_tokens: int
    throughput_tok_s: float  # completion tokens / wall
    output_speed_median: float | None
    ttft_p50_s: float | None
    ttft_p90_s: float | None
    ttft_p99_s: float | None
    e2e_p50_s: float | None
    token_source: str  # "server", "estimated", "tokenizer", or "mixed"
    gain: float | None  # throughput over the previous level's, minus 1
    queue_p50_s: float | None = None
    queue_p99_s: float | None = None


@dataclass(slots=True)
class SweepResult:
    combo: str
    model: str
    hardware: str
    spec_path: str
    spec_sha256: str
    planned_levels: list[int]
    requests_per_level: int
    min_gain: float
    started_at: str
    host: dict[str, Any]
    levels: list[SweepLevel] = field(default_factory=list)
    requests: list[SweepRequest] = field(default_factory=list)
    stop_reason: str = ""
    server: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SWEEP_SCHEMA_VERSION, "ripsaw_version": __version__, **dataclasses.asdict(self)}


def parse_levels(text: str) -> tuple[int, ...]:
    """`1,2,4,8` -> (1, 2, 4, 8): positive, strictly increasing."""
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"--levels: expected comma-separated integers such as 1,2,4,8, got {text!r}") from None
    if not levels or any(c < 1 for c in levels) or any(b <= a for a, b in itertools.pairwise(levels)):
        raise ConfigError(f"--levels: expected increasing concurrencies >= 1 such as 1,2,4,8, got {text!r}")
    return levels


def find_combo(spec: EvalSpec, name: str) -> ComboSpec:
    for combo in spec.combos:
        if combo.name == name:
            return combo
    known = ", ".join(repr(c.name) for c in spec.combos)
    raise ConfigError(f"{spec.path}: no combo named {name!r} (combos: {known})")


async def run_sweep(
    spec: EvalSpec,
    combo: ComboSpec,
    *,
    levels: Sequence[int] = DEFAULT_LEVELS,
    requests_per_level: int = DEFAULT_REQUESTS_PER_LEVEL,
    warmup: int | None = None,
    min_gain: float = MIN_GAIN,
    clock: Clock = time.perf_counter_ns,
    on_level: Callable[[SweepLevel], None] | None = None,
) -> SweepResult:
    """Sweep `combo` over `levels`; `warmup` requests per level (None: one per slot)."""
    if requests_per_level < 1:
        raise ConfigError(f"--requests-per-level must be at least 1, got {requests_per_level}")
    if warmup is not None and warmup < 0:
        raise ConfigError(f"--warmup must be at least 0, got {warmup}")
    tasks = load_spec_tasks(spec)
    if not tasks:
        raise ConfigError(f"{spec.path}: tasks: the task selection is empty")
    result = SweepResult(
        combo=combo.name,
        model=combo.model,
        hardware=combo.hardware,
        spec_path=str(spec.path),
        spec_sha256=spec.sha256,
        planned_levels=list(levels),
        requests_per_level=requests_per_level,
        min_gain=min_gain,
        started_at=utc_now(),
        host=fingerprint(),
    )
    # The combo's own concurrency cap would flatten every level above it into the same load.
    provider = create_provider(dataclasses.replace(combo, max_concurrency=max(levels)))
    try:
        await provider.start()
        for concurrency in levels:
            level = await _level(
                provider,
                combo,
                prompt_preset(combo, spec.run),
                tasks,
                concurrency,
                requests_per_level,
                warmup,
                clock,
                result,
            )
            previous = result.levels[-1] if result.levels else None
            if previous is not None and previous.throughput_tok_s > 0:
                level.gain = level.throughput_tok_s / previous.throughput_tok_s - 1
            result.levels.append(level)
            if on_level is not None:
                on_level(level)
            if level.failed == level.requests:
                result.stop_reason = f"every request at concurrency {concurrency} failed"
                break
            if level.gain is not None and level.gain < min_gain:
                assert previous is not None
                result.stop_reason = (
                    f"throughput grew {level.gain:+.1%} from concurrency {previous.concurrency} to {concurrency}"
                    f" (less than {min_gain:.0%})"
                )
                break
        else:
            result.stop_reason = f"reached the last level ({levels[-1]})"
        result.server = provider.describe()
    finally:
        await provider.aclose()
    return result


async def _level(
    provider: Provider,
    combo: ComboSpec,
    preset: PromptPreset,
    tasks: list[Task],
    concurrency: int,
    requests_per_level: int,
    warmup: int | None,
    clock: Clock,
    result: SweepResult,
) -> SweepLevel:
    n_warm = concurrency if warmup is None else warmup
    n_measured = max(requests_per_level, 2 * concurrency)
    offset = len(result.requests)  # prompts continue where the previous level stopped

    def batch(count: int, first: int, is_warmup: bool) -> list[tuple[SweepRequest, Task]]:
        out = []
        for i in range(count):
            task = tasks[(offset + first + i) % len(tasks)]
            out.append((SweepRequest(concurrency, first + i, is_warmup, task.id), task))
        return out

    warm = batch(n_warm, 0, True)
    measured = batch(n_measured, n_warm, False)

    async def send(item: tuple[SweepRequest, Task]) -> None:
        await _one(provider, combo, preset, item[1], item[0])

    await closed_loop(warm, concurrency, send)
    t0 = clock()
    await closed_loop(measured, concurrency, send)
    wall_s = (clock() - t0) / 1e9
    result.requests += [r for r, _ in warm + measured]
    return _summarize(concurrency, [r for r, _ in measured], n_warm, wall_s)


async def _one(provider: Provider, combo: ComboSpec, preset: PromptPreset, task: Task, record: SweepRequest) -> None:
    try:
        call = await provider.complete(build_prompt(task, combo.prompt_mode, preset), request_params(combo, task), None)
    except ProviderError as e:
        record.error = str(e)
        return
    timing, usage = call.timing, call.usage
    record.ttft_s = timing.ttft_s
    record.e2e_s = timing.e2e_s
    record.queue_s = timing.queue_s
    record.completion_tokens = usage.completion_tokens
    record.token_source = usage.source
    record.output_speed = timing.output_speed(usage.completion_tokens)


def _summarize(concurrency: int, measured: list[SweepRequest], n_warm: int, wall_s: float) -> SweepLevel:
    ok = [r for r in measured if r.error is None]
    tokens = sum(r.completion_tokens or 0 for r in ok)
    ttfts = [r.ttft_s for r in ok if r.ttft_s is not None]
    speeds = [r.output_speed for r in ok if r.output_speed is not None]
    e2es = [r.e2e_s for r in ok if r.e2e_s is not None]
    queues = [r.queue_s for r in ok if r.queue_s is not None]
    sources = {r.token_source for r in ok if r.token_source is not None}
    return SweepLevel(
        concurrency=concurrency,
        requests=len(measured),
        warmup=n_warm,
        failed=len(measured) - len(ok),
        wall_s=wall_s,
        completion_tokens=tokens,
        throughput_tok_s=tokens / wall_s if wall_s > 0 else 0.0,
        output_speed_median=quantile(speeds, 50),
        ttft_p50_s=quantile(ttfts, 50),
        ttft_p90_s=quantile(ttfts, 90),
        ttft_p99_s=quantile(ttfts, 99),
        e2e_p50_s=quantile(e2es, 50),
        token_source=one_source(sources) or "none",
        gain=None,
        queue_p50_s=quantile(queues, 50),
        queue_p99_s=quantile(queues, 99),
    )


def write_sweep(result: SweepResult, run_dir: Path) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / SWEEP_FILE
    path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
