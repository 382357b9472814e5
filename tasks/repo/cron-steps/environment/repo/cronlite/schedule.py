"""A tiny scheduler: jobs with cron expressions, run when due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cronlite.expression import Cron


@dataclass
class Job:
    name: str
    cron: Cron
    action: Callable[[], object]
    next_run: datetime | None = None
    runs: int = 0
    errors: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(self, now: datetime) -> None:
        self.jobs: dict[str, Job] = {}
        self.now = now

    def add(self, name: str, expression: str, action: Callable[[], object]) -> Job:
        if name in self.jobs:
            raise ValueError(f"job {name!r} exists")
        cron = Cron(expression)
        job = Job(name, cron, action, cron.next_after(self.now))
        self.jobs[name] = job
        return job

    def tick(self, now: datetime) -> list[str]:
        """Run every job that became due up to `now` (once, however many times it was due); returns their names."""
        ran = []
        for job in sorted(self.jobs.values(), key=lambda j: (j.next_run, j.name)):
            if job.next_run is not None and job.next_run <= now:
                try:
                    job.action()
                except Exception as e:  # a failing job must not stop the others
                    job.errors.append(f"{now.isoformat()}: {e!r}")
                job.runs += 1
                job.next_run = job.cron.next_after(now)
                ran.append(job.name)
        self.now = now
        return ran
