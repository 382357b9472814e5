"""Reading the CSV export into typed rows."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

Row = dict[str, Any]


def convert(text: str) -> Any:
    text = text.strip()
    if _NUMBER.match(text):
        return Decimal(text)
    return text


def load_rows(path: Path) -> tuple[list[str], list[Row]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}: empty file") from None
        if len(set(header)) != len(header):
            raise ValueError(f"{path}: duplicate column names")
        rows = []
        for number, record in enumerate(reader, start=2):
            if not any(record):
                continue
            if len(record) != len(header):
                raise ValueError(f"{path}:{number}: {len(record)} fields, expected {len(header)}")
            rows.append({h: convert(v) for h, v in zip(header, record)})
    return header, rows
