from memo.cache import LRUCache, Stats
from memo.decorator import cached

__all__ = ["LRUCache", "Stats", "cached"]
