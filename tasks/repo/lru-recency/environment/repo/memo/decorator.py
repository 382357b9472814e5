"""@cached: memoize a function with an LRUCache."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from memo.cache import LRUCache

F = TypeVar("F", bound=Callable[..., Any])
_MISS = object()


def _key(args: tuple, kwargs: dict) -> tuple:
    return args + ((_MISS,) + tuple(sorted(kwargs.items())) if kwargs else ())


def cached(maxsize: int = 128, ttl: float | None = None, clock: Callable[[], float] = time.monotonic):
    def decorate(fn: F) -> F:
        cache = LRUCache(maxsize, ttl, clock)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _key(args, kwargs)
            value = cache.get(key, _MISS)
            if value is _MISS:
                value = fn(*args, **kwargs)
                cache.set(key, value)
            return value

        wrapper.cache = cache  # type: ignore[attr-defined]
        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
