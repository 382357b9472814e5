"""The CI quality gate: thresholds on a run's metrics, and regression against a baseline run.

A regression fails the gate only when it is both significant and larger than the allowed margin: noise
alone never blocks a build, and neither does a real but negligible change. Pass rate: exact McNemar on the
attempts the two runs share, at alpha, against `margin` points. Task latency (when `latency_margin` is
set): the paired bootstrap interval of the change in median task time, at 1 - alpha confidence, against
`latency_margin` percent of the baseline's median.

Exit status: 0 every check passed, 1 a check failed, 2 a check could not be evaluated (no scored attempts,
unknown cost, no SLO for goodput) or the input was unusable.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ripsaw.analysis import comparability
from ripsaw.analysis import format as fmt
from ripsaw.analysis.compare import ALPHA, Comparison, compare
from ripsaw.analysis.metrics import ComboMetrics
from ripsaw.analysis.runs import combo_names
from ripsaw.analysis.summary import Summary
from ripsaw.errors import ConfigError
from ripsaw.report.table import markdown_table, text_table

Status = Literal["pass", "fail", "error", "skipped"]


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Thresholds; None = not checked. Field names are the keys of the spec's [gate] table."""

    min_pass_rate: float | None = None  # fraction, 0..1
    use_lower_bound: bool = False  # compare the Wilson lower bound, not the point estimate
    max_p90_latency: float | None = None  # seconds
    max_cost_per_task: float | None = None  # USD
    min_goodput: float | None = None  # fraction, 0..1
    margin: float = 0.0  # allowed pass-rate drop against the baseline, percentage points
    latency_margin: float | None = None  # allowed rise of the median task latency against the baseline, percent
    alpha: float = ALPHA

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> GateConfig:
        """Validate a [gate] table (from a spec); every problem names where it came from and the key."""
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [gate] must be a table")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{where}: gate.{key}: unknown key{hint}")
            if key == "use_lower_bound":
                if not isinstance(value, bool):
                    raise ConfigError(f"{where}: gate.{key}: expected true or false, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}: gate.{key}: expected a number, got {value!r}")
            values[key] = value
        return cls(**values).validated(where)

    def validated(self, where: str) -> GateConfig:
        for key in ("min_pass_rate", "min_goodput"):
            v = getattr(self, key)
            if v is not None and not 0 <= v <= 1:
                raise ConfigError(f"{where}: {key} is a fraction between 0 and 1 (0.6 for 60%), got {v:g}")
        for key in ("max_p90_latency", "max_cost_per_task", "margin", "latency_margin"):
            v = getattr(self, key)
            if v is not None and v < 0:
                raise ConfigError(f"{where}: {key} must not be negative, got {v:g}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"{where}: alpha must be between 0 and 1, got {self.alpha:g}")
        return self

    def override(self, **flags: Any) -> GateConfig:
        """Flags given on the command line win over the spec; None / False means "not given"."""
        return dataclasses.replace(self, **{k: v for k, v in flags.items() if v is not None and v is not False})

    @property
    def empty(self) -> bool:
        return all(getattr(self, t.key) is None for t in _THRESHOLDS)


@dataclass(frozen=True, slots=True)
class Check:
    combo: str
    name: str
    status: Status
    measured: str
    threshold: str
    message: str


@dataclass(frozen=True, slots=True)
class GateResult:
    run_id: str
    baseline_id: str | None
    checks: tuple[Check, ...]
    # Fields of the comparability key the baseline differs in, compared anyway by --allow-mismatch.
    allowed_mismatches: tuple[str, ...] = ()
    detectable: str = ""  # the smallest pass-rate difference a run of this size can see, in words

    @property
    def exit_code(self) -> int:
        statuses = {c.status for c in self.checks}
        return 2 if "error" in statuses else 1 if "fail" in statuses else 0

    @property
    def verdict(self) -> str:
        return {0: "PASSED", 1: "FAILED", 2: "ERROR"}[self.exit_code]

    def count(self, status: Status) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def title(self) -> str:
        bad = self.count("fail") + self.count("error")
        evaluated = len(self.checks) - self.count("skipped")
        tail = f"{bad} of {evaluated} checks did not pass" if bad else f"all {evaluated} checks passed"
        return f"Ripsaw gate {self.verdict}: {tail}"


@dataclass(frozen=True, slots=True)
class _Threshold:
    """One threshold check. `key` names the GateConfig field and the check; a `min_` key is a floor, `max_` a cap."""

    key: str
    show: Callable[[float], str]
    figure: Callable[[ComboMetrics, GateConfig], tuple[float | None, str]]  # the value, and what the message calls it
    unknown: str = ""  # why the figure can be missing although attempts were scored; "" when it cannot

    @property
    def at_least(self) -> bool:
        return self.key.startswith("min_")


def _pass_rate(m: ComboMetrics, cfg: GateConfig) -> tuple[float | None, str]:
    e = m.pass_rate
    value, what = (e.lo, "pass@1 Wilson lower bound") if cfg.use_lower_bound else (e.value, "pass@1")
    return value, f"{what} (n={e.n})"


_THRESHOLDS = (
    _Threshold("min_pass_rate", fmt.pct, _pass_rate),
    _Threshold(
        "max_p90_latency", fmt.secs, lambda m, _: (m.latency_p90.value, f"p90 task latency (n={m.latency_p90.n})")
    ),
    _Threshold(
        "max_cost_per_task",
        fmt.usd,
        lambda m, _: (m.cost_per_task.value, f"mean cost per task (n={m.cost_per_task.n})"),
        unknown="cost unknown: the endpoint reported no usage",
    ),
    _Threshold(
        "min_goodput",
        fmt.pct,
        lambda m, _: (m.goodput.value, f"goodput at SLO {fmt.secs(m.latency_slo_s)} (n={m.goodput.n})"),
        unknown="goodput needs a latency SLO: set run.latency_slo_s in the spec or pass --slo",
    ),
)


def _threshold_checks(m: ComboMetrics, cfg: GateConfig) -> list[Check]:
    checks = []
    for t in _THRESHOLDS:
        limit = getattr(cfg, t.key)
        if limit is None:
            continue
        threshold = f"{'≥' if t.at_least else '≤'} {t.show(limit)}"
        value, what = t.figure(m, cfg)
        if value is None:
            no_scored = f"no scored attempts ({m.attempts} attempts, {m.infra_errors} infra errors)"
            missing = t.unknown if t.unknown and m.scored else no_scored
            checks.append(Check(m.name, t.key, "error", fmt.DASH, threshold, missing))
            continue
        # A figure equal to its threshold up to float rounding (a mean of 0.001s is 0.0010000000000000002) meets it.
        ok = math.isclose(value, limit, rel_tol=1e-9) or (value >= limit if t.at_least else value <= limit)
        message = f"{what} {t.show(value)} {'meets' if ok else 'misses'} the threshold {threshold}"
        checks.append(Check(m.name, t.key, "pass" if ok else "fail", t.show(value), threshold, message))
    return checks


_NO_PAIRS = "no scored attempt shared with the baseline (same task and sample)"


def _regression_checks(name: str, current: Summary, baseline: Summary, cfg: GateConfig) -> list[Check]:
    thresholds = {"regression": f"drop ≤ {cfg.margin:g} pts or not significant at α={cfg.alpha:g}"}
    if cfg.latency_margin is not None:
        thresholds["latency_regression"] = f"rise ≤ {cfg.latency_margin:g}% or not significant at {1 - cfg.alpha:.0%}"
    base = baseline.attempts_by_combo()
    if name not in base:
        return [Check(name, n, "skipped", fmt.DASH, t, "combo not in the baseline run") for n, t in thresholds.items()]
    cmp = compare(
        name,
        current.attempts_by_combo()[name],
        name,
        base[name],
        alpha=cfg.alpha,
        seed=current.seed,
        resamples=current.resamples,
    )
    checks = [_pass_regression(name, cmp, cfg.margin, thresholds["regression"])]
    if cfg.latency_margin is not None:
        checks.append(_latency_regression(name, cmp, cfg.latency_margin, thresholds["latency_regression"]))
    return checks


def _pass_regression(name: str, cmp: Comparison, margin: float, threshold: str) -> Check:
    p = cmp.passes
    if p.rate_a is None or p.rate_b is None or p.p_value is None:
        return Check(name, "regression", "error", fmt.DASH, threshold, _NO_PAIRS)
    drop = (p.rate_b - p.rate_a) * 100
    measured = f"{fmt.pct(p.rate_a)} vs {fmt.pct(p.rate_b)} (p={p.p_value:.3g})"
    facts = (
        f"pass@1 {fmt.pct(p.rate_a)} vs baseline {fmt.pct(p.rate_b)} on {p.pairs} shared attempts "
        f"({p.a_only} gained, {p.b_only} lost; McNemar p={p.p_value:.3g})"
    )
    return _judged(name, "regression", threshold, measured, facts, p.verdict == "worse", drop, margin, "drop", " pts")


def _latency_regression(name: str, cmp: Comparison, margin: float, threshold: str) -> Check:
    lat = cmp.latency
    if lat.median_a is None or lat.median_b is None or lat.diff is None:
        return Check(name, "latency_regression", "error", fmt.DASH, threshold, _NO_PAIRS)
    rise = lat.diff / lat.median_b * 100 if lat.median_b > 0 else math.inf if lat.diff > 0 else 0.0
    measured = f"{fmt.secs(lat.median_a)} vs {fmt.secs(lat.median_b)} ({rise:+.1f}%)"
    interval = f"[{lat.lo:+.3g}, {lat.hi:+.3g}] s" if lat.lo is not None and lat.hi is not None else "no interval"
    facts = (
        f"median task latency {fmt.secs(lat.median_a)} vs baseline {fmt.secs(lat.median_b)} on {lat.pairs} shared "
        f"attempts (change {lat.diff:+.3g} s, {1 - cmp.alpha:.0%} paired bootstrap {interval})"
    )
    slower = lat.verdict == "slower"
    return _judged(name, "latency_regression", threshold, measured, facts, slower, rise, margin, "rise", "%")


def _judged(
    name: str, check: str, threshold: str, measured: str, facts: str,
    worse: bool, change: float, margin: float, noun: str, unit: str,
) -> Check:  # fmt: skip
    """A regression check's result: it fails only when the change is significant *and* beyond its margin."""
    regressed = worse and change > margin
    if worse:
        beyond = "exceeds" if regressed else "is within"
        why = f"significant {noun} of {change:.1f}{unit} {beyond} the margin of {margin:g}{unit}"
    else:
        why = f"no significant {noun}" if change > 0 else f"no {noun}"
    return Check(name, check, "fail" if regressed else "pass", measured, threshold, f"{facts}: {why}")


def evaluate(
    current: Summary,
    cfg: GateConfig,
    *,
    baseline: Summary | None = None,
    combos: Sequence[str] = (),
    allow_mismatch: frozenset[str] = frozenset(),
) -> GateResult:
    names = [m.name for m in current.combos]
    unknown = [c for c in combos if c not in names]
    if unknown:
        raise ConfigError(f"no combo named {', '.join(map(repr, unknown))} in the run (combos: {', '.join(names)})")
    if cfg.empty and baseline is None:
        raise ConfigError(
            "nothing to check: give a threshold (--min-pass-rate, --max-p90-latency, "
            "--max-cost-per-task, --min-goodput), a [gate] table in the spec, or --baseline"
        )
    if baseline is not None:
        hashes = (current.runset.suite.get("hash"), baseline.runset.suite.get("hash"))
        if hashes[0] != hashes[1]:
            raise ConfigError(f"the baseline was scored on a different task suite ({hashes[1]} vs {hashes[0]})")
    allowed = _comparable(current, baseline, combos, allow_mismatch) if baseline is not None else []
    checks: list[Check] = []
    for m in current.combos:
        if combos and m.name not in combos:
            continue
        checks += _threshold_checks(m, cfg)
        if baseline is not None:
            checks += _regression_checks(m.name, current, baseline, cfg)
    return GateResult(
        current.runset.runs[0].run_id,
        baseline.runset.runs[0].run_id if baseline else None,
        tuple(checks),
        tuple(allowed),
        current.detectable.sentence if current.detectable else "",
    )


def _comparable(current: Summary, baseline: Summary, combos: Sequence[str], allow: frozenset[str]) -> list[str]:
    """Refuse a baseline that is not the same experiment, naming each differing field; return the allowed ones."""
    ours, theirs = current.runset.runs[0].manifest, baseline.runset.runs[0].manifest
    fields = tuple(f for f in comparability.FIELDS if f != "task_suite")  # checked above, with its own message
    found = [
        (f"combo {m.name}: {d.describe()}", d)
        for m in current.combos
        if not (combos and m.name not in combos) and m.name in combo_names(theirs)
        for d in comparability.mismatches(
            comparability.key(theirs, m.name), comparability.key(ours, m.name), allow, fields
        )
    ]
    return comparability.enforce(
        found, "the baseline is not the same experiment as the run", "compare anyway (the output then says so)"
    )


_MARK = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error", "skipped": "⏭️ skipped"}
_HEADERS = ("result", "combo", "check", "measured", "threshold", "detail")


def _rows(result: GateResult, marks: Mapping[str, str]) -> list[tuple[str, ...]]:
    return [(marks[c.status], c.combo, c.name, c.measured, c.threshold, c.message) for c in result.checks]


def _allowed_note(result: GateResult, bullet: str) -> str:
    if not result.allowed_mismatches:
        return ""
    lines = "".join(f"{bullet}{m}\n" for m in result.allowed_mismatches)
    return f"\nCompared although the baseline differs (--allow-mismatch):\n{lines}"


def text_summary(result: GateResult) -> str:
    against = f" against baseline {result.baseline_id}" if result.baseline_id else ""
    table = text_table(_HEADERS, _rows(result, {s: s.upper() for s in _MARK}))
    detectable = f"\n{result.detectable}" if result.detectable else ""
    return f"{result.title} (run {result.run_id}{against})\n\n{table}{detectable}{_allowed_note(result, '  ')}"


def markdown_summary(result: GateResult) -> str:
    against = f" against baseline `{result.baseline_id}`" if result.baseline_id else ""
    return (
        f"### {result.title}\n\nRun `{result.run_id}`{against}.\n\n{markdown_table(_HEADERS, _rows(result, _MARK))}\n"
        f"{chr(10) + result.detectable + chr(10) if result.detectable else ''}"
        f"{_allowed_note(result, '- ')}"
    )


def junit_xml(result: GateResult) -> str:
    """JUnit XML: one testcase per check, so CI systems list each check and its message."""
    counts = {
        "tests": str(len(result.checks)),
        "failures": str(result.count("fail")),
        "errors": str(result.count("error")),
        "skipped": str(result.count("skipped")),
    }
    suites = ET.Element("testsuites", {"name": "ripsaw gate", **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": f"ripsaw gate {result.run_id}", **counts})
    if result.allowed_mismatches:
        props = ET.SubElement(suite, "properties")
        for m in result.allowed_mismatches:
            ET.SubElement(props, "property", {"name": "allowed-mismatch", "value": m})
    for c in result.checks:
        case = ET.SubElement(suite, "testcase", {"classname": f"ripsaw.gate.{c.combo}", "name": c.name, "time": "0"})
        tag = {"fail": "failure", "error": "error", "skipped": "skipped"}.get(c.status)
        if tag:
            ET.SubElement(case, tag, {"message": c.message})
        out = ET.SubElement(case, "system-out")
        out.text = f"measured: {c.measured}\nthreshold: {c.threshold}\n{c.message}\n"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
