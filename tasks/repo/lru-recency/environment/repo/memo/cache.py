"""LRUCache: least-recently-used eviction with optional time-to-live."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class LRUCache:
    def __init__(self, maxsize: int, ttl: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive")
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        # key -> (value, expires_at or None); the order is recency: the first entry is the least recent.
        self._data: OrderedDict[Hashable, tuple[Any, float | None]] = OrderedDict()
        self._lock = threading.RLock()
        self._stats = Stats()

    def _expired(self, expires_at: float | None) -> bool:
        return expires_at is not None and self._clock() >= expires_at

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._data.get(key, _MISSING)
            if entry is _MISSING:
                self._stats.misses += 1
                return default
            value, expires_at = entry
            if self._expired(expires_at):
                del self._data[key]
                self._stats.expirations += 1
                self._stats.misses += 1
                return default
            self._stats.hits += 1
            return value

    def set(self, key: Hashable, value: Any, ttl: float | None = _MISSING) -> None:  # type: ignore[assignment]
        """Store `value`; `ttl` overrides the cache's for this entry (None: never expires)."""
        with self._lock:
            life = self.ttl if ttl is _MISSING else ttl
            expires_at = None if life is None else self._clock() + life
            if key in self._data:
                self._data.move_to_end(key)
            self._data[key] = (value, expires_at)
            self._evict()

    def _evict(self) -> None:
        self._purge_expired()
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)
            self._stats.evictions += 1

    def _purge_expired(self) -> None:
        now = self._clock()
        dead = [k for k, (_, exp) in self._data.items() if exp is not None and now >= exp]
        for k in dead:
            del self._data[k]
            self._stats.expirations += 1

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._data.pop(key, _MISSING)
            if entry is _MISSING or self._expired(entry[1]):
                return default
            return entry[0]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __contains__(self, key: Hashable) -> bool:
        """Membership does not count as use (it does not refresh recency)."""
        with self._lock:
            entry = self._data.get(key, _MISSING)
            return entry is not _MISSING and not self._expired(entry[1])

    def __len__(self) -> int:
        with self._lock:
            self._purge_expired()
            return len(self._data)

    def keys(self) -> Iterator[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            self._purge_expired()
            return iter(list(self._data))

    def stats(self) -> Stats:
        with self._lock:
            return Stats(**vars(self._stats))
