"""The trusted verdict: decides an attempt's outcome from plain values a sandbox returned (judge.py)."""

from ripsaw.verdict.judge import Judge, Verdict

__all__ = ["Judge", "Verdict"]
