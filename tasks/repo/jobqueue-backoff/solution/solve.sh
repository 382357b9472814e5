#!/bin/bash
# The known-good change: a RetryPolicy (attempts, exponential backoff with seeded jitter, no_retry) that the
# worker applies by re-queueing a failed job with a delay; README updated.
set -euo pipefail
cd /app
git apply <<'PATCH'
diff --git a/README.md b/README.md
index 6512193..9531c4b 100644
--- a/README.md
+++ b/README.md
@@ -5,15 +5,22 @@ Background jobs for our web app (e-mails, thumbnails, webhooks), run by a worker
 ```python
 queue = JobQueue(clock=time.monotonic)
 queue.submit("send_email", {"to": "ana@example.com"}, priority=5)
-worker = Worker(queue, handlers={"send_email": send_email}, max_attempts=5)
+worker = Worker(queue, handlers={"send_email": send_email}, retry=RetryPolicy(max_attempts=5))
 worker.run_pending()
 ```
 
 Jobs run by priority (higher first), then by the time they became due, then by submission order.
 A job can be delayed (`delay=30`).
 
-## Failures
+## Retries
 
-A handler that raises is put straight back in the queue and run again, up to the worker's `max_attempts`
-runs in all (3 by default). After that the job goes to the queue's dead letters (`queue.dead`) with every
-error it raised, and is not run again. A job whose name has no handler goes to the dead letters at once.
+A handler that raises is retried under the worker's `RetryPolicy` (`RetryPolicy()` when none is given):
+
+- attempt *n* (1-based) that fails is retried after `base_delay * factor ** (n - 1)` seconds, capped at
+  `max_delay`, then multiplied by a jitter factor drawn uniformly from `[1 - jitter, 1 + jitter]` with the
+  policy's own `random.Random(seed)`, so a run with the same seed retries at the same times;
+- after `max_attempts` failed attempts the job goes to the queue's dead letters (`queue.dead`) with every
+  error it raised, and is not run again;
+- `RetryPolicy(max_attempts=1)` means no retries. Exceptions listed in `no_retry` go to the dead letters at once.
+
+A job whose name has no handler goes to the dead letters at once.
diff --git a/jobqueue/__init__.py b/jobqueue/__init__.py
index a82cc4b..5e5b64a 100644
--- a/jobqueue/__init__.py
+++ b/jobqueue/__init__.py
@@ -1,5 +1,6 @@
 from jobqueue.job import Job, JobState
 from jobqueue.queue import JobQueue
+from jobqueue.retry import RetryPolicy
 from jobqueue.worker import Worker
 
-__all__ = ["Job", "JobQueue", "JobState", "Worker"]
+__all__ = ["Job", "JobQueue", "JobState", "RetryPolicy", "Worker"]
diff --git a/jobqueue/queue.py b/jobqueue/queue.py
index 5cde499..5b91975 100644
--- a/jobqueue/queue.py
+++ b/jobqueue/queue.py
@@ -27,7 +27,12 @@ class JobQueue:
         self.push(job)
         return job
 
-    def push(self, job: Job) -> None:
+    def push(self, job: Job, delay: float | None = None) -> None:
+        """Queue `job`: due when it already was, or `delay` seconds from now."""
+        if delay is not None:
+            if delay < 0:
+                raise ValueError("delay must not be negative")
+            job.due_at = self.clock() + delay
         job.state = JobState.QUEUED
         heapq.heappush(self._heap, (job.sort_key(), job))
 
diff --git a/jobqueue/retry.py b/jobqueue/retry.py
new file mode 100644
index 0000000..8308247
--- /dev/null
+++ b/jobqueue/retry.py
@@ -0,0 +1,43 @@
+"""Retry policies: how many times a failing job runs, and how long it waits before each retry."""
+
+from __future__ import annotations
+
+import random
+from dataclasses import dataclass, field
+
+
+@dataclass
+class RetryPolicy:
+    max_attempts: int = 3
+    base_delay: float = 1.0
+    factor: float = 2.0
+    max_delay: float = 300.0
+    jitter: float = 0.0
+    seed: int | None = None
+    no_retry: tuple[type[BaseException], ...] = ()
+    _random: random.Random = field(init=False, repr=False, compare=False)
+
+    def __post_init__(self) -> None:
+        if self.max_attempts < 1:
+            raise ValueError("max_attempts must be at least 1")
+        if self.base_delay < 0 or self.max_delay < 0:
+            raise ValueError("delays must not be negative")
+        if self.factor < 1:
+            raise ValueError("factor must be at least 1")
+        if not 0 <= self.jitter < 1:
+            raise ValueError("jitter must be in [0, 1)")
+        self.no_retry = tuple(self.no_retry)
+        # The policy's own generator: the same seed gives the same retry times, whatever else uses `random`.
+        self._random = random.Random(self.seed)
+
+    def should_retry(self, error: BaseException, attempts: int) -> bool:
+        return attempts < self.max_attempts and not isinstance(error, self.no_retry)
+
+    def delay(self, attempt: int) -> float:
+        """Seconds to wait after failed attempt `attempt` (1-based) before the next one."""
+        if attempt < 1:
+            raise ValueError("attempts count from 1")
+        delay = min(self.base_delay * self.factor ** (attempt - 1), self.max_delay)
+        if self.jitter:
+            delay *= self._random.uniform(1 - self.jitter, 1 + self.jitter)
+        return delay
diff --git a/jobqueue/worker.py b/jobqueue/worker.py
index e56dd20..d808c20 100644
--- a/jobqueue/worker.py
+++ b/jobqueue/worker.py
@@ -8,16 +8,17 @@ from typing import Any
 
 from jobqueue.job import Job, JobState
 from jobqueue.queue import JobQueue
+from jobqueue.retry import RetryPolicy
 
 log = logging.getLogger("jobqueue")
 Handler = Callable[[dict[str, Any]], Any]
 
 
 class Worker:
-    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], max_attempts: int = 3) -> None:
+    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], retry: RetryPolicy | None = None) -> None:
         self.queue = queue
         self.handlers = handlers
-        self.max_attempts = max_attempts
+        self.retry = retry if retry is not None else RetryPolicy()
 
     def _run(self, job: Job) -> None:
         handler = self.handlers.get(job.name)
@@ -31,10 +32,10 @@ class Worker:
         except Exception as e:
             job.errors.append(f"{type(e).__name__}: {e}")
             log.warning("job %s (%s) failed: %s", job.id, job.name, e)
-            if job.attempts >= self.max_attempts:
-                self.queue.bury(job)
+            if self.retry.should_retry(e, job.attempts):
+                self.queue.push(job, delay=self.retry.delay(job.attempts))
             else:
-                self.queue.push(job)  # straight back in the queue
+                self.queue.bury(job)
             return
         job.state = JobState.DONE
 
PATCH
test -f jobqueue/retry.py
