"""One limiter per key (API key, client IP), created on first use and dropped when idle."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol


class Limiter(Protocol):
    def try_acquire(self) -> bool: ...

    def retry_after(self) -> float: ...


class KeyedLimiter:
    def __init__(
        self, factory: Callable[[], Any], idle_after: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._factory = factory
        self._idle_after = idle_after
        self._clock = clock
        self._limiters: dict[Hashable, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def _get(self, key: Hashable) -> Any:
        now = self._clock()
        with self._lock:
            limiter, _ = self._limiters.get(key, (None, 0.0))
            if limiter is None:
                limiter = self._factory()
            self._limiters[key] = (limiter, now)
            return limiter

    def try_acquire(self, key: Hashable) -> bool:
        return bool(self._get(key).try_acquire())

    def retry_after(self, key: Hashable) -> float:
        return float(self._get(key).retry_after())

    def sweep(self) -> int:
        """Drop limiters not used for `idle_after` seconds; returns how many went."""
        now = self._clock()
        with self._lock:
            idle = [k for k, (_, seen) in self._limiters.items() if now - seen >= self._idle_after]
            for k in idle:
                del self._limiters[k]
            return len(idle)

    def __len__(self) -> int:
        return len(self._limiters)
