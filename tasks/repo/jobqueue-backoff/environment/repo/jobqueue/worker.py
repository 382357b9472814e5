"""The worker: takes due jobs and runs their handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jobqueue.job import Job, JobState
from jobqueue.queue import JobQueue

log = logging.getLogger("jobqueue")
Handler = Callable[[dict[str, Any]], Any]


class Worker:
    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], max_attempts: int = 3) -> None:
        self.queue = queue
        self.handlers = handlers
        self.max_attempts = max_attempts

    def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.name)
        job.attempts += 1
        if handler is None:
            job.errors.append(f"no handler for {job.name!r}")
            self.queue.bury(job)
            return
        try:
            job.result = handler(job.payload)
        except Exception as e:
            job.errors.append(f"{type(e).__name__}: {e}")
            log.warning("job %s (%s) failed: %s", job.id, job.name, e)
            if job.attempts >= self.max_attempts:
                self.queue.bury(job)
            else:
                self.queue.push(job)  # straight back in the queue
            return
        job.state = JobState.DONE

    def run_pending(self, limit: int | None = None) -> int:
        """Run the jobs that are due now (at most `limit`); returns how many ran."""
        ran = 0
        while limit is None or ran < limit:
            job = self.queue.pop_due()
            if job is None:
                break
            self._run(job)
            ran += 1
        return ran
