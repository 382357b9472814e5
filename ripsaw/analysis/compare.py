"""Paired comparison of two combos on the attempts they share: same task, same sample index.

Pairing removes task difficulty from the comparison: an easy task passed by both says nothing about which
combo is better; only discordant pairs do. Pass rate: exact McNemar test (a two-sided binomial test on the
discordant pairs). Latency: a paired bootstrap interval for the difference of median task times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import binomtest, norm

from ripsaw.analysis.metrics import BOOTSTRAP_RESAMPLES, DEFAULT_SEED, bootstrap_interval, bootstrap_method
from ripsaw.records import Attempt, Outcome

ALPHA = 0.05

Verdict = Literal["better", "worse", "not distinguishable", "no shared attempts"]
SpeedVerdict = Literal["faster", "slower", "not distinguishable", "no shared attempts"]


@dataclass(frozen=True, slots=True)
class PassComparison:
    pairs: int
    both: int
    a_only: int  # A passed, B did not
    b_only: int
    neither: int
    rate_a: float | None  # on the shared pairs
    rate_b: float | None
    p_value: float | None  # exact McNemar, two-sided
    verdict: Verdict  # A relative to B

    @property
    def diff(self) -> float | None:
        """A's pass rate minus B's on the shared pairs."""
        return None if self.rate_a is None or self.rate_b is None else self.rate_a - self.rate_b

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "both_passed": self.both,
            "a_only_passed": self.a_only,
            "b_only_passed": self.b_only,
            "neither_passed": self.neither,
            "pass_rate_a": self.rate_a,
            "pass_rate_b": self.rate_b,
            "difference": self.diff,
            "p_value": self.p_value,
            "test": "exact McNemar (two-sided binomial test on discordant pairs)",
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class LatencyComparison:
    pairs: int
    median_a: float | None
    median_b: float | None
    diff: float | None  # median_a - median_b, seconds
    lo: float | None
    hi: float | None
    method: str
    verdict: SpeedVerdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "median_a_s": self.median_a,
            "median_b_s": self.median_b,
            "difference_s": self.diff,
            "lo": self.lo,
            "hi": self.hi,
            "method": self.method,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    a: str
    b: str
    alpha: float
    passes: PassComparison
    latency: LatencyComparison

    @property
    def sentence(self) -> str:
        p = self.passes
        if p.verdict == "no shared attempts":
            return f"{self.a} and {self.b} share no scored attempts: no paired comparison."
        rate = (
            f"{self.a} is {p.verdict} than {self.b}"
            if p.verdict != "not distinguishable"
            else (f"{self.a} and {self.b} are not distinguishable")
        )
        text = f"{rate} on pass rate at α={self.alpha:g} (McNemar p={p.p_value:.3g}, {p.pairs} pairs)"
        lat = self.latency
        if lat.verdict in ("faster", "slower"):
            text += f"; {self.a} is {lat.verdict} (median task time {lat.diff:+.3g} s)"
        elif lat.verdict == "not distinguishable":
            text += "; task latency not distinguishable"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "alpha": self.alpha,
            "confidence": 1 - self.alpha,  # of the latency interval; the pass-rate test is at alpha
            "pass_rate": self.passes.to_dict(),
            "latency": self.latency.to_dict(),
            "sentence": self.sentence,
        }


def _pairs(a: Sequence[Attempt], b: Sequence[Attempt]) -> list[tuple[Attempt, Attempt]]:
    b_by_key = {(x.task_id, x.sample): x for x in b if x.outcome.scored}
    return [
        (x, b_by_key[(x.task_id, x.sample)])
        for x in sorted(a, key=lambda x: (x.task_id, x.sample))
        if x.outcome.scored and (x.task_id, x.sample) in b_by_key
    ]


def compare(
    a_name: str,
    a: Sequence[Attempt],
    b_name: str,
    b: Sequence[Attempt],
    *,
    alpha: float = ALPHA,
    seed: int = DEFAULT_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Comparison:
    """Compare combo A (attempts a) with combo B on their shared scored (task, sample) pairs."""
    pairs = _pairs(a, b)
    latency = _compare_latency(pairs, seed, resamples, confidence=1 - alpha)
    return Comparison(a_name, b_name, alpha, _compare_passes(pairs, alpha), latency)


def _compare_passes(pairs: list[tuple[Attempt, Attempt]], alpha: float) -> PassComparison:
    if not pairs:
        return PassComparison(0, 0, 0, 0, 0, None, None, None, "no shared attempts")
    ok = [(x.outcome is Outcome.PASSED, y.outcome is Outcome.PASSED) for x, y in pairs]
    both = sum(1 for pa, pb in ok if pa and pb)
    a_only = sum(1 for pa, pb in ok if pa and not pb)
    b_only = sum(1 for pa, pb in ok if pb and not pa)
    discordant = a_only + b_only
    p_value = float(binomtest(a_only, discordant, 0.5).pvalue) if discordant else 1.0
    verdict: Verdict = "not distinguishable"
    if p_value < alpha:
        verdict = "better" if a_only > b_only else "worse"
    n = len(pairs)
    return PassComparison(
        n, both, a_only, b_only, n - both - discordant, (both + a_only) / n, (both + b_only) / n, p_value, verdict
    )


def _compare_latency(
    pairs: list[tuple[Attempt, Attempt]], seed: int, resamples: int, confidence: float
) -> LatencyComparison:
    if not pairs:
        return LatencyComparison(0, None, None, None, None, None, "", "no shared attempts")
    ta = np.array([x.task_time_s for x, _ in pairs], dtype=float)
    tb = np.array([y.task_time_s for _, y in pairs], dtype=float)
    med_a, med_b = float(np.median(ta)), float(np.median(tb))
    diff = med_a - med_b
    how = f"median(A) - median(B) over {len(pairs)} pairs"
    if len(pairs) < 2:
        return LatencyComparison(
            1, med_a, med_b, diff, None, None, how + "; no interval from one pair", "not distinguishable"
        )
    lo, hi = bootstrap_interval(
        (ta, tb),
        lambda x, y, axis: np.median(x, axis=axis) - np.median(y, axis=axis),
        paired=True,
        seed=seed,
        resamples=resamples,
        confidence=confidence,
    )
    verdict: SpeedVerdict = "faster" if hi < 0 else "slower" if lo > 0 else "not distinguishable"
    how = f"{how}; paired {bootstrap_method(seed, resamples, confidence)}"
    return LatencyComparison(len(pairs), med_a, med_b, diff, lo, hi, how, verdict)


@dataclass(frozen=True, slots=True)
class DetectableDifference:
    """The smallest pass-rate difference a paired comparison of this size detects with the given power."""

    value: float  # a fraction: 0.12 = 12 points
    pairs: int
    discordant_fraction: float
    assumed: bool  # the discordance is a conservative assumption (0.5), not observed
    alpha: float
    power: float

    @property
    def sentence(self) -> str:
        basis = (
            "assuming half the tasks split the combos"
            if self.assumed
            else f"at the {self.discordant_fraction:.0%} of tasks where the combos disagree"
        )
        return (
            f"With {self.pairs} paired tasks this run can detect a pass-rate difference of about "
            f"{100 * self.value:.0f} points (α={self.alpha:g}, {self.power:.0%} power, {basis}); "
            "smaller gaps are noise."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "pairs": self.pairs,
            "discordant_fraction": self.discordant_fraction,
            "discordance_assumed": self.assumed,
            "alpha": self.alpha,
            "power": self.power,
            "method": "paired (McNemar) normal approximation: "
            "(z_(1-α/2) + z_power) * sqrt(discordant fraction / pairs)",
        }


def detectable_difference(
    pairs: int, discordant: int | None = None, *, alpha: float = ALPHA, power: float = 0.8
) -> DetectableDifference | None:
    """For `pairs` paired tasks; with `discordant` observed (tasks where exactly one combo passed) the
    discordance is the observed one, else 0.5 (the most a pair of independent ~50% combos would show)."""
    if pairs <= 0:
        return None
    assumed = not discordant
    psi = discordant / pairs if discordant else 0.5
    z = float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
    return DetectableDifference(min(1.0, z * math.sqrt(psi / pairs)), pairs, psi, assumed, alpha, power)
