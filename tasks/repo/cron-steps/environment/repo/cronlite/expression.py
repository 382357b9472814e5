"""A cron expression and the times it fires."""

from __future__ import annotations

from datetime import datetime, timedelta

from cronlite.fields import DAY, FIELDS, HOUR, MINUTE, MONTH, WEEKDAY, CronError, parse_field

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SEARCH_LIMIT = timedelta(days=366 * 5)

__all__ = ["Cron", "CronError"]


class Cron:
    def __init__(self, expression: str) -> None:
        self.expression = expression.strip()
        text = MACROS.get(self.expression.lower(), self.expression)
        parts = text.split()
        if len(parts) != 5:
            raise CronError(f"expected 5 fields, got {len(parts)}: {expression!r}")
        self.minutes, self.hours, self.days, self.months, self.weekdays = (
            parse_field(part, spec) for part, spec in zip(parts, FIELDS)
        )
        self._day_restricted = parts[2] != "*"
        self._weekday_restricted = parts[4] != "*"

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # Python: Monday=0; cron: Sunday=0
        day_ok = moment.day in self.days
        weekday_ok = weekday in self.weekdays
        if self._day_restricted and self._weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def matches(self, moment: datetime) -> bool:
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and self._day_matches(moment)
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first time after `moment` (to the minute) that the expression fires."""
        t = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + _SEARCH_LIMIT
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            return t
        raise CronError(f"{self.expression!r} never fires")

    def next_n(self, moment: datetime, n: int) -> list[datetime]:
        out = []
        for _ in range(n):
            moment = self.next_after(moment)
            out.append(moment)
        return out

    def describe(self) -> str:
        def fmt(values: frozenset[int], spec_name: str, full: range) -> str:
            if set(values) == set(full):
                return f"every {spec_name}"
            return f"{spec_name} {','.join(str(v) for v in sorted(values))}"

        return "; ".join(
            [
                fmt(self.minutes, MINUTE.name, range(0, 60)),
                fmt(self.hours, HOUR.name, range(0, 24)),
                fmt(self.days, DAY.name, range(1, 32)),
                fmt(self.months, MONTH.name, range(1, 13)),
                fmt(self.weekdays, WEEKDAY.name, range(0, 7)),
            ]
        )
