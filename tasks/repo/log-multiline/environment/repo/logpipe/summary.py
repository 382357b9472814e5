"""Summaries: counts per level, per hour, and the most frequent error messages."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from logpipe.parse import ParseResult

# Numbers and hex ids vary between otherwise identical messages ("order 42", "order 43").
_VARIABLE = re.compile(r"\b(?:0x[0-9a-f]+|\d+)\b", re.IGNORECASE)


def normalise(message: str) -> str:
    return _VARIABLE.sub("<n>", message)


@dataclass
class Summary:
    total: int = 0
    malformed: int = 0
    by_level: Counter = field(default_factory=Counter)
    errors_by_hour: Counter = field(default_factory=Counter)  # "2024-05-10 14:00" -> ERROR + CRITICAL count
    top_errors: list[tuple[str, int]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "total": self.total,
            "malformed": self.malformed,
            "by_level": dict(sorted(self.by_level.items())),
            "errors_by_hour": dict(sorted(self.errors_by_hour.items())),
            "top_errors": [{"message": m, "count": c} for m, c in self.top_errors],
        }


def summarise(parsed: ParseResult, top: int = 5) -> Summary:
    s = Summary(total=len(parsed.records), malformed=len(parsed.malformed))
    errors: Counter = Counter()
    for r in parsed.records:
        s.by_level[r.level] += 1
        if r.level in ("ERROR", "CRITICAL"):
            s.errors_by_hour[r.timestamp.strftime("%Y-%m-%d %H:00")] += 1
            errors[normalise(r.first_line)] += 1
    s.top_errors = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return s
