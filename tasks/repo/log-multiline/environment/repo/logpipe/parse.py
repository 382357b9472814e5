"""Log lines to records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:,\d{3})?) +(?P<level>[A-Z]+) +\[(?P<logger>[^\]]+)\] ?(?P<msg>.*)$"
)


@dataclass
class Record:
    timestamp: datetime
    level: str
    logger: str
    message: str
    line: int  # where the record starts, 1-based

    @property
    def first_line(self) -> str:
        return self.message.split("\n", 1)[0]

    def to_json(self) -> dict:
        return {
            "timestamp": self.timestamp.isoformat(timespec="milliseconds"),
            "level": self.level,
            "logger": self.logger,
            "message": self.message,
            "line": self.line,
        }


@dataclass
class ParseResult:
    records: list[Record] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)  # line numbers


def _timestamp(text: str) -> datetime:
    fmt = "%Y-%m-%d %H:%M:%S,%f" if "," in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt)


def parse_lines(lines: Iterable[str]) -> ParseResult:
    result = ParseResult()
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None or m.group("level") not in LEVELS:
            result.malformed.append(number)
            continue
        try:
            ts = _timestamp(m.group("ts"))
        except ValueError:
            result.malformed.append(number)
            continue
        result.records.append(Record(ts, m.group("level"), m.group("logger"), m.group("msg"), number))
    return result
