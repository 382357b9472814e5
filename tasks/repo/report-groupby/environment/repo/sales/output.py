"""Printing rows as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from sales.load import Row


def _text(value: Any) -> str:
    return str(value)


def table(header: list[str], rows: list[Row]) -> str:
    cells = [header] + [[_text(r[h]) for h in header] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(isinstance(r[h], Decimal) for r in rows) and bool(rows) for h in header]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()

    lines = [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells[1:]]
    return "\n".join(lines) + "\n"


def to_csv(header: list[str], rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([_text(r[h]) for h in header])
    return buf.getvalue()


def to_json(header: list[str], rows: list[Row]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() and "." not in str(v) else float(v)
        return v

    return json.dumps([{h: plain(r[h]) for h in header} for r in rows], indent=2) + "\n"


FORMATS = {"table": table, "csv": to_csv, "json": to_json}
