"""The per-combo table, as fixed-width text for the terminal and as Markdown for summary.md."""

from __future__ import annotations

from collections.abc import Sequence

from ripsaw.analysis import format as fmt
from ripsaw.analysis.metrics import ComboMetrics

HEADERS = (
    "combo",
    "attempts",
    "pass@1 [95% CI]",
    "p50",
    "p90",
    "TTFT p50",
    "speed",
    "tokens in/out",
    "cost/task",
    "outcomes",
)
# Numbers right-aligned, names and lists left.
_RIGHT = (False, True, True, True, True, True, True, True, True, False)

LEGEND = (
    "attempts: scored + infra errors; pass@1 over scored attempts with a 95% Wilson interval; "
    "p50/p90: task latency (model + sandbox); speed: median output tokens/s per call; "
    "tokens: mean per attempt (~ = estimated, not server-reported); — = undefined."
)


def _tokens(m: ComboMetrics) -> str:
    t = m.tokens
    if t.prompt is None and t.completion is None:
        return fmt.DASH
    mark = "~" if t.approximate else ""
    return f"{mark}{fmt.count(t.per_attempt(t.prompt))}/{fmt.count(t.per_attempt(t.completion))}"


def combo_rows(combos: Sequence[ComboMetrics]) -> list[tuple[str, ...]]:
    return [
        (
            m.name,
            str(m.attempts),
            fmt.pct_ci(m.pass_rate),
            fmt.secs(m.latency_p50),
            fmt.secs(m.latency_p90),
            fmt.secs(m.ttft_p50),
            fmt.speed(m.speed_median),
            _tokens(m),
            fmt.usd(m.cost_per_task),
            fmt.outcomes_short(m.outcomes),
        )
        for m in combos
    ]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    right = right or [False] * len(headers)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    right = right or [False] * len(headers)

    def esc(c: str) -> str:
        return c.replace("|", "\\|").replace("\n", " ")

    out = [
        "| " + " | ".join(esc(h) for h in headers) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def terminal(combos: Sequence[ComboMetrics]) -> str:
    return text_table(HEADERS, combo_rows(combos), _RIGHT)


def markdown(combos: Sequence[ComboMetrics]) -> str:
    return markdown_table(HEADERS, combo_rows(combos), _RIGHT)
