"""The token bucket: a steady rate with room for bursts."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic, initial: float | None = None
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity if initial is None else min(initial, capacity)
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._last
        if elapsed <= 0:
            return
        self._tokens += int(elapsed) * self.rate
        self._last = now

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, n: float = 1) -> bool:
        if n > self.capacity:
            raise ValueError(f"cannot acquire {n} tokens from a bucket of {self.capacity}")
        with self._lock:
            self._refill()
            if self._tokens >= n:
                self._tokens -= n
                return True
            return False

    def retry_after(self, n: float = 1) -> float:
        """Seconds until `n` tokens will be there (0 when they already are)."""
        with self._lock:
            self._refill()
            missing = n - self._tokens
            return 0.0 if missing <= 0 else missing / self.rate

    def acquire(self, n: float = 1, sleep: Callable[[float], None] = time.sleep, timeout: float | None = None) -> bool:
        """Block until `n` tokens are taken; False if that would take longer than `timeout`."""
        deadline = None if timeout is None else self._clock() + timeout
        while not self.try_acquire(n):
            wait = self.retry_after(n)
            if deadline is not None and self._clock() + wait > deadline:
                return False
            sleep(max(wait, 1e-3))
        return True

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, capacity={self.capacity}, tokens={math.floor(self.tokens)})"
