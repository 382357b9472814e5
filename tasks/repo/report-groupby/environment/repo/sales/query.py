"""Filtering and sorting rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sales.load import Row, convert


class QueryError(ValueError):
    """A bad column or condition; the CLI exits with 2."""


@dataclass(frozen=True)
class Condition:
    column: str
    value: Any
    negate: bool = False

    @classmethod
    def parse(cls, text: str) -> Condition:
        if "!=" in text:
            column, value = text.split("!=", 1)
            return cls(column.strip(), convert(value), negate=True)
        if "=" in text:
            column, value = text.split("=", 1)
            return cls(column.strip(), convert(value))
        raise QueryError(f"--where needs COL=VALUE or COL!=VALUE, got {text!r}")

    def holds(self, row: Row) -> bool:
        return (row[self.column] == self.value) != self.negate


def check_columns(header: list[str], columns: list[str], option: str) -> None:
    for column in columns:
        if column not in header:
            raise QueryError(f"{option}: no column {column!r} (columns: {', '.join(header)})")


def where(rows: list[Row], conditions: list[Condition]) -> list[Row]:
    return [r for r in rows if all(c.holds(r) for c in conditions)]


def _key(value: Any) -> tuple[int, Any]:
    # Numbers before text, so a column mixing both still sorts.
    return (0, value) if isinstance(value, Decimal) else (1, str(value))


def sort_rows(rows: list[Row], spec: str) -> list[Row]:
    column = spec.lstrip("-")
    return sorted(rows, key=lambda r: _key(r[column]), reverse=spec.startswith("-"))
