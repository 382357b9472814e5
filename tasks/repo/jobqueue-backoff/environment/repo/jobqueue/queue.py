"""The queue: jobs waiting, in run order."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

from jobqueue.job import Job, JobState


class JobQueue:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._heap: list[tuple[tuple[int, float, int], Job]] = []
        self._ids = itertools.count(1)
        self.jobs: dict[int, Job] = {}
        self.dead: list[Job] = []

    def submit(self, name: str, payload: dict[str, Any] | None = None, priority: int = 0, delay: float = 0.0) -> Job:
        if delay < 0:
            raise ValueError("delay must not be negative")
        job = Job(next(self._ids), name, dict(payload or {}), priority, self.clock() + delay)
        self.jobs[job.id] = job
        self.push(job)
        return job

    def push(self, job: Job) -> None:
        job.state = JobState.QUEUED
        heapq.heappush(self._heap, (job.sort_key(), job))

    def pop_due(self) -> Job | None:
        """The next job that is due now, in run order; None when nothing is due."""
        now = self.clock()
        waiting: list[tuple[tuple[int, float, int], Job]] = []
        found = None
        while self._heap:
            key, job = heapq.heappop(self._heap)
            if job.due_at <= now:
                found = job
                break
            waiting.append((key, job))
        for item in waiting:
            heapq.heappush(self._heap, item)
        if found is not None:
            found.state = JobState.RUNNING
        return found

    def next_due_at(self) -> float | None:
        return min((job.due_at for _, job in self._heap), default=None)

    def bury(self, job: Job) -> None:
        job.state = JobState.DEAD
        self.dead.append(job)

    def __len__(self) -> int:
        return len(self._heap)
