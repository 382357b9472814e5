"""Per-combo metrics computed from the attempts of a run, each with its n and how it was obtained.

Conventions (documented for users in docs/summary-schema.md):
- Scored attempts exclude `infra_error` (the endpoint, daemon or host failed, not the model). Every rate,
  latency, token and cost figure is over scored attempts; `cost_total_usd` is the exception: it is what the
  whole run spent, infra errors included.
- An undefined figure is `None` (shown as "—"), never NaN: no data, one data point for an interval, a
  percentile of nothing.
- Intervals are 95%: Wilson for proportions (Clopper–Pearson alongside), bootstrap percentile intervals with a
  fixed seed for latency percentiles and mean cost, so a report is reproducible bit for bit.
- Samples of one task are treated as independent attempts in the pass-rate interval; pass@k uses the
  unbiased per-task estimator of Chen et al. (2021) and averages over tasks.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.stats import binomtest, bootstrap, norm

from ripsaw.analysis.extraction import ExtractionCounts, extraction_counts
from ripsaw.records import Attempt, ModelCall, Outcome

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
DEFAULT_SEED = 0
_BOOTSTRAP_BATCH = 250  # bounds the resample matrix to batch x n floats on large runs
# The client's own wait before a request leaves is shown when it could change how a run reads: beyond 5 ms, or a
# tenth of the typical TTFT (it is never part of TTFT, but it is part of the time a task took).
_QUEUE_NOTE_S = 0.005
_QUEUE_NOTE_SHARE = 0.1

ProportionMethod = Literal["wilson", "clopper-pearson"]

# How a completion-token count N was obtained (Usage.source), in words for the method notes.
TOKEN_SOURCE_LABELS = {
    "server": "server-reported",
    "tokenizer": "counted with the model's tokenizer",
    "estimated": "estimated by Ripsaw without a tokenizer",
}


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure with its interval (lo, hi), the number of observations behind it and the method."""

    value: float | None
    lo: float | None = None
    hi: float | None = None
    n: int = 0
    method: str = ""

    @classmethod
    def of(
        cls, value: float | None, lo: float | None = None, hi: float | None = None, *, n: int, method: str
    ) -> Estimate:
        return cls(finite(value), finite(lo), finite(hi), n, method)

    @property
    def has_interval(self) -> bool:
        return self.lo is not None and self.hi is not None

    def overlaps(self, other: Estimate) -> bool:
        """Whether the intervals (a point when there is no interval) intersect."""
        if self.value is None or other.value is None:
            return False
        a_lo, a_hi = (self.lo, self.hi) if self.has_interval else (self.value, self.value)
        b_lo, b_hi = (other.lo, other.hi) if other.has_interval else (other.value, other.value)
        assert a_lo is not None and a_hi is not None and b_lo is not None and b_hi is not None
        return a_lo <= b_hi and b_lo <= a_hi

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "n": self.n, "method": self.method}


def finite(x: float | None) -> float | None:
    """x, or None where JSON has no number for it (None, NaN, ±inf)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), None of nothing: a point figure, without an interval."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def one_source(sources: Iterable[str]) -> str | None:
    """Where a set of token counts came from: the one source, "mixed", or None when nothing was counted."""
    found = sorted(set(sources))
    return None if not found else found[0] if len(found) == 1 else "mixed"


# -- proportions ----------------------------------------------------------------------------------------


def proportion(k: int, n: int, method: ProportionMethod = "wilson", confidence: float = CONFIDENCE) -> Estimate:
    label = "Wilson" if method == "wilson" else "Clopper–Pearson"
    how = f"{k}/{n}, {label} {confidence:.0%} interval"
    if n == 0:
        return Estimate.of(None, n=0, method=how)
    if method == "wilson":
        lo, hi = _wilson(k, n, confidence)
        return Estimate.of(k / n, lo, hi, n=n, method=how)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return Estimate.of(k / n, ci.low, ci.high, n=n, method=how)


@functools.cache
def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


def _wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval in closed form (scipy's binomtest gives the same to the last digits, ~500x
    slower: a pass@budget curve of a large run asks for one per step)."""
    z = _z(confidence)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task with n samples of which c passed (Chen et al. 2021).

    1 - C(n-c, k) / C(n, k), computed as the product 1 - prod_{i=n-c+1..n} (1 - k/i), which never forms the
    huge binomials.
    """
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 < k <= n and 0 <= c <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_over_tasks(per_task: Mapping[str, tuple[int, int]], k: int) -> Estimate:
    """Mean pass@k over the tasks that have at least k scored samples. per_task: task -> (n, c)."""
    eligible = [(n, c) for n, c in per_task.values() if n >= k]
    skipped = len(per_task) - len(eligible)
    how = f"unbiased pass@{k} (Chen et al. 2021), mean over {len(eligible)} tasks"
    if skipped:
        how += f"; {skipped} tasks with fewer than {k} scored samples left out"
    if not eligible:
        return Estimate.of(None, n=0, method=how)
    return Estimate.of(sum(pass_at_k(n, c, k) for n, c in eligible) / len(eligible), n=len(eligible), method=how)


# -- bootstrap ------------------------------------------------------------------------------------------


def bootstrap_interval(
    samples: tuple[np.ndarray, ...],
    statistic: Callable[..., Any],
    *,
    paired: bool = False,
    seed: int = DEFAULT_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    result = bootstrap(
        samples,
        statistic,
        n_resamples=resamples,
        batch=_BOOTSTRAP_BATCH,
        vectorized=True,
        paired=paired,
        # BCa is unstable for quantiles of small, tied samples (latencies often are); percentile is robust.
        method="percentile",
        confidence_level=confidence,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def bootstrap_method(seed: int, resamples: int, confidence: float = CONFIDENCE) -> str:
    return f"{confidence:.0%} bootstrap percentile interval, {resamples} resamples, seed {seed}"


def percentile(
    values: Sequence[float], q: float, *, seed: int = DEFAULT_SEED, resamples: int = BOOTSTRAP_RESAMPLES
) -> Estimate:
    """The q-th percentile (linear interpolation) with a bootstrap interval; no interval below 2 values."""
    x = np.asarray(values, dtype=float)
    how = f"p{q:g} of {len(x)} values (linear interpolation)"
    if len(x) == 0:
        return Estimate.of(None, n=0, method=how)
    value = float(np.percentile(x, q))
    if len(x) < 2:
        return Estimate.of(value, n=1, method=how + "; no interval from one value")
    if np.ptp(x) == 0:
        return Estimate.of(value, value, value, n=len(x), method=how + "; all values equal")
    lo, hi = bootstrap_interval((x,), lambda s, axis: np.percentile(s, q, axis=axis), seed=seed, resamples=resamples)
    return Estimate.of(value, lo, hi, n=len(x), method=f"{how}; {bootstrap_method(seed, resamples)}")


def mean(values: Sequence[float], *, seed: int = DEFAULT_SEED, resamples: int = BOOTSTRAP_RESAMPLES) -> Estimate:
    x = np.asarray(values, dtype=float)
    how = f"mean of {len(x)} values"
    if len(x) == 0:
        return Estimate.of(None, n=0, method=how)
    value = float(x.mean())
    if len(x) < 2:
        return Estimate.of(value, n=1, method=how + "; no interval from one value")
    if np.ptp(x) == 0:
        return Estimate.of(value, value, value, n=len(x), method=how + "; all values equal")
    lo, hi = bootstrap_interval((x,), lambda s, axis: np.mean(s, axis=axis), seed=seed, resamples=resamples)
    return Estimate.of(value, lo, hi, n=len(x), method=f"{how}; {bootstrap_method(seed, resamples)}")


# -- per-combo metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token totals over scored attempts; None where no call reported (or estimated) that count."""

    prompt: int | None
    completion: int | None
    reasoning: int | None
    attempts: int  # scored attempts whose calls all carried usage
    sources: tuple[str, ...]  # the Usage.source values seen: "server", "tokenizer", "estimated"

    @property
    def source(self) -> str | None:
        """The one source of every count, "mixed", or None when nothing was counted."""
        return one_source(self.sources)

    @property
    def approximate(self) -> bool:
        """Whether any count is Ripsaw's estimate rather than the model's own token count."""
        return "estimated" in self.sources

    def per_attempt(self, total: int | None) -> float | None:
        return None if total is None or self.attempts == 0 else total / self.attempts

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_total": self.prompt,
            "completion_total": self.completion,
            "reasoning_total": self.reasoning,
            "prompt_per_attempt": self.per_attempt(self.prompt),
            "completion_per_attempt": self.per_attempt(self.completion),
            "reasoning_per_attempt": self.per_attempt(self.reasoning),
            "attempts_counted": self.attempts,
            "source": self.source,
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class ComboMetrics:
    name: str
    run_id: str
    provider: str
    model: str
    hardware: str
    prompt_mode: str
    strategy: str
    attempts: int
    scored: int
    passed: int
    tasks: int  # distinct tasks with at least one scored attempt
    outcomes: dict[str, int]
    pass_rate: Estimate  # Wilson
    pass_rate_exact: Estimate  # Clopper–Pearson
    pass_at_k: dict[int, Estimate]
    latency_p50: Estimate  # task time: model calls + sandbox runs
    latency_p90: Estimate
    latency_p99: Estimate
    model_time_p50: Estimate
    sandbox_time_p50: Estimate
    ttft_p50: Estimate
    ttft_p90: Estimate
    speed_median: Estimate  # output tokens/s per call
    tokens: Tokens
    cost_per_task: Estimate
    cost_per_solved: Estimate
    cost_total_usd: float | None
    latency_slo_s: float | None
    goodput: Estimate  # passed AND task time <= SLO, over scored attempts
    price_in_per_mtok: float | None = None
    price_out_per_mtok: float | None = None
    warnings: list[str] = field(default_factory=list)
    extraction: ExtractionCounts = field(default_factory=ExtractionCounts)

    @property
    def infra_errors(self) -> int:
        return self.outcomes.get(Outcome.INFRA_ERROR.value, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "run_id": self.run_id,
            "provider": self.provider,
            "model": self.model,
            "hardware": self.hardware,
            "prompt_mode": self.prompt_mode,
            "strategy": self.strategy,
            "price_in_per_mtok": self.price_in_per_mtok,
            "price_out_per_mtok": self.price_out_per_mtok,
            "attempts": self.attempts,
            "scored": self.scored,
            "passed": self.passed,
            "infra_errors": self.infra_errors,
            "tasks": self.tasks,
            "outcomes": dict(self.outcomes),
            "pass_rate": self.pass_rate.to_dict(),
            "pass_rate_clopper_pearson": self.pass_rate_exact.to_dict(),
            "pass_at_k": {str(k): e.to_dict() for k, e in sorted(self.pass_at_k.items())},
            "latency_s": {
                "p50": self.latency_p50.to_dict(),
                "p90": self.latency_p90.to_dict(),
                "p99": self.latency_p99.to_dict(),
                "model_p50": self.model_time_p50.to_dict(),
                "sandbox_p50": self.sandbox_time_p50.to_dict(),
            },
            "ttft_s": {"p50": self.ttft_p50.to_dict(), "p90": self.ttft_p90.to_dict()},
            "output_tokens_per_s": {"median": self.speed_median.to_dict()},
            "tokens": self.tokens.to_dict(),
            "cost_usd": {
                "per_task": self.cost_per_task.to_dict(),
                "per_solved_task": self.cost_per_solved.to_dict(),
                "total": self.cost_total_usd,
            },
            "latency_slo_s": self.latency_slo_s,
            "goodput": self.goodput.to_dict(),
            "warnings": list(self.warnings),
            "extraction": self.extraction.to_dict(),
        }


def _token_totals(attempts: Sequence[Attempt]) -> Tokens:
    prompt = completion = reasoning = 0
    saw_prompt = saw_completion = saw_reasoning = False
    counted = 0
    sources: set[str] = set()
    for a in attempts:
        complete = bool(a.calls)
        for call in a.calls:
            u = call.usage
            if u.prompt_tokens is not None:
                prompt += u.prompt_tokens
                saw_prompt = True
            if u.completion_tokens is not None:
                completion += u.completion_tokens
                saw_completion = True
                sources.add(u.source)
            else:
                complete = False
            if u.reasoning_tokens is not None:
                reasoning += u.reasoning_tokens
                saw_reasoning = True
        counted += complete
    return Tokens(
        prompt if saw_prompt else None,
        completion if saw_completion else None,
        reasoning if saw_reasoning else None,
        counted,
        tuple(sorted(sources)),
    )


def _speeds(calls: Iterable[ModelCall]) -> tuple[list[float], set[str]]:
    speeds: list[float] = []
    sources: set[str] = set()
    for call in calls:
        speed = call.timing.output_speed(call.usage.completion_tokens)
        if speed is not None:
            speeds.append(speed)
            sources.add(call.usage.source)
    return speeds, sources


def combo_metrics(
    name: str,
    attempts: Sequence[Attempt],
    *,
    run_id: str = "",
    meta: Mapping[str, Any] | None = None,
    samples: int | None = None,
    latency_slo_s: float | None = None,
    seed: int = DEFAULT_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> ComboMetrics:
    """Metrics of one combo. meta: its manifest entry (provider, model, hardware, prices…), if known."""
    meta = meta or {}
    first = attempts[0] if attempts else None
    scored = [a for a in attempts if a.outcome.scored]
    passed = [a for a in scored if a.outcome is Outcome.PASSED]
    counts = Counter(a.outcome.value for a in attempts)
    outcomes = {o.value: counts.get(o.value, 0) for o in Outcome}
    warnings: list[str] = []
    boot = {"seed": seed, "resamples": resamples}

    per_task: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in scored:
        per_task[a.task_id][0] += 1
        per_task[a.task_id][1] += a.outcome is Outcome.PASSED
    max_k = samples if samples else max((n for n, _ in per_task.values()), default=0)
    task_counts = {t: (n, c) for t, (n, c) in per_task.items()}
    pass_k = {k: pass_at_k_over_tasks(task_counts, k) for k in range(1, max_k + 1)}

    task_times = [a.task_time_s for a in scored]
    calls = [call for a in scored for call in a.calls]
    ttfts = [t for t in (call.timing.ttft_s for call in calls) if t is not None]
    if calls and not ttfts:
        warnings.append("no streaming timings (TTFT and output speed unknown): the endpoint did not stream")
    queues = [q for q in (call.timing.queue_s for call in calls) if q is not None]
    if queues and ttfts:
        queue_p95, ttft_p50 = quantile(queues, 95) or 0.0, quantile(ttfts, 50) or 0.0
        if queue_p95 > max(_QUEUE_NOTE_S, _QUEUE_NOTE_SHARE * ttft_p50):
            limits = [f"{meta[k]} {k}" for k in ("rpm", "tpm") if meta.get(k)]
            why = f"the combo's {' and '.join(limits)} limit, " if limits else ""
            why += "connecting, the send path, other calls"
            warnings.append(
                f"requests waited in the client before leaving: p95 {queue_p95 * 1e3:.1f} ms ({why}; counted in"
                f" no latency, TTFT p50 is {ttft_p50 * 1e3:.1f} ms)"
            )
    speeds, speed_sources = _speeds(calls)
    speed = percentile(speeds, 50, **boot)
    if speed_sources:
        tokens_how = " and ".join(TOKEN_SOURCE_LABELS.get(s, s) for s in sorted(speed_sources))
        speed = Estimate.of(
            speed.value,
            speed.lo,
            speed.hi,
            n=speed.n,
            method=f"median of per-call (N-n_first-n_after)/(t_span_end-t_first_any), N {tokens_how}; {speed.method}",
        )

    costs = [a.cost_usd for a in scored if a.cost_usd is not None]
    if scored and len(costs) < len(scored):
        warnings.append(f"cost unknown for {len(scored) - len(costs)} of {len(scored)} scored attempts (no usage)")
    cost_per_task = mean(costs, **boot)
    if costs and passed:
        cost_per_solved = Estimate.of(
            sum(costs) / len(passed),
            n=len(costs),
            method=f"total cost of {len(costs)} scored attempts / {len(passed)} passed",
        )
    else:
        cost_per_solved = Estimate.of(None, n=len(costs), method="undefined: no cost known or nothing passed")
    all_costs = [a.cost_usd for a in attempts if a.cost_usd is not None]

    if latency_slo_s is None:
        goodput = Estimate.of(None, n=len(scored), method="no latency SLO set")
    else:
        good = sum(1 for a in passed if a.task_time_s <= latency_slo_s)
        g = proportion(good, len(scored))
        goodput = Estimate.of(
            g.value, g.lo, g.hi, n=g.n, method=f"passed with task time <= {latency_slo_s:g} s: {g.method}"
        )

    if attempts and not scored:
        warnings.append("every attempt was an infra error: nothing was scored")

    def _meta(key: str, fallback: str) -> str:
        value = meta.get(key)
        return str(value) if value not in (None, "") else fallback

    def _price(key: str) -> float | None:
        value = meta.get(key)
        return float(value) if isinstance(value, int | float) else None

    return ComboMetrics(
        name=name,
        run_id=run_id,
        provider=_meta("provider", first.provider if first else ""),
        model=_meta("model", first.model if first else ""),
        hardware=_meta("hardware", first.hardware if first else ""),
        prompt_mode=_meta("prompt_mode", first.prompt_mode if first else ""),
        strategy=_meta("strategy", first.strategy if first else ""),
        attempts=len(attempts),
        scored=len(scored),
        passed=len(passed),
        tasks=len(per_task),
        outcomes=outcomes,
        pass_rate=proportion(len(passed), len(scored), "wilson"),
        pass_rate_exact=proportion(len(passed), len(scored), "clopper-pearson"),
        pass_at_k=pass_k,
        latency_p50=percentile(task_times, 50, **boot),
        latency_p90=percentile(task_times, 90, **boot),
        latency_p99=percentile(task_times, 99, **boot),
        model_time_p50=percentile([a.model_time_s for a in scored], 50, **boot),
        sandbox_time_p50=percentile([a.sandbox_time_s for a in scored], 50, **boot),
        ttft_p50=percentile(ttfts, 50, **boot),
        ttft_p90=percentile(ttfts, 90, **boot),
        speed_median=speed,
        tokens=_token_totals(scored),
        cost_per_task=cost_per_task,
        cost_per_solved=cost_per_solved,
        cost_total_usd=sum(all_costs) if all_costs else None,
        latency_slo_s=latency_slo_s,
        goodput=goodput,
        price_in_per_mtok=_price("price_in_per_mtok"),
        price_out_per_mtok=_price("price_out_per_mtok"),
        warnings=warnings,
        extraction=extraction_counts(attempts),
    )


def run_metrics(
    manifest: Mapping[str, Any],
    attempts: Sequence[Attempt],
    *,
    latency_slo_s: float | None = None,
    seed: int = DEFAULT_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> list[ComboMetrics]:
    """Metrics for every combo of one run: the manifest's combos in order (even without attempts), then any
    combo that only appears in the attempts. latency_slo_s overrides the run's `run.latency_slo_s`."""
    run = manifest.get("run") or {}
    slo = latency_slo_s if latency_slo_s is not None else run.get("latency_slo_s")
    samples = run.get("samples")
    by_combo: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_combo[a.combo].append(a)
    metas = {c["name"]: c for c in manifest.get("combos") or [] if isinstance(c, dict) and "name" in c}
    names = list(metas) + sorted(set(by_combo) - set(metas))
    return [
        combo_metrics(
            name,
            by_combo.get(name, []),
            run_id=str(manifest.get("run_id", "")),
            meta=metas.get(name),
            samples=samples if isinstance(samples, int) and samples > 0 else None,
            latency_slo_s=float(slo) if isinstance(slo, int | float) else None,
            seed=seed,
            resamples=resamples,
        )
        for name in names
    ]


def priced(combos: Sequence[ComboMetrics]) -> bool:
    """Whether any combo has a known, non-zero cost per task: otherwise cost figures and cost frontiers would
    only show $0 (local or unpriced models), and the report leaves them out."""
    return any((m.cost_per_task.value or 0.0) > 0 for m in combos)
