"""Parsing one cron field into the set of values it allows."""

from __future__ import annotations

from dataclasses import dataclass


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names for low, low+1, ... (month and weekday names)


MINUTE = FieldSpec("minute", 0, 59)
HOUR = FieldSpec("hour", 0, 23)
DAY = FieldSpec("day of month", 1, 31)
MONTH = FieldSpec("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
WEEKDAY = FieldSpec("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
FIELDS = (MINUTE, HOUR, DAY, MONTH, WEEKDAY)


def _number(text: str, spec: FieldSpec) -> int:
    lowered = text.lower()
    if lowered in spec.names:
        return spec.low + spec.names.index(lowered)
    if not text.isdigit():
        raise CronError(f"{spec.name}: not a number or name: {text!r}")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def parse_field(text: str, spec: FieldSpec) -> frozenset[int]:
    """The values `text` allows; CronError naming the field when it is malformed."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{spec.name}: empty list item in {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{spec.name}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            start, end = spec.low, spec.high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _number(a, spec), _number(b, spec)
            if start > end:
                raise CronError(f"{spec.name}: range {base!r} goes backwards")
        else:
            start = end = _number(base, spec)
        values.update(range(start, end + 1, step))
    return frozenset(values)
