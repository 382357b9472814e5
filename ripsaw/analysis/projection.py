"""Hardware what-if: re-time a recorded run as if each model were served with another latency profile.

Every recorded model call becomes ttft_s [+ prompt_tokens / prefill_tokens_per_s] + (N − 1) / output_tokens_per_s,
with N the call's recorded completion tokens (the same definition of output speed the measurements use); the
recorded public-test sandbox time is kept. Candidates are re-stamped with the re-accumulated times and the
budget curves recomputed (ripsaw.analysis.budgets). The projection assumes the same tokens would be written, which
holds for the same weights and decoding settings; it cannot invent the candidates a faster model would have
had time for after the recorded loop was stopped by the budget, and the curves say where that starts
(`exact_until_s`).

Profiles come from ripsaw/data/hardware_profiles.toml (documented examples from public figures) and any
file the user adds. Every projection is labelled with its profile, in data, tables and plots.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ripsaw.analysis.budgets import BudgetAnalysis, Prices, analyze
from ripsaw.errors import ConfigError
from ripsaw.records import Attempt, Turn
from ripsaw.tokens import estimate_tokens

_KEYS = {"description", "output_tokens_per_s", "ttft_s", "prefill_tokens_per_s", "source"}
_REQUIRED = ("output_tokens_per_s", "ttft_s")


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    name: str
    output_tokens_per_s: float
    ttft_s: float
    prefill_tokens_per_s: float | None = None  # set: TTFT grows with the prompt (long repair conversations)
    description: str = ""
    source: str = ""

    @property
    def summary(self) -> str:
        prefill = f", prefill {self.prefill_tokens_per_s:,.0f} tok/s" if self.prefill_tokens_per_s else ""
        return f"TTFT {self.ttft_s:g} s, {self.output_tokens_per_s:,.0f} tok/s{prefill}"

    def call_time_s(self, prompt_tokens: int | None, completion_tokens: int) -> float:
        """Seconds from sending a request to its last token on this hardware."""
        ttft = self.ttft_s
        if self.prefill_tokens_per_s and prompt_tokens:
            ttft += prompt_tokens / self.prefill_tokens_per_s
        return ttft + max(completion_tokens - 1, 0) / self.output_tokens_per_s

    def retime(self, turn: Turn) -> float:
        """A recorded turn's model time on this hardware (a reply without a token count is counted by estimate)."""
        n = turn.completion_tokens if turn.completion_tokens is not None else estimate_tokens(turn.reply)
        return self.call_time_s(turn.prompt_tokens, n)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}


def default_profiles_path() -> Path:
    return Path(str(resources.files("ripsaw") / "data" / "hardware_profiles.toml"))


def load_profiles(*extra: str | Path) -> dict[str, HardwareProfile]:
    """The shipped profiles, then each extra file's (a name defined again replaces the earlier one)."""
    profiles: dict[str, HardwareProfile] = {}
    for path in (default_profiles_path(), *(Path(p) for p in extra)):
        profiles.update(_read(path))
    return profiles


def _read(path: Path) -> dict[str, HardwareProfile]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read hardware profiles: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    unknown = set(data) - {"profiles"}
    if unknown:
        raise ConfigError(f"{path}: {sorted(unknown)[0]}: unknown key (profiles go in [profiles.NAME] tables)")
    table = data.get("profiles", {})
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{path}: no [profiles.NAME] tables")
    return {name: _profile(path, name, values) for name, values in table.items()}


def _profile(path: Path, name: str, values: Any) -> HardwareProfile:
    where = f"{path}: profiles.{name}"
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table")
    for key in values:
        if key not in _KEYS:
            raise ConfigError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_KEYS))})")
    for key in _REQUIRED:
        if key not in values:
            raise ConfigError(f"{where}.{key}: missing")
    for key in ("output_tokens_per_s", "ttft_s", "prefill_tokens_per_s"):
        if key not in values:
            continue
        v = values[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{where}.{key}: expected a number, got {v!r}")
        if v < 0 or (v == 0 and key != "ttft_s"):
            raise ConfigError(f"{where}.{key}: must be {'>= 0' if key == 'ttft_s' else '> 0'}, got {v!r}")
    for key in ("description", "source"):
        if not isinstance(values.get(key, ""), str):
            raise ConfigError(f"{where}.{key}: expected a string")
    prefill = values.get("prefill_tokens_per_s")
    return HardwareProfile(
        name=name,
        output_tokens_per_s=float(values["output_tokens_per_s"]),
        ttft_s=float(values["ttft_s"]),
        prefill_tokens_per_s=float(prefill) if prefill is not None else None,
        description=values.get("description", ""),
        source=values.get("source", ""),
    )


def pick(profiles: dict[str, HardwareProfile], names: Sequence[str]) -> list[HardwareProfile]:
    out = []
    for name in names:
        if name not in profiles:
            raise ConfigError(f"unknown hardware profile {name!r} (known: {', '.join(sorted(profiles))})")
        out.append(profiles[name])
    return out


def project(
    attempts: Sequence[Attempt],
    profile: HardwareProfile,
    max_budget_s: float,
    *,
    prices: Prices | None = None,
    marks: Sequence[float] | None = None,
) -> BudgetAnalysis:
    """The budget analysis of `attempts` re-timed on `profile`, labelled as a projection."""
    analysis = analyze(
        attempts, max_budget_s, prices=prices, marks=marks, retime=profile.retime, projection=profile.to_dict()
    )
    analysis.notes.insert(
        0,
        f"PROJECTION, not a measurement: every model call re-timed at {profile.summary} "
        f"({profile.source or 'no source given'}); sandbox time as measured",
    )
    return analysis
