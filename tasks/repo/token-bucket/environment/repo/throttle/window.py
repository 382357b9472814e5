"""The sliding window log: at most `limit` events in any `period` seconds."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, limit: int, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.period:
            self._events.popleft()

    def try_acquire(self) -> bool:
        with self._lock:
            now = self._clock()
            self._trim(now)
            if len(self._events) < self.limit:
                self._events.append(now)
                return True
            return False

    def retry_after(self) -> float:
        with self._lock:
            now = self._clock()
            self._trim(now)
            if len(self._events) < self.limit:
                return 0.0
            return self._events[0] + self.period - now

    @property
    def used(self) -> int:
        with self._lock:
            self._trim(self._clock())
            return len(self._events)
